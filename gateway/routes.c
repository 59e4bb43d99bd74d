/* routes.c — the request handlers.
 *
 *   GET /v1/certificates/{identifier}            fetch (scopes with fetch)
 *   GET /v1/holders/{holder code}/certificates   list (scopes with list)
 *   GET /healthz, /readyz, /metrics              no authentication
 *
 * Order of checks on venue routes: authentication (401), scope (403),
 * the identifier or holder code's check character (400) before any lookup,
 * then the store. Every error answer is {"error":{"code","message"}}.
 */
#include "gateway/routes.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/error.h"
#include "core/ident.h"
#include "core/record.h"
#include "core/view.h"

#define HOLDER_LIST_MAX 1000 /* certificates in one list answer */

static const char PREFIX_CERT[] = "/v1/certificates/";
static const char PREFIX_HOLDER[] = "/v1/holders/";
static const char SUFFIX_HOLDER[] = "/certificates";

static cg_runtime_t *runtime(cg_conn_t *c) {
  return atomic_load_explicit(&c->w->srv->rt, memory_order_acquire);
}

const char *cg_routes_allow(cg_conn_t *c) {
  (void)c;
  return "Allow: GET, HEAD\r\n";
}

/* ---- authentication ----------------------------------------------------------- */

static const cg_venue_t *authenticate(cg_conn_t *c, const cg_runtime_t *rt) {
  cg_request_t *r = &c->req;
  const char *tok;
  size_t len;
  const cg_venue_t *v;

  if (r->auth_overflow || r->auth_len < 8 || strncasecmp(r->auth, "Bearer ", 7) != 0)
    return NULL;
  tok = r->auth + 7;
  while (*tok == ' ')
    tok++;
  len = r->auth_len - (size_t)(tok - r->auth);
  while (len > 0 && tok[len - 1] == ' ')
    len--;
  if (len == 0)
    return NULL;
  /* A keep-alive connection presents the same key again and again: the
   * venue it named is remembered until the key or the venue list changes.
   * The comparison is with what this same client sent before. */
  if (c->auth_venue != NULL && c->auth_gen == rt->gen && c->auth_seen_len == len &&
      memcmp(c->auth_seen, tok, len) == 0)
    v = c->auth_venue;
  else {
    v = cg_venue_registry_find(rt->venues, tok, len);
    memcpy(c->auth_seen, tok, len);
    c->auth_seen_len = len;
    c->auth_venue = v;
    c->auth_gen = rt->gen;
  }
  if (v == NULL || v->disabled)
    return NULL;
  r->venue_id = v->id;
  return v;
}

static void unauthorized(cg_conn_t *c) {
  static const char body[] =
      "{\"error\":{\"code\":\"unauthorized\",\"message\":\"no or unknown venue key\"}}";
  cg_conn_respond(c, 401, "application/json", "WWW-Authenticate: Bearer realm=\"certgw\"\r\n",
                  body, sizeof body - 1);
}

/* The venue's scope, or NULL after answering 401 or 403. */
static const cg_scope_t *venue_scope(cg_conn_t *c, const cg_runtime_t *rt) {
  const cg_venue_t *v = authenticate(c, rt);
  const cg_scope_t *s;
  if (v == NULL) {
    unauthorized(c);
    return NULL;
  }
  if ((s = cg_config_scope(rt->cfg, v->scope)) == NULL) {
    cg_conn_error(c, CG_EFORBIDDEN, "the venue's scope is not configured");
    return NULL;
  }
  return s;
}

/* ---- answers with a JSON body ------------------------------------------------- */

static void json_error_why(cg_conn_t *c, int code, const cg_why_t *why) {
  char msg[256];
  /* Reasons from the identifier checks hold no personal data, and nothing
   * that needs escaping but quotes, which they do not contain either. */
  snprintf(msg, sizeof msg, "%s: %s", cg_strerror(code), why->text);
  for (char *p = msg; *p; p++)
    if (*p == '"' || *p == '\\')
      *p = '\'';
  cg_conn_error(c, code, msg);
}

/* The ETag of a record as this scope sees it: the content hash, the seal
 * state and the scope, since each changes what is sent. */
static void etag_of(const cg_record_t *rec, const cg_scope_t *s, uint32_t gen, char out[20]) {
  static const char hex[] = "0123456789abcdef";
  const char *st = cg_view_seal_status(rec, gen);
  uint64_t h = rec->etag ^ XXH3_64bits(s->name, strlen(s->name)) ^ ((uint64_t)st[0] << 56);
  out[0] = '"';
  for (int i = 0; i < 16; i++)
    out[1 + i] = hex[(h >> (60 - 4 * i)) & 15];
  out[17] = '"';
  out[18] = '\0';
}

