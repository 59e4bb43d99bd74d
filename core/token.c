/* token.c — QR codes: the key ring, sealing claims and opening codes (see
 * token.h; docs/qr-code.md is the format).
 *
 * Binary form: version, key id, nonce (12), AES-128-GCM ciphertext of the
 * packed claims, GCM tag (16); the version and key id bytes are the
 * additional authenticated data. The packed claims are holder type (1),
 * holder code (18, ASCII), issued-at (4, big-endian), lifetime (2,
 * big-endian), number of types n (1), n type tags (3 each).
 */
#include "core/token.h"

#include <errno.h>
#include <stdatomic.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base45.h"
#include "core/ident.h"

#define PREFIX_LEN (sizeof CG_TOKEN_PREFIX - 1)
#define HEAD_LEN (2 + CG_TOKEN_NONCE_LEN)                 /* version, key id, nonce */
#define CLAIMS_MIN (1 + CG_TOKEN_HOLDER_LEN + 4 + 2 + 1)  /* without type tags */
#define CLAIMS_MAX (CLAIMS_MIN + CG_TOKEN_TYPES_MAX * CG_TOKEN_TYPE_TAG_LEN)
#define BIN_MIN (HEAD_LEN + CLAIMS_MIN + CG_TOKEN_GCM_TAG_LEN)
#define BIN_MAX (HEAD_LEN + CLAIMS_MAX + CG_TOKEN_GCM_TAG_LEN)

_Static_assert(PREFIX_LEN + BIN_MAX / 2 * 3 + BIN_MAX % 2 * 2 <= CG_TOKEN_TEXT_MAX,
               "the longest code must fit CG_TOKEN_TEXT_MAX");

/* ---- key ring -------------------------------------------------------------- */

struct cg_keyring {
  uint64_t serial;                    /* unique to this load: caches follow reloads */
  int count;
  int mint_id;                        /* 0: none */
  uint8_t present[256];               /* by id; present[0] stays 0 */
  uint8_t key[256][CG_TOKEN_KEY_LEN]; /* by id */
};

static _Atomic uint64_t ring_serials;

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The next whitespace-separated word of [*p, end), or 0 if none is left. */
static size_t word(const char **p, const char *end, const char **w) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
    s++;
  *w = s;
  while (s < end && *s != ' ' && *s != '\t' && *s != '\r')
    s++;
  *p = s;
  return (size_t)(s - *w);
}

