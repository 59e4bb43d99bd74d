/* venue.c — venue records and key checks (see venue.h). */
#include "core/venue.h"

#include <cjson/cJSON.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/sha256.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "core/store.h"

static const char hexdig[] = "0123456789abcdef";

int cg_venue_key_new(cg_venue_t *v, char key[CG_VENUE_KEY_LEN + 1]) {
  mbedtls_entropy_context ent;
  mbedtls_ctr_drbg_context drbg;
  uint8_t raw[24];
  int rc;

  mbedtls_entropy_init(&ent);
  mbedtls_ctr_drbg_init(&drbg);
  rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, (const unsigned char *)"venue",
                             5);
  if (rc == 0)
    rc = mbedtls_ctr_drbg_random(&drbg, raw, sizeof raw);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&ent);
  if (rc != 0)
    return CG_ECRYPTO;
  memcpy(key, "cgk_", 4);
  for (size_t i = 0; i < sizeof raw; i++) {
    key[4 + 2 * i] = hexdig[raw[i] >> 4];
    key[5 + 2 * i] = hexdig[raw[i] & 15];
  }
  key[CG_VENUE_KEY_LEN] = '\0';
  cg_venue_key_hash(key, CG_VENUE_KEY_LEN, v->key_hash);
  return 0;
}

void cg_venue_key_hash(const char *key, size_t len, uint8_t out[CG_VENUE_HASH_LEN]) {
  mbedtls_sha256_ret((const unsigned char *)key, len, out, 0);
}

int cg_venue_key_matches(const cg_venue_t *v, const char *key, size_t len) {
  uint8_t h[CG_VENUE_HASH_LEN];
  cg_venue_key_hash(key, len, h);
  return mbedtls_ct_memcmp(h, v->key_hash, CG_VENUE_HASH_LEN) == 0;
}

int cg_venue_id_valid(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > CG_VENUE_ID_MAX)
    return 0;
  return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int cg_venue_encode(const cg_venue_t *v, cg_buf_t *out) {
  char hash[2 * CG_VENUE_HASH_LEN + 1];
  cJSON *o = cJSON_CreateObject();
  char *text;
  int err;

  if (o == NULL)
    return CG_ENOMEM;
  for (size_t i = 0; i < CG_VENUE_HASH_LEN; i++) {
    hash[2 * i] = hexdig[v->key_hash[i] >> 4];
    hash[2 * i + 1] = hexdig[v->key_hash[i] & 15];
  }
  hash[2 * CG_VENUE_HASH_LEN] = '\0';
  cJSON_AddStringToObject(o, "id", v->id);
  cJSON_AddStringToObject(o, "name", v->name);
  cJSON_AddStringToObject(o, "creditCode", v->credit_code);
  cJSON_AddStringToObject(o, "scope", v->scope);
  cJSON_AddStringToObject(o, "keySha256", hash);
  cJSON_AddNumberToObject(o, "rate", v->rate);
  cJSON_AddBoolToObject(o, "disabled", v->disabled);
  cJSON_AddNumberToObject(o, "created", (double)v->created);
  text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (text == NULL)
    return CG_ENOMEM;
  err = cg_buf_puts(out, text);
  cJSON_free(text);
  return err;
}

static int copy(char *dst, size_t cap, const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
    return -1;
  memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
  return 0;
}

/* An optional number field: absent is 0; present, it must be a number in
 * 0..max, since converting a double outside its type is undefined. */
static int number(const cJSON *o, const char *key, double max, double *out) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
  *out = 0;
  if (n == NULL)
    return 0;
  if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0 && n->valuedouble <= max))
    return -1;
  *out = n->valuedouble;
  return 0;
}

static int unhex(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int cg_venue_decode(const char *p, size_t len, cg_venue_t *v) {
  cJSON *o = cJSON_ParseWithLength(p, len);
  char hash[2 * CG_VENUE_HASH_LEN + 1];
  const cJSON *n;
  double rate, created;
  int err = CG_ERECORD;

  memset(v, 0, sizeof *v);
  if (o == NULL)
    return CG_ERECORD;
  if (copy(v->id, sizeof v->id, o, "id") || copy(v->name, sizeof v->name, o, "name") ||
      copy(v->credit_code, sizeof v->credit_code, o, "creditCode") ||
      copy(v->scope, sizeof v->scope, o, "scope") || copy(hash, sizeof hash, o, "keySha256") ||
      strlen(hash) != 2 * CG_VENUE_HASH_LEN)
    goto done;
  for (size_t i = 0; i < CG_VENUE_HASH_LEN; i++) {
    int hi = unhex(hash[2 * i]), lo = unhex(hash[2 * i + 1]);
    if (hi < 0 || lo < 0)
      goto done;
    v->key_hash[i] = (uint8_t)(hi << 4 | lo);
  }
  /* 2^64 - 2048, the largest double below 2^64. */
  if (number(o, "rate", UINT_MAX, &rate) || number(o, "created", 18446744073709549568.0, &created))
    goto done;
  /* certctl takes at most a million a second; a larger stored rate (written
   * otherwise) is held to that, where the bucket arithmetic stays exact. */
  v->rate = rate > 1000000 ? 1000000u : (unsigned)rate;
  v->created = (uint64_t)created;
  /* A damaged flag must not read as "enabled". */
  n = cJSON_GetObjectItemCaseSensitive(o, "disabled");
  if (n != NULL && !cJSON_IsBool(n))
    goto done;
  v->disabled = cJSON_IsTrue(n);
  err = 0;
done:
  cJSON_Delete(o);
  return err;
}

/* ---- registry --------------------------------------------------------------- */

struct entry {
  cg_venue_t v; /* first: a venue's address is its entry's */
  /* milli-tokens in the high 32 bits, the last refill (ms, mod 2^32) low;
   * all ones: never used (the bucket starts full). */
  _Atomic uint64_t bucket;
  UT_hash_handle by_hash;
  UT_hash_handle by_id;
};

struct cg_venue_registry {
  struct entry *by_hash, *by_id;
  size_t n;
};

void cg_venue_registry_free(cg_venue_registry_t *r) {
  struct entry *e, *tmp;
  if (r == NULL)
    return;
  HASH_ITER(by_id, r->by_id, e, tmp) {
    HASH_DELETE(by_id, r->by_id, e);
    HASH_DELETE(by_hash, r->by_hash, e);
    free(e);
  }
  free(r);
}

struct load_ctx {
  cg_venue_registry_t *r;
  cg_why_t *why;
};

static int load_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct load_ctx *x = arg;
  struct entry *e = calloc(1, sizeof *e), *dup;

  if (e == NULL)
    return CG_ENOMEM;
  if (cg_venue_decode(val.base, val.len, &e->v) != 0 || !cg_venue_id_valid(e->v.id)) {
    free(e);
    return cg_why_set(x->why, CG_ERECORD, "venue %.*s: corrupt record", (int)key.len, key.base);
  }
  /* Two venues with one key cannot be told apart: refuse the registry. */
  HASH_FIND(by_hash, x->r->by_hash, e->v.key_hash, CG_VENUE_HASH_LEN, dup);
  if (dup != NULL) {
    cg_why_set(x->why, CG_ERECORD, "venues %s and %s share a key", dup->v.id, e->v.id);
    free(e);
    return CG_ERECORD;
  }
  atomic_init(&e->bucket, UINT64_MAX);
  HASH_ADD(by_hash, x->r->by_hash, v.key_hash, CG_VENUE_HASH_LEN, e);
  HASH_ADD(by_id, x->r->by_id, v.id, strlen(e->v.id), e);
  x->r->n++;
  return 0;
}