/* RFC 9110 13.1.2: a list of entity tags or "*"; weak tags compare equal. */
static int etag_matches(const char *inm, const char *etag) {
  size_t n = strlen(etag);
  for (const char *p = inm; *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    if (*p == '*')
      return 1;
    if (p[0] == 'W' && p[1] == '/')
      p += 2;
    if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
      return 1;
    while (*p && *p != ',')
      p++;
  }
  return 0;
}

/* ---- GET /v1/certificates/{identifier} ---------------------------------------- */

static void get_certificate(cg_conn_t *c, const char *id, size_t len) {
  cg_worker_t *w = c->w;
  cg_runtime_t *rt = runtime(c);
  const cg_scope_t *s;
  cg_record_t rec;
  cg_why_t why;
  cg_ident_t ident;
  char etag[20], hdr[64];
  int err;

  if ((s = venue_scope(c, rt)) == NULL)
    return;
  if (!s->can_fetch) {
    cg_conn_error(c, CG_EFORBIDDEN, "the venue's scope does not allow fetching by identifier");
    return;
  }
  if (cg_ident_parse(id, len, &ident, &why) != 0) {
    json_error_why(c, CG_EIDENT, &why);
    return;
  }
  if (!cg_view_type_allowed(s, ident.type_code)) {
    cg_conn_error(c, CG_EFORBIDDEN, "the venue's scope does not cover this certificate type");
    return;
  }
  if ((err = cg_store_reader_begin(w->reader)) != 0) {
    cg_conn_error(c, CG_ESTORE, NULL);
    return;
  }
  err = cg_store_cert_get(w->reader, id, len, &rec);
  if (err == CG_ENOTFOUND) {
    cg_count(&w->metrics.cache_misses, 1);
    cg_store_reader_end(w->reader);
    cg_conn_error(c, CG_ENOTFOUND, "no certificate has this identifier");
    return;
  }
  if (err != 0) {
    cg_store_reader_end(w->reader);
    cg_conn_error(c, err, NULL);
    return;
  }
  cg_count(&w->metrics.cache_hits, 1);
  etag_of(&rec, s, rt->trust_gen, etag);
  memcpy(hdr, "ETag: ", 6);
  memcpy(hdr + 6, etag, 18);
  memcpy(hdr + 24, "\r\n", 3);
  if (c->req.inm_len > 0 && etag_matches(c->req.inm, etag)) {
    cg_store_reader_end(w->reader);
    cg_conn_respond(c, 304, NULL, hdr, NULL, 0);
    return;
  }
  cg_buf_reset(&w->scratch);
  err = cg_view_render(s, &rec, rt->trust_gen, &w->scratch);
  /* The record points into the map: done with it before the snapshot ends. */
  cg_store_reader_end(w->reader);
  if (err != 0) {
    cg_conn_error(c, err, NULL);
    return;
  }
  cg_conn_respond(c, 200, "application/json", hdr, w->scratch.base, w->scratch.len);
}

/* ---- GET /v1/holders/{code}/certificates[?type=CODE] --------------------------- */

struct list_ctx {
  cg_conn_t *c;
  const cg_scope_t *scope;
  const char *code;
  size_t code_len;
  int holder_type;
  const char *type; /* filter, or NULL */
  int found, listed, err;
  uint32_t trust_gen;
  char needle[64];
  size_t needle_len;
};

static int list_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct list_ctx *x = arg;
  cg_worker_t *w = x->c->w;
  cg_record_t rec;
  cg_ident_t id;
  (void)key;

  if (cg_store_cert_get(w->reader, val.base, val.len, &rec) != 0)
    return 0; /* an index entry whose record is gone: skip it */
  /* XXH3 is not collision-resistant: confirm the holder in the record. The
   * canonical body writes the code exactly as in this needle. */
  if (rec.holder_type != x->holder_type ||
      memmem(rec.body, rec.body_len, x->needle, x->needle_len) == NULL)
    return 0;
  x->found++;
  if (cg_ident_parse(val.base, val.len, &id, NULL) != 0 ||
      !cg_view_type_allowed(x->scope, id.type_code) ||
      (x->type != NULL && memcmp(x->type, id.type_code, 21) != 0))
    return 0;
  if (x->listed == HOLDER_LIST_MAX)
    return 1;
  if (x->listed++ > 0)
    cg_buf_putc(&w->scratch, ',');
  if ((x->err = cg_view_render(x->scope, &rec, x->trust_gen, &w->scratch)) != 0)
    return 1;
  return 0;
}