/* One line without its newline and comment. Returns 0 or CG_ECONFIG. */
static int parse_line(cg_keyring_t *r, const char *s, const char *end, const char *name,
                      int line, int lines[256], cg_why_t *why) {
  const char *w;
  size_t n;
  int id = 0;

  if ((n = word(&s, end, &w)) == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (w[i] < '0' || w[i] > '9') {
      id = -1;
      break;
    }
    if (id <= 255) /* past 255 it stays there, and cannot overflow */
      id = id * 10 + (w[i] - '0');
  }
  if (id < 1 || id > 255)
    return cg_why_set(why, CG_ECONFIG, "%s:%d: key id \"%.*s\" is not a number from 1 to 255",
                      name, line, (int)(n > 16 ? 16 : n), w);
  if (r->present[id])
    return cg_why_set(why, CG_ECONFIG, "%s:%d: key id %d already on line %d", name, line, id,
                      lines[id]);

  n = word(&s, end, &w);
  if (n != 2 * CG_TOKEN_KEY_LEN)
    return cg_why_set(why, CG_ECONFIG, "%s:%d: key %d is not %d hex digits (AES-128)", name,
                      line, id, 2 * CG_TOKEN_KEY_LEN);
  for (size_t i = 0; i < CG_TOKEN_KEY_LEN; i++) {
    int hi = hexval(w[2 * i]), lo = hexval(w[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return cg_why_set(why, CG_ECONFIG, "%s:%d: key %d is not %d hex digits (AES-128)", name,
                        line, id, 2 * CG_TOKEN_KEY_LEN);
    r->key[id][i] = (uint8_t)(hi << 4 | lo);
  }

  if ((n = word(&s, end, &w)) != 0) {
    if (n != 4 || memcmp(w, "mint", 4) != 0)
      return cg_why_set(why, CG_ECONFIG, "%s:%d: \"%.*s\" after key %d: only \"mint\" may follow",
                        name, line, (int)(n > 16 ? 16 : n), w, id);
    if (r->mint_id != 0)
      return cg_why_set(why, CG_ECONFIG, "%s:%d: key %d marked mint, but key %d on line %d is",
                        name, line, id, r->mint_id, lines[r->mint_id]);
    r->mint_id = id;
  }
  if ((n = word(&s, end, &w)) != 0)
    return cg_why_set(why, CG_ECONFIG, "%s:%d: \"%.*s\": more than \"KID KEY [mint]\"", name,
                      line, (int)(n > 16 ? 16 : n), w);
  r->present[id] = 1;
  lines[id] = line;
  r->count++;
  return 0;
}

int cg_keyring_parse(cg_keyring_t **out, const char *text, size_t len, const char *name,
                     cg_why_t *why) {
  cg_keyring_t *r;
  const char *p = text, *end = text + len;
  int lines[256] = {0}, line = 0, err;

  *out = NULL;
  if ((r = calloc(1, sizeof *r)) == NULL)
    return CG_ENOMEM;
  r->serial = atomic_fetch_add(&ring_serials, 1) + 1;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop;
    if (nl == NULL)
      nl = end;
    stop = memchr(p, '#', (size_t)(nl - p));
    line++;
    if ((err = parse_line(r, p, stop ? stop : nl, name, line, lines, why)) != 0)
      goto fail;
    p = nl + 1;
  }
  if (r->count == 0) {
    err = cg_why_set(why, CG_ECONFIG, "%s: no keys", name);
    goto fail;
  }
  *out = r;
  return 0;
fail:
  cg_keyring_free(r);
  return err;
}

int cg_keyring_load(cg_keyring_t **out, const char *path, cg_why_t *why) {
  enum { MAX = 1 << 20 }; /* 255 keys take about 10 KiB, comments aside */
  char *text;
  size_t n;
  FILE *f;
  int err;

  *out = NULL;
  if ((f = fopen(path, "rb")) == NULL)
    return cg_why_set(why, CG_EIO, "%s: %s", path, strerror(errno));
  if ((text = malloc(MAX + 1)) == NULL) {
    fclose(f);
    return CG_ENOMEM;
  }
  n = fread(text, 1, MAX + 1, f);
  if (ferror(f))
    err = cg_why_set(why, CG_EIO, "%s: read failed", path);
  else if (n > MAX)
    err = cg_why_set(why, CG_ECONFIG, "%s: larger than %d bytes", path, MAX);
  else
    err = cg_keyring_parse(out, text, n, path, why);
  fclose(f);
  mbedtls_platform_zeroize(text, n);
  free(text);
  return err;
}

void cg_keyring_free(cg_keyring_t *ring) {
  if (ring == NULL)
    return;
  mbedtls_platform_zeroize(ring, sizeof *ring);
  free(ring);
}

int cg_keyring_count(const cg_keyring_t *ring) { return ring->count; }

int cg_keyring_mint_id(const cg_keyring_t *ring) { return ring->mint_id; }

/* ---- claims ---------------------------------------------------------------- */

void cg_token_type_tag(const char *type_code, size_t len, uint8_t tag[CG_TOKEN_TYPE_TAG_LEN]) {
  uint8_t h[32];
  mbedtls_sha256_ret((const unsigned char *)type_code, len, h, 0);
  memcpy(tag, h, CG_TOKEN_TYPE_TAG_LEN);
}

int cg_token_claims_add_type(cg_token_claims_t *c, const char *type_code, size_t len,
                             cg_why_t *why) {
  uint8_t tag[CG_TOKEN_TYPE_TAG_LEN];
  cg_why_t inner;

  /* As in an identifier: the defining body's credit code and 3 digits. */
  if (len != 21)
    return cg_why_set(why, CG_EIDENT, "type code has %zu characters, not 21", len);
  if (cg_ident_uscc_validate(type_code, 18, &inner) != 0)
    return cg_why_set(why, CG_EIDENT, "type code: defining body: %s", inner.text);
  for (int i = 18; i < 21; i++)
    if (type_code[i] < '0' || type_code[i] > '9')
      return cg_why_set(why, CG_EIDENT, "type code does not end in 3 digits");
  cg_token_type_tag(type_code, len, tag);
  for (int i = 0; i < c->ntypes; i++)
    if (memcmp(c->types[i], tag, sizeof tag) == 0)
      return 0;
  if (c->ntypes < 0 || c->ntypes >= CG_TOKEN_TYPES_MAX)
    return cg_why_set(why, CG_EBADREQ, "more than %d certificate types", CG_TOKEN_TYPES_MAX);
  memcpy(c->types[c->ntypes++], tag, sizeof tag);
  return 0;
}

int cg_token_claims_wants(const cg_token_claims_t *c, const char *type_code, size_t len) {
  uint8_t tag[CG_TOKEN_TYPE_TAG_LEN];

  if (c->ntypes == 0)
    return 1;
  cg_token_type_tag(type_code, len, tag);
  for (int i = 0; i < c->ntypes; i++)
    if (memcmp(c->types[i], tag, sizeof tag) == 0)
      return 1;
  return 0;
}

/* ---- sealing --------------------------------------------------------------- */

static size_t pack(const cg_token_claims_t *c, uint8_t *p) {
  size_t n = 0;
  p[n++] = (uint8_t)c->holder_type;
  memcpy(p + n, c->holder_code, CG_TOKEN_HOLDER_LEN);
  n += CG_TOKEN_HOLDER_LEN;
  p[n++] = (uint8_t)(c->issued_at >> 24);
  p[n++] = (uint8_t)(c->issued_at >> 16);
  p[n++] = (uint8_t)(c->issued_at >> 8);
  p[n++] = (uint8_t)c->issued_at;
  p[n++] = (uint8_t)(c->lifetime >> 8);
  p[n++] = (uint8_t)c->lifetime;
  p[n++] = (uint8_t)c->ntypes;
  for (int i = 0; i < c->ntypes; i++, n += CG_TOKEN_TYPE_TAG_LEN)
    memcpy(p + n, c->types[i], CG_TOKEN_TYPE_TAG_LEN);
  return n;
}

/* The reverse of pack over n authenticated bytes. Returns 0, or -1 for
 * content no honest minter writes. */
static int unpack(const uint8_t *p, size_t n, cg_token_claims_t *c) {
  c->holder_type = p[0];
  if (c->holder_type != CG_HOLDER_CITIZEN && c->holder_type != CG_HOLDER_ORG)
    return -1;
  memcpy(c->holder_code, p + 1, CG_TOKEN_HOLDER_LEN);
  c->holder_code[CG_TOKEN_HOLDER_LEN] = '\0';
  p += 1 + CG_TOKEN_HOLDER_LEN;
  c->issued_at = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  c->lifetime = (uint16_t)(p[4] << 8 | p[5]);
  c->ntypes = p[6];
  if ((size_t)c->ntypes != (n - CLAIMS_MIN) / CG_TOKEN_TYPE_TAG_LEN)
    return -1;
  memcpy(c->types, p + 7, (size_t)c->ntypes * CG_TOKEN_TYPE_TAG_LEN);
  return 0;
}

static int system_rng(unsigned char *buf, size_t len) {
  mbedtls_entropy_context ent;
  mbedtls_ctr_drbg_context drbg;
  int rc;

  mbedtls_entropy_init(&ent);
  mbedtls_ctr_drbg_init(&drbg);
  rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, (const unsigned char *)"token",
                             5);
  if (rc == 0)
    rc = mbedtls_ctr_drbg_random(&drbg, buf, len);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&ent);
  return rc;
}

