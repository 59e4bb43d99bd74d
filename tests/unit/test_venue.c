/* test_venue.c — unit tests of core/venue.c.
 *
 * A venue key is shown once and kept only as its SHA-256: a new key must
 * have the documented form, be different each time, and match its stored
 * hash and nothing else. A venue record must come back from JSON exactly as
 * it went in, and a damaged record must be refused, not half-read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/store.h"
#include "core/venue.h"

/* SHA-256("abc"), FIPS 180-2 appendix B.1. */
static const uint8_t abc_sha256[32] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

/* ---- keys ------------------------------------------------------------------ */

static void test_key_form(void **state) {
  cg_venue_t v;
  char key[CG_VENUE_KEY_LEN + 1];
  (void)state;

  memset(key, 'Z', sizeof key);
  memset(&v, 0, sizeof v);
  assert_int_equal(cg_venue_key_new(&v, key), 0);
  assert_int_equal(strlen(key), CG_VENUE_KEY_LEN);
  assert_int_equal(CG_VENUE_KEY_LEN, 4 + 48);
  assert_memory_equal(key, "cgk_", 4);
  for (size_t i = 4; i < CG_VENUE_KEY_LEN; i++)
    if (strchr("0123456789abcdef", key[i]) == NULL)
      fail_msg("key %s: character %zu '%c' is not lowercase hex", key, i, key[i]);
}

static void test_keys_differ(void **state) {
  cg_venue_t a, b;
  char ka[CG_VENUE_KEY_LEN + 1], kb[CG_VENUE_KEY_LEN + 1];
  (void)state;

  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  assert_int_equal(cg_venue_key_new(&a, ka), 0);
  assert_int_equal(cg_venue_key_new(&b, kb), 0);
  assert_string_not_equal(ka, kb);
  assert_memory_not_equal(a.key_hash, b.key_hash, CG_VENUE_HASH_LEN);
  assert_false(cg_venue_key_matches(&a, kb, strlen(kb)));
  assert_false(cg_venue_key_matches(&b, ka, strlen(ka)));
}

/* Both digits of each random byte vary: over 32 keys every hex digit turns
 * up in high and in low place (a miss by chance: about 1 in 10^20). */
static void test_keys_random(void **state) {
  int seen[2][16] = {{0}};
  (void)state;

  for (int k = 0; k < 32; k++) {
    cg_venue_t v;
    char key[CG_VENUE_KEY_LEN + 1];
    int pairs_differ = 0;
    assert_int_equal(cg_venue_key_new(&v, key), 0);
    for (size_t i = 4; i < CG_VENUE_KEY_LEN; i++)
      seen[(i - 4) % 2][strchr("0123456789abcdef", key[i]) - "0123456789abcdef"]++;
    /* The two digits of a byte are one and the same in 1 of 16 bytes, so
     * in all 24 of them only once in 16^24 keys. */
    for (size_t i = 4; i < CG_VENUE_KEY_LEN; i += 2)
      pairs_differ += key[i] != key[i + 1];
    if (pairs_differ == 0)
      fail_msg("key %s: the two digits of every byte are the same", key);
  }
  for (int place = 0; place < 2; place++)
    for (int d = 0; d < 16; d++)
      if (seen[place][d] == 0)
        fail_msg("digit %x never in %s place", d, place == 0 ? "high" : "low");
}

/* The stored hash is SHA-256 of the key text, so the key never needs storing. */
static void test_key_hash(void **state) {
  cg_venue_t v;
  uint8_t h[CG_VENUE_HASH_LEN];
  char key[CG_VENUE_KEY_LEN + 1];
  (void)state;

  cg_venue_key_hash("abc", 3, h);
  assert_memory_equal(h, abc_sha256, sizeof h);
  cg_venue_key_hash("abcd", 3, h); /* len counts, not the NUL */
  assert_memory_equal(h, abc_sha256, sizeof h);

  memset(&v, 0, sizeof v);
  assert_int_equal(cg_venue_key_new(&v, key), 0);
  cg_venue_key_hash(key, strlen(key), h);
  assert_memory_equal(h, v.key_hash, sizeof h);
}

