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

#include <mbedtls/constant_time.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/error.h"
#include "core/ident.h"
#include "core/record.h"
#include "core/audit.h"
#include "core/cert.h"
#include "core/json.h"
#include "core/token.h"
#include "gateway/writer.h"
#include "core/view.h"
#include "gateway/seals.h"
#include "gateway/upstream.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
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
  return c->req.route == CG_ROUTE_VERIFY || c->req.route == CG_ROUTE_SCAN ? "Allow: POST\r\n"
                                                                          : "Allow: GET, HEAD\r\n";
}

/* ---- authentication ----------------------------------------------------------- */

static const cg_venue_t *authenticate(cg_conn_t *c, const cg_runtime_t *rt) {
  cg_request_t *r = &c->req;
  const char *tok;
  size_t len;
  const cg_venue_t *v;

  /* A request taken up again after a wait authenticates anew against the
   * snapshot in force: what it named before may have been freed since. */
  r->venue_id = NULL;
  r->venue = NULL;
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
   * The comparison is with what was sent before on this connection, in
   * constant time: behind a proxy that shares connections among clients,
   * that may have been another venue's key. */
  if (c->auth_venue != NULL && c->auth_gen == rt->gen && c->auth_seen_len == len &&
      mbedtls_ct_memcmp(c->auth_seen, tok, len) == 0)
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
  unsigned retry = 0;
  if (!c->req.charged &&
      cg_venue_registry_take(rt->venues, v, uv_now(&c->w->loop), v->rate ? v->rate : s->rate,
                             s->burst, &retry) != 0) {
    char hdr[48];
    snprintf(hdr, sizeof hdr, "Retry-After: %u\r\n", retry);
    static const char body[] =
        "{\"error\":{\"code\":\"rate_limited\",\"message\":\"too many requests from this venue\"}}";
    cg_conn_respond(c, 429, "application/json", hdr, body, sizeof body - 1);
    return NULL;
  }
  c->req.charged = 1;
  c->req.venue = v;
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
#define ETAG_LEN 18 /* "<16 hex digits>", as etag_of writes it (no NUL) */
static void etag_of(const cg_record_t *rec, const cg_scope_t *s, uint32_t gen,
                    char out[ETAG_LEN]) {
  static const char hex[] = "0123456789abcdef";
  const char *st = cg_view_seal_status(rec, gen);
  uint64_t h = rec->etag ^ XXH3_64bits(s->name, strlen(s->name)) ^ ((uint64_t)st[0] << 56);
  out[0] = '"';
  for (int i = 0; i < 16; i++)
    out[1 + i] = hex[(h >> (60 - 4 * i)) & 15];
  out[17] = '"';
}

/* RFC 9110 13.1.2: a list of entity tags or "*"; weak tags compare equal. */
static int etag_matches(const char *inm, const char *etag, size_t n) {
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

static int audit(cg_conn_t *c, int kind, int status, const char *purpose, const char *matter,
                 int holder_type, const char *holder, const char *scan_id, const char **ids,
                 int nids);

/* ---- members of a stored body ------------------------------------------------------ */

/* The value of top-level string member name, into out (cap bytes with the
 * NUL): through the record's member index, or, for a record without one (of
 * version 1, or with more members than an index holds), by parsing the body
 * — never by a search of its bytes, which would find a member of that name
 * inside a nested object as well. A value with an escape in it (a quote, a
 * backslash, a control character) is not given. 0 or -1. */
static int body_string(const cg_record_t *rec, const char *name, char *out, size_t cap) {
  const char *v;
  size_t len;
  if (cg_record_member(rec, name, &v, &len) == 0) {
    if (len < 2 || v[0] != '"' || v[len - 1] != '"' || len - 2 >= cap ||
        memchr(v + 1, '\\', len - 2) != NULL)
      return -1;
    memcpy(out, v + 1, len - 2);
    out[len - 2] = '\0';
    return 0;
  }
  if (rec->index_len > 0)
    return -1; /* indexed, and not a member */
  cJSON *o = cJSON_ParseWithLength(rec->body, rec->body_len);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
  int rc = -1;
  if (cJSON_IsString(m) && (len = strlen(m->valuestring)) < cap &&
      strpbrk(m->valuestring, "\"\\") == NULL) {
    rc = 0;
    for (size_t i = 0; i < len; i++)
      rc |= (unsigned char)m->valuestring[i] < 0x20 ? -1 : 0;
    if (rc == 0)
      memcpy(out, m->valuestring, len + 1);
  }
  cJSON_Delete(o);
  return rc;
}

/* Whether rec's body names holder code[0..len). The holder index is keyed
 * by a hash (XXH3, not collision-resistant): every certificate found
 * through it is checked so. */
static int names_holder(const cg_record_t *rec, const char *code, size_t len) {
  char v[32];
  return body_string(rec, "certificateHolderCode", v, sizeof v) == 0 && strlen(v) == len &&
         memcmp(v, code, len) == 0;
}

/* The holder code a canonical body names. */
static int body_holder(const cg_record_t *rec, char code[19]) {
  return body_string(rec, "certificateHolderCode", code, 19) == 0 && strlen(code) == 18 ? 0 : -1;
}

/* ---- waiting for seal checks ----------------------------------------------------- */

static void backlogged(cg_conn_t *c) {
  static const char body[] =
      "{\"error\":{\"code\":\"unavailable\",\"message\":\"seal checks are backlogged; try again\"}}";
  cg_conn_respond(c, 503, "application/json", "Retry-After: 1\r\n", body, sizeof body - 1);
}

/* A verdict has come back (on this worker): run the request again; it
 * finds the verdict in the connection. */
static void seal_checked(void *arg, int reason, uint32_t gen, void *unused) {
  cg_conn_t *c = arg;
  (void)unused;
  c->ov_set = 1;
  c->ov_etag = c->pend_etag;
  c->ov_reason = reason;
  c->ov_gen = gen;
  cg_conn_continue(c);
}

/* ---- GET /v1/certificates/{identifier} ---------------------------------------- */

/* A fetch from upstream has come back (on this worker): run the request
 * again; it finds the result in the connection. */
static void upstream_done(void *arg, int err, uint32_t unused, void *result) {
  cg_conn_t *c = arg;
  (void)err, (void)unused;
  if (c->closing) { /* the client left meanwhile */
    cg_upresult_release(result);
    cg_conn_continue(c);
    return;
  }
  c->up_result = result;
  cg_conn_continue(c);
}

static uint32_t today(void);

/* In date today: effective, and not expired. */
static int in_date(const cg_record_t *rec) {
  uint32_t d = today();
  return rec->effective <= d && (rec->expiring == 0 || rec->expiring >= d);
}

/* Filled from upstream longer ago than [upstream] refresh. */
static int needs_refresh(const cg_upstream_t *up, const cg_record_t *rec) {
  unsigned refresh = cg_upstream_config(up)->up_refresh_s;
  return rec->source >= CG_SOURCE_CITY && refresh > 0 &&
         (uint64_t)time(NULL) >= rec->fetched_at + refresh;
}

/* A seal judged on revocation data past its nextUpdate (or not yet in
 * force): the gateway cannot vouch for it, which is no fault of the
 * certificate's — answered 503, not 404, until fresh CRLs come (seal.c). */
#define TRUST_STALE_MSG                                                                            \
  "the trust store's revocation lists are out of date: no seal can be vouched for until they are " \
  "renewed"
static int trust_stale(const cg_record_t *rec) {
  return rec->seal_state == CG_SEAL_INVALID && rec->seal_reason == CG_SEAL_TRUST_STALE;
}

static void get_certificate(cg_conn_t *c, const char *id, size_t len) {
  cg_worker_t *w = c->w;
  cg_runtime_t *rt = runtime(c);
  cg_upstream_t *up = w->srv->upstream;
  cg_upresult_t *ur = c->up_result;
  const cg_scope_t *s;
  cg_record_t rec;
  cg_why_t why;
  cg_ident_t ident;
  char hdr[128];
  const char *extra = "";
  int err, stale = 0;

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
  if (err != 0 && err != CG_ENOTFOUND) {
    cg_store_reader_end(w->reader);
    cg_conn_error(c, err, NULL);
    return;
  }
  int refresh = err == 0 && cg_upstream_tiers(up) > 0 && needs_refresh(up, &rec);
  if (ur == NULL && !c->ov_set) /* counted once, not again when the request runs again */
    cg_count(err == 0 && !refresh ? &w->metrics.cache_hits : &w->metrics.cache_misses, 1);

  /* Missing, or filled from upstream too long ago: ask upstream (once for
   * every request that wants it), and come back here with the result. */
  if (ur == NULL && cg_upstream_tiers(up) > 0 && (err == CG_ENOTFOUND || refresh)) {
    int rc = cg_upstream_want(up, w, id, len, upstream_done, c);
    if (rc == 0) {
      cg_store_reader_end(w->reader);
      cg_conn_suspend(c);
      return;
    }
    if (err == 0 && in_date(&rec)) {
      stale = 1; /* not found upstream lately, or too busy to ask: ours will do */
    } else if (rc == CG_ENOTFOUND) {
      err = CG_ENOTFOUND; /* as a fetch that found it nowhere would answer */
    } else {
      cg_store_reader_end(w->reader);
      audit(c, CG_AUDIT_FETCH, cg_err_status(rc), NULL, NULL, 0, NULL, NULL, NULL, 0);
      cg_conn_error(c, rc == CG_ENOMEM ? rc : CG_EUPSTREAM, NULL);
      return;
    }
  } else if (ur != NULL) {
    cg_record_t fresh;
    if (ur->err == 0 && cg_record_decode(ur->rec, ur->len, &fresh) == 0) {
      rec = fresh; /* points into ur, released once this request is answered */
      err = 0;
      extra = "X-Cache: miss\r\n";
    } else if (err == 0 && in_date(&rec)) {
      stale = 1; /* every tier failed: serve what we have, and say so */
    } else {
      int code = ur->err == 0 ? CG_EINTERNAL : ur->err;
      cg_store_reader_end(w->reader);
      audit(c, CG_AUDIT_FETCH, cg_err_status(code), NULL, NULL, 0, NULL, NULL, NULL, 0);
      cg_conn_error(c, code, code == CG_ENOTFOUND ? "no certificate has this identifier" : NULL);
      return;
    }
  }
  if (stale) {
    extra = "Warning: 110 - \"Response is Stale\"\r\nX-Cache: stale\r\n";
    cg_upstream_count_stale(up);
  }
  if (err == CG_ENOTFOUND) {
    cg_store_reader_end(w->reader);
    audit(c, CG_AUDIT_FETCH, 404, NULL, NULL, 0, NULL, NULL, NULL, 0);
    cg_conn_error(c, CG_ENOTFOUND, "no certificate has this identifier");
    return;
  }
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
  /* Every use of a certificate is audited, with its holder (as an HMAC). */
  {
    char holder[19];
    const char *one = id;
    char idcopy[CG_IDENT_MAX + 1];
    memcpy(idcopy, id, len); /* at most CG_IDENT_MAX: cg_ident_parse checked */
    idcopy[len] = '\0';
    one = idcopy;
    int status = rec.flags & CG_RECORD_REVOKED_LATER                    ? 410
                 : trust_stale(&rec)                                    ? 503
                 : rec.seal_state == CG_SEAL_INVALID && !s->diagnostics ? 404
                                                                        : 200;
    /* (A body without a holder code is audited too, without a holder.) */
    int has_holder = body_holder(&rec, holder) == 0;
    if (audit(c, CG_AUDIT_FETCH, status, NULL, NULL, rec.holder_type, has_holder ? holder : NULL,
              NULL, &one, 1) != 0) {
      cg_store_reader_end(w->reader);
      cg_conn_error(c, CG_EUNAVAIL, "the audit log is not keeping up; try again");
      return;
    }
  }
  /* Revoked by its issuer after sealing (the change feed said so): the
   * sealed body still reads valid, so it is not served at all. */
  if (rec.flags & CG_RECORD_REVOKED_LATER) {
    cg_store_reader_end(w->reader);
    cg_conn_error(c, CG_EREVOKED, NULL);
    return;
  }
  if (trust_stale(&rec)) {
    cg_store_reader_end(w->reader);
    cg_conn_error(c, CG_EUNAVAIL, TRUST_STALE_MSG);
    return;
  }
  if (rec.seal_state == CG_SEAL_INVALID && !s->diagnostics) {
    cg_store_reader_end(w->reader);
    cg_conn_error(c, CG_ENOTFOUND, "no certificate with a valid seal has this identifier");
    return;
  }
  /* The ETag goes straight into its header line. */
  memcpy(hdr, "ETag: ", 6);
  etag_of(&rec, s, rt->trust_gen, hdr + 6);
  memcpy(hdr + 6 + ETAG_LEN, "\r\n", 2);
  {
    /* extra is one of a few short constant headers (or ""); no printf on
     * this path */
    size_t n = strlen(extra);
    if (n > sizeof hdr - 27)
      n = sizeof hdr - 27;
    memcpy(hdr + 26, extra, n);
    hdr[26 + n] = '\0';
  }
  if (c->req.inm_len > 0 && etag_matches(c->req.inm, hdr + 6, ETAG_LEN)) {
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
  int trust_stale; /* left out: their seals were judged on stale revocation data */
  uint32_t trust_gen;
  cg_trust_t *trust;
};

/* One of the holder's certificates, from the store or from upstream. */
static int list_record(struct list_ctx *x, const char *ident, size_t ilen, cg_record_t *recp) {
  cg_worker_t *w = x->c->w;
  cg_record_t rec = *recp;

  if ((x->holder_type != 0 && rec.holder_type != x->holder_type) ||
      !names_holder(&rec, x->code, x->code_len))
    return 0;
  /* Revoked by its issuer after sealing: its body would say otherwise. */
  if (rec.flags & CG_RECORD_REVOKED_LATER)
    return 0;
  x->found++;
  /* A stale verdict is shown as unchecked and queued for a background check;
   * a seal that fails is left out, unless the scope asks for diagnostics. */
  if (rec.seal_state == CG_SEAL_UNCHECKED || rec.trust_gen != x->trust_gen) {
    if (w->srv->seals)
      cg_seals_check(w->srv->seals, x->trust, ident, ilen, &rec, NULL, NULL, NULL);
  } else if (rec.seal_state == CG_SEAL_INVALID && !x->scope->diagnostics) {
    x->trust_stale += trust_stale(&rec);
    return 0;
  }
  /* Stored identifiers were checked when they came in: the type is read. */
  const char *type = cg_ident_type_of(ident, ilen);
  if (type == NULL || !cg_view_type_allowed(x->scope, type) ||
      (x->type != NULL && memcmp(x->type, type, 21) != 0))
    return 0;
  if (x->listed == HOLDER_LIST_MAX)
    return 1;
  if (x->listed++ > 0)
    cg_buf_putc(&w->scratch, ',');
  if ((x->err = cg_view_render(x->scope, &rec, x->trust_gen, &w->scratch)) != 0)
    return 1;
  return 0;
}

static int list_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct list_ctx *x = arg;
  cg_record_t rec;
  (void)key;
  if (cg_store_cert_get(x->c->w->reader, val.base, val.len, &rec) != 0)
    return 0; /* an index entry whose record is gone: skip it */
  return list_record(x, val.base, val.len, &rec);
}

/* Walks the entries of a holder's upstream result (upstream.h): cb gets
 * each identifier and decoded record. */
static void each_upstream_entry(const cg_upresult_t *r,
                                int (*cb)(void *arg, const char *id, size_t len, cg_record_t *rec),
                                void *arg) {
  cg_upstream_entry_t e;
  cg_record_t rec;
  for (size_t off = 0; r->rec != NULL && cg_upstream_entry(r->rec, r->len, &off, &e);)
    if (cg_record_decode(e.rec, e.rec_len, &rec) == 0 && cb(arg, e.ident, e.ident_len, &rec) != 0)
      return;
}

static int list_entry(void *arg, const char *id, size_t len, cg_record_t *rec) {
  return list_record(arg, id, len, rec);
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
  if (cg_store_reader_begin(w->reader) != 0) {
    cg_conn_error(c, CG_ESTORE, NULL);
    return;
  }
  cg_buf_reset(&w->scratch);
  cg_buf_puts(&w->scratch, "{\"certificates\":[");
  if (c->up_result != NULL) { /* back from upstream: what the platforms have */
    cg_upresult_t *ur = c->up_result;
    cg_store_reader_end(w->reader);
    if (ur->err != 0) {
      cg_conn_error(c, ur->err, ur->err == CG_ENOTFOUND ? "no certificates for this holder" : NULL);
      return;
    }
    x.holder_type = ntypes == 2 ? 0 : types[0]; /* as asked, below */
    each_upstream_entry(ur, list_entry, &x);
  } else {
    for (int i = 0; i < ntypes && !x.err; i++) {
      x.holder_type = types[i];
      cg_record_holder_key(types[i], code, len, hk);
      if (cg_store_holder_each(w->reader, hk, list_one, &x) < 0)
        x.err = CG_ESTORE;
    }
    cg_store_reader_end(w->reader);
    cg_count(x.found ? &w->metrics.cache_hits : &w->metrics.cache_misses, 1);
  }
  if (x.err) {
    cg_conn_error(c, x.err, NULL);
    return;
  }
  /* None here: the platforms may have the holder's certificates. */
  if (x.found == 0 && c->up_result == NULL && cg_upstream_tiers(w->srv->upstream) > 0) {
    char hc[19];
    int rc;
    snprintf(hc, sizeof hc, "%.*s", (int)len, code);
    /* A code valid as both kinds: the platforms' certificates of either. */
    rc = cg_upstream_want_holder(w->srv->upstream, w, ntypes == 2 ? 0 : types[0], hc,
                                 upstream_done, c);
    if (rc == 0) {
      cg_conn_suspend(c);
      return;
    }
    if (rc != CG_ENOTFOUND) {
      cg_conn_error(c, rc == CG_ENOMEM ? rc : CG_EUPSTREAM, NULL);
      return;
    }
  }
  /* A listing is a use of the holder's certificates: audited, found or
   * not, with the holder (the identifiers are in the answer, not here). */
  {
    char hc[19];
    snprintf(hc, sizeof hc, "%.*s", (int)len, code);
    int status = !x.found ? 404 : x.listed == 0 && x.trust_stale > 0 ? 503 : 200;
    if (audit(c, CG_AUDIT_LIST, status, NULL, NULL, types[0], hc, NULL, NULL, 0) != 0) {
      cg_conn_error(c, CG_EUNAVAIL, "the audit log is not keeping up; try again");
      return;
    }
  }
  if (x.found == 0) {
    cg_conn_error(c, CG_ENOTFOUND, "no certificates for this holder");
    return;
  }
  if (x.listed == 0 && x.trust_stale > 0) {
    cg_conn_error(c, CG_EUNAVAIL, TRUST_STALE_MSG);
    return;
  }
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
  /* Per thread, worked out again when the second changes. */
  static _Thread_local time_t last = -1;
  static _Thread_local uint32_t day;
  time_t now = time(NULL);
  if (now != last) {
    day = cg_record_today(now);
    last = now;
  }
  return day;
}

/* Whether the store holds the certificate marked revoked by its issuer
 * after sealing (the change feed said so): 1, 0, or a negative CG_E… when
 * the store cannot say. */
static int revoked_later(cg_conn_t *c, const char *id) {
  cg_worker_t *w = c->w;
  cg_record_t rec;
  int err;
  if ((err = cg_store_reader_begin(w->reader)) != 0)
    return err;
  err = cg_store_cert_get(w->reader, id, strlen(id), &rec);
  int revoked = err == 0 && (rec.flags & CG_RECORD_REVOKED_LATER) != 0;
  cg_store_reader_end(w->reader);
  return err != 0 && err != CG_ENOTFOUND ? err : revoked;
}

static void answer_verify(cg_conn_t *c, int reason, const cg_cert_meta_t *meta) {
  const char *why = cg_seal_reason_name(reason);
  uint32_t d = today();
  int valid = reason == CG_SEAL_OK;
  char body[160];
  int n, r;

  /* A genuine seal on a certificate that is revoked or out of date is
   * still not a valid certificate. */
  if (valid && meta->status != CG_CERT_VALID)
    valid = 0, why = cg_cert_status_name(meta->status);
  else if (valid && meta->effective > d)
    valid = 0, why = "not_yet_effective";
  else if (valid && meta->expiring != 0 && meta->expiring < d)
    valid = 0, why = "expired";
  /* A copy kept from before its revocation still reads valid, sealed and
   * all: the store knows better (as a fetch of it answers 410); so does a
   * line of an export whose seal says "revoked": true (cg_cert_parse). */
  if (valid && meta->revoked_later)
    valid = 0, why = cg_cert_status_name(CG_CERT_REVOKED);
  if (valid && (r = revoked_later(c, meta->identifier)) != 0) {
    if (r < 0) {
      cg_conn_error(c, r, NULL);
      return;
    }
    valid = 0, why = cg_cert_status_name(CG_CERT_REVOKED);
  }
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

/* ---- audit ------------------------------------------------------------------------------ */

/* The client's address: the peer's, or — only when the peer is a trusted
 * proxy — the rightmost X-Forwarded-For entry that is not a trusted proxy
 * (entries to its left are whatever the client chose to send). The peer is
 * looked up once a connection, the rest for each request: a proxy's
 * connection carries the requests of many clients. */
static void client_address(cg_conn_t *c, const cg_runtime_t *rt, char *out, size_t cap) {
  if (c->peer[0] == '\0')
    cg_conn_peer_name(c, c->peer, sizeof c->peer);
  size_t n = strnlen(c->peer, cap - 1);
  memcpy(out, c->peer, n);
  out[n] = '\0';
  if (c->req.xff_len == 0 || !cg_runtime_trusts(rt, c->peer))
    return;
  char list[256];
  snprintf(list, sizeof list, "%s", c->req.xff);
  for (char *p = list + strlen(list); p > list;) {
    char *start;
    while (p > list && (p[-1] == ' ' || p[-1] == ','))
      *--p = '\0';
    start = p;
    while (start > list && start[-1] != ',')
      start--;
    while (*start == ' ')
      start++;
    /* The leftmost entry of a list cut short may be cut itself: the last
     * trusted proxy is then as far as is known. */
    if (*start == '\0' || (start == list && c->req.xff_cut))
      break;
    snprintf(out, cap, "%s", start);
    if (!cg_runtime_trusts(rt, start))
      return;
    p = start > list ? start - 1 : list;
    *p = '\0';
  }
}

static int audit(cg_conn_t *c, int kind, int status, const char *purpose, const char *matter,
                 int holder_type, const char *holder, const char *scan_id, const char **ids,
                 int nids) {
  cg_server_t *srv = c->w->srv;
  struct timespec ts;
  cg_audit_use_t u;
  char client[64];

  if (srv->writer == NULL)
    return 0;
  clock_gettime(CLOCK_REALTIME, &ts);
  client_address(c, runtime(c), client, sizeof client);
  u.time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
  u.kind = kind;
  u.status = status;
  u.venue = c->req.venue_id;
  u.purpose = purpose;
  u.matter = matter;
  u.client = client;
  u.scan_id = scan_id;
  u.ids = ids;
  u.nids = nids;
  /* The writer computes the holder's HMAC: nothing cryptographic on the loop. */
  return cg_writer_audit(srv->writer, c->w->id, &u, holder_type, holder);
}

/* ---- POST /v1/scan ------------------------------------------------------------------------- */

static int masked(const cg_scope_t *s, const char *field) {
  for (int i = 0; i < s->nmask; i++)
    if (strcmp(s->mask[i], field) == 0)
      return 1;
  return 0;
}

/* Appends "field":"value", masked if the scope says so. */
static void put_member(cg_buf_t *b, const cg_scope_t *s, const char *field, const char *name,
                       const char *value) {
  cg_buf_putc(b, '"');
  cg_buf_puts(b, name);
  cg_buf_puts(b, "\":\"");
  if (masked(s, field))
    cg_view_mask(field, value, b);
  else
    cg_buf_puts(b, value);
  cg_buf_putc(b, '"');
}

/* A holder's identifiers, collected from the index (at most 64 a scan). */
struct idlist {
  char id[64][CG_IDENT_MAX + 1];
  size_t len[64];
  unsigned char unread[64]; /* a scan left it unread: outside the scope */
  int n;
};

static int collect_id(void *arg, cg_slice_t key, cg_slice_t val) {
  struct idlist *il = arg;
  (void)key;
  if (il->n == 64 || val.len > CG_IDENT_MAX)
    return il->n == 64;
  memcpy(il->id[il->n], val.base, val.len);
  il->id[il->n][val.len] = '\0';
  il->len[il->n++] = val.len;
  return 0;
}

/* Whether id's certificate is the scanned holder's: found (in the store
 * when from_store, else rec holds what a platform sent), naming the holder
 * in its body (the index is keyed by a hash), and not revoked after it was
 * sealed (its body would say otherwise). */
static int holders(cg_worker_t *w, int from_store, int holder_type, const char *code,
                   const char *id, size_t len, cg_record_t *rec) {
  if (from_store && cg_store_cert_get(w->reader, id, len, rec) != 0)
    return 0;
  return rec->holder_type == holder_type && !(rec->flags & CG_RECORD_REVOKED_LATER) &&
         names_holder(rec, code, strlen(code));
}

/* The holder's name as a certificate states it, into name (left empty for a
 * name with an escape in it: left out rather than cut at it). */
static void holder_name(const cg_record_t *rec, char *name, size_t cap) {
  if (body_string(rec, "certificateHolderName", name, cap) != 0)
    name[0] = '\0';
}

/* Codes already opened at a venue, for scopes with single_use: one table
 * for all workers (a code may come back on another connection), under a
 * mutex held for a lookup; bounded, the oldest entry going first once its
 * code has expired (an entry older than that is useless anyway), never
 * before: a code still live is not forgotten, the new one is refused.
 * Returns 1 seen, 0 not (now noted), -1 the table is full of live codes. */
#define SEEN_MAX 65536
static struct seen {
  uint8_t key[32];
  uint64_t expires;
  UT_hash_handle hh;
} *seen_table, seen_ring[SEEN_MAX];
static unsigned seen_next;
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;

static int single_use_seen(cg_server_t *srv, const char *venue, const uint8_t nonce[12],
                           uint64_t expires) {
  uint8_t key[32];
  struct seen *e;
  mbedtls_sha256_context h;
  int hit;
  (void)srv;

  mbedtls_sha256_init(&h);
  mbedtls_sha256_starts_ret(&h, 0);
  mbedtls_sha256_update_ret(&h, (const unsigned char *)venue, strlen(venue) + 1);
  mbedtls_sha256_update_ret(&h, nonce, 12);
  mbedtls_sha256_finish_ret(&h, key);
  mbedtls_sha256_free(&h);
  pthread_mutex_lock(&seen_mu);
  HASH_FIND(hh, seen_table, key, 32, e);
  uint64_t now = (uint64_t)time(NULL);
  hit = e != NULL && e->expires >= now;
  if (e == NULL) {
    e = &seen_ring[seen_next % SEEN_MAX];
    if (e->expires >= now) {
      pthread_mutex_unlock(&seen_mu);
      return -1;
    }
    seen_next++;
    if (e->expires != 0)
      HASH_DEL(seen_table, e);
    memcpy(e->key, key, 32);
    e->expires = expires;
    HASH_ADD(hh, seen_table, key, 32, e);
  }
  pthread_mutex_unlock(&seen_mu);
  return hit;
}

struct up_ids {
  struct idlist *il;
  cg_record_t *recs; /* 64, beside il's identifiers */
};

static int collect_entry(void *arg, const char *id, size_t len, cg_record_t *rec) {
  struct up_ids *u = arg;
  if (u->il->n == 64 || len > CG_IDENT_MAX)
    return u->il->n == 64;
  memcpy(u->il->id[u->il->n], id, len);
  u->il->id[u->il->n][len] = '\0';
  u->il->len[u->il->n] = len;
  u->recs[u->il->n++] = *rec;
  return 0;
}

/* Random bytes from the worker's own generator (CTR-DRBG, seeded from the
 * system once and reseeded by itself): a getrandom call per scan costs more
 * than the rest of the id. Drawn a kilobyte at a time (the most one call
 * gives), as each call also rekeys the generator: scan ids are shown to the
 * venue anyway, so bytes waiting in memory give nothing away. Returns 0, or
 * -1 when no generator can be made. */
struct worker_rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  uint8_t pool[MBEDTLS_CTR_DRBG_MAX_REQUEST];
  size_t left; /* unused bytes at the pool's start */
};

static int worker_random(cg_worker_t *w, uint8_t *out, size_t n) {
  struct worker_rng *r = w->rng;
  if (r == NULL) {
    if ((r = calloc(1, sizeof *r)) == NULL)
      return -1;
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    if (mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                              (const unsigned char *)"certgw-scan-id", 14) != 0) {
      mbedtls_ctr_drbg_free(&r->drbg);
      mbedtls_entropy_free(&r->entropy);
      free(r);
      return -1;
    }
    w->rng = r;
  }
  if (n > sizeof r->pool)
    return mbedtls_ctr_drbg_random(&r->drbg, out, n) == 0 ? 0 : -1;
  if (r->left < n) {
    if (mbedtls_ctr_drbg_random(&r->drbg, r->pool, sizeof r->pool) != 0)
      return -1;
    r->left = sizeof r->pool;
  }
  r->left -= n;
  memcpy(out, r->pool + r->left, n);
  return 0;
}

static void post_scan(cg_conn_t *c) {
  cg_worker_t *w = c->w;
  cg_runtime_t *rt = runtime(c);
  const cg_scope_t *s;
  cJSON *req = NULL;
  const cJSON *jcode, *jpurpose, *jmatter;
  cg_token_claims_t cl;
  cg_why_t why = {""};
  uint8_t hk[CG_HOLDER_KEY_LEN];
  char scan_id[33], name[256] = "";
  const char *ids[CG_AUDIT_IDS_MAX];
  char idbuf[CG_AUDIT_IDS_MAX][CG_IDENT_MAX + 1];
  int nids = 0, found = 0, in_scope = 0, shown = 0, stale_trust = 0, err;

  if ((s = venue_scope(c, rt)) == NULL)
    return;
  req = cJSON_ParseWithLength(c->req.body.base, c->req.body.len);
  jcode = cJSON_GetObjectItemCaseSensitive(req, "code");
  jpurpose = cJSON_GetObjectItemCaseSensitive(req, "purpose");
  jmatter = cJSON_GetObjectItemCaseSensitive(req, "matter");
  /* From here on every answer is audited, refusals included: the venue is
   * known. The purpose and matter are recorded only once they are sound. */
  const char *said = cJSON_IsString(jpurpose) && strlen(jpurpose->valuestring) <= 128 &&
                             cg_utf8_valid(jpurpose->valuestring, strlen(jpurpose->valuestring))
                         ? jpurpose->valuestring
                         : NULL;
  const char *said_matter = cJSON_IsString(jmatter) && strlen(jmatter->valuestring) <= 64 &&
                                    strspn(jmatter->valuestring,
                                           "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "abcdefghijklmnopqrstuvwxyz-_.") ==
                                        strlen(jmatter->valuestring)
                                ? jmatter->valuestring
                                : NULL;
  if (!s->can_scan) {
    audit(c, CG_AUDIT_SCAN, 403, said, said_matter, 0, NULL, NULL, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, CG_EFORBIDDEN, "the venue's scope does not allow scanning");
    return;
  }
  if (req == NULL || !cJSON_IsObject(req) || !cJSON_IsString(jcode)) {
    audit(c, CG_AUDIT_SCAN, 400, said, said_matter, 0, NULL, NULL, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, CG_EBADREQ, "the body must be {\"code\", \"purpose\", \"matter\"}");
    return;
  }
  /* Every use states why (useCause): no purpose, no scan. */
  if (!cJSON_IsString(jpurpose) || jpurpose->valuestring[0] == '\0' ||
      strlen(jpurpose->valuestring) > 128 ||
      !cg_utf8_valid(jpurpose->valuestring, strlen(jpurpose->valuestring)) ||
      strpbrk(jpurpose->valuestring, "\"\\") != NULL) {
    audit(c, CG_AUDIT_SCAN, 400, NULL, said_matter, 0, NULL, NULL, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, CG_EBADREQ, "purpose is required: a sentence of at most 128 bytes");
    return;
  }
  if (jmatter != NULL && (!cJSON_IsString(jmatter) || strlen(jmatter->valuestring) > 64 ||
                          strspn(jmatter->valuestring, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "abcdefghijklmnopqrstuvwxyz-_.") !=
                              strlen(jmatter->valuestring))) {
    audit(c, CG_AUDIT_SCAN, 400, jpurpose->valuestring, NULL, 0, NULL, NULL, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, CG_EBADREQ, "matter is a service-matter code: letters, digits, - _ .");
    return;
  }
  if (rt->keyring == NULL) {
    audit(c, CG_AUDIT_SCAN, 503, jpurpose->valuestring, jmatter ? jmatter->valuestring : NULL, 0,
          NULL, NULL, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, CG_EUNAVAIL, "no QR key ring is configured");
    return;
  }
  if (w->tokens == NULL)
    w->tokens = cg_token_cache_new(); /* (NULL: a context per call instead) */
  err = cg_token_open_cached(w->tokens, rt->keyring, jcode->valuestring,
                             strlen(jcode->valuestring), (uint64_t)time(NULL), rt->cfg->token_skew,
                             rt->cfg->token_max_ttl, &cl, &why);
  /* (Not again when the scan runs again after asking upstream.) */
  int seen = 0;
  if (err == 0 && s->single_use && c->up_result == NULL &&
      (seen = single_use_seen(w->srv, c->req.venue_id, cl.nonce,
                              (uint64_t)cl.issued_at + cl.lifetime + rt->cfg->token_skew)) > 0) {
    err = CG_EEXPIRED;
    cg_why_set(&why, err, "this code has been used at this venue already");
  }
  if (seen < 0) {
    audit(c, CG_AUDIT_SCAN, 503, jpurpose->valuestring, jmatter ? jmatter->valuestring : NULL, 0,
          NULL, NULL, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, CG_EUNAVAIL, "too many single-use codes are live at once; try again");
    return;
  }
  if (err != 0) {
    int code = err == CG_ECODE || err == CG_ETOKEN || err == CG_EEXPIRED ? err : CG_ETOKEN;
    audit(c, CG_AUDIT_SCAN, cg_err_status(code), jpurpose->valuestring,
          jmatter ? jmatter->valuestring : NULL, 0, NULL, NULL, NULL, 0);
    cg_json_delete(req);
    json_error_why(c, code, &why);
    return;
  }

  /* The holder's certificates of the types asked for that the scope allows. */
  cg_record_holder_key(cl.holder_type, cl.holder_code, 18, hk);
  {
    /* Random: an id that says nothing, and that links no two scans. */
    uint8_t raw[16];
    static const char hex[] = "0123456789abcdef";
    if (worker_random(w, raw, sizeof raw) != 0) {
      uint64_t a = uv_hrtime(), b = XXH3_64bits(&cl, sizeof cl) ^ (uint64_t)(uintptr_t)c;
      memcpy(raw, &a, 8);
      memcpy(raw + 8, &b, 8);
    }
    for (int i = 0; i < 16; i++)
      scan_id[2 * i] = hex[raw[i] >> 4], scan_id[2 * i + 1] = hex[raw[i] & 15];
    scan_id[32] = '\0';
  }
  if (cg_store_reader_begin(w->reader) != 0) {
    cg_json_delete(req);
    cg_conn_error(c, CG_ESTORE, NULL);
    return;
  }
  cg_buf_t *b = &w->scratch;
  cg_buf_reset(b);
  /* The certificates here; the head ({"scan_id", "holder": {…) is made
   * once the holder's name is known, and sent in front of them. */
  cg_buf_puts(b, "},\"certificates\":[");
  cg_record_t one;
  uint32_t d = today();
  /* Walk the index by hand: collect identifiers first (the walk's values
   * die with the snapshot, which stays open until the answer is built). */
  struct idlist *il = malloc(sizeof *il); /* (5 KB: zeroed as far as it is used) */
  if (il != NULL) {
    il->n = 0;
    memset(il->unread, 0, sizeof il->unread);
  }
  if (il == NULL) {
    cg_store_reader_end(w->reader);
    cg_json_delete(req);
    cg_conn_error(c, CG_ENOMEM, NULL);
    return;
  }
  cg_upresult_t *ur = c->up_result;
  cg_record_t *urec = NULL;
  if (ur == NULL) {
    cg_store_holder_each(w->reader, hk, collect_id, il);
  } else if (ur->err == 0 && (urec = calloc(64, sizeof *urec)) != NULL) {
    /* Back from upstream: the platforms' certificates of this holder. */
    struct up_ids ui = {.il = il, .recs = urec};
    each_upstream_entry(ur, collect_entry, &ui);
  }
  if (ur == NULL && il->n == 0 && cg_upstream_tiers(w->srv->upstream) > 0) {
    /* None here: ask the platforms, and come back. */
    int rc = cg_upstream_want_holder(w->srv->upstream, w, cl.holder_type, cl.holder_code,
                                     upstream_done, c);
    if (rc == 0) {
      cg_store_reader_end(w->reader);
      free(il);
      cg_json_delete(req);
      cg_conn_suspend(c);
      return;
    }
    if (rc != CG_ENOTFOUND) {
      cg_store_reader_end(w->reader);
      free(il);
      audit(c, CG_AUDIT_SCAN, 503, jpurpose->valuestring, jmatter ? jmatter->valuestring : NULL,
            cl.holder_type, cl.holder_code, scan_id, NULL, 0);
      cg_json_delete(req);
      cg_conn_error(c, rc == CG_ENOMEM ? rc : CG_EUPSTREAM, NULL);
      return;
    }
  }
  if (ur != NULL && ur->err != 0 && ur->err != CG_ENOTFOUND) {
    cg_store_reader_end(w->reader);
    free(il);
    audit(c, CG_AUDIT_SCAN, cg_err_status(ur->err), jpurpose->valuestring,
          jmatter ? jmatter->valuestring : NULL, cl.holder_type, cl.holder_code, scan_id, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, ur->err, NULL);
    return;
  }
  for (int i = 0; i < il->n; i++) {
    cg_record_t *rec = urec != NULL ? &urec[i] : &one;
    /* Stored identifiers were checked when they came in: the type is read
     * from the identifier, and a certificate the venue may not see is not
     * read at all (a hotel sees one of a holder's five or so). */
    const char *type = cg_ident_type_of(il->id[i], il->len[i]);
    if (type == NULL || !cg_view_type_allowed(s, type) || !cg_token_claims_wants(&cl, type, 21)) {
      il->unread[i] = 1;
      continue;
    }
    if (!holders(w, urec == NULL, cl.holder_type, cl.holder_code, il->id[i], il->len[i], rec))
      continue;
    found++;
    in_scope++;
    int stale = rec->seal_state == CG_SEAL_UNCHECKED || rec->trust_gen != rt->trust_gen;
    if (stale && w->srv->seals)
      cg_seals_check(w->srv->seals, rt->trust, il->id[i], il->len[i], rec, NULL, NULL, NULL);
    if (!stale && rec->seal_state == CG_SEAL_INVALID && !s->diagnostics) {
      stale_trust += trust_stale(rec);
      continue;
    }
    /* Valid: in date, not revoked or suspended, and its seal verified. */
    int valid = !stale && rec->seal_state == CG_SEAL_VERIFIED && rec->status == CG_CERT_VALID &&
                rec->effective <= d && (rec->expiring == 0 || rec->expiring >= d);
    size_t mark = b->len;
    if (nids > 0 || b->base[b->len - 1] != '[')
      cg_buf_putc(b, ',');
    if (cg_view_render(s, rec, rt->trust_gen, b) != 0) {
      b->len = mark; /* (a view that cannot be made is left out, comma and all) */
      continue;
    }
    b->len--; /* the object's closing brace */
    cg_buf_puts(b, valid ? ",\"valid\":true}" : ",\"valid\":false}");
    shown++;
    /* The name from a certificate shown, not from one whose seal failed. */
    if (name[0] == '\0')
      holder_name(rec, name, sizeof name);
    if (nids < CG_AUDIT_IDS_MAX) {
      memcpy(idbuf[nids], il->id[i], il->len[i]); /* len <= CG_IDENT_MAX: collect_id */
      idbuf[nids][il->len[i]] = '\0';
      ids[nids] = idbuf[nids];
      nids++;
    }
  }
  if (in_scope == 0) {
    /* 403 or 404: whether any of those left unread is the holder's. */
    for (int i = 0; i < il->n && found == 0; i++)
      if (il->unread[i] && holders(w, urec == NULL, cl.holder_type, cl.holder_code, il->id[i],
                                   il->len[i], urec != NULL ? &urec[i] : &one))
        found++;
  }
  cg_store_reader_end(w->reader);
  free(il);
  free(urec);
  if (found == 0 || in_scope == 0 || shown == 0) {
    /* (In scope but none shown: every seal failed, or no view could be made.) */
    int code = found == 0 || in_scope == 0 ? (found == 0 ? CG_ENOTFOUND : CG_EFORBIDDEN)
               : stale_trust > 0           ? CG_EUNAVAIL
                                           : CG_ENOTFOUND;
    audit(c, CG_AUDIT_SCAN, cg_err_status(code), jpurpose->valuestring,
          jmatter ? jmatter->valuestring : NULL, cl.holder_type, cl.holder_code, scan_id, NULL, 0);
    cg_json_delete(req);
    cg_conn_error(c, code,
                  found == 0      ? "the holder has no certificates here"
                  : in_scope == 0 ? "the venue's scope covers none of the holder's certificates"
                  : code == CG_EUNAVAIL
                      ? TRUST_STALE_MSG
                      : "none of the holder's certificates here has a valid seal");
    return;
  }
  cg_buf_puts(b, "]}");
  /* The head: the id and the holder, masked as the scope says. */
  char head_mem[1024];
  cg_buf_t h = {.base = head_mem, .cap = sizeof head_mem, .max = sizeof head_mem}; /* max = cap: never grown, so a stack array serves */
  cg_buf_puts(&h, "{\"scan_id\":\"");
  cg_buf_append(&h, scan_id, 32);
  cg_buf_puts(&h, "\",\"holder\":{\"type\":\"");
  cg_buf_puts(&h, cg_ident_holder_type_code(cl.holder_type));
  cg_buf_putc(&h, '"');
  /* Code and name only where the scope shows those fields, as in the
   * certificates that follow. */
  if (cg_view_shows(s, "certificateHolderCode")) {
    cg_buf_putc(&h, ',');
    put_member(&h, s, "certificateHolderCode", "code", cl.holder_code);
  }
  if (name[0] && cg_view_shows(s, "certificateHolderName")) {
    cg_buf_putc(&h, ',');
    put_member(&h, s, "certificateHolderName", "name", name);
  }
  if (audit(c, CG_AUDIT_SCAN, 200, jpurpose->valuestring, jmatter ? jmatter->valuestring : NULL,
            cl.holder_type, cl.holder_code, scan_id, ids, nids) != 0) {
    cg_json_delete(req);
    cg_conn_error(c, CG_EUNAVAIL, "the audit log is not keeping up; try again");
    return;
  }
  cg_json_delete(req);
  cg_conn_respond2(c, 200, "application/json", NULL, h.base, h.len, b->base, b->len);
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
  x.trust_stale = cg_trust_stale(rt->trust);
  x.trust_next_change = (long long)cg_trust_fresh_until(rt->trust);
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
  if (cg_metrics_render(ms, n, &x, &c->w->scratch) != 0 ||
      cg_upstream_metrics(c->w->srv->upstream, &c->w->scratch) != 0 ||
      cg_writer_metrics(c->w->srv->writer, &c->w->scratch) != 0) {
    cg_conn_error(c, CG_EINTERNAL, NULL);
    return;
  }
  cg_conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, c->w->scratch.base,
                  c->w->scratch.len);
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void route(cg_conn_t *c, char *q) {
  cg_request_t *r = &c->req;
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
  } else if (strcmp(path, "/v1/scan") == 0) {
    r->route = CG_ROUTE_SCAN;
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
  if (r->route == CG_ROUTE_VERIFY || r->route == CG_ROUTE_SCAN ? r->method != HTTP_POST : !get) {
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
  case CG_ROUTE_SCAN:
    if (q != NULL) {
      cg_conn_error(c, CG_EBADREQ, "this resource takes no query parameters");
      return;
    }
    post_scan(c);
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

void cg_routes_handle(cg_conn_t *c) {
  cg_worker_t *w = c->w;
  char *q = strchr(c->req.url, '?');
  /* cJSON's memory for this request (bodies, scoped views) comes from the
   * worker's arena, dropped whole once the request is answered or waits:
   * no handler keeps a cJSON value past its return. */
  if (w->json == NULL)
    w->json = cg_json_arena_new(1u << 20);
  cg_json_arena_enter(w->json);
  route(c, q);
  cg_json_arena_enter(NULL);
  cg_json_arena_reset(w->json);
  /* The request may run again after a wait (a seal check, an upstream
   * fetch): it must find its target as it came. */
  if (q != NULL)
    *q = '?';
  if (!c->suspended && c->up_result != NULL) {
    cg_upresult_release(c->up_result);
    c->up_result = NULL;
  }
}

void cg_routes_runtime_changed(cg_worker_t *w) {
  cg_token_cache_free(w->tokens);
  w->tokens = NULL;
}

void cg_routes_worker_end(cg_worker_t *w) {
  struct worker_rng *r = w->rng;
  if (r != NULL) {
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
    mbedtls_platform_zeroize(r, sizeof *r);
    free(r);
    w->rng = NULL;
  }
  cg_routes_runtime_changed(w);
  struct vcache *vc = w->verify_cache;
  if (vc != NULL) {
    struct vc_entry *e, *tmp;
    HASH_ITER(hh, vc->table, e, tmp) {
      HASH_DEL(vc->table, e);
      free(e);
    }
    free(vc);
    w->verify_cache = NULL;
  }
  if (w->json != NULL)
    cg_json_arena_free(w->json);
  w->json = NULL;
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
