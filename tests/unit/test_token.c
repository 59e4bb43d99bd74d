/* test_token.c — unit tests of core/token.c.
 *
 * A QR code must open to exactly what was minted, and nothing else may open:
 * not a code changed in any one character, not a code under a key the ring
 * lacks, not a code past its lifetime (give or take the skew). The test
 * vector of docs/qr-code.md is checked byte for byte; it was computed
 * independently (Python's cryptography AESGCM and a separate Base45).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base45.h"
#include "core/ident.h"
#include "core/token.h"

#define K1 "000102030405060708090a0b0c0d0e0f"
#define K2 "101112131415161718191A1B1C1D1E1F"
#define CITIZEN "11010519491231002X" /* the GB 11643 example */
#define ORG "91350100M000100Y43"
#define TYPE_A "11100000000013338W032"
#define TYPE_B "11100000000019713D001"
#define TYPE_C "11100000000019713D005"
#define TYPE_D "11100000000013338W001"
#define T0 1767225600u /* 2026-01-01T00:00:00Z */
#define SKEW 30
#define MAX_TTL 300

/* The docs/qr-code.md vector: key 1 = 00..0f (mint), nonce a0..ab, citizen
 * 11010519491231002X, types TYPE_A and TYPE_B, issued T0, lifetime 300. */
static const char vector_text[] =
    "CG1:W50 DKAPKT K33LMEL-PL*VLD91O3AKZ00UMOWHTUETFG4SC+QFD6R+Z7R61:CM8+D7DDZ2T4TA0YCLLSKL"
    "BSR41Q1H8U";
static const uint8_t vector_tags[6] = {0xc1, 0xd5, 0x2f, 0x68, 0xe6, 0x8d};

/* A deterministic "random" source: bytes *ctx, *ctx + 1, ... */
static int counting_rng(void *ctx, unsigned char *buf, size_t len) {
  uint8_t *next = ctx;
  for (size_t i = 0; i < len; i++)
    buf[i] = (*next)++;
  return 0;
}

static int failing_rng(void *ctx, unsigned char *buf, size_t len) {
  (void)ctx, (void)buf, (void)len;
  return -1;
}

static cg_keyring_t *ring_of(const char *text) {
  cg_keyring_t *r = NULL;
  cg_why_t why = {""};
  int err = cg_keyring_parse(&r, text, strlen(text), "test", &why);
  if (err != 0)
    fail_msg("key ring \"%s\": %s", text, why.text);
  return r;
}

static cg_token_claims_t claims_of(int type, const char *code, int ntypes, uint16_t lifetime) {
  static const char *const types[] = {TYPE_A, TYPE_B, TYPE_C, TYPE_D};
  cg_token_claims_t c;
  memset(&c, 0, sizeof c);
  c.holder_type = type;
  snprintf(c.holder_code, sizeof c.holder_code, "%s", code);
  for (int i = 0; i < ntypes; i++)
    assert_int_equal(cg_token_claims_add_type(&c, types[i], 21, NULL), 0);
  c.lifetime = lifetime;
  return c;
}

static void mint_ok(const cg_keyring_t *r, cg_token_claims_t *c, uint64_t now, char *out) {
  cg_why_t why = {""};
  int err = cg_token_mint(r, c, now, NULL, NULL, out, CG_TOKEN_TEXT_MAX + 1, &why);
  if (err != 0)
    fail_msg("mint: %s: %s", cg_strerror(err), why.text);
}

static int open_at(const cg_keyring_t *r, const char *text, uint64_t now, cg_token_claims_t *c) {
  return cg_token_open(r, text, strlen(text), now, SKEW, MAX_TTL, c, NULL);
}

/* The same through a thread's cache of keyed contexts. */
static int open_cached(cg_token_cache_t *tc, const cg_keyring_t *r, const char *text, uint64_t now,
                       cg_token_claims_t *c) {
  return cg_token_open_cached(tc, r, text, strlen(text), now, SKEW, MAX_TTL, c, NULL);
}

/* ---- the test vector ------------------------------------------------------- */