static void test_key_matches(void **state) {
  cg_venue_t v;
  char key[CG_VENUE_KEY_LEN + 1], other[CG_VENUE_KEY_LEN + 2];
  (void)state;

  memset(&v, 0, sizeof v);
  assert_int_equal(cg_venue_key_new(&v, key), 0);
  assert_true(cg_venue_key_matches(&v, key, strlen(key)));

  /* One character changed, at each position. */
  for (size_t i = 0; i < CG_VENUE_KEY_LEN; i++) {
    memcpy(other, key, sizeof key);
    other[i] = other[i] == '0' ? '1' : '0';
    if (cg_venue_key_matches(&v, other, CG_VENUE_KEY_LEN))
      fail_msg("key with character %zu changed matches: %s", i, other);
  }
  /* Case matters: hex digits are lowercase. */
  memcpy(other, key, sizeof key);
  for (size_t i = 0; i < CG_VENUE_KEY_LEN; i++)
    if (other[i] >= 'a' && other[i] <= 'f') {
      other[i] = (char)(other[i] - 'a' + 'A');
      break;
    }
  if (strcmp(other, key) != 0)
    assert_false(cg_venue_key_matches(&v, other, CG_VENUE_KEY_LEN));

  /* Truncated, by one and to nothing. */
  assert_false(cg_venue_key_matches(&v, key, CG_VENUE_KEY_LEN - 1));
  assert_false(cg_venue_key_matches(&v, key, 4));
  assert_false(cg_venue_key_matches(&v, key, 0));

  /* One character more. */
  memcpy(other, key, CG_VENUE_KEY_LEN);
  other[CG_VENUE_KEY_LEN] = '0';
  other[CG_VENUE_KEY_LEN + 1] = '\0';
  assert_false(cg_venue_key_matches(&v, other, CG_VENUE_KEY_LEN + 1));

  /* Every byte of the stored hash counts. */
  for (size_t i = 0; i < CG_VENUE_HASH_LEN; i++) {
    v.key_hash[i] ^= 0x01;
    if (cg_venue_key_matches(&v, key, CG_VENUE_KEY_LEN))
      fail_msg("key matches with byte %zu of the hash changed", i);
    v.key_hash[i] ^= 0x01;
  }
  assert_true(cg_venue_key_matches(&v, key, CG_VENUE_KEY_LEN));

  /* A venue without a key (all-zero hash) matches no key, not even "". */
  memset(&v, 0, sizeof v);
  assert_false(cg_venue_key_matches(&v, key, CG_VENUE_KEY_LEN));
  assert_false(cg_venue_key_matches(&v, "", 0));
}

/* ---- records ----------------------------------------------------------------- */

static void sample(cg_venue_t *v) {
  memset(v, 0, sizeof *v);
  snprintf(v->id, sizeof v->id, "jn-hotel-1");
  snprintf(v->name, sizeof v->name, "济南泉城大酒店有限公司 \"总店\"\\前台");
  snprintf(v->credit_code, sizeof v->credit_code, "91370100MA3C4Y5X2K");
  snprintf(v->scope, sizeof v->scope, "hotel");
  for (size_t i = 0; i < CG_VENUE_HASH_LEN; i++)
    v->key_hash[i] = (uint8_t)(0xf0 - 7 * i); /* covers a-f and 0-9 in both nibbles */
  v->rate = 250;
  v->disabled = 1;
  v->created = 1718000000;
}

static void assert_venue_equal(const cg_venue_t *a, const cg_venue_t *b) {
  assert_string_equal(a->id, b->id);
  assert_string_equal(a->name, b->name);
  assert_string_equal(a->credit_code, b->credit_code);
  assert_string_equal(a->scope, b->scope);
  assert_memory_equal(a->key_hash, b->key_hash, CG_VENUE_HASH_LEN);
  assert_int_equal(a->rate, b->rate);
  assert_int_equal(a->disabled, b->disabled);
  assert_true(a->created == b->created);
}

static void encode(const cg_venue_t *v, cg_buf_t *b) {
  cg_buf_init(b, 4096);
  assert_int_equal(cg_venue_encode(v, b), 0);
  assert_true(b->len > 0);
}

