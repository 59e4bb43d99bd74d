/* test_audit.c — audit records: encoding, keys, the holder HMAC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <mbedtls/md.h>
#include <stdio.h>
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

/* A record for the block tests: i picks among a few venues, clients and
 * holders, so that strings repeat as they do in a real log. */
static void sample(cg_audit_t *a, int i) {
  memset(a, 0, sizeof *a);
  a->time_ms = 1764230400000ULL + (uint64_t)i * 3;
  a->kind = i % 3 + 1;
  a->status = i % 5 ? 200 : 404;
  snprintf(a->venue, sizeof a->venue, "venue-%d", i % 3);
  snprintf(a->purpose, sizeof a->purpose, "入住登记 %d", i % 2);
  if (i % 4 == 0)
    strcpy(a->matter, "M-1.2");
  if (i % 7 != 0) /* some records have no holder */
    for (int k = 0; k < CG_AUDIT_HOLDER_LEN; k++)
      a->holder[k] = (uint8_t)(k + i % 5 + 1);
  snprintf(a->client, sizeof a->client, "203.0.113.%d", i % 4);
  if (a->kind == CG_AUDIT_SCAN)
    snprintf(a->scan_id, sizeof a->scan_id, "%032d", i);
  a->nids = i % 9 == 0 ? CG_AUDIT_IDS_MAX : i % 3;
  for (int k = 0; k < a->nids; k++)
    snprintf(a->ids[k], sizeof a->ids[0], "1.2.156.3005.2.11100000000013338W032.%d.001.F",
             (i + k) % 6);
}

static void assert_same(const cg_audit_t *a, const cg_audit_t *b) {
  assert_true(a->time_ms == b->time_ms);
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->status, b->status);
  assert_string_equal(a->venue, b->venue);
  assert_string_equal(a->purpose, b->purpose);
  assert_string_equal(a->matter, b->matter);
  assert_memory_equal(a->holder, b->holder, CG_AUDIT_HOLDER_LEN);
  assert_string_equal(a->client, b->client);
  assert_string_equal(a->scan_id, b->scan_id);
  assert_int_equal(a->nids, b->nids);
  for (int k = 0; k < a->nids; k++)
    assert_string_equal(a->ids[k], b->ids[k]);
}

struct got {
  int n, stop_at;
  cg_audit_t recs[64];
};

static int got_one(void *arg, const cg_audit_t *a) {
  struct got *g = arg;
  if (g->n < 64)
    g->recs[g->n] = *a;
  return ++g->n == g->stop_at;
}

static int got_holder(void *arg, const uint8_t *h) {
  struct got *g = arg;
  memcpy(g->recs[g->n++].holder, h, CG_AUDIT_HOLDER_LEN);
  return 0;
}

/* Records in a block come back as they went in, in order; the block is
 * much smaller than the records one by one; its holders are listed once. */
static void test_block_round_trip(void **state) {
  cg_audit_block_t *b = cg_audit_block_new();
  cg_buf_t one, blk;
  cg_audit_t a;
  size_t single = 0, nh;
  struct got g = {0};
  (void)state;

  assert_non_null(b);
  cg_buf_init(&one, 1 << 16);
  cg_buf_init(&blk, CG_AUDIT_BLOCK_MAX);
  for (int i = 0; i < 50; i++) {
    sample(&a, i);
    cg_buf_reset(&one);
    assert_int_equal(cg_audit_encode(&a, &one), 0);
    single += one.len;
    assert_int_equal(cg_audit_block_add(b, one.base, one.len), 0);
  }
  assert_int_equal(cg_audit_block_count(b), 50);
  /* Five holders (i % 5), the records without one not among them. */
  cg_audit_block_holders(b, &nh);
  assert_int_equal(nh, 5);
  assert_int_equal(cg_audit_block_finish(b, &blk), 0);
  assert_true(blk.len * 3 < single);
  assert_int_equal(cg_audit_each(blk.base, blk.len, got_one, &g), 0);
  assert_int_equal(g.n, 50);
  for (int i = 0; i < 50; i++) {
    sample(&a, i);
    assert_same(&g.recs[i], &a);
  }
  g.n = 0;
  assert_int_equal(cg_audit_each_holder(blk.base, blk.len, got_holder, &g), 0);
  assert_int_equal(g.n, 5);
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < i; j++)
      assert_memory_not_equal(g.recs[i].holder, g.recs[j].holder, CG_AUDIT_HOLDER_LEN);
  /* fn stops the walk by returning nonzero, which comes back. */
  g = (struct got){.stop_at = 3};
  assert_int_equal(cg_audit_each(blk.base, blk.len, got_one, &g), 1);
  assert_int_equal(g.n, 3);
  /* A reset block starts empty. */
  cg_audit_block_reset(b);
  assert_int_equal(cg_audit_block_count(b), 0);
  cg_audit_block_holders(b, &nh);
  assert_int_equal(nh, 0);
  /* A record of the older form, alone in its value, is read the same way. */
  g = (struct got){0};
  sample(&a, 1);
  cg_buf_reset(&one);
  cg_audit_encode(&a, &one);
  assert_int_equal(cg_audit_each(one.base, one.len, got_one, &g), 0);
  assert_int_equal(g.n, 1);
  assert_same(&g.recs[0], &a);
  g.n = 0;
  assert_int_equal(cg_audit_each_holder(one.base, one.len, got_holder, &g), 0);
  assert_int_equal(g.n, 1);
  assert_memory_equal(g.recs[0].holder, a.holder, CG_AUDIT_HOLDER_LEN);
  g.n = 0;
  sample(&a, 7); /* no holder: none listed */
  cg_buf_reset(&one);
  cg_audit_encode(&a, &one);
  assert_int_equal(cg_audit_each_holder(one.base, one.len, got_holder, &g), 0);
  assert_int_equal(g.n, 0);
  cg_buf_free(&one);
  cg_buf_free(&blk);
  cg_audit_block_free(b);
}

