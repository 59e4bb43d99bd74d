/* routes.c — what the simulated platform answers.
 *
 * The protocol's three calls (docs/upstream.md, "The protocol") and the
 * /_sim/ endpoints that tests use to look at and steer the simulator. A
 * protocol call is counted first, then meets the faults in a fixed order
 * (latency and jitter; hang; reset; error; garbage; slow applies to
 * whatever is sent), and only then the checks of the platform proper:
 * credentials (401), a stated purpose (400), the answer. /_sim/ calls have
 * no faults and ask no credentials.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <llhttp.h>

#include "core/cert.h"
#include "core/ident.h"
#include "sim.h"

/* ---- answers ------------------------------------------------------------------ */

void sim_answer_reset(sim_answer_t *a) {
  a->status = 200;
  a->slow_ms = 0;
  a->close_delimited = 0;
  a->body.len = 0;
  if (cg_buf_reserve(&a->body, SIM_HEAD_ROOM) == 0)
    a->body.len = SIM_HEAD_ROOM;
}

void sim_answer_error(sim_answer_t *a, int status, const char *code, const char *message) {
  cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
  char *text;

  cJSON_AddStringToObject(e, "code", code);
  cJSON_AddStringToObject(e, "message", message); /* cJSON escapes what a peer put in it */
  text = cJSON_PrintUnformatted(o);
  sim_answer_reset(a);
  a->status = status;
  if (text == NULL || cg_buf_puts(&a->body, text) != 0) {
    sim_answer_reset(a);
    a->status = 500;
    cg_buf_puts(&a->body, "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}");
  }
  cJSON_free(text);
  cJSON_Delete(o);
}

/* An error from the CG_E… table, with its status and name. */
static void answer_err(sim_answer_t *a, int err, const char *message) {
  sim_answer_error(a, cg_err_status(err), cg_err_name(err),
                   message != NULL && message[0] ? message : cg_strerror(err));
}

static void bad_request(sim_answer_t *a, const char *message) {
  sim_answer_error(a, 400, "bad_request", message);
}

/* ---- request pieces ----------------------------------------------------------- */

static int hexval(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                : -1;
}

enum { BAD_ESCAPE = -1, TOO_LONG = -2, ABSENT = -3 };

/* Decodes the %XX escapes of s[0..n) into out (cap bytes, with the NUL).
 * Returns the length, BAD_ESCAPE (also for %00) or TOO_LONG. */
static ssize_t pct_decode(const char *s, size_t n, char *out, size_t cap) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
        return BAD_ESCAPE;
      c = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
      if (c == 0)
        return BAD_ESCAPE;
      i += 2;
    }
    if (m + 1 >= cap)
      return TOO_LONG;
    out[m++] = (char)c;
  }
  out[m] = '\0';
  return (ssize_t)m;
}

/* Finds key=value in a query string and decodes the first value into out.
 * Returns the value's length, ABSENT, BAD_ESCAPE or TOO_LONG. */
static ssize_t query_get(const char *q, size_t qlen, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  const char *end = q + qlen;

  out[0] = '\0';
  while (q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - q) > klen && memcmp(q, key, klen) == 0 && q[klen] == '=')
      return pct_decode(q + klen + 1, (size_t)(stop - q) - klen - 1, out, cap);
    q = amp ? amp + 1 : end;
  }
  return ABSENT;
}

/* Digits only, 1..maxlen of them; the value saturates at UINT64_MAX. */
static int parse_digits(const char *s, size_t len, size_t maxlen, uint64_t *out) {
  uint64_t v = 0;
  if (len == 0 || len > maxlen)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    unsigned d = (unsigned)(s[i] - '0');
    v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Compares a secret without stopping at the first difference. */
static int same_secret(const char *given, size_t glen, const char *want) {
  size_t wlen = strlen(want);
  unsigned char diff = glen != wlen;
  for (size_t i = 0; i < glen && wlen > 0; i++)
    diff |= (unsigned char)(given[i] ^ want[i % wlen]);
  return diff == 0;
}

/* X-Purpose: visible ASCII and %XX escapes that decode to UTF-8. Raw
 * UTF-8 in a header is what a client forgot to encode. */
static int purpose_valid(const char *s, size_t n) {
  char dec[SIM_HDR_MAX];
  size_t m = 0;

  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
        return 0;
      c = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
      i += 2;
    } else if (c <= 0x20 || c >= 0x7f) {
      return 0;
    }
    dec[m++] = (char)c;
  }
  return m > 0 && cg_utf8_valid(dec, m);
}