static void test_round_trip(void **state) {
  cg_venue_t v, w;
  cg_buf_t b;
  char key[CG_VENUE_KEY_LEN + 1];
  (void)state;

  sample(&v);
  encode(&v, &b);
  memset(&w, 0xa5, sizeof w);
  assert_int_equal(cg_venue_decode(b.base, b.len, &w), 0);
  assert_venue_equal(&w, &v);
  cg_buf_free(&b);

  /* The other values of the flags and numbers, and the longest strings. */
  memset(&v, 0, sizeof v);
  memset(v.id, 'a', CG_VENUE_ID_MAX);
  memset(v.name, 'n', sizeof v.name - 1);
  memset(v.credit_code, '9', sizeof v.credit_code - 1);
  memset(v.scope, 's', sizeof v.scope - 1);
  v.rate = 0;
  v.disabled = 0;
  v.created = 4102444800; /* 2100-01-01: past 32 bits */
  assert_int_equal(cg_venue_key_new(&v, key), 0);
  encode(&v, &b);
  memset(&w, 0xa5, sizeof w);
  assert_int_equal(cg_venue_decode(b.base, b.len, &w), 0);
  assert_venue_equal(&w, &v);
  assert_true(cg_venue_key_matches(&w, key, strlen(key)));
  cg_buf_free(&b);
}

/* The record names its fields as docs/store.md does and keeps the hash in
 * lowercase hex. */
static void test_encoding(void **state) {
  cg_venue_t v;
  cg_buf_t b;
  char text[4096];
  (void)state;

  sample(&v);
  memcpy(v.key_hash, abc_sha256, sizeof abc_sha256);
  encode(&v, &b);
  assert_true(b.len < sizeof text);
  memcpy(text, b.base, b.len);
  text[b.len] = '\0';
  assert_non_null(strstr(text, "\"id\":\"jn-hotel-1\""));
  assert_non_null(strstr(text, "\"creditCode\":\"91370100MA3C4Y5X2K\""));
  assert_non_null(strstr(text, "\"scope\":\"hotel\""));
  assert_non_null(strstr(
      text, "\"keySha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""));
  assert_non_null(strstr(text, "\"rate\":250"));
  assert_non_null(strstr(text, "\"disabled\":true"));
  assert_non_null(strstr(text, "\"created\":1718000000"));
  cg_buf_free(&b);
}

/* A record that does not fit its buffer is refused and leaves it as it was. */
static void test_encode_bounded(void **state) {
  cg_venue_t v;
  cg_buf_t b;
  (void)state;

  sample(&v);
  cg_buf_init(&b, 64);
  assert_int_equal(cg_venue_encode(&v, &b), CG_ETOOBIG);
  assert_int_equal(b.len, 0);
  cg_buf_free(&b);
}

static int decode_str(const char *json, cg_venue_t *v) {
  return cg_venue_decode(json, strlen(json), v);
}

#define HASH64 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* The required fields, with the closing brace left off. */
#define REQ                                                                         \
  "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":\"" HASH64 "\""

static void test_decode_minimal(void **state) {
  cg_venue_t v;
  (void)state;

  /* rate, disabled and created may be absent: rate 0 is the scope's default. */
  memset(&v, 0xa5, sizeof v);
  assert_int_equal(decode_str("{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"\",\"scope\":\"s\","
                              "\"keySha256\":\"" HASH64 "\"}",
                              &v),
                   0);
  assert_string_equal(v.id, "x");
  assert_string_equal(v.name, "X");
  assert_string_equal(v.credit_code, "");
  assert_string_equal(v.scope, "s");
  assert_memory_equal(v.key_hash, abc_sha256, sizeof abc_sha256);
  assert_int_equal(v.rate, 0);
  assert_int_equal(v.disabled, 0);
  assert_true(v.created == 0);

  /* The limits of rate and created are theirs to hold; a rate past what
   * certctl takes (a million a second) is held to that, where the bucket
   * arithmetic stays exact. */
  assert_int_equal(decode_str(REQ ",\"rate\":4294967295,\"created\":9007199254740992,"
                              "\"disabled\":false}",
                              &v),
                   0);
  assert_int_equal(v.rate, 1000000u);
  assert_true(v.created == 9007199254740992ULL);
  assert_int_equal(v.disabled, 0);
}

static void test_decode_rejects(void **state) {
  static const char *bad[] = {
      "",
      "not json",
      "{",
      "[]",
      "\"id\"",
      "null",
      /* Each required field missing in turn. */
      "{\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":\"" HASH64 "\"}",
      "{\"id\":\"x\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":\"" HASH64 "\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"scope\":\"s\",\"keySha256\":\"" HASH64 "\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"keySha256\":\"" HASH64 "\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\"}",
      /* A field of the wrong type. */
      "{\"id\":7,\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":\"" HASH64 "\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":null}",
      /* Field names are case-sensitive. */
      "{\"ID\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\","
      "\"keySha256\":\"" HASH64 "\"}",
      /* keySha256 one digit short, one too many, empty, and with a non-hex or
       * uppercase digit. */
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":"
      "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":"
      "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":\"\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":"
      "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":"
      "\"xa7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":"
      "\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":"
      "\"ba7816bf8f01cfea414140de5dae2223 00361a396177a9cb410ff61f20015ad\"}",
      /* Strings longer than their fields: an id of 65, a credit code of 19. */
      "{\"id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
      "\"name\":\"X\",\"creditCode\":\"C\",\"scope\":\"s\",\"keySha256\":\"" HASH64 "\"}",
      "{\"id\":\"x\",\"name\":\"X\",\"creditCode\":\"91370100MA3C4Y5X2K0\",\"scope\":\"s\","
      "\"keySha256\":\"" HASH64 "\"}",
      /* The optional fields, present with values they cannot hold: a double
       * outside unsigned or uint64_t cannot even be converted, and a flag
       * that is not a bool must not read as "enabled". */
      REQ ",\"rate\":-1}",
      REQ ",\"rate\":4294967296}",
      REQ ",\"rate\":1e300}",
      REQ ",\"rate\":\"10\"}",
      REQ ",\"rate\":null}",
      REQ ",\"created\":-1}",
      REQ ",\"created\":18446744073709551616}",
      REQ ",\"created\":1e30}",
      REQ ",\"created\":\"1718000000\"}",
      REQ ",\"disabled\":1}",
      REQ ",\"disabled\":\"true\"}",
      REQ ",\"disabled\":null}",
  };
  cg_venue_t v;
  (void)state;

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int err = decode_str(bad[i], &v);
    if (err != CG_ERECORD)
      fail_msg("decode of case %zu returned %d, want CG_ERECORD: %s", i, err, bad[i]);
  }
}