int cg_token_mint(const cg_keyring_t *ring, cg_token_claims_t *c, uint64_t now,
                  cg_token_rng_cb rng, void *rng_ctx, char *out, size_t cap, cg_why_t *why) {
  uint8_t bin[BIN_MAX], plain[CLAIMS_MAX];
  mbedtls_gcm_context gcm;
  size_t m, n;
  int id = ring->mint_id, rc, err;

  if (id == 0)
    return cg_why_set(why, CG_ECONFIG, "no key in the key ring is marked mint");
  if ((err = cg_ident_holder_validate(c->holder_type, c->holder_code,
                                      strnlen(c->holder_code, sizeof c->holder_code), why)) != 0)
    return err;
  if (c->ntypes < 0 || c->ntypes > CG_TOKEN_TYPES_MAX)
    return cg_why_set(why, CG_EBADREQ, "%d certificate types, at most %d", c->ntypes,
                      CG_TOKEN_TYPES_MAX);
  if (c->lifetime == 0)
    return cg_why_set(why, CG_EBADREQ, "a lifetime of 0 seconds");
  if (now > UINT32_MAX)
    return cg_why_set(why, CG_EBADREQ, "the time does not fit 32 bits");

  c->issued_at = (uint32_t)now;
  c->key_id = (uint8_t)id;
  if ((rng ? rng(rng_ctx, c->nonce, sizeof c->nonce) : system_rng(c->nonce, sizeof c->nonce)) != 0)
    return cg_why_set(why, CG_ECRYPTO, "no random nonce");
  m = pack(c, plain);
  n = HEAD_LEN + m + CG_TOKEN_GCM_TAG_LEN;
  if (cap < PREFIX_LEN + cg_base45_encoded_len(n) + 1) {
    mbedtls_platform_zeroize(plain, sizeof plain);
    return cg_why_set(why, CG_ETOOBIG, "no room for the code");
  }
  bin[0] = CG_TOKEN_VERSION;
  bin[1] = (uint8_t)id;
  memcpy(bin + 2, c->nonce, CG_TOKEN_NONCE_LEN);

  mbedtls_gcm_init(&gcm);
  rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, ring->key[id], 8 * CG_TOKEN_KEY_LEN);
  if (rc == 0)
    rc = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, m, c->nonce, CG_TOKEN_NONCE_LEN,
                                   bin, 2, plain, bin + HEAD_LEN, CG_TOKEN_GCM_TAG_LEN,
                                   bin + HEAD_LEN + m);
  mbedtls_gcm_free(&gcm);
  mbedtls_platform_zeroize(plain, sizeof plain);
  if (rc != 0)
    return cg_why_set(why, CG_ECRYPTO, "AES-GCM failed (mbedTLS -0x%04x)", (unsigned)-rc);
  memcpy(out, CG_TOKEN_PREFIX, PREFIX_LEN);
  return cg_base45_encode(bin, n, out + PREFIX_LEN, cap - PREFIX_LEN);
}

