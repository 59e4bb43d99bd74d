/* workload.c — demo.json in, pre-rendered requests out (see workload.h).
 *
 * Fetch requests are kept grouped by certificate type, the most common type
 * of demo.json first, so Zipf popularity falls on types (a few types dominate
 * real use) and a type's certificates share its traffic evenly. Each real
 * identifier has a twin that misses: same type code, issuer and version, a
 * serial the demo never issues, and a freshly computed check character, so
 * the gateway must look it up rather than refuse it. Scan requests carry QR
 * texts minted by `certctl mint` (or read from --codes FILE).
 */
#include "bench/workload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/ident.h"
#include "core/view.h"

#define DEMO_MAX (16u << 20)   /* demo.json larger than this is not a demo */
#define SCAN_CODES_MAX 32      /* QR codes minted for the scan workload */
#define CODES_FILE_MAX 1000    /* QR texts read from --codes FILE */
#define LINE_MAX_BYTES 4096    /* one QR text, one line of certctl's stderr */

struct cg_workload {
  cJSON *doc;
  char *ids_text;            /* --ids FILE as read, split into lines in place */
  const char *listen, *config;
  const char *venue_id, *venue_scope, *venue_key;

  cg_work_req_t *hit, *miss; /* fetch, grouped by type: group t is [start[t], start[t] + len[t]) */
  int in_turn;
  _Atomic size_t turn;       /* the next fetch in turn (threads share it) */
  size_t nfetch, ntypes;
  size_t *type_start, *type_len;
  double *type_cdf;          /* NULL: uniform over certificates */
  cg_work_req_t *holder;
  size_t nholder;
  double *holder_cdf;
  cg_work_req_t *scan;
  size_t nscan;
  double *scan_cdf;

  double kind_cum[CG_WORK_KINDS], kind_total;
  int only_kind;             /* the one kind with weight, or -1 for a mix */
  double miss_share;
  size_t max_len;
};

static const char *const kind_names[CG_WORK_KINDS] = {"fetch", "holder", "scan"};

const char *cg_work_kind_name(int kind) {
  return kind >= 0 && kind < CG_WORK_KINDS ? kind_names[kind] : "?";
}

/* ---- random numbers ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void cg_rng_seed(cg_rng_t *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t cg_rng_next(cg_rng_t *r) {
  uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double cg_rng_double(cg_rng_t *r) {
  return (double)(cg_rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- helpers ------------------------------------------------------------------ */

static int failf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* A value that can go into a request line or header as it is: printable
 * ASCII without spaces. Keys and codes come from a file a person may edit. */
static int token_ok(const char *s) {
  if (s == NULL || *s == '\0')
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
      return 0;
  return 1;
}