/* The length given is the record: bytes past it are not read. */
static void test_decode_length(void **state) {
  cg_venue_t v;
  cg_buf_t b;
  char text[4096];
  (void)state;

  sample(&v);
  encode(&v, &b);
  assert_true(b.len + 10 < sizeof text);
  memcpy(text, b.base, b.len);
  memcpy(text + b.len, "garbage!!", 10);
  assert_int_equal(cg_venue_decode(text, b.len, &v), 0);
  assert_string_equal(v.id, "jn-hotel-1");
  assert_int_equal(cg_venue_decode(text, b.len - 1, &v), CG_ERECORD);
  cg_buf_free(&b);
}

/* ---- ids -------------------------------------------------------------------- */

static void test_id_valid(void **state) {
  char id[CG_VENUE_ID_MAX + 2];
  (void)state;

  assert_true(cg_venue_id_valid("jn-hotel-1"));
  assert_true(cg_venue_id_valid("a"));
  assert_true(cg_venue_id_valid("0"));
  assert_true(cg_venue_id_valid("-"));

  assert_false(cg_venue_id_valid(""));
  assert_false(cg_venue_id_valid("JN-hotel-1"));
  assert_false(cg_venue_id_valid("jn-Hotel-1"));
  assert_false(cg_venue_id_valid("jn hotel 1"));
  assert_false(cg_venue_id_valid(" jn-hotel-1"));
  assert_false(cg_venue_id_valid("jn-hotel-1\n"));
  assert_false(cg_venue_id_valid("a/b"));
  assert_false(cg_venue_id_valid("../x"));
  assert_false(cg_venue_id_valid("jn_hotel"));
  assert_false(cg_venue_id_valid("jn.hotel"));
  assert_false(cg_venue_id_valid("酒店"));

  memset(id, 'a', CG_VENUE_ID_MAX);
  id[CG_VENUE_ID_MAX] = '\0';
  assert_true(cg_venue_id_valid(id)); /* 64 */
  id[CG_VENUE_ID_MAX] = 'a';
  id[CG_VENUE_ID_MAX + 1] = '\0';
  assert_false(cg_venue_id_valid(id)); /* 65 */
}

/* The token bucket: burst requests pass at once, the next waits; tokens
 * come back at `rate` a second; rate 0 never limits. */