static void get_holder(cg_conn_t *c, const char *code, size_t len, const char *query) {
  cg_worker_t *w = c->w;
  cg_runtime_t *rt = runtime(c);
  struct list_ctx x = {.c = c, .code = code, .code_len = len};
  const cg_scope_t *s;
  uint8_t hk[CG_HOLDER_KEY_LEN];
  cg_why_t why = {""};
  int types[2], ntypes = 0;

  if ((s = venue_scope(c, rt)) == NULL)
    return;
  if (!s->can_list) {
    cg_conn_error(c, CG_EFORBIDDEN, "the venue's scope does not allow listing a holder");
    return;
  }
  if (query != NULL) {
    /* The one parameter: type=<21-character type code>. */
    if (strncmp(query, "type=", 5) != 0 || strlen(query + 5) != 21 ||
        strspn(query + 5, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 21) {
      cg_conn_error(c, CG_EBADREQ, "the only query parameter is type=<21-character type code>");
      return;
    }
    x.type = query + 5;
    if (!cg_view_type_allowed(s, x.type)) {
      cg_conn_error(c, CG_EFORBIDDEN, "the venue's scope does not cover this certificate type");
      return;
    }
  }
  /* The code says which kind of holder it is; a code that passes both
   * checks (possible for an all-digit credit code) is looked up as both. */
  if (cg_ident_citizen_validate(code, len, NULL) == 0)
    types[ntypes++] = CG_HOLDER_CITIZEN;
  if (cg_ident_uscc_validate(code, len, &why) == 0)
    types[ntypes++] = CG_HOLDER_ORG;
  if (ntypes == 0) {
    if (len == 18 && code[0] >= '1' && code[0] <= '8' && strspn(code, "0123456789X") == 18)
      cg_ident_citizen_validate(code, len, &why);
    json_error_why(c, CG_EHOLDER, &why);
    return;
  }
  x.scope = s;
  x.trust_gen = rt->trust_gen;
  x.needle_len = (size_t)snprintf(x.needle, sizeof x.needle, "\"certificateHolderCode\":\"%.*s\"",
                                  (int)len, code);
  if (cg_store_reader_begin(w->reader) != 0) {
    cg_conn_error(c, CG_ESTORE, NULL);
    return;
  }
  cg_buf_reset(&w->scratch);
  cg_buf_puts(&w->scratch, "{\"certificates\":[");
  for (int i = 0; i < ntypes && !x.err; i++) {
    x.holder_type = types[i];
    cg_record_holder_key(types[i], code, len, hk);
    if (cg_store_holder_each(w->reader, hk, list_one, &x) < 0)
      x.err = CG_ESTORE;
  }
  cg_store_reader_end(w->reader);
  if (x.err) {
    cg_conn_error(c, x.err, NULL);
    return;
  }
  if (x.found == 0) {
    cg_count(&w->metrics.cache_misses, 1);
    cg_conn_error(c, CG_ENOTFOUND, "no certificates for this holder");
    return;
  }
  cg_count(&w->metrics.cache_hits, 1);
  if (cg_buf_puts(&w->scratch, "]}") != 0) {
    cg_conn_error(c, CG_ETOOBIG, NULL);
    return;
  }
  cg_conn_respond(c, 200, "application/json", NULL, w->scratch.base, w->scratch.len);
}

/* ---- health, readiness, metrics ---------------------------------------------------- */

static void get_readyz(cg_conn_t *c) {
  int st = c->w->srv->state;
  if (st == CG_STATE_SERVING) {
    static const char body[] = "{\"status\":\"ready\"}";
    cg_conn_respond(c, 200, "application/json", NULL, body, sizeof body - 1);
  } else {
    const char *body = st == CG_STATE_STARTING ? "{\"status\":\"starting\"}"
                                                : "{\"status\":\"draining\"}";
    cg_conn_respond(c, 503, "application/json", "Retry-After: 1\r\n", body, strlen(body));
  }
}

static void get_metrics(cg_conn_t *c) {
  cg_server_t *srv = c->w->srv;
  cg_runtime_t *rt = runtime(c);
  cg_metrics_t *ms[256];
  cg_metrics_extra_t x = {0};
  cg_store_stat_t st;
  int n = srv->nworkers < 256 ? srv->nworkers : 256;

  for (int i = 0; i < n; i++)
    ms[i] = &srv->workers[i]->metrics;
  if (cg_store_stat(srv->store, &st) == 0) {
    x.map_size = st.map_size;
    x.map_used = st.map_used;
    x.readers_used = st.readers_used;
    x.readers_max = st.readers_max;
    x.certificates = st.entries[CG_DB_CERT];
  }
  x.venues = (unsigned)cg_venue_registry_count(rt->venues);
  x.workers = srv->nworkers;
  x.ready = srv->state == CG_STATE_SERVING;
  x.uptime_seconds = (double)(uv_hrtime() / 1000000 - srv->started_ms) / 1000.0;
  x.config_generation = rt->gen;
  cg_buf_reset(&c->w->scratch);
  if (cg_metrics_render(ms, n, &x, &c->w->scratch) != 0) {
    cg_conn_error(c, CG_EINTERNAL, NULL);
    return;
  }
  cg_conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, c->w->scratch.base,
                  c->w->scratch.len);
}