static const char *str_member(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Probabilities 1 / rank^s, accumulated and normalised; NULL when s is 0. */
static double *zipf_cdf(size_t n, double s) {
  double *cdf, sum = 0.0;
  if (s <= 0.0 || n == 0)
    return NULL;
  cdf = malloc(n * sizeof *cdf);
  if (cdf == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    sum += 1.0 / pow((double)(i + 1), s);
    cdf[i] = sum;
  }
  for (size_t i = 0; i < n; i++)
    cdf[i] /= sum;
  return cdf;
}

static size_t cdf_pick(const double *cdf, size_t n, cg_rng_t *r) {
  double u = cg_rng_double(r);
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] > u)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Renders one request into r; body may be NULL (a GET). */
static int render(cg_workload_t *w, cg_work_req_t *r, int kind, int expect, const char *host,
                  const char *path, const char *body) {
  char buf[CG_WORK_REQ_MAX];
  int n;

  if (body == NULL)
    n = snprintf(buf, sizeof buf, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                 path, host, w->venue_key);
  else
    n = snprintf(buf, sizeof buf,
                 "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 path, host, w->venue_key, strlen(body), body);
  if (n < 0 || (size_t)n >= sizeof buf)
    return -1;
  char *copy = malloc((size_t)n + 1);
  if (copy == NULL)
    return -1;
  memcpy(copy, buf, (size_t)n + 1);
  r->base = copy;
  r->len = (size_t)n;
  r->kind = kind;
  r->expect = expect;
  if (r->len > w->max_len)
    w->max_len = r->len;
  return 0;
}

/* ---- demo.json ----------------------------------------------------------------- */

int cg_workload_open(const char *path, cg_workload_t **out, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  cg_workload_t *w;
  char *text;
  size_t n;

  *out = NULL;
  if (f == NULL)
    return failf(err, errlen, "cannot open %s: %s", path, strerror(errno));
  text = malloc(DEMO_MAX + 1);
  if (text == NULL) {
    fclose(f);
    return failf(err, errlen, "out of memory");
  }
  n = fread(text, 1, DEMO_MAX + 1, f);
  fclose(f);
  if (n > DEMO_MAX) {
    free(text);
    return failf(err, errlen, "%s is larger than %u MiB: not a demo.json", path, DEMO_MAX >> 20);
  }
  text[n] = '\0';
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    free(text);
    return failf(err, errlen, "out of memory");
  }
  w->doc = cJSON_ParseWithLength(text, n);
  free(text);
  if (w->doc == NULL) {
    cg_workload_free(w);
    return failf(err, errlen, "%s is not valid JSON", path);
  }
  w->listen = str_member(w->doc, "listen");
  w->config = str_member(w->doc, "config");
  if (w->listen == NULL || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(w->doc, "venues"))) {
    cg_workload_free(w);
    return failf(err, errlen, "%s has no \"listen\" or no \"venues\": is it a demo.json?", path);
  }
  w->only_kind = -1;
  *out = w;
  return 0;
}

const char *cg_workload_listen(const cg_workload_t *w) {
  return w->listen;
}

static void free_reqs(cg_work_req_t *r, size_t n) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free((void *)r[i].base);
  free(r);
}

void cg_workload_free(cg_workload_t *w) {
  if (w == NULL)
    return;
  free_reqs(w->hit, w->nfetch);
  free_reqs(w->miss, w->nfetch);
  free_reqs(w->holder, w->nholder);
  free_reqs(w->scan, w->nscan);
  free(w->type_start);
  free(w->type_len);
  free(w->type_cdf);
  free(w->holder_cdf);
  free(w->scan_cdf);
  cJSON_Delete(w->doc);
  free(w->ids_text);
  free(w);
}

static int pick_venue(cg_workload_t *w, const char *want, char *err, size_t errlen) {
  const cJSON *v, *venues = cJSON_GetObjectItemCaseSensitive(w->doc, "venues");
  char known[512];
  size_t k = 0;

  /* A scope name picks the first venue of that scope; anything else is an id. */
  cJSON_ArrayForEach(v, venues) {
    const char *id = str_member(v, "id"), *scope = str_member(v, "scope");
    if (id == NULL || scope == NULL)
      continue;
    if (strcmp(scope, want) == 0 || strcmp(id, want) == 0) {
      w->venue_id = id;
      w->venue_scope = scope;
      w->venue_key = str_member(v, "key");
      if (!token_ok(w->venue_key))
        return failf(err, errlen, "venue %s has no usable \"key\" in demo.json", id);
      return 0;
    }
    int n = snprintf(known + k, sizeof known - k, "%s%s (%s)", k ? ", " : "", id, scope);
    if (n > 0 && (size_t)n < sizeof known - k)
      k += (size_t)n;
  }
  known[k] = '\0';
  return failf(err, errlen, "no venue \"%s\" in demo.json; there are: %s", want, k ? known : "none");
}

/* ---- fetch ---------------------------------------------------------------------- */