/* ---- opening --------------------------------------------------------------- */

struct cg_token_cache {
  uint64_t serial;                   /* of the ring the contexts were keyed from */
  mbedtls_gcm_context *gcm[256];     /* by key id, keyed on first use */
};

cg_token_cache_t *cg_token_cache_new(void) { return calloc(1, sizeof(cg_token_cache_t)); }

static void cache_drop(cg_token_cache_t *tc) {
  for (int i = 0; i < 256; i++) {
    if (tc->gcm[i] != NULL) {
      mbedtls_gcm_free(tc->gcm[i]); /* (zeroes the key schedule) */
      free(tc->gcm[i]);
      tc->gcm[i] = NULL;
    }
  }
}

void cg_token_cache_free(cg_token_cache_t *tc) {
  if (tc == NULL)
    return;
  cache_drop(tc);
  free(tc);
}

/* tc's context for key id of ring, keyed; NULL when out of memory or the
 * key is refused (rc says which mbedTLS error). */
static mbedtls_gcm_context *cache_context(cg_token_cache_t *tc, const cg_keyring_t *ring, int id,
                                          int *rc) {
  mbedtls_gcm_context *g;
  *rc = 0;
  if (tc->serial != ring->serial) {
    cache_drop(tc);
    tc->serial = ring->serial;
  }
  if ((g = tc->gcm[id]) != NULL)
    return g;
  if ((g = malloc(sizeof *g)) == NULL)
    return NULL;
  mbedtls_gcm_init(g);
  if ((*rc = mbedtls_gcm_setkey(g, MBEDTLS_CIPHER_ID_AES, ring->key[id], 8 * CG_TOKEN_KEY_LEN)) !=
      0) {
    mbedtls_gcm_free(g);
    free(g);
    return NULL;
  }
  return tc->gcm[id] = g;
}

int cg_token_open(const cg_keyring_t *ring, const char *text, size_t len, uint64_t now,
                  unsigned skew, unsigned max_ttl, cg_token_claims_t *out, cg_why_t *why) {
  return cg_token_open_cached(NULL, ring, text, len, now, skew, max_ttl, out, why);
}