/* ---- the protocol ------------------------------------------------------------- */

/* Which call a path is (an SIM_OP_…, or -1), and its path segment. */
static int protocol_op(const char *path, size_t n, const char **seg, size_t *seglen) {
  static const char changes[] = "/v1/changes", certs[] = "/v1/certificates/",
                    holders[] = "/v1/holders/", tail[] = "/certificates";
  const size_t nc = sizeof certs - 1, nh = sizeof holders - 1, nt = sizeof tail - 1;

  if (n == sizeof changes - 1 && memcmp(path, changes, n) == 0)
    return SIM_OP_CHANGES;
  if (n > nc && memcmp(path, certs, nc) == 0 && memchr(path + nc, '/', n - nc) == NULL) {
    *seg = path + nc;
    *seglen = n - nc;
    return SIM_OP_CERTIFICATE;
  }
  if (n > nh + nt && memcmp(path, holders, nh) == 0 && memcmp(path + n - nt, tail, nt) == 0 &&
      memchr(path + nh, '/', n - nh - nt) == NULL) {
    *seg = path + nh;
    *seglen = n - nh - nt;
    return SIM_OP_HOLDER;
  }
  return -1;
}

static void get_certificate(sim_t *s, sim_answer_t *a, const char *seg, size_t n) {
  char id[CG_IDENT_MAX + 1];
  ssize_t len = pct_decode(seg, n, id, sizeof id);
  int err;

  if (len == BAD_ESCAPE) {
    bad_request(a, "a malformed %-escape in the path");
    return;
  }
  /* Anything longer than an identifier can be is simply not here. */
  err = len == TOO_LONG ? CG_ENOTFOUND : sim_data_fetch(s->data, id, &a->body);
  if (err != 0)
    answer_err(a, err, err == CG_ENOTFOUND ? "the platform has no certificate with this identifier"
                                           : NULL);
}

static void get_holder(sim_t *s, sim_answer_t *a, const char *seg, size_t n, const char *q,
                       size_t qlen) {
  char holder[64], type[64];
  ssize_t hlen = pct_decode(seg, n, holder, sizeof holder);
  ssize_t tlen = query_get(q, qlen, "type", type, sizeof type);
  int err;

  if (hlen == BAD_ESCAPE || tlen == BAD_ESCAPE) {
    bad_request(a, "a malformed %-escape in the request target");
    return;
  }
  if (tlen == 0) {
    bad_request(a, "type must be a certificate type code");
    return;
  }
  /* A holder code or type longer than any real one has no certificates. */
  if (hlen == TOO_LONG || tlen == TOO_LONG)
    err = cg_buf_puts(&a->body, "{\"certificates\":[]}");
  else
    err = sim_data_holder(s->data, holder, tlen == ABSENT ? NULL : type, &a->body);
  if (err != 0)
    answer_err(a, err, NULL);
}

static void get_changes(sim_t *s, sim_answer_t *a, const char *q, size_t qlen) {
  char since[SIM_CURSOR_MAX + 1], limit[16];
  ssize_t slen = query_get(q, qlen, "since", since, sizeof since);
  ssize_t llen = query_get(q, qlen, "limit", limit, sizeof limit);
  uint64_t from, n = SIM_LIMIT_DEFAULT;
  int err;

  if (slen == ABSENT || slen == 0) {
    bad_request(a, "since is required (since=0: from the start)");
    return;
  }
  if (slen < 0 || parse_digits(since, (size_t)slen, SIM_CURSOR_MAX, &from) != 0) {
    bad_request(a, "since is not a cursor of this platform");
    return;
  }
  if (llen != ABSENT && (llen < 0 || parse_digits(limit, (size_t)llen, 9, &n) != 0 || n == 0)) {
    bad_request(a, "limit must be a whole number from 1 to 5000");
    return;
  }
  if (n > SIM_LIMIT_MAX)
    n = SIM_LIMIT_MAX;
  if ((err = sim_data_changes(s->data, from, since, (size_t)n, &a->body)) != 0)
    answer_err(a, err, NULL);
}