/* ---- dispatch ------------------------------------------------------------------------ */

void cg_routes_handle(cg_conn_t *c) {
  cg_request_t *r = &c->req;
  char *q = strchr(r->url, '?');
  size_t plen = q ? (size_t)(q - r->url) : r->url_len;
  const char *path = r->url;
  int get = r->method == HTTP_GET || r->method == HTTP_HEAD;

  if (q != NULL)
    *q++ = '\0';
  if (plen > sizeof PREFIX_CERT - 1 && memcmp(path, PREFIX_CERT, sizeof PREFIX_CERT - 1) == 0) {
    r->route = CG_ROUTE_CERTIFICATE;
  } else if (plen > sizeof PREFIX_HOLDER - 1 + sizeof SUFFIX_HOLDER - 1 &&
             memcmp(path, PREFIX_HOLDER, sizeof PREFIX_HOLDER - 1) == 0 &&
             memcmp(path + plen - (sizeof SUFFIX_HOLDER - 1), SUFFIX_HOLDER,
                    sizeof SUFFIX_HOLDER - 1) == 0) {
    r->route = CG_ROUTE_HOLDER;
  } else if (strcmp(path, "/healthz") == 0) {
    r->route = CG_ROUTE_HEALTHZ;
  } else if (strcmp(path, "/readyz") == 0) {
    r->route = CG_ROUTE_READYZ;
  } else if (strcmp(path, "/metrics") == 0) {
    r->route = CG_ROUTE_METRICS;
  } else {
    r->route = CG_ROUTE_OTHER;
    cg_conn_error(c, CG_ENOTFOUND, "no such resource");
    return;
  }
  if (!get) {
    cg_conn_error(c, CG_EMETHOD, NULL);
    return;
  }
  switch (r->route) {
  case CG_ROUTE_CERTIFICATE:
    if (q != NULL) {
      cg_conn_error(c, CG_EBADREQ, "this resource takes no query parameters");
      return;
    }
    get_certificate(c, path + sizeof PREFIX_CERT - 1, plen - (sizeof PREFIX_CERT - 1));
    break;
  case CG_ROUTE_HOLDER: {
    size_t off = sizeof PREFIX_HOLDER - 1;
    size_t len = plen - off - (sizeof SUFFIX_HOLDER - 1);
    char code[32];
    if (len == 0 || len >= sizeof code || memchr(path + off, '/', len) != NULL) {
      cg_why_t why;
      cg_why_set(&why, CG_EHOLDER, "not an 18-character code");
      json_error_why(c, CG_EHOLDER, &why);
      return;
    }
    memcpy(code, path + off, len);
    code[len] = '\0';
    get_holder(c, code, len, q);
    break;
  }
  case CG_ROUTE_HEALTHZ: {
    static const char body[] = "{\"status\":\"ok\"}";
    cg_conn_respond(c, 200, "application/json", NULL, body, sizeof body - 1);
    break;
  }
  case CG_ROUTE_READYZ:
    get_readyz(c);
    break;
  case CG_ROUTE_METRICS:
    get_metrics(c);
    break;
  }
}

/* ---- access log ---------------------------------------------------------------------- */

void cg_routes_log(cg_conn_t *c, int status, size_t body_len) {
  cg_worker_t *w = c->w;
  const cg_config_t *conf;
  struct timespec ts;
  struct tm tm;

  if (w->srv->log_fd < 0)
    return;
  conf = runtime(c)->cfg;
  if (++w->log_seq % conf->access_log_sample != 0)
    return;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  cg_buf_printf(&w->log,
                "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"worker\":%d,"
                "\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"bytes\":%zu,"
                "\"us\":%llu,\"venue\":\"%s\"}\n",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000, w->id, llhttp_method_name((llhttp_method_t)c->req.method),
                cg_metrics_route_name(c->req.route), status, body_len,
                (unsigned long long)((uv_hrtime() - c->req.start_ns) / 1000),
                c->req.venue_id ? c->req.venue_id : "");
  if (w->log.len > 48 * 1024)
    cg_worker_flush_log(w);
}