/* A valid identifier that is not in the store, made from id into out (at
 * least CG_IDENT_MAX + 1 bytes). The demo's serials are all digits, so one
 * starting with "CB" is never issued. Returns 0, or -1 if id is invalid. */
static int miss_twin(const char *id, uint64_t *x, char *out, size_t outlen) {
  cg_ident_t p;
  char serial[16], joined[CG_IDENT_MAX + 1];
  size_t idlen = strlen(id);
  int n;

  if (cg_ident_parse(id, idlen, &p, NULL) != 0)
    return -1;
  int tlen = (int)(p.issuer - 1 - p.type_code), ilen = (int)(p.serial - 1 - p.issuer);
  int vlen = (int)(id + idlen - 2 - p.version);
  snprintf(serial, sizeof serial, "CB%010llu", (unsigned long long)(splitmix64(x) % 10000000000ull));
  n = snprintf(joined, sizeof joined, "%.*s%.*s%s%.*s", tlen, p.type_code, ilen, p.issuer, serial,
               vlen, p.version);
  if (n < 0 || (size_t)n >= sizeof joined)
    return -1;
  char check = cg_ident_mod37_36(joined, (size_t)n);
  n = snprintf(out, outlen, "%s%.*s.%.*s.%s.%.*s.%c", CG_IDENT_ROOT, tlen, p.type_code, ilen,
               p.issuer, serial, vlen, p.version, check);
  if (n < 0 || (size_t)n >= outlen || check == 0)
    return -1;
  return cg_ident_parse(out, (size_t)n, NULL, NULL) == 0 ? 0 : -1;
}

/* The type code of an identifier (its first segment after the root), as a
 * length into id; 0 for something that is not an identifier. */
static size_t type_len_of(const char *id) {
  const size_t root = sizeof CG_IDENT_ROOT - 1;
  const char *dot;
  if (strncmp(id, CG_IDENT_ROOT, root) != 0 || (dot = strchr(id + root, '.')) == NULL)
    return 0;
  return (size_t)(dot - id);
}

static int same_type(const char *a, const char *b) {
  size_t la = type_len_of(a), lb = type_len_of(b);
  return la == lb && memcmp(a, b, la) == 0;
}

/* --ids FILE: the whole file into w->ids_text, its non-empty lines (a
 * trailing CR dropped) ended in place. Returns how many, or -1. */