int cg_token_open_cached(cg_token_cache_t *tc, const cg_keyring_t *ring, const char *text,
                         size_t len, uint64_t now, unsigned skew, unsigned max_ttl,
                         cg_token_claims_t *out, cg_why_t *why) {
  uint8_t bin[BIN_MAX], plain[CLAIMS_MAX];
  mbedtls_gcm_context own, *gcm;
  size_t n, m;
  int id, rc = 0;

  memset(out, 0, sizeof *out);
  if (len > CG_TOKEN_TEXT_MAX)
    return cg_why_set(why, CG_ECODE, "longer than %d characters", CG_TOKEN_TEXT_MAX);
  if (len < PREFIX_LEN || memcmp(text, CG_TOKEN_PREFIX, PREFIX_LEN) != 0)
    return cg_why_set(why, CG_ECODE, "does not start with %s", CG_TOKEN_PREFIX);
  if (cg_base45_decode(text + PREFIX_LEN, len - PREFIX_LEN, bin, sizeof bin, &n) != 0)
    return cg_why_set(why, CG_ECODE, "not Base45 (RFC 9285)");
  if (n < BIN_MIN || (n - BIN_MIN) % CG_TOKEN_TYPE_TAG_LEN != 0)
    return cg_why_set(why, CG_ECODE, "%zu bytes, not a code's length", n);
  if (bin[0] != CG_TOKEN_VERSION)
    return cg_why_set(why, CG_ECODE, "version %d, not %d", bin[0], CG_TOKEN_VERSION);
  id = bin[1];
  if (!ring->present[id])
    return cg_why_set(why, CG_ETOKEN, "unknown key id %d", id);

  /* The thread's keyed context, or one for this call: mbedtls_gcm_auth_decrypt
   * writes into its context, so one is never shared between threads. */
  m = n - HEAD_LEN - CG_TOKEN_GCM_TAG_LEN;
  gcm = tc != NULL ? cache_context(tc, ring, id, &rc) : NULL;
  if (gcm == NULL && (tc == NULL || rc == 0)) { /* (no cache, or no memory for one more) */
    mbedtls_gcm_init(gcm = &own);
    rc = mbedtls_gcm_setkey(gcm, MBEDTLS_CIPHER_ID_AES, ring->key[id], 8 * CG_TOKEN_KEY_LEN);
  }
  if (rc == 0)
    rc = mbedtls_gcm_auth_decrypt(gcm, m, bin + 2, CG_TOKEN_NONCE_LEN, bin, 2,
                                  bin + HEAD_LEN + m, CG_TOKEN_GCM_TAG_LEN, bin + HEAD_LEN,
                                  plain);
  if (gcm == &own)
    mbedtls_gcm_free(&own);
  if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED)
    return cg_why_set(why, CG_ETOKEN, "authentication failed under key %d", id);
  if (rc != 0)
    return cg_why_set(why, CG_ECRYPTO, "AES-GCM failed (mbedTLS -0x%04x)", (unsigned)-rc);

  rc = unpack(plain, m, out);
  mbedtls_platform_zeroize(plain, sizeof plain);
  if (rc != 0 || cg_ident_holder_validate(out->holder_type, out->holder_code,
                                          CG_TOKEN_HOLDER_LEN, NULL) != 0) {
    memset(out, 0, sizeof *out);
    return cg_why_set(why, CG_ETOKEN, "genuine but malformed content under key %d", id);
  }
  out->key_id = (uint8_t)id;
  memcpy(out->nonce, bin + 2, CG_TOKEN_NONCE_LEN);

  if (out->lifetime == 0 || out->lifetime > max_ttl) {
    unsigned lifetime = out->lifetime;
    memset(out, 0, sizeof *out);
    return cg_why_set(why, CG_ETOKEN, "a lifetime of %u s; allowed: 1 to %u s", lifetime,
                      max_ttl);
  }
  if (out->issued_at > now + skew)
    return cg_why_set(why, CG_EEXPIRED, "issued %llu s in the future",
                      (unsigned long long)(out->issued_at - now));
  if (now > (uint64_t)out->issued_at + out->lifetime + skew)
    return cg_why_set(why, CG_EEXPIRED, "expired %llu s ago",
                      (unsigned long long)(now - out->issued_at - out->lifetime));
  return 0;
}