static void protocol(sim_t *s, const sim_request_t *r, sim_answer_t *a, int op, const char *seg,
                     size_t seglen, const char *q, size_t qlen) {
  if (r->method != HTTP_GET) {
    sim_answer_error(a, 405, "method_not_allowed", "the platform's calls are GETs");
    return;
  }
  if (s->access_id != NULL &&
      !(r->has_access_id && r->has_token && strcmp(r->access_id, s->access_id) == 0 &&
        same_secret(r->token, r->token_len, s->token))) {
    sim_answer_error(a, 401, "unauthorized", "unknown access id or wrong token");
    return;
  }
  if (!r->has_purpose || r->purpose_len == 0) {
    bad_request(a, "X-Purpose is required: the stated purpose of the use");
    return;
  }
  if (!purpose_valid(r->purpose, r->purpose_len)) {
    bad_request(a, "X-Purpose must be UTF-8, percent-encoded (RFC 3986)");
    return;
  }
  switch (op) {
  case SIM_OP_CERTIFICATE: get_certificate(s, a, seg, seglen); break;
  case SIM_OP_HOLDER: get_holder(s, a, seg, seglen, q, qlen); break;
  default: get_changes(s, a, q, qlen); break;
  }
}

/* What a broken platform, or a proxy in front of it, sends with a 200:
 * half an answer, or an error page. */
static void garbage(sim_answer_t *a, uint64_t *rng) {
  cg_buf_puts(&a->body, sim_rng_next(rng) < 0.5
                            ? "{\"certificate\":{\"certificateIdentifier\":\"1.2.156.3005.2."
                            : "<html><body><h1>502 Bad Gateway</h1></body></html>\n");
}

/* ---- /_sim/ -------------------------------------------------------------------- */

static void sim_stats(sim_t *s, sim_answer_t *a) {
  if (cg_buf_printf(&a->body,
                    "{\"requests\":{\"certificate\":%" PRIuFAST64 ",\"holder\":%" PRIuFAST64
                    ",\"changes\":%" PRIuFAST64 "}}",
                    atomic_load(&s->requests[SIM_OP_CERTIFICATE]),
                    atomic_load(&s->requests[SIM_OP_HOLDER]),
                    atomic_load(&s->requests[SIM_OP_CHANGES])) != 0)
    answer_err(a, CG_ENOMEM, NULL);
}

/* POST: every key is applied, or none. Either way the answer is the
 * settings now in force. */
static void sim_faults(sim_t *s, const sim_request_t *r, sim_answer_t *a) {
  sim_faults_t f;
  cg_why_t why = {{0}};
  int err = 0;

  if (r->method == HTTP_POST) {
    cJSON *o = cJSON_ParseWithLength(r->body.base ? r->body.base : "", r->body.len), *item;
    if (!cJSON_IsObject(o)) {
      cJSON_Delete(o);
      bad_request(a, "the body must be a JSON object of fault settings");
      return;
    }
    pthread_mutex_lock(&s->faults_mu);
    f = s->faults;
    cJSON_ArrayForEach(item, o) {
      if (!cJSON_IsNumber(item))
        err = cg_why_set(&why, CG_EBADREQ, "%.40s must be a number", item->string);
      else
        err = sim_faults_set(&f, item->string, item->valuedouble, &why);
      if (err != 0)
        break;
    }
    if (err == 0)
      s->faults = f;
    pthread_mutex_unlock(&s->faults_mu);
    cJSON_Delete(o);
    if (err != 0) {
      answer_err(a, err, why.text);
      return;
    }
  }
  pthread_mutex_lock(&s->faults_mu);
  f = s->faults;
  pthread_mutex_unlock(&s->faults_mu);
  if (sim_faults_json(&f, &a->body) != 0)
    answer_err(a, CG_ENOMEM, NULL);
}

