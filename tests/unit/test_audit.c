/* test_audit.c — audit records: encoding, keys, the holder HMAC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mbedtls/md.h>
#include <string.h>

#include "core/audit.h"
#include "core/ident.h"

static void test_round_trip(void **state) {
  cg_audit_t a, b;
  cg_buf_t buf;
  (void)state;

  memset(&a, 0, sizeof a);
  a.time_ms = 1764230400123ULL;
  a.kind = CG_AUDIT_SCAN;
  strcpy(a.venue, "jn-hotel-quancheng");
  strcpy(a.purpose, "入住登记 \"quoted\"");
  strcpy(a.matter, "M-1.2");
  for (int i = 0; i < CG_AUDIT_HOLDER_LEN; i++)
    a.holder[i] = (uint8_t)(i * 7 + 1);
  a.status = 200;
  strcpy(a.client, "203.0.113.9");
  strcpy(a.scan_id, "0123456789abcdef0123456789abcdef");
  a.nids = 2;
  strcpy(a.ids[0], "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F");
  strcpy(a.ids[1], "x");
  strcpy(a.holder_code, "11010519491231002X"); /* plain text: must not be stored */
  cg_buf_init(&buf, 1 << 16);
  assert_int_equal(cg_audit_encode(&a, &buf), 0);
  assert_null(memmem(buf.base, buf.len, "11010519491231002X", 18));
  assert_int_equal(cg_audit_decode(buf.base, buf.len, &b), 0);
  assert_true(b.time_ms == a.time_ms);
  assert_int_equal(b.kind, a.kind);
  assert_string_equal(b.venue, a.venue);
  assert_string_equal(b.purpose, a.purpose);
  assert_string_equal(b.matter, a.matter);
  assert_memory_equal(b.holder, a.holder, CG_AUDIT_HOLDER_LEN);
  assert_int_equal(b.status, 200);
  assert_string_equal(b.client, a.client);
  assert_string_equal(b.scan_id, a.scan_id);
  assert_int_equal(b.nids, 2);
  assert_string_equal(b.ids[0], a.ids[0]);
  assert_string_equal(b.ids[1], "x");
  assert_int_not_equal(cg_audit_decode("{", 1, &b), 0);
  assert_int_not_equal(cg_audit_decode("{\"kind\":\"other\"}", 16, &b), 0);
  /* Every truncation of a good record, and one byte too many, are refused. */
  for (size_t n = 0; n < buf.len; n++)
    assert_int_not_equal(cg_audit_decode(buf.base, n, &b), 0);
  cg_buf_putc(&buf, 0);
  assert_int_not_equal(cg_audit_decode(buf.base, buf.len, &b), 0);
  buf.len--;
  /* The JSON form names everything, the holder as its HMAC in hex. */
  cg_buf_t j;
  cg_buf_init(&j, 1 << 16);
  assert_int_equal(cg_audit_json(&a, &j), 0);
  assert_non_null(memmem(j.base, j.len, "\"venue\":\"jn-hotel-quancheng\"", 28));
  assert_non_null(memmem(j.base, j.len, "\"holder\":\"01080f", 16));
  assert_null(memmem(j.base, j.len, "11010519491231002X", 18));
  cg_buf_free(&j);
  cg_buf_free(&buf);
}

/* Keys sort by time, then sequence: big-endian. */
static void test_keys(void **state) {
  uint8_t a[CG_AUDIT_KEY_LEN], b[CG_AUDIT_KEY_LEN], c[CG_AUDIT_KEY_LEN];
  (void)state;
  cg_audit_key(1000, 5, a);
  cg_audit_key(1000, 6, b);
  cg_audit_key(1001, 0, c);
  assert_true(memcmp(a, b, sizeof a) < 0);
  assert_true(memcmp(b, c, sizeof a) < 0);
  assert_int_equal(a[7], 0xe8); /* 1000 = 0x3e8 */
  assert_int_equal(a[6], 0x03);
  assert_int_equal(a[15], 5);
}

/* HMAC-SHA256(key, type code ‖ code), checked against mbedTLS directly;
 * the type matters and so does the key. */
static void test_holder_key(void **state) {
  uint8_t key[32], key2[32], h1[32], h2[32], h3[32], want[32];
  (void)state;
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)i, key2[i] = (uint8_t)(i + 1);
  cg_audit_holder_key(key, CG_HOLDER_CITIZEN, "11010519491231002X", 18, h1);
  mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32,
                  (const unsigned char *)"11111010519491231002X", 21, want);
  assert_memory_equal(h1, want, 32);
  cg_audit_holder_key(key, CG_HOLDER_ORG, "11010519491231002X", 18, h2);
  assert_memory_not_equal(h1, h2, 32);
  cg_audit_holder_key(key2, CG_HOLDER_CITIZEN, "11010519491231002X", 18, h3);
  assert_memory_not_equal(h1, h3, 32);
  /* The prepared form gives the same, call after call. */
  cg_audit_hmac_t *hm = cg_audit_hmac_new(key);
  uint8_t p1[32];
  assert_non_null(hm);
  for (int i = 0; i < 3; i++) {
    cg_audit_hmac(hm, CG_HOLDER_CITIZEN, "11010519491231002X", 18, p1);
    assert_memory_equal(p1, want, 32);
    cg_audit_hmac(hm, CG_HOLDER_ORG, "11010519491231002X", 18, p1);
    assert_memory_equal(p1, h2, 32);
  }
  cg_audit_hmac_free(hm);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_holder_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