static void test_vector(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 2, 300), got;
  uint8_t seed = 0xa0;
  char text[CG_TOKEN_TEXT_MAX + 1];
  (void)state;

  assert_memory_equal(c.types, vector_tags, sizeof vector_tags);
  assert_int_equal(cg_token_mint(r, &c, T0, counting_rng, &seed, text, sizeof text, NULL), 0);
  assert_string_equal(text, vector_text);
  assert_int_equal(strlen(text), 97);
  assert_int_equal(c.issued_at, T0);
  assert_int_equal(c.key_id, 1);
  assert_int_equal(c.nonce[0], 0xa0);
  assert_int_equal(c.nonce[11], 0xab);

  assert_int_equal(open_at(r, vector_text, T0 + 10, &got), 0);
  assert_int_equal(got.holder_type, CG_HOLDER_CITIZEN);
  assert_string_equal(got.holder_code, CITIZEN);
  assert_int_equal(got.ntypes, 2);
  assert_memory_equal(got.types, vector_tags, sizeof vector_tags);
  assert_int_equal(got.issued_at, T0);
  assert_int_equal(got.lifetime, 300);
  assert_int_equal(got.key_id, 1);
  assert_memory_equal(got.nonce, c.nonce, CG_TOKEN_NONCE_LEN);
  assert_true(cg_token_claims_wants(&got, TYPE_A, 21));
  assert_true(cg_token_claims_wants(&got, TYPE_B, 21));
  assert_false(cg_token_claims_wants(&got, TYPE_C, 21));
  cg_keyring_free(r);
}

/* ---- round trips and sizes --------------------------------------------------- */

static void test_round_trip(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 "\n2 " K2 " mint\n");
  char text[CG_TOKEN_TEXT_MAX + 1], again[CG_TOKEN_TEXT_MAX + 1];
  /* 56 binary bytes and 3 more a type: 4 + 3 characters a pair of bytes. */
  static const size_t lengths[] = {88, 93, 97, 102, 106};
  (void)state;

  for (int holder = 0; holder < 2; holder++) {
    for (int n = 0; n <= CG_TOKEN_TYPES_MAX; n++) {
      cg_token_claims_t c = holder ? claims_of(CG_HOLDER_ORG, ORG, n, 60)
                                   : claims_of(CG_HOLDER_CITIZEN, CITIZEN, n, 300),
                        got;
      mint_ok(r, &c, T0 + (uint64_t)n, text);
      assert_int_equal(strlen(text), lengths[n]);
      assert_memory_equal(text, "CG1:", 4);
      assert_int_equal(open_at(r, text, T0 + 5, &got), 0);
      assert_int_equal(got.holder_type, c.holder_type);
      assert_string_equal(got.holder_code, c.holder_code);
      assert_int_equal(got.ntypes, n);
      assert_memory_equal(got.types, c.types, (size_t)n * CG_TOKEN_TYPE_TAG_LEN);
      assert_int_equal(got.issued_at, T0 + (uint32_t)n);
      assert_int_equal(got.lifetime, c.lifetime);
      assert_int_equal(got.key_id, 2);
      assert_memory_equal(got.nonce, c.nonce, CG_TOKEN_NONCE_LEN);
      /* The nonce is fresh each time, so the same claims never give the same code. */
      mint_ok(r, &c, T0 + (uint64_t)n, again);
      assert_string_not_equal(text, again);
      assert_true(cg_token_claims_wants(&got, TYPE_A, 21));
      assert_true(cg_token_claims_wants(&got, TYPE_D, 21) == (n == 0 || n == 4));
    }
  }
  cg_keyring_free(r);
}

/* The longest code, with every type slot used, fits the 120 characters that
 * cheap scanners read; and it is all QR alphanumeric characters. */
static void test_max_length(void **state) {
  cg_keyring_t *r = ring_of("255 " K1 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_ORG, ORG, CG_TOKEN_TYPES_MAX, 65535);
  char text[CG_TOKEN_TEXT_MAX + 1];
  (void)state;

  mint_ok(r, &c, UINT32_MAX, text);
  assert_int_equal(strlen(text), 106);
  assert_true(strlen(text) <= CG_TOKEN_TEXT_MAX);
  assert_int_equal(strspn(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"), strlen(text));
  assert_int_equal(cg_token_open(r, text, strlen(text), UINT32_MAX, SKEW, 65535, &c, NULL), 0);
  assert_int_equal(c.key_id, 255);
  assert_int_equal(c.lifetime, 65535);
  assert_int_equal(c.issued_at, UINT32_MAX);
  /* A buffer one short is refused, not overrun. */
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, 106, NULL), CG_ETOOBIG);
  cg_keyring_free(r);
}