static long read_ids(cg_workload_t *w, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  long size, n = 0;
  if (f == NULL)
    return failf(err, errlen, "cannot open %s: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return failf(err, errlen, "cannot read %s: %s", path, strerror(errno));
  }
  w->ids_text = malloc((size_t)size + 1);
  if (w->ids_text == NULL || fread(w->ids_text, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    return failf(err, errlen, "cannot read %s", path);
  }
  fclose(f);
  w->ids_text[size] = '\0';
  for (char *p = w->ids_text; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = '\0';
  for (long i = 0; i < size; i++)
    if (w->ids_text[i] != '\0' && (i == 0 || w->ids_text[i - 1] == '\0'))
      n++;
  if (n == 0)
    return failf(err, errlen, "%s holds no identifiers", path);
  return n;
}

static int build_fetch(cg_workload_t *w, const cg_workload_opts_t *o, char *err, size_t errlen) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(w->doc, "certificates"), *v;
  const char **ids, **sorted;
  size_t n = 0, cap;
  size_t *count;
  uint64_t x = o->seed ^ 0x6d697373ull; /* "miss" */
  char path[64 + CG_IDENT_MAX], twin[CG_IDENT_MAX + 1];
  cg_why_t why;

  long nfile = 0;
  if (o->ids_file && !o->id && (nfile = read_ids(w, o->ids_file, err, errlen)) < 0)
    return -1;
  cap = o->id ? 1 : o->ids_file ? (size_t)nfile : (size_t)cJSON_GetArraySize(list);
  if (cap == 0)
    return failf(err, errlen, "demo.json lists no certificates to fetch");
  ids = calloc(cap, sizeof *ids);
  sorted = calloc(cap, sizeof *sorted);
  count = calloc(cap, sizeof *count);
  w->type_start = calloc(cap, sizeof *w->type_start);
  w->type_len = calloc(cap, sizeof *w->type_len);
  w->hit = calloc(cap, sizeof *w->hit);
  w->miss = calloc(cap, sizeof *w->miss);
  if (!ids || !sorted || !count || !w->type_start || !w->type_len || !w->hit || !w->miss) {
    free(ids), free(sorted), free(count);
    return failf(err, errlen, "out of memory");
  }
  if (o->id) {
    if (!token_ok(o->id) || strlen(o->id) > CG_IDENT_MAX) {
      free(ids), free(sorted), free(count);
      return failf(err, errlen, "--id \"%s\" cannot go into a request line", o->id);
    }
    if (cg_ident_parse(o->id, strlen(o->id), NULL, &why) != 0)
      fprintf(stderr, "certbench: warning: --id %s is not a valid identifier (%s): expect 400s\n",
              o->id, why.text);
    ids[n++] = o->id;
  } else if (o->ids_file) {
    /* Each line once, in the file's order; what cannot go into a request
     * line is skipped (an identifier the store lacks is answered 404). */
    size_t size = 0;
    while (n < cap) {
      char *p = w->ids_text + size;
      while (*p == '\0')
        p++;
      size = (size_t)(p - w->ids_text) + strlen(p) + 1;
      if (token_ok(p) && strlen(p) <= CG_IDENT_MAX)
        ids[n++] = p;
      else
        cap--;
    }
    if (n == 0) {
      free(ids), free(sorted), free(count);
      return failf(err, errlen, "%s holds no identifier that can go into a request line", o->ids_file);
    }
  } else {
    cJSON_ArrayForEach(v, list) {
      if (n < cap && cJSON_IsString(v) && token_ok(v->valuestring) &&
          strlen(v->valuestring) <= CG_IDENT_MAX)
        ids[n++] = v->valuestring;
    }
  }
  /* Types by how often demo.json lists them, most common first (ties keep
   * their order): the ranks Zipf popularity uses. */
  size_t ntypes = 0;
  const char **type_rep = calloc(n, sizeof *type_rep);
  if (type_rep == NULL) {
    free(ids), free(sorted), free(count);
    return failf(err, errlen, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    size_t t = 0;
    while (t < ntypes && !same_type(type_rep[t], ids[i]))
      t++;
    if (t == ntypes)
      type_rep[ntypes++] = ids[i];
    count[t]++;
  }
  for (size_t i = 1; i < ntypes; i++) {
    for (size_t j = i; j > 0 && count[j] > count[j - 1]; j--) {
      size_t c = count[j];
      const char *r = type_rep[j];
      count[j] = count[j - 1], type_rep[j] = type_rep[j - 1];
      count[j - 1] = c, type_rep[j - 1] = r;
    }
  }
  size_t k = 0;
  for (size_t t = 0; t < ntypes; t++) {
    w->type_start[t] = k;
    for (size_t i = 0; i < n; i++)
      if (same_type(type_rep[t], ids[i]))
        sorted[k++] = ids[i];
    w->type_len[t] = k - w->type_start[t];
  }
  w->ntypes = ntypes;
  free(type_rep);

  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    snprintf(path, sizeof path, "/v1/certificates/%s", sorted[i]);
    if (render(w, &w->hit[i], CG_WORK_FETCH, 200, o->host, path, NULL) != 0)
      rc = failf(err, errlen, "a fetch request is longer than %d bytes", CG_WORK_REQ_MAX);
    else
      w->nfetch = i + 1; /* what cg_workload_free must free from here on */
    /* A large --ids list makes its missing twins only when they are asked for. */
    if (rc == 0 && o->ids_file && o->miss <= 0.0)
      continue;
    if (rc == 0 && miss_twin(sorted[i], &x, twin, sizeof twin) == 0) {
      snprintf(path, sizeof path, "/v1/certificates/%s", twin);
      if (render(w, &w->miss[i], CG_WORK_FETCH, 404, o->host, path, NULL) != 0)
        rc = failf(err, errlen, "a fetch request is longer than %d bytes", CG_WORK_REQ_MAX);
    } else if (rc == 0 && o->miss > 0.0) {
      rc = failf(err, errlen, "cannot make a missing twin of %s (not a valid identifier)", sorted[i]);
    }
  }
  free(ids), free(sorted), free(count);
  if (rc != 0)
    return rc;
  if (o->zipf > 0.0 && (w->type_cdf = zipf_cdf(w->ntypes, o->zipf)) == NULL)
    return failf(err, errlen, "out of memory");
  return 0;
}

/* ---- holders and scans ------------------------------------------------------------- */

typedef struct holder_ref {
  const char *code, *type;
  const cJSON *certs; /* the holder's identifiers in demo.json */
} holder_ref_t;

/* demo.json's holders in an order shuffled by the seed: the popularity ranks. */
static size_t holders_shuffled(const cg_workload_t *w, uint64_t seed, holder_ref_t **out) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(w->doc, "holders"), *v;
  size_t n = 0, cap = (size_t)cJSON_GetArraySize(list);
  holder_ref_t *h = calloc(cap ? cap : 1, sizeof *h);
  cg_rng_t r;

  *out = h;
  if (h == NULL)
    return 0;
  cJSON_ArrayForEach(v, list) {
    const char *code = str_member(v, "code"), *type = str_member(v, "type");
    if (n < cap && token_ok(code) && strlen(code) <= 64)
      h[n++] = (holder_ref_t){code, token_ok(type) && strlen(type) <= 8 ? type : NULL,
                              cJSON_GetObjectItemCaseSensitive(v, "certificates")};
  }
  cg_rng_seed(&r, seed, 0x686f6c64ull); /* "hold" */
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(cg_rng_next(&r) % i);
    holder_ref_t t = h[i - 1];
    h[i - 1] = h[j], h[j] = t;
  }
  return n;
}