int cg_venue_registry_load(cg_store_t *s, cg_venue_registry_t **out, cg_why_t *why) {
  struct load_ctx x = {calloc(1, sizeof(cg_venue_registry_t)), why};
  cg_store_reader_t *rd = NULL;
  int err;

  *out = NULL;
  if (x.r == NULL)
    return CG_ENOMEM;
  if ((err = cg_store_reader_open(s, &rd)) == 0 && (err = cg_store_reader_begin(rd)) == 0) {
    err = cg_store_each(rd, CG_DB_VENUE, load_one, &x);
    cg_store_reader_end(rd);
  }
  cg_store_reader_close(rd);
  if (err != 0) {
    cg_venue_registry_free(x.r);
    return err;
  }
  *out = x.r;
  return 0;
}

const cg_venue_t *cg_venue_registry_find(const cg_venue_registry_t *r, const char *key,
                                         size_t len) {
  uint8_t h[CG_VENUE_HASH_LEN];
  struct entry *e;

  cg_venue_key_hash(key, len, h);
  HASH_FIND(by_hash, r->by_hash, h, CG_VENUE_HASH_LEN, e);
  /* The table found the digest by its own (not constant-time) compare;
   * confirm it the way a key must be compared. */
  if (e == NULL || mbedtls_ct_memcmp(h, e->v.key_hash, CG_VENUE_HASH_LEN) != 0)
    return NULL;
  return &e->v;
}

const cg_venue_t *cg_venue_registry_get(const cg_venue_registry_t *r, const char *id) {
  struct entry *e;
  HASH_FIND(by_id, r->by_id, id, strlen(id), e);
  return e ? &e->v : NULL;
}

size_t cg_venue_registry_count(const cg_venue_registry_t *r) { return r->n; }

int cg_venue_registry_each(const cg_venue_registry_t *r, int (*cb)(void *, const cg_venue_t *),
                           void *arg) {
  struct entry *e, *tmp;
  HASH_ITER(by_id, r->by_id, e, tmp) {
    int rc = cb(arg, &e->v);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int cg_venue_registry_take(const cg_venue_registry_t *r, const cg_venue_t *v, uint64_t now_ms,
                           unsigned rate, unsigned burst, unsigned *retry_after) {
  struct entry *e = (struct entry *)v;
  uint64_t cap, old, tokens, last, now32 = now_ms & 0xffffffffu, next;
  (void)r;

  if (rate == 0)
    return 0;
  if (burst == 0)
    burst = rate;
  cap = (uint64_t)burst * 1000;
  old = atomic_load(&e->bucket);
  do {
    uint64_t t = now32;
    if (old == UINT64_MAX) {
      tokens = cap;
    } else {
      tokens = old >> 32;
      last = old & 0xffffffffu;
      /* Refill at rate tokens a second: rate milli-tokens a millisecond.
       * Workers' clocks differ by a loop turn or so: a time a little before
       * the last one seen refills nothing (and the bucket keeps the later
       * time), rather than wrapping round to a full bucket. A gap of weeks
       * (2^31 ms and more) is idleness, not skew: it refills. */
      int32_t gap = (int32_t)(t - last);
      if (gap < 0 && gap > -60000)
        t = last;
      tokens += ((t - last) & 0xffffffffu) * rate;
      if (tokens > cap)
        tokens = cap;
    }
    if (tokens < 1000) {
      uint64_t missing = 1000 - tokens;
      *retry_after = (unsigned)((missing + rate - 1) / rate / 1000 + 1);
      return CG_ERATE;
    }
    next = (tokens - 1000) << 32 | t;
  } while (!atomic_compare_exchange_weak(&e->bucket, &old, next));
  return 0;
}