/* ---- tampering ------------------------------------------------------------- */

/* Each character of a valid code replaced by each other Base45 character:
 * never opens, and fails as malformed or as not genuine. */
static void test_every_single_change(void **state) {
  static const char set[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  cg_keyring_t *r = ring_of("1 " K1 " mint\n2 " K2 "\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 2, 300), got;
  char text[CG_TOKEN_TEXT_MAX + 1], bad[CG_TOKEN_TEXT_MAX + 1];
  int tried = 0, code = 0, token = 0;
  cg_token_cache_t *tc = cg_token_cache_new();
  (void)state;

  assert_non_null(tc);
  mint_ok(r, &c, T0, text);
  assert_int_equal(open_cached(tc, r, text, T0, &got), 0);
  for (size_t i = 0; i < strlen(text); i++) {
    for (const char *s = set; *s; s++) {
      if (*s == text[i])
        continue;
      memcpy(bad, text, sizeof text);
      bad[i] = *s;
      int err = open_at(r, bad, T0, &got);
      assert_int_equal(open_cached(tc, r, bad, T0, &got), err);
      if (err != CG_ECODE && err != CG_ETOKEN)
        fail_msg("position %zu '%c' -> '%c': %d (%s)", i, text[i], *s, err, cg_err_name(err));
      code += err == CG_ECODE;
      token += err == CG_ETOKEN;
      tried++;
    }
  }
  assert_int_equal(tried, 97 * 44);
  assert_true(code > 0 && token > 0);
  /* Refusals left the cached contexts sound. */
  assert_int_equal(open_cached(tc, r, text, T0, &got), 0);
  cg_token_cache_free(tc);
  cg_keyring_free(r);
}

/* A cache follows the ring it is given: a reloaded ring whose key 1 is
 * another key opens with that key, not with the schedule of the old one,
 * even when the new ring takes the old one's memory. */
static void test_cache_follows_ring(void **state) {
  cg_keyring_t *a = ring_of("1 " K1 " mint\n2 " K2 "\n"), *b;
  cg_token_cache_t *tc = cg_token_cache_new();
  cg_token_claims_t c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 1, 300), got;
  char under_k1[CG_TOKEN_TEXT_MAX + 1], under_k2[CG_TOKEN_TEXT_MAX + 1];
  (void)state;

  assert_non_null(tc);
  mint_ok(a, &c, T0, under_k1);
  for (int i = 0; i < 3; i++) { /* keyed once, then reused */
    assert_int_equal(open_cached(tc, a, under_k1, T0, &got), 0);
    assert_string_equal(got.holder_code, CITIZEN);
    assert_int_equal(open_cached(tc, a, vector_text, T0, &got), 0);
  }
  cg_keyring_free(a);
  b = ring_of("1 " K2 " mint\n");
  mint_ok(b, &c, T0, under_k2);
  assert_int_equal(open_cached(tc, b, under_k1, T0, &got), CG_ETOKEN);
  assert_int_equal(open_cached(tc, b, under_k2, T0, &got), 0);
  assert_int_equal(got.key_id, 1);
  a = ring_of("1 " K1 " mint\n");
  assert_int_equal(open_cached(tc, a, under_k2, T0, &got), CG_ETOKEN);
  assert_int_equal(open_cached(tc, a, under_k1, T0, &got), 0);
  assert_int_equal(open_cached(tc, a, "CG1:not base45!", T0, &got), CG_ECODE);
  /* No cache at all: a context for the call. */
  assert_int_equal(cg_token_open_cached(NULL, a, under_k1, strlen(under_k1), T0, SKEW, MAX_TTL,
                                        &got, NULL),
                   0);
  cg_token_cache_free(tc);
  cg_token_cache_free(NULL);
  cg_keyring_free(a);
  cg_keyring_free(b);
}

/* Decodes a code's binary, lets edit change it, and encodes it again. */
static void reencode(const char *text, char *out, void (*edit)(uint8_t *bin, size_t *n)) {
  uint8_t bin[128];
  size_t n;
  assert_int_equal(cg_base45_decode(text + 4, strlen(text) - 4, bin, sizeof bin, &n), 0);
  edit(bin, &n);
  memcpy(out, "CG1:", 4);
  assert_int_equal(cg_base45_encode(bin, n, out + 4, 200), 0);
}
static void edit_version(uint8_t *b, size_t *n) { (void)n, b[0] = 2; }
static void edit_key_id(uint8_t *b, size_t *n) { (void)n, b[1] = 2; }
static void edit_unknown_key(uint8_t *b, size_t *n) { (void)n, b[1] = 9; }
static void edit_nonce(uint8_t *b, size_t *n) { (void)n, b[13] ^= 1; }
static void edit_tag(uint8_t *b, size_t *n) { b[*n - 1] ^= 0x80; }
static void edit_drop_byte(uint8_t *b, size_t *n) { (void)b, (*n)--; }
static void edit_drop_type(uint8_t *b, size_t *n) { (void)b, *n -= 3; }
static void edit_add_byte(uint8_t *b, size_t *n) { b[(*n)++] = 0; }

static void test_tampered_binary(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 " mint\n2 " K2 "\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_ORG, ORG, 1, 300), got;
  char text[CG_TOKEN_TEXT_MAX + 1], bad[256];
  cg_why_t why;
  (void)state;

  mint_ok(r, &c, T0, text);
  reencode(text, bad, edit_version);
  assert_int_equal(cg_token_open(r, bad, strlen(bad), T0, SKEW, MAX_TTL, &got, &why), CG_ECODE);
  assert_non_null(strstr(why.text, "version 2"));
  /* The key id is authenticated: under key 2 the tag does not hold. */
  reencode(text, bad, edit_key_id);
  assert_int_equal(cg_token_open(r, bad, strlen(bad), T0, SKEW, MAX_TTL, &got, &why), CG_ETOKEN);
  assert_non_null(strstr(why.text, "authentication failed"));
  reencode(text, bad, edit_unknown_key);
  assert_int_equal(cg_token_open(r, bad, strlen(bad), T0, SKEW, MAX_TTL, &got, &why), CG_ETOKEN);
  assert_non_null(strstr(why.text, "unknown key id 9"));
  reencode(text, bad, edit_nonce);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ETOKEN);
  reencode(text, bad, edit_tag);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ETOKEN);
  /* Lengths that no code has are malformed; one type less is not genuine. */
  reencode(text, bad, edit_drop_byte);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  reencode(text, bad, edit_add_byte);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  reencode(text, bad, edit_drop_type);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ETOKEN);
  /* A failure leaves no claims behind. */
  assert_int_equal(got.holder_code[0], '\0');
  assert_int_equal(got.holder_type, 0);
  cg_keyring_free(r);
}