static int build_holder(cg_workload_t *w, const cg_workload_opts_t *o, char *err, size_t errlen) {
  holder_ref_t *h;
  size_t n = holders_shuffled(w, o->seed, &h);
  char path[128];
  int rc = 0;

  if (n == 0) {
    free(h);
    return failf(err, errlen, "demo.json lists no holders");
  }
  w->holder = calloc(n, sizeof *w->holder);
  for (size_t i = 0; i < n && rc == 0; i++) {
    snprintf(path, sizeof path, "/v1/holders/%s/certificates", h[i].code);
    if (w->holder == NULL || render(w, &w->holder[i], CG_WORK_HOLDER, 200, o->host, path, NULL) != 0)
      rc = failf(err, errlen, "cannot render a holder request");
    else
      w->nholder = i + 1;
  }
  free(h);
  if (rc == 0 && o->zipf > 0.0 && (w->holder_cdf = zipf_cdf(w->nholder, o->zipf)) == NULL)
    rc = failf(err, errlen, "out of memory");
  return rc;
}

/* Appends s to cmd in single quotes, for sh. Returns -1 when it does not fit. */
static int sh_quote(char *cmd, size_t cap, size_t *len, const char *s) {
  size_t k = *len;
  if (k + 3 > cap)
    return -1;
  cmd[k++] = ' ';
  cmd[k++] = '\'';
  for (; *s; s++) {
    if (*s == '\'') {
      if (k + 4 >= cap)
        return -1;
      memcpy(cmd + k, "'\\''", 4);
      k += 4;
    } else {
      if (k + 1 >= cap)
        return -1;
      cmd[k++] = *s;
    }
  }
  if (k + 2 > cap)
    return -1;
  cmd[k++] = '\'';
  cmd[k] = '\0';
  *len = k;
  return 0;
}

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = '\0';
}