static void test_rate_limit(void **state) {
  char dir[512];
  cg_store_opts_t o = {0};
  cg_store_t *s;
  cg_store_writer_t *w;
  cg_venue_registry_t *reg;
  cg_venue_t v = {0};
  cg_buf_t buf;
  char key[CG_VENUE_KEY_LEN + 1];
  unsigned retry = 0;
  const cg_venue_t *pv;
  (void)state;

  assert_int_equal(cg_test_mkdtemp("test_venue_rate", dir, sizeof dir), 0);
  o.path = dir;
  o.map_size = 64 << 20;
  assert_int_equal(cg_store_open(&s, &o, NULL), 0);
  strcpy(v.id, "v-rate");
  strcpy(v.name, "n");
  strcpy(v.scope, "s");
  assert_int_equal(cg_venue_key_new(&v, key), 0);
  cg_buf_init(&buf, 4096);
  assert_int_equal(cg_venue_encode(&v, &buf), 0);
  assert_int_equal(cg_store_write_begin(s, 0, &w), 0);
  assert_int_equal(cg_store_put(w, CG_DB_VENUE, v.id, strlen(v.id), buf.base, buf.len), 0);
  assert_int_equal(cg_store_write_commit(w), 0);
  assert_int_equal(cg_venue_registry_load(s, &reg, NULL), 0);
  pv = cg_venue_registry_find(reg, key, strlen(key));
  assert_non_null(pv);
  /* rate 2, burst 3: three at t=0, the fourth refused with Retry-After 1. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(cg_venue_registry_take(reg, pv, 10000, 2, 3, &retry), 0);
  assert_int_equal(cg_venue_registry_take(reg, pv, 10000, 2, 3, &retry), CG_ERATE);
  assert_int_equal(retry, 1);
  /* 499 ms later not yet a whole token; 500 ms later one. */
  assert_int_equal(cg_venue_registry_take(reg, pv, 10499, 2, 3, &retry), CG_ERATE);
  assert_int_equal(cg_venue_registry_take(reg, pv, 10500, 2, 3, &retry), 0);
  assert_int_equal(cg_venue_registry_take(reg, pv, 10500, 2, 3, &retry), CG_ERATE);
  /* A long pause refills to the burst, no more. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(cg_venue_registry_take(reg, pv, 60000, 2, 3, &retry), 0);
  assert_int_equal(cg_venue_registry_take(reg, pv, 60000, 2, 3, &retry), CG_ERATE);
  /* Another worker whose loop time lags a few milliseconds: no refill (it
   * wrapped round to a full bucket), and the bucket keeps the later time. */
  assert_int_equal(cg_venue_registry_take(reg, pv, 59990, 2, 3, &retry), CG_ERATE);
  assert_int_equal(cg_venue_registry_take(reg, pv, 59999, 2, 3, &retry), CG_ERATE);
  assert_int_equal(cg_venue_registry_take(reg, pv, 60499, 2, 3, &retry), CG_ERATE);
  assert_int_equal(cg_venue_registry_take(reg, pv, 60500, 2, 3, &retry), 0);
  assert_int_equal(cg_venue_registry_take(reg, pv, 60400, 2, 3, &retry), CG_ERATE);
  /* Thirty days idle (past 2^31 ms, the 32-bit clock's half): a full bucket. */
  uint64_t later = 60500 + 30ULL * 86400 * 1000;
  for (int i = 0; i < 3; i++)
    assert_int_equal(cg_venue_registry_take(reg, pv, later, 2, 3, &retry), 0);
  assert_int_equal(cg_venue_registry_take(reg, pv, later, 2, 3, &retry), CG_ERATE);
  /* No limit. */
  for (int i = 0; i < 1000; i++)
    assert_int_equal(cg_venue_registry_take(reg, pv, 60000, 0, 0, &retry), 0);
  cg_venue_registry_free(reg);
  cg_buf_free(&buf);
  cg_store_close(s);
  assert_int_equal(cg_test_rmtree(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rate_limit),
      cmocka_unit_test(test_key_form),
      cmocka_unit_test(test_keys_differ),
      cmocka_unit_test(test_keys_random),
      cmocka_unit_test(test_key_hash),
      cmocka_unit_test(test_key_matches),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_encoding),
      cmocka_unit_test(test_encode_bounded),
      cmocka_unit_test(test_decode_minimal),
      cmocka_unit_test(test_decode_rejects),
      cmocka_unit_test(test_decode_length),
      cmocka_unit_test(test_id_valid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