static void test_malformed_text(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 4, 300), got;
  char text[CG_TOKEN_TEXT_MAX + 1], bad[256];
  (void)state;

  mint_ok(r, &c, T0, text);
  assert_int_equal(open_at(r, "", T0, &got), CG_ECODE);
  assert_int_equal(open_at(r, "CG1:", T0, &got), CG_ECODE);
  assert_int_equal(open_at(r, "CG1", T0, &got), CG_ECODE);
  assert_int_equal(open_at(r, "https://example.com/", T0, &got), CG_ECODE);
  snprintf(bad, sizeof bad, "cg1:%s", text + 4);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  snprintf(bad, sizeof bad, "HC1:%s", text + 4);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  snprintf(bad, sizeof bad, "%s\n", text); /* a scanner's newline is the caller's to strip */
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  snprintf(bad, sizeof bad, " %s", text);
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  snprintf(bad, sizeof bad, "%s000", text); /* 109 characters of valid Base45, too long a binary */
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  memset(bad, '0', sizeof bad);
  memcpy(bad, "CG1:", 4);
  bad[121] = '\0';
  assert_int_equal(open_at(r, bad, T0, &got), CG_ECODE);
  /* The length given is what counts, not a NUL. */
  assert_int_equal(cg_token_open(r, text, strlen(text) - 3, T0, SKEW, MAX_TTL, &got, NULL),
                   CG_ECODE);
  assert_int_equal(cg_token_open(r, text, strlen(text), T0, SKEW, MAX_TTL, &got, NULL), 0);
  cg_keyring_free(r);
}

/* Random texts of every length up to 130, Base45 after the prefix, and
 * random binaries of a code's lengths under key 1: none opens, each fails as
 * malformed or not genuine (a sanitizer build also checks that none reads
 * out of bounds). */