/* Runs `certctl mint` for one holder; the QR text goes to code. On failure
 * returns -1 with what went wrong (certctl's first line of complaint) in why. */
static int mint_one(const cg_workload_opts_t *o, const char *config, const holder_ref_t *h,
                    char *code, size_t codelen, char *why, size_t whylen) {
  char cmd[4096], errpath[] = "/tmp/certbench-mint-XXXXXX";
  size_t len = 0;
  int fd = mkstemp(errpath), status;
  FILE *p, *ef;

  if (fd < 0)
    return failf(why, whylen, "cannot make a temporary file: %s", strerror(errno));
  close(fd);
  cmd[0] = '\0';
  if (sh_quote(cmd, sizeof cmd, &len, o->certctl) || sh_quote(cmd, sizeof cmd, &len, "mint") ||
      sh_quote(cmd, sizeof cmd, &len, "-c") || sh_quote(cmd, sizeof cmd, &len, config) ||
      sh_quote(cmd, sizeof cmd, &len, "--holder") || sh_quote(cmd, sizeof cmd, &len, h->code) ||
      (h->type && (sh_quote(cmd, sizeof cmd, &len, "--holder-type") ||
                   sh_quote(cmd, sizeof cmd, &len, h->type))) ||
      len + strlen(errpath) + 16 >= sizeof cmd) {
    unlink(errpath);
    return failf(why, whylen, "the certctl command line is too long");
  }
  snprintf(cmd + len, sizeof cmd - len, " 2>'%s'", errpath);
  code[0] = '\0';
  p = popen(cmd, "r");
  if (p == NULL) {
    unlink(errpath);
    return failf(why, whylen, "cannot run %s: %s", o->certctl, strerror(errno));
  }
  if (fgets(code, (int)codelen, p) == NULL)
    code[0] = '\0';
  while (fgetc(p) != EOF) /* the rest is not ours, but certctl must not block on it */
    ;
  status = pclose(p);
  chomp(code);
  if (status == 0 && code[0] != '\0') {
    unlink(errpath);
    return 0;
  }
  char line[LINE_MAX_BYTES] = "";
  if ((ef = fopen(errpath, "r")) != NULL) {
    if (fgets(line, sizeof line, ef) == NULL)
      line[0] = '\0';
    fclose(ef);
  }
  unlink(errpath);
  chomp(line);
  if (status == -1 || !WIFEXITED(status))
    return failf(why, whylen, "it did not finish normally%s%s", line[0] ? ": " : "", line);
  if (WEXITSTATUS(status) == 127)
    return failf(why, whylen, "%s was not found; give its path with --certctl", o->certctl);
  if (WEXITSTATUS(status) != 0)
    return failf(why, whylen, "exit %d%s%s", WEXITSTATUS(status), line[0] ? ": " : "", line);
  return failf(why, whylen, "it printed no QR text");
}

static int add_scan(cg_workload_t *w, const cg_workload_opts_t *o, const char *text) {
  cJSON *body = cJSON_CreateObject();
  char *json;
  int rc = -1;

  if (body == NULL)
    return -1;
  cJSON_AddStringToObject(body, "code", text);
  cJSON_AddStringToObject(body, "purpose", "certbench load test");
  json = cJSON_PrintUnformatted(body);
  if (json != NULL && render(w, &w->scan[w->nscan], CG_WORK_SCAN, 200, o->host, "/v1/scan", json) == 0) {
    w->nscan++;
    rc = 0;
  }
  free(json);
  cJSON_Delete(body);
  return rc;
}

/* Keeps, in order, the holders of whom scope sees a certificate: scanning
 * the others is answered 403, which measures the refusal, not the scan. */