/* A damaged block gives nothing: every truncation, a byte too many, an
 * index out of range; and nothing malformed goes into a block. */
static void test_block_damage(void **state) {
  cg_audit_block_t *b = cg_audit_block_new();
  cg_buf_t one, blk;
  cg_audit_t a;
  struct got g = {0};
  (void)state;

  cg_buf_init(&one, 1 << 16);
  cg_buf_init(&blk, CG_AUDIT_BLOCK_MAX + 1);
  for (int i = 0; i < 5; i++) {
    sample(&a, i);
    cg_buf_reset(&one);
    cg_audit_encode(&a, &one);
    assert_int_equal(cg_audit_block_add(b, one.base, one.len), 0);
  }
  cg_audit_block_finish(b, &blk);
  for (size_t n = 0; n < blk.len; n++) {
    assert_int_equal(cg_audit_each(blk.base, n, got_one, &g), CG_ERECORD);
    assert_int_equal(cg_audit_each_holder(blk.base, n, got_holder, &g), CG_ERECORD);
  }
  assert_int_equal(g.n, 0);
  cg_buf_putc(&blk, 0);
  assert_int_equal(cg_audit_each(blk.base, blk.len, got_one, &g), CG_ERECORD);
  blk.len--;
  /* The last record's last identifier names a string past the table. */
  blk.base[blk.len - 1] = (char)0xff;
  blk.base[blk.len - 2] = (char)0x7f;
  assert_int_equal(cg_audit_each(blk.base, blk.len, got_one, &g), CG_ERECORD);
  assert_int_equal(g.n, 0);
  /* A truncated record, an unknown kind, a client longer than a reader
   * keeps: refused, and the block is as it was. */
  sample(&a, 1);
  cg_buf_reset(&one);
  cg_audit_encode(&a, &one);
  assert_int_equal(cg_audit_block_add(b, one.base, one.len - 1), CG_ERECORD);
  one.base[1] = 9;
  assert_int_equal(cg_audit_block_add(b, one.base, one.len), CG_ERECORD);
  const char *ids[1] = {"x"};
  char client[80];
  memset(client, '1', sizeof client - 1);
  client[sizeof client - 1] = '\0';
  cg_audit_use_t u = {.time_ms = 1,
                      .kind = CG_AUDIT_FETCH,
                      .status = 200,
                      .venue = "v",
                      .client = client,
                      .ids = ids,
                      .nids = 1};
  cg_buf_reset(&one);
  assert_int_equal(cg_audit_pack(&u, NULL, &one), 0);
  assert_int_equal(cg_audit_block_add(b, one.base, one.len), CG_ERECORD);
  assert_int_equal(cg_audit_block_count(b), 5);
  cg_buf_free(&one);
  cg_buf_free(&blk);
  cg_audit_block_free(b);
}

/* A block fills before it would pass CG_AUDIT_BLOCK_MAX, however unlike
 * its records are; then refuses more until reset. */
static void test_block_full(void **state) {
  cg_audit_block_t *b = cg_audit_block_new();
  cg_buf_t one, blk;
  char ids[CG_AUDIT_IDS_MAX][129], venue[65];
  const char *idp[CG_AUDIT_IDS_MAX];
  int n = 0;
  (void)state;

  cg_buf_init(&one, 1 << 16);
  cg_buf_init(&blk, CG_AUDIT_BLOCK_MAX);
  while (!cg_audit_block_full(b)) {
    for (int k = 0; k < CG_AUDIT_IDS_MAX; k++) {
      snprintf(ids[k], sizeof ids[k], "%0120d", n * CG_AUDIT_IDS_MAX + k);
      idp[k] = ids[k];
    }
    snprintf(venue, sizeof venue, "venue-%d", n);
    cg_audit_use_t u = {.time_ms = (uint64_t)n,
                        .kind = CG_AUDIT_FETCH,
                        .status = 200,
                        .venue = venue,
                        .client = "c",
                        .ids = idp,
                        .nids = CG_AUDIT_IDS_MAX};
    cg_buf_reset(&one);
    cg_audit_pack(&u, NULL, &one);
    assert_int_equal(cg_audit_block_add(b, one.base, one.len), 0);
    n++;
  }
  assert_true(n > 10);
  assert_int_equal(cg_audit_block_add(b, one.base, one.len), CG_ETOOBIG);
  assert_int_equal(cg_audit_block_finish(b, &blk), 0); /* within its maximum */
  assert_true(blk.len <= CG_AUDIT_BLOCK_MAX);
  struct got g = {.stop_at = -1};
  assert_int_equal(cg_audit_each(blk.base, blk.len, got_one, &g), 0);
  assert_int_equal(g.n, n);
  cg_audit_block_reset(b);
  assert_false(cg_audit_block_full(b));
  cg_buf_free(&one);
  cg_buf_free(&blk);
  cg_audit_block_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_keys),
      cmocka_unit_test(test_holder_key),   cmocka_unit_test(test_block_round_trip),
      cmocka_unit_test(test_block_damage), cmocka_unit_test(test_block_full),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