static void test_random_texts(void **state) {
  static const char set[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  cg_keyring_t *r = ring_of("1 " K1 " mint\n");
  cg_token_claims_t got;
  char text[131];
  uint8_t bin[68];
  uint64_t x = 88172645463325252ULL;
  (void)state;

#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17) /* xorshift64 */
  memcpy(text, "CG1:", 4);
  for (int i = 0; i < 100000; i++) {
    size_t len = 4 + (size_t)(i % 127);
    for (size_t j = 4; j < len; j++)
      text[j] = set[NEXT() % 45];
    int err = cg_token_open(r, text, len, T0, SKEW, MAX_TTL, &got, NULL);
    if (err != CG_ECODE && err != CG_ETOKEN)
      fail_msg("\"%.*s\": %s", (int)len, text, cg_err_name(err));
  }
  for (int i = 0; i < 20000; i++) {
    size_t n = 56 + 3 * (size_t)(i % 5);
    for (size_t j = 0; j < n; j++)
      bin[j] = (uint8_t)NEXT();
    bin[0] = 1, bin[1] = 1;
    assert_int_equal(cg_base45_encode(bin, n, text + 4, sizeof text - 4), 0);
    assert_int_equal(open_at(r, text, T0, &got), CG_ETOKEN);
  }
#undef NEXT
  cg_keyring_free(r);
}

/* ---- time ------------------------------------------------------------------ */

static void test_lifetime_and_skew(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 0, 60), got;
  char text[CG_TOKEN_TEXT_MAX + 1];
  cg_why_t why;
  (void)state;

  mint_ok(r, &c, T0, text);
  assert_int_equal(open_at(r, text, T0, &got), 0);
  assert_int_equal(open_at(r, text, T0 + 60, &got), 0);
  assert_int_equal(open_at(r, text, T0 + 60 + SKEW, &got), 0);     /* within the skew */
  assert_int_equal(cg_token_open(r, text, strlen(text), T0 + 60 + SKEW + 1, SKEW, MAX_TTL, &got,
                                 &why),
                   CG_EEXPIRED);
  assert_string_equal(why.text, "expired 31 s ago");
  /* An expired code is genuine: its claims are there to say so. */
  assert_string_equal(got.holder_code, CITIZEN);
  assert_int_equal(got.issued_at, T0);
  assert_int_equal(open_at(r, text, T0 + 86400, &got), CG_EEXPIRED);

  /* A minter's clock ahead of ours: forgiven up to the skew. */
  assert_int_equal(open_at(r, text, T0 - SKEW, &got), 0);
  assert_int_equal(cg_token_open(r, text, strlen(text), T0 - SKEW - 1, SKEW, MAX_TTL, &got, &why),
                   CG_EEXPIRED);
  assert_string_equal(why.text, "issued 31 s in the future");
  assert_int_equal(open_at(r, text, 0, &got), CG_EEXPIRED);
  /* No skew at all. */
  assert_int_equal(cg_token_open(r, text, strlen(text), T0 + 60, 0, MAX_TTL, &got, NULL), 0);
  assert_int_equal(cg_token_open(r, text, strlen(text), T0 + 61, 0, MAX_TTL, &got, NULL),
                   CG_EEXPIRED);
  assert_int_equal(cg_token_open(r, text, strlen(text), T0 - 1, 0, MAX_TTL, &got, NULL),
                   CG_EEXPIRED);
  cg_keyring_free(r);
}

/* A lifetime longer than the opener allows is not accepted, however fresh. */
static void test_max_ttl(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 0, 301), got;
  char text[CG_TOKEN_TEXT_MAX + 1];
  cg_why_t why;
  (void)state;

  mint_ok(r, &c, T0, text);
  assert_int_equal(cg_token_open(r, text, strlen(text), T0, SKEW, 300, &got, &why), CG_ETOKEN);
  assert_non_null(strstr(why.text, "301"));
  assert_int_equal(got.holder_type, 0);
  assert_int_equal(cg_token_open(r, text, strlen(text), T0, SKEW, 301, &got, NULL), 0);
  cg_keyring_free(r);
}

/* ---- keys ------------------------------------------------------------------ */