static size_t holders_seen(holder_ref_t *h, size_t n, const cg_scope_t *scope) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const cJSON *id;
    int seen = 0;
    cJSON_ArrayForEach(id, h[i].certs) {
      const char *type =
          cJSON_IsString(id) ? cg_ident_type_of(id->valuestring, strlen(id->valuestring)) : NULL;
      if (type != NULL && cg_view_type_allowed(scope, type)) {
        seen = 1;
        break;
      }
    }
    if (seen)
      h[k++] = h[i];
  }
  return k;
}

static int build_scan(cg_workload_t *w, const cg_workload_opts_t *o, char *err, size_t errlen) {
  char line[LINE_MAX_BYTES];

  if (o->codes_file) {
    FILE *f = fopen(o->codes_file, "r");
    if (f == NULL)
      return failf(err, errlen, "cannot open %s: %s", o->codes_file, strerror(errno));
    w->scan = calloc(CODES_FILE_MAX, sizeof *w->scan);
    while (w->scan && w->nscan < CODES_FILE_MAX && fgets(line, sizeof line, f)) {
      chomp(line);
      if (line[0] != '\0' && add_scan(w, o, line) != 0) {
        fclose(f);
        return failf(err, errlen, "a QR text in %s makes a request longer than %d bytes",
                     o->codes_file, CG_WORK_REQ_MAX);
      }
    }
    fclose(f);
    if (w->nscan == 0)
      return failf(err, errlen, "%s holds no QR texts (one a line)", o->codes_file);
  } else {
    holder_ref_t *h;
    size_t n = holders_shuffled(w, o->seed, &h);
    char why[LINE_MAX_BYTES + 128];
    cg_config_t *cfg = NULL;
    cg_why_t cwhy = {0};

    /* The venue's scope, from the deployment's config, when it can be read. */
    if (w->config != NULL && n > 0 && cg_config_load(&cfg, w->config, &cwhy) == 0) {
      const cg_scope_t *scope = cg_config_scope(cfg, w->venue_scope);
      if (scope != NULL && !scope->all_types && (n = holders_seen(h, n, scope)) == 0) {
        cg_config_free(cfg);
        free(h);
        return failf(err, errlen, "no holder in demo.json has a certificate that scope %s sees",
                     w->venue_scope);
      }
      cg_config_free(cfg);
    }
    if (w->config == NULL || n == 0) {
      free(h);
      return failf(err, errlen, "the scan workload mints QR codes for demo.json's holders with its "
                                "\"config\", and demo.json has %s",
                   w->config ? "no holders" : "no \"config\"");
    }
    if (n > SCAN_CODES_MAX)
      n = SCAN_CODES_MAX;
    w->scan = calloc(n, sizeof *w->scan);
    for (size_t i = 0; w->scan && i < n; i++) {
      if (mint_one(o, w->config, &h[i], line, sizeof line, why, sizeof why) != 0) {
        failf(err, errlen,
              "the scan workload sends QR codes minted by `certctl mint`, and `%s mint -c %s "
              "--holder %s` failed: %s. `certctl mint` arrives with a later issue; until then "
              "choose --workload fetch or holder, or give QR texts with --codes FILE",
              o->certctl, w->config, h[i].code, why);
        free(h);
        return -1;
      }
      if (add_scan(w, o, line) != 0) {
        free(h);
        return failf(err, errlen, "a minted QR code makes a request longer than %d bytes",
                     CG_WORK_REQ_MAX);
      }
    }
    free(h);
  }
  if (w->scan == NULL)
    return failf(err, errlen, "out of memory");
  if (o->zipf > 0.0 && (w->scan_cdf = zipf_cdf(w->nscan, o->zipf)) == NULL)
    return failf(err, errlen, "out of memory");
  return 0;
}

/* ---- the whole workload --------------------------------------------------------------- */

