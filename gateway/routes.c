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
#include "core/cert.h"
#include "core/view.h"
#include "gateway/seals.h"

#include <mbedtls/sha256.h>
#include <stdlib.h>
#include <uthash.h>

#define HOLDER_LIST_MAX 1000 /* certificates in one list answer */
#define VERIFY_CACHE_MAX 4096 /* recent POST /v1/verify verdicts per worker */

static const char PREFIX_CERT[] = "/v1/certificates/";
static const char PREFIX_HOLDER[] = "/v1/holders/";
static const char SUFFIX_HOLDER[] = "/certificates";

static cg_runtime_t *runtime(cg_conn_t *c) {
  return atomic_load_explicit(&c->w->srv->rt, memory_order_acquire);
}

const char *cg_routes_allow(cg_conn_t *c) {
  return c->req.route == CG_ROUTE_VERIFY ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n";
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

/* ---- waiting for seal checks ----------------------------------------------------- */

static void backlogged(cg_conn_t *c) {
  static const char body[] =
      "{\"error\":{\"code\":\"unavailable\",\"message\":\"seal checks are backlogged; try again\"}}";
  cg_conn_respond(c, 503, "application/json", "Retry-After: 1\r\n", body, sizeof body - 1);
}

/* A verdict has come back (on this worker): run the request again; it
 * finds the verdict in the connection. */
static void seal_checked(void *arg, int reason, uint32_t gen) {
  cg_conn_t *c = arg;
  c->ov_set = 1;
  c->ov_etag = c->pend_etag;
  c->ov_reason = reason;
  c->ov_gen = gen;
  cg_conn_continue(c);
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
  /* The verdict that came back for this very record, if we waited for one. */
  if (c->ov_set && c->ov_etag == rec.etag && c->ov_gen == rt->trust_gen) {
    rec.seal_state = c->ov_reason == CG_SEAL_OK ? CG_SEAL_VERIFIED : CG_SEAL_INVALID;
    rec.seal_reason = (uint8_t)c->ov_reason;
    rec.trust_gen = rt->trust_gen;
  }
  /* Never served as genuine on a stale verdict: checked off the loop first. */
  if (rec.seal_state == CG_SEAL_UNCHECKED || rec.trust_gen != rt->trust_gen) {
    int err2 = w->srv->seals ? cg_seals_check(w->srv->seals, rt->trust, id, len, &rec, w,
                                               seal_checked, c)
                             : CG_EUNAVAIL;
    cg_store_reader_end(w->reader);
    if (err2 != 0) {
      backlogged(c);
      return;
    }
    c->pend_etag = rec.etag;
    cg_conn_suspend(c);
    return;
  }
  if (rec.seal_state == CG_SEAL_INVALID && !s->diagnostics) {
    cg_store_reader_end(w->reader);
    cg_conn_error(c, CG_ENOTFOUND, "no certificate with a valid seal has this identifier");
    return;
  }
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
  cg_trust_t *trust;
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
  /* A stale verdict is shown as unchecked and queued for a background check;
   * a seal that fails is left out, unless the scope asks for diagnostics. */
  if (rec.seal_state == CG_SEAL_UNCHECKED || rec.trust_gen != x->trust_gen) {
    if (w->srv->seals)
      cg_seals_check(w->srv->seals, x->trust, val.base, val.len, &rec, NULL, NULL, NULL);
  } else if (rec.seal_state == CG_SEAL_INVALID && !x->scope->diagnostics) {
    return 0;
  }
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
  x.trust = rt->trust;
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

/* ---- POST /v1/verify ------------------------------------------------------------------ */

/* Recent verdicts, keyed by SHA-256 of the presented bytes (not XXH3:
 * callers choose the input, and XXH3 collisions can be made). Bounded:
 * the oldest entry goes when the table is full. */
struct vc_entry {
  uint8_t key[32];
  uint32_t gen;
  int reason;
  struct vc_entry *older, *newer;
  UT_hash_handle hh;
};

struct vcache {
  struct vc_entry *table, *oldest, *newest;
  unsigned n;
};

static struct vcache *vcache(cg_worker_t *w) {
  if (w->verify_cache == NULL)
    w->verify_cache = calloc(1, sizeof(struct vcache));
  return w->verify_cache;
}

static struct vc_entry *vc_find(struct vcache *vc, const uint8_t key[32]) {
  struct vc_entry *e;
  HASH_FIND(hh, vc->table, key, 32, e);
  return e;
}

static void vc_put(struct vcache *vc, const uint8_t key[32], uint32_t gen, int reason) {
  struct vc_entry *e = vc_find(vc, key);
  if (e == NULL) {
    if (vc->n == VERIFY_CACHE_MAX) {
      e = vc->oldest;
      vc->oldest = e->newer;
      if (vc->oldest)
        vc->oldest->older = NULL;
      HASH_DEL(vc->table, e);
      vc->n--;
    } else if ((e = malloc(sizeof *e)) == NULL) {
      return;
    }
    memcpy(e->key, key, 32);
    e->older = vc->newest;
    e->newer = NULL;
    if (vc->newest)
      vc->newest->newer = e;
    vc->newest = e;
    if (vc->oldest == NULL)
      vc->oldest = e;
    HASH_ADD(hh, vc->table, key, 32, e);
    vc->n++;
  }
  e->gen = gen;
  e->reason = reason;
}

static uint32_t today(void) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static void answer_verify(cg_conn_t *c, int reason, const cg_cert_meta_t *meta) {
  const char *why = cg_seal_reason_name(reason);
  uint32_t d = today();
  int valid = reason == CG_SEAL_OK;
  char body[160];
  int n;

  /* A genuine seal on a certificate that is revoked or out of date is
   * still not a valid certificate. */
  if (valid && meta->status != CG_CERT_VALID)
    valid = 0, why = cg_cert_status_name(meta->status);
  else if (valid && meta->effective > d)
    valid = 0, why = "not_yet_effective";
  else if (valid && meta->expiring != 0 && meta->expiring < d)
    valid = 0, why = "expired";
  n = snprintf(body, sizeof body, "{\"valid\":%s,\"reason\":\"%s\"}", valid ? "true" : "false",
               why);
  cg_conn_respond(c, 200, "application/json", NULL, body, (size_t)n);
}

static void post_verify(cg_conn_t *c) {
  cg_worker_t *w = c->w;
  cg_runtime_t *rt = runtime(c);
  const cg_scope_t *s;
  struct vcache *vc = vcache(w);
  struct vc_entry *e;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_why_t why = {""};
  uint8_t key[32];
  int err;

  if ((s = venue_scope(c, rt)) == NULL)
    return;
  if (!s->can_verify) {
    cg_conn_error(c, CG_EFORBIDDEN, "the venue's scope does not allow verifying");
    return;
  }
  if (c->req.body.len == 0) {
    cg_conn_error(c, CG_EBADREQ, "the body must be a certificate object as certgw returns it");
    return;
  }
  cg_buf_reset(&w->scratch);
  /* The object as certgw returns it carries "seal" with a status: the
   * parser takes the seal fields it needs and ignores the status. */
  err = cg_cert_parse(c->req.body.base, c->req.body.len, &w->scratch, &meta, &seal, &why);
  if (err != 0) {
    json_error_why(c, err == CG_ETOOBIG ? CG_EBADREQ : err, &why);
    return;
  }
  mbedtls_sha256_ret((const unsigned char *)c->req.body.base, c->req.body.len, key, 0);
  if (c->ov_set && c->ov_etag == 0)
    vc_put(vc, key, c->ov_gen, c->ov_reason);
  if (vc != NULL && (e = vc_find(vc, key)) != NULL && e->gen == rt->trust_gen) {
    answer_verify(c, e->reason, &meta);
    return;
  }
  if (w->srv->seals == NULL ||
      cg_seals_verify(w->srv->seals, rt->trust, w->scratch.base, w->scratch.len, &seal,
                      meta.issued, w, seal_checked, c) != 0) {
    backlogged(c);
    return;
  }
  c->pend_etag = 0;
  cg_conn_suspend(c);
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
  x.trust_generation = rt->trust_gen;
  if (srv->seals != NULL) {
    cg_seals_stats_t *st2 = cg_seals_stats(srv->seals);
    x.seals_verified = atomic_load(&st2->verified);
    x.seals_failed = atomic_load(&st2->failed);
    x.seals_on_request = atomic_load(&st2->on_request);
    x.seals_background = atomic_load(&st2->background);
    x.seals_filed = atomic_load(&st2->filed);
    x.seals_queued = atomic_load(&st2->queued);
  }
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
  } else if (strcmp(path, "/v1/verify") == 0) {
    r->route = CG_ROUTE_VERIFY;
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
  if (r->route == CG_ROUTE_VERIFY ? r->method != HTTP_POST : !get) {
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
  case CG_ROUTE_VERIFY:
    if (q != NULL) {
      cg_conn_error(c, CG_EBADREQ, "this resource takes no query parameters");
      return;
    }
    post_verify(c);
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