static void sim_revoke(sim_t *s, const sim_request_t *r, sim_answer_t *a) {
  cJSON *o = cJSON_ParseWithLength(r->body.base ? r->body.base : "", r->body.len);
  const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "certificateIdentifier"));
  int err = id == NULL ? CG_EBADREQ : sim_data_revoke(s->data, id, &a->body);

  cJSON_Delete(o);
  if (err == CG_EBADREQ)
    bad_request(a, "the body must be {\"certificateIdentifier\": \"…\"}");
  else if (err != 0)
    answer_err(a, err,
               err == CG_ENOTFOUND ? "the platform has no certificate with this identifier" : NULL);
}

static void sim_put(sim_t *s, const sim_request_t *r, sim_answer_t *a) {
  cg_why_t why = {{0}};
  int err = sim_data_put(s->data, r->body.base ? r->body.base : "", r->body.len, &a->body, &why);
  if (err != 0)
    answer_err(a, err, why.text);
}

static int named(const char *what, size_t n, const char *name) {
  return n == strlen(name) && memcmp(what, name, n) == 0;
}

static void admin(sim_t *s, const sim_request_t *r, sim_answer_t *a, const char *what, size_t n) {
  int get = r->method == HTTP_GET, post = r->method == HTTP_POST;

  if (named(what, n, "stats"))
    get ? sim_stats(s, a) : sim_answer_error(a, 405, "method_not_allowed", "use GET");
  else if (named(what, n, "faults"))
    get || post ? sim_faults(s, r, a)
                : sim_answer_error(a, 405, "method_not_allowed", "use GET or POST");
  else if (named(what, n, "revoke"))
    post ? sim_revoke(s, r, a) : sim_answer_error(a, 405, "method_not_allowed", "use POST");
  else if (named(what, n, "put"))
    post ? sim_put(s, r, a) : sim_answer_error(a, 405, "method_not_allowed", "use POST");
  else
    sim_answer_error(a, 404, "not_found", "no such /_sim/ endpoint");
}

/* ---- dispatch ------------------------------------------------------------------ */

sim_action_t sim_routes_handle(sim_t *s, const sim_request_t *r, sim_answer_t *a,
                               uint64_t *rng) {
  const char *qmark = memchr(r->url, '?', r->url_len);
  size_t plen = qmark ? (size_t)(qmark - r->url) : r->url_len;
  const char *q = qmark ? qmark + 1 : "";
  size_t qlen = qmark ? r->url_len - plen - 1 : 0;
  const char *seg = NULL;
  size_t seglen = 0;
  sim_faults_t f;
  int op;

  if (plen > 6 && memcmp(r->url, "/_sim/", 6) == 0) {
    admin(s, r, a, r->url + 6, plen - 6);
    return SIM_SEND;
  }
  if ((op = protocol_op(r->url, plen, &seg, &seglen)) < 0) {
    sim_answer_error(a, 404, "not_found", "no such route");
    return SIM_SEND;
  }
  /* Counted before any fault, so a test can tell how often certgw asked. */
  atomic_fetch_add(&s->requests[op], 1);
  pthread_mutex_lock(&s->faults_mu);
  f = s->faults;
  pthread_mutex_unlock(&s->faults_mu);

  if (f.latency_ms > 0 || f.jitter_ms > 0)
    sim_sleep_ms(f.latency_ms + (unsigned)(sim_rng_next(rng) * (f.jitter_ms + 1.0)));
  if (sim_rng_hit(rng, f.hang_rate))
    return SIM_HANG;
  if (sim_rng_hit(rng, f.reset_rate))
    return SIM_RESET;
  if (sim_rng_hit(rng, f.error_rate))
    sim_answer_error(a, 500, "internal_error", "a simulated failure (error_rate)");
  else if (sim_rng_hit(rng, f.garbage_rate))
    garbage(a, rng);
  else
    protocol(s, r, a, op, seg, seglen, q, qlen);
  if (sim_rng_hit(rng, f.slow_rate))
    a->slow_ms = f.slow_ms;
  if (sim_rng_hit(rng, f.close_rate))
    a->close_delimited = 1;
  return SIM_SEND;
}