static void test_unknown_key(void **state) {
  cg_keyring_t *a = ring_of("3 " K1 " mint\n"), *b = ring_of("1 " K1 "\n2 " K2 " mint\n"),
               *c3 = ring_of("3 " K2 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_ORG, ORG, 0, 300), got;
  char text[CG_TOKEN_TEXT_MAX + 1];
  cg_why_t why;
  (void)state;

  mint_ok(a, &c, T0, text);
  assert_int_equal(open_at(a, text, T0, &got), 0);
  assert_int_equal(cg_token_open(b, text, strlen(text), T0, SKEW, MAX_TTL, &got, &why), CG_ETOKEN);
  assert_string_equal(why.text, "unknown key id 3");
  /* Same id, another key. */
  assert_int_equal(cg_token_open(c3, text, strlen(text), T0, SKEW, MAX_TTL, &got, &why),
                   CG_ETOKEN);
  assert_string_equal(why.text, "authentication failed under key 3");
  cg_keyring_free(a);
  cg_keyring_free(b);
  cg_keyring_free(c3);
}

/* The rotation procedure of docs/qr-code.md: add key 2, move "mint" to it,
 * drop key 1 once the longest lifetime has passed. */
static void test_rotation(void **state) {
  cg_keyring_t *before = ring_of("1 " K1 " mint\n"), *added = ring_of("1 " K1 " mint\n2 " K2 "\n"),
               *moved = ring_of("1 " K1 "\n2 " K2 " mint\n"), *after = ring_of("2 " K2 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 1, 300), got;
  char old[CG_TOKEN_TEXT_MAX + 1], mid[CG_TOKEN_TEXT_MAX + 1], new[CG_TOKEN_TEXT_MAX + 1];
  (void)state;

  assert_int_equal(cg_keyring_mint_id(before), 1);
  assert_int_equal(cg_keyring_mint_id(moved), 2);
  assert_int_equal(cg_keyring_count(moved), 2);
  mint_ok(before, &c, T0, old);
  mint_ok(added, &c, T0, mid);
  assert_int_equal(c.key_id, 1); /* adding a key does not change who mints */
  mint_ok(moved, &c, T0, new);
  assert_int_equal(c.key_id, 2);

  assert_int_equal(open_at(added, old, T0, &got), 0);
  assert_int_equal(open_at(moved, old, T0, &got), 0);
  assert_int_equal(got.key_id, 1);
  assert_int_equal(open_at(moved, mid, T0, &got), 0);
  assert_int_equal(open_at(moved, new, T0, &got), 0);
  assert_int_equal(got.key_id, 2);
  /* A server that has not yet heard of key 2 refuses its codes ... */
  assert_int_equal(open_at(before, new, T0, &got), CG_ETOKEN);
  /* ... and once key 1 is gone, so are its codes. */
  assert_int_equal(open_at(after, old, T0, &got), CG_ETOKEN);
  assert_int_equal(open_at(after, new, T0, &got), 0);
  cg_keyring_free(before);
  cg_keyring_free(added);
  cg_keyring_free(moved);
  cg_keyring_free(after);
}

static void test_mint_refuses(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 " mint\n"), *nomint = ring_of("1 " K1 "\n");
  cg_token_claims_t c;
  char text[CG_TOKEN_TEXT_MAX + 1];
  uint8_t seed = 0;
  cg_why_t why;
  (void)state;

  c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 0, 300);
  assert_int_equal(cg_token_mint(nomint, &c, T0, NULL, NULL, text, sizeof text, &why), CG_ECONFIG);
  assert_non_null(strstr(why.text, "mint"));
  c = claims_of(CG_HOLDER_CITIZEN, "110105194912310021", 0, 300); /* wrong check character */
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, sizeof text, &why), CG_EHOLDER);
  c = claims_of(CG_HOLDER_ORG, CITIZEN, 0, 300); /* a citizen's number as a credit code */
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, sizeof text, NULL), CG_EHOLDER);
  c = claims_of(CG_HOLDER_CITIZEN, "11010519491231002", 0, 300); /* 17 characters */
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, sizeof text, NULL), CG_EHOLDER);
  c = claims_of(3, CITIZEN, 0, 300);
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, sizeof text, NULL), CG_EHOLDER);
  c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 0, 0);
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, sizeof text, NULL), CG_EBADREQ);
  c = claims_of(CG_HOLDER_CITIZEN, CITIZEN, 0, 300);
  c.ntypes = 5;
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, sizeof text, NULL), CG_EBADREQ);
  c.ntypes = -1;
  assert_int_equal(cg_token_mint(r, &c, T0, NULL, NULL, text, sizeof text, NULL), CG_EBADREQ);
  c.ntypes = 0;
  assert_int_equal(cg_token_mint(r, &c, (uint64_t)UINT32_MAX + 1, NULL, NULL, text, sizeof text,
                                 NULL),
                   CG_EBADREQ);
  assert_int_equal(cg_token_mint(r, &c, T0, failing_rng, NULL, text, sizeof text, NULL),
                   CG_ECRYPTO);
  assert_int_equal(cg_token_mint(r, &c, T0, counting_rng, &seed, text, sizeof text, NULL), 0);
  cg_keyring_free(r);
  cg_keyring_free(nomint);
}