int cg_workload_render(cg_workload_t *w, const cg_workload_opts_t *o, char *err, size_t errlen) {
  int kinds = 0;

  if (pick_venue(w, o->venue, err, errlen) != 0)
    return -1;
  if (!token_ok(o->host))
    return failf(err, errlen, "the target \"%s\" cannot go into a Host header", o->host);
  w->kind_total = 0.0;
  for (int k = 0; k < CG_WORK_KINDS; k++) {
    w->kind_total += o->weight[k];
    w->kind_cum[k] = w->kind_total;
    if (o->weight[k] > 0) {
      kinds++;
      w->only_kind = k;
    }
  }
  if (kinds == 0)
    return failf(err, errlen, "the mix gives no kind of request a share");
  if (kinds > 1)
    w->only_kind = -1;
  w->miss_share = o->miss;
  w->in_turn = o->in_turn;
  if (strcmp(w->venue_scope, "hotel") == 0 &&
      (o->weight[CG_WORK_FETCH] > 0 || o->weight[CG_WORK_HOLDER] > 0))
    fprintf(stderr, "certbench: warning: venue %s has scope hotel, which may only scan: fetch and "
                    "holder requests will be answered 403\n",
            w->venue_id);
  if (o->weight[CG_WORK_FETCH] > 0 && build_fetch(w, o, err, errlen) != 0)
    return -1;
  if (o->weight[CG_WORK_HOLDER] > 0 && build_holder(w, o, err, errlen) != 0)
    return -1;
  if (o->weight[CG_WORK_SCAN] > 0 && build_scan(w, o, err, errlen) != 0)
    return -1;
  return 0;
}

const cg_work_req_t *cg_workload_pick(const cg_workload_t *w, cg_rng_t *r) {
  int kind = w->only_kind;
  size_t i;

  if (kind < 0) {
    double u = cg_rng_double(r) * w->kind_total;
    for (kind = 0; kind < CG_WORK_KINDS - 1 && u >= w->kind_cum[kind]; kind++)
      ;
  }
  switch (kind) {
  case CG_WORK_FETCH:
    if (w->in_turn) {
      /* The counter is the only state pick writes: a const workload is
       * shared by every thread. */
      i = atomic_fetch_add(&((cg_workload_t *)w)->turn, 1) % w->nfetch;
    } else if (w->type_cdf) {
      size_t t = cdf_pick(w->type_cdf, w->ntypes, r);
      i = w->type_start[t] + (size_t)(cg_rng_next(r) % w->type_len[t]);
    } else {
      i = (size_t)(cg_rng_next(r) % w->nfetch);
    }
    if (w->miss_share > 0.0 && cg_rng_double(r) < w->miss_share)
      return &w->miss[i];
    return &w->hit[i];
  case CG_WORK_HOLDER:
    i = w->holder_cdf ? cdf_pick(w->holder_cdf, w->nholder, r) : (size_t)(cg_rng_next(r) % w->nholder);
    return &w->holder[i];
  default:
    i = w->scan_cdf ? cdf_pick(w->scan_cdf, w->nscan, r) : (size_t)(cg_rng_next(r) % w->nscan);
    return &w->scan[i];
  }
}

size_t cg_workload_max_len(const cg_workload_t *w) {
  return w->max_len;
}

const char *cg_workload_venue_id(const cg_workload_t *w) {
  return w->venue_id;
}

const char *cg_workload_venue_scope(const cg_workload_t *w) {
  return w->venue_scope;
}

void cg_workload_info(const cg_workload_t *w, cg_workload_info_t *info) {
  memset(info, 0, sizeof *info);
  info->keys[CG_WORK_FETCH] = w->nfetch;
  info->keys[CG_WORK_HOLDER] = w->nholder;
  info->keys[CG_WORK_SCAN] = w->nscan;
  info->types = w->ntypes;
  for (size_t i = 0; i < w->nfetch; i++)
    info->misses += w->miss[i].base != NULL;
}