static void test_types(void **state) {
  cg_token_claims_t c;
  uint8_t tag[CG_TOKEN_TYPE_TAG_LEN];
  cg_why_t why;
  (void)state;

  memset(&c, 0, sizeof c);
  assert_true(cg_token_claims_wants(&c, TYPE_A, 21)); /* no types: all */
  assert_int_equal(cg_token_claims_add_type(&c, TYPE_A, 21, NULL), 0);
  assert_int_equal(cg_token_claims_add_type(&c, TYPE_A, 21, NULL), 0); /* once only */
  assert_int_equal(c.ntypes, 1);
  cg_token_type_tag(TYPE_A, 21, tag);
  assert_memory_equal(tag, vector_tags, 3);
  assert_true(cg_token_claims_wants(&c, TYPE_A, 21));
  assert_false(cg_token_claims_wants(&c, TYPE_B, 21));
  assert_int_equal(cg_token_claims_add_type(&c, TYPE_B, 21, NULL), 0);
  assert_int_equal(cg_token_claims_add_type(&c, TYPE_C, 21, NULL), 0);
  assert_int_equal(cg_token_claims_add_type(&c, TYPE_D, 21, NULL), 0);
  assert_int_equal(cg_token_claims_add_type(&c, "11100000000019713D002", 21, &why), CG_EBADREQ);
  assert_non_null(strstr(why.text, "more than 4"));
  assert_int_equal(c.ntypes, 4);

  memset(&c, 0, sizeof c);
  assert_int_equal(cg_token_claims_add_type(&c, TYPE_A, 20, &why), CG_EIDENT);
  assert_int_equal(cg_token_claims_add_type(&c, "11100000000013338X032", 21, &why), CG_EIDENT);
  assert_non_null(strstr(why.text, "defining body"));
  assert_int_equal(cg_token_claims_add_type(&c, "11100000000013338W03A", 21, &why), CG_EIDENT);
  assert_int_equal(cg_token_claims_add_type(&c, "11100000000013338w032", 21, &why), CG_EIDENT);
  assert_int_equal(c.ntypes, 0);
}

/* ---- key ring files ------------------------------------------------------------ */

static void ring_bad(const char *text, const char *want) {
  cg_keyring_t *r = (cg_keyring_t *)1;
  cg_why_t why = {""};
  assert_int_equal(cg_keyring_parse(&r, text, strlen(text), "kr", &why), CG_ECONFIG);
  assert_null(r);
  if (strstr(why.text, want) == NULL)
    fail_msg("\"%s\": got \"%s\", want \"%s\"", text, why.text, want);
}

static void test_keyring_parse(void **state) {
  cg_keyring_t *r;
  (void)state;

  r = ring_of("# comment\n\n  \t\r\n 7\t" K2 "   mint  # new since May\r\n9 " K1 "\n");
  assert_int_equal(cg_keyring_count(r), 2);
  assert_int_equal(cg_keyring_mint_id(r), 7);
  cg_keyring_free(r);
  r = ring_of("1 " K1); /* no newline at the end, no mint key */
  assert_int_equal(cg_keyring_count(r), 1);
  assert_int_equal(cg_keyring_mint_id(r), 0);
  cg_keyring_free(r);

  ring_bad("", "kr: no keys");
  ring_bad("# only a comment\n", "kr: no keys");
  ring_bad("0 " K1 "\n", "kr:1: key id \"0\" is not a number from 1 to 255");
  ring_bad("\n256 " K1 "\n", "kr:2: key id \"256\"");
  ring_bad("99999999999999999999 " K1 "\n", "kr:1: key id");
  ring_bad("-1 " K1 "\n", "kr:1: key id \"-1\"");
  ring_bad("a " K1 "\n", "kr:1: key id \"a\"");
  ring_bad("1\n", "kr:1: key 1 is not 32 hex digits");
  ring_bad("1 " K1 "0\n", "kr:1: key 1 is not 32 hex digits");
  ring_bad("1 000102030405060708090a0b0c0d0e0\n", "kr:1: key 1 is not 32 hex digits");
  ring_bad("1 000102030405060708090a0b0c0d0e0g\n", "kr:1: key 1 is not 32 hex digits");
  ring_bad("1 " K1 " mint\n1 " K2 "\n", "kr:2: key id 1 already on line 1");
  ring_bad("1 " K1 " mint\n2 " K2 " mint\n", "kr:2: key 2 marked mint, but key 1 on line 1 is");
  ring_bad("1 " K1 " MINT\n", "kr:1: \"MINT\" after key 1: only \"mint\" may follow");
  ring_bad("1 " K1 " mint extra\n", "kr:1: \"extra\": more than");
  ring_bad("1 " K1 " minted\n", "only \"mint\"");
}

static void test_keyring_load(void **state) {
  const char *base = getenv("CG_TEST_TMP");
  char path[512];
  cg_keyring_t *r;
  cg_why_t why;
  FILE *f;
  int fd;
  (void)state;

  if (base == NULL || base[0] == '\0')
    base = "/tmp";
  snprintf(path, sizeof path, "%s/test_token-XXXXXX", base);
  if ((fd = mkstemp(path)) < 0) {
    snprintf(path, sizeof path, "/tmp/test_token-XXXXXX");
    assert_true((fd = mkstemp(path)) >= 0);
  }
  assert_non_null(f = fdopen(fd, "w"));
  fputs("# demo\n1 " K1 "\n2 " K2 " mint\n3 nothex\n", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(cg_keyring_load(&r, path, &why), CG_ECONFIG);
  assert_null(r);
  assert_non_null(strstr(why.text, ":4: key 3 is not 32 hex digits"));
  assert_memory_equal(why.text, path, strlen(path));

  assert_non_null(f = fopen(path, "w"));
  fputs("# demo\n1 " K1 "\n2 " K2 " mint\n", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(cg_keyring_load(&r, path, &why), 0);
  assert_int_equal(cg_keyring_count(r), 2);
  assert_int_equal(cg_keyring_mint_id(r), 2);
  cg_keyring_free(r);

  assert_int_equal(unlink(path), 0);
  assert_int_equal(cg_keyring_load(&r, path, &why), CG_EIO);
  assert_null(r);
  assert_non_null(strstr(why.text, "No such file"));
  cg_keyring_free(NULL);
}

/* ---- threads --------------------------------------------------------------- */

struct worker {
  const cg_keyring_t *ring;
  const char *good, *bad;
  int failures;
};

static void *open_many(void *arg) {
  struct worker *w = arg;
  cg_token_claims_t c;
  for (int i = 0; i < 5000; i++) {
    if (open_at(w->ring, w->good, T0, &c) != 0 || strcmp(c.holder_code, ORG) != 0)
      w->failures++;
    if (open_at(w->ring, w->bad, T0, &c) != CG_ETOKEN)
      w->failures++;
  }
  return NULL;
}

/* Several threads opening codes with one ring all get the right answers. */
static void test_threads(void **state) {
  cg_keyring_t *r = ring_of("1 " K1 " mint\n");
  cg_token_claims_t c = claims_of(CG_HOLDER_ORG, ORG, 3, 300);
  char good[CG_TOKEN_TEXT_MAX + 1], bad[CG_TOKEN_TEXT_MAX + 1];
  pthread_t t[4];
  struct worker w[4];
  (void)state;

  mint_ok(r, &c, T0, good);
  reencode(good, bad, edit_tag);
  for (int i = 0; i < 4; i++) {
    w[i] = (struct worker){r, good, bad, 0};
    assert_int_equal(pthread_create(&t[i], NULL, open_many, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[i].failures, 0);
  }
  cg_keyring_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_max_length),
      cmocka_unit_test(test_every_single_change),
      cmocka_unit_test(test_cache_follows_ring),
      cmocka_unit_test(test_tampered_binary),
      cmocka_unit_test(test_malformed_text),
      cmocka_unit_test(test_random_texts),
      cmocka_unit_test(test_lifetime_and_skew),
      cmocka_unit_test(test_max_ttl),
      cmocka_unit_test(test_unknown_key),
      cmocka_unit_test(test_rotation),
      cmocka_unit_test(test_mint_refuses),
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_keyring_parse),
      cmocka_unit_test(test_keyring_load),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
