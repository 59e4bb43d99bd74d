/* test_record.c — unit tests of core/record.c.
 *
 * A record comes back from LMDB as bytes that a bug, a disk or another
 * version may have changed, so decoding is tried on every prefix of a good
 * record and on each header field set out of range; the only bytes it may
 * accept are exactly those an encoder wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "core/cert.h"
#include "core/ident.h"
#include "core/record.h"

static const char body[] = "{\"certificateHolderCode\":\"11010519491231002X\","
                           "\"certificateName\":\"居住证\",\"status\":\"valid\"}";

typedef struct fixture {
  uint8_t signer[CG_SEAL_FPR_LEN];
  char sig[CG_SEAL_B64_MAX]; /* base64 text, as a seal keeps it */
} fixture_t;

static fixture_t fx;
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A record with every field set to something other than its zero value. */
static cg_record_t sample(uint16_t sig_len) {
  cg_record_t r;

  for (int i = 0; i < CG_SEAL_FPR_LEN; i++)
    fx.signer[i] = (uint8_t)(0xa0 + i);
  for (int i = 0; i < CG_SEAL_B64_MAX; i++)
    fx.sig[i] = b64[(i * 13 + 5) % 64];
  memset(&r, 0, sizeof r);
  r.status = CG_CERT_SUSPENDED;
  r.seal_state = CG_SEAL_INVALID;
  r.seal_reason = 7;
  r.source = CG_SOURCE_PROVINCE;
  r.holder_type = CG_HOLDER_ORG;
  r.trust_gen = 0xdeadbeef;
  r.issued = 20240501;
  r.effective = 20240502;
  r.expiring = 20340501;
  r.fetched_at = 0x0123456789abcdefULL;
  r.etag = 0; /* set by encode */
  for (int i = 0; i < CG_HOLDER_KEY_LEN; i++)
    r.holder_key[i] = (uint8_t)(0xf0 - i);
  r.body = body;
  r.body_len = (uint32_t)strlen(body);
  r.seal_alg = CG_SEAL_RS256;
  r.signer = fx.signer;
  r.sig = fx.sig;
  r.sig_len = sig_len;
  return r;
}

/* Encodes sample(70) into b (an ES256-sized seal). */
static cg_record_t encode_sample(cg_buf_t *b) {
  cg_record_t r = sample(70);
  r.seal_alg = CG_SEAL_ES256;
  cg_buf_init(b, 1 << 20);
  assert_int_equal(cg_record_encode(&r, b), 0);
  return r;
}

static void test_round_trip(void **state) {
  cg_record_t in = sample(256), out;
  cg_buf_t b;
  (void)state;

  cg_buf_init(&b, 1 << 20);
  assert_int_equal(cg_buf_puts(&b, "xyz"), 0); /* encode appends */
  assert_int_equal(cg_record_encode(&in, &b), 0);
  assert_int_equal(b.len, 3 + CG_RECORD_HEADER + strlen(body) + CG_SEAL_FPR_LEN + 256);
  assert_memory_equal(b.base, "xyz", 3);
  assert_int_not_equal(in.etag, 0);

  memset(&out, 0x55, sizeof out);
  assert_int_equal(cg_record_decode(b.base + 3, b.len - 3, &out), 0);
  assert_int_equal(out.status, CG_CERT_SUSPENDED);
  assert_int_equal(out.seal_state, CG_SEAL_INVALID);
  assert_int_equal(out.seal_reason, 7);
  assert_int_equal(out.source, CG_SOURCE_PROVINCE);
  assert_int_equal(out.holder_type, CG_HOLDER_ORG);
  assert_int_equal(out.trust_gen, 0xdeadbeef);
  assert_int_equal(out.issued, 20240501);
  assert_int_equal(out.effective, 20240502);
  assert_int_equal(out.expiring, 20340501);
  assert_true(out.fetched_at == 0x0123456789abcdefULL);
  assert_true(out.etag == in.etag);
  assert_memory_equal(out.holder_key, in.holder_key, CG_HOLDER_KEY_LEN);
  assert_int_equal(out.body_len, strlen(body));
  assert_memory_equal(out.body, body, strlen(body));
  assert_int_equal(out.seal_alg, CG_SEAL_RS256);
  assert_memory_equal(out.signer, fx.signer, CG_SEAL_FPR_LEN);
  assert_int_equal(out.sig_len, 256);
  assert_memory_equal(out.sig, fx.sig, 256);

  /* The decoded record points into the bytes, at the documented places. */
  assert_ptr_equal(out.body, b.base + 3 + CG_RECORD_HEADER);
  assert_ptr_equal(out.signer, (uint8_t *)b.base + 3 + CG_RECORD_HEADER + strlen(body));
  assert_ptr_equal(out.sig, (const char *)out.signer + CG_SEAL_FPR_LEN);
  /* Version first; integers little-endian (trust_gen at 8, etag at 32). */
  assert_int_equal((uint8_t)b.base[3], CG_RECORD_VERSION);
  assert_memory_equal(b.base + 3 + 8, "\xef\xbe\xad\xde", 4);
  uint64_t etag_le = 0;
  for (int i = 8; i-- > 0;)
    etag_le = etag_le << 8 | (uint8_t)b.base[3 + 32 + i];
  assert_true(etag_le == in.etag);

  cg_seal_t seal;
  memset(&seal, 0, sizeof seal);
  cg_record_seal(&out, &seal);
  assert_int_equal(seal.alg, CG_SEAL_RS256);
  assert_int_equal(seal.sig_len, 256);
  assert_memory_equal(seal.sig, fx.sig, 256);
  assert_int_equal(seal.sig[256], '\0');
  assert_memory_equal(seal.signer, fx.signer, CG_SEAL_FPR_LEN);
  cg_buf_free(&b);
}

static void test_round_trip_extremes(void **state) {
  cg_record_t in = sample(CG_SEAL_B64_MAX), out;
  cg_buf_t b;
  (void)state;

  /* Empty body, largest signature, all-ones integers, no expiry. */
  in.body = "";
  in.body_len = 0;
  in.trust_gen = UINT32_MAX;
  in.fetched_at = UINT64_MAX;
  in.expiring = 0;
  in.seal_state = CG_SEAL_UNCHECKED;
  in.seal_reason = 255;
  in.status = CG_CERT_REVOKED;
  in.source = CG_SOURCE_IMPORT;
  in.holder_type = CG_HOLDER_CITIZEN;
  cg_buf_init(&b, 1 << 20);
  assert_int_equal(cg_record_encode(&in, &b), 0);
  assert_int_equal(cg_record_decode(b.base, b.len, &out), 0);
  assert_int_equal(out.body_len, 0);
  assert_int_equal(out.sig_len, CG_SEAL_B64_MAX);
  assert_memory_equal(out.sig, fx.sig, CG_SEAL_B64_MAX);
  assert_int_equal(out.trust_gen, UINT32_MAX);
  assert_true(out.fetched_at == UINT64_MAX);
  assert_int_equal(out.expiring, 0);
  assert_int_equal(out.seal_reason, 255);
  assert_int_equal(out.status, CG_CERT_REVOKED);
  assert_int_equal(out.source, CG_SOURCE_IMPORT);
  assert_int_equal(out.holder_type, CG_HOLDER_CITIZEN);
  cg_buf_free(&b);
}

static void test_etag(void **state) {
  cg_record_t r = sample(70), d;
  char copy[sizeof body];
  cg_buf_t b;
  uint64_t first;
  (void)state;

  cg_buf_init(&b, 1 << 20);
  assert_int_equal(cg_record_encode(&r, &b), 0);
  assert_true(r.etag == cg_record_etag(&r));
  assert_int_equal(cg_record_decode(b.base, b.len, &d), 0);
  assert_true(cg_record_etag(&d) == r.etag);
  first = r.etag;

  /* The header fields are not content: a new status keeps the ETag... */
  r.status = CG_CERT_VALID;
  r.fetched_at = 1;
  r.trust_gen = 2;
  assert_true(cg_record_etag(&r) == first);

  /* ...while every body byte, the signer and the signature change it. */
  memcpy(copy, body, sizeof body);
  r.body = copy;
  for (size_t i = 0; i < r.body_len; i++) {
    copy[i] ^= 0x01;
    assert_true(cg_record_etag(&r) != first);
    copy[i] ^= 0x01;
  }
  assert_true(cg_record_etag(&r) == first);
  r.body_len--;
  assert_true(cg_record_etag(&r) != first);
  r.body_len++;
  fx.sig[69] ^= 0x20;
  assert_true(cg_record_etag(&r) != first);
  fx.sig[69] ^= 0x20;
  fx.signer[0] ^= 0x80;
  assert_true(cg_record_etag(&r) != first);
  fx.signer[0] ^= 0x80;
  r.seal_alg = CG_SEAL_ES256;
  assert_true(cg_record_etag(&r) != first);

  /* encode stores it in the header. */
  r.seal_alg = CG_SEAL_RS256;
  copy[1] = 'C';
  cg_buf_reset(&b);
  assert_int_equal(cg_record_encode(&r, &b), 0);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), 0);
  assert_true(d.etag != first);
  assert_true(d.etag == cg_record_etag(&d));
  cg_buf_free(&b);
}

static void test_encode_refuses(void **state) {
  cg_buf_t b;
  cg_record_t r;
  (void)state;

  cg_buf_init(&b, 1 << 20);
#define REFUSE(field, value)                                                                      \
  do {                                                                                            \
    r = sample(70);                                                                               \
    r.field = value;                                                                              \
    assert_int_equal(cg_record_encode(&r, &b), CG_EBADREQ);                                       \
    assert_int_equal(b.len, 0);                                                                   \
  } while (0)
  REFUSE(status, 0);
  REFUSE(status, 4);
  REFUSE(seal_state, 3);
  REFUSE(source, 0);
  REFUSE(source, CG_SOURCE_LAST + 1);
  REFUSE(flags, 2);
  REFUSE(holder_type, 0);
  REFUSE(holder_type, 3);
  REFUSE(seal_alg, CG_SEAL_NONE);
  REFUSE(seal_alg, 3);
  REFUSE(sig_len, 0);
  REFUSE(sig_len, CG_SEAL_B64_MAX + 1);
  REFUSE(body_len, CG_CERT_BODY_MAX + 1);
  REFUSE(body, NULL);
  REFUSE(signer, NULL);
  REFUSE(sig, NULL);
#undef REFUSE
  cg_buf_free(&b);

  /* Too big for the buffer: refused, nothing written. */
  r = sample(70);
  cg_buf_init(&b, CG_RECORD_HEADER + strlen(body) + CG_SEAL_FPR_LEN + 69);
  assert_int_equal(cg_record_encode(&r, &b), CG_ETOOBIG);
  assert_int_equal(b.len, 0);
  cg_buf_free(&b);
  cg_buf_init(&b, CG_RECORD_HEADER + strlen(body) + CG_SEAL_FPR_LEN + 70);
  assert_int_equal(cg_record_encode(&r, &b), 0);
  cg_buf_free(&b);
}

static void test_decode_prefixes(void **state) {
  cg_buf_t b;
  cg_record_t d;
  (void)state;

  encode_sample(&b);
  for (size_t n = 0; n < b.len; n++) {
    /* A copy of exactly n bytes, so that a read past them is caught by
     * the sanitizers. */
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, b.base, n);
    if (cg_record_decode(p, n, &d) != CG_ERECORD)
      fail_msg("a prefix of %zu of %zu bytes was accepted", n, b.len);
    free(p);
  }
  assert_int_equal(cg_record_decode(b.base, b.len, &d), 0);

  /* One byte more than was written. */
  assert_int_equal(cg_buf_putc(&b, 0), 0);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  cg_buf_free(&b);
}

/* Decodes the sample with byte off set to v; returns the result. */
static int decode_with(size_t off, uint8_t v) {
  cg_buf_t b;
  cg_record_t d;
  int err;

  encode_sample(&b);
  b.base[off] = (char)v;
  err = cg_record_decode(b.base, b.len, &d);
  cg_buf_free(&b);
  return err;
}

static void test_decode_header_fields(void **state) {
  (void)state;
  /* The sample decodes with these bytes; the others are refused. */
  assert_int_equal(decode_with(0, CG_RECORD_VERSION), 0);
  assert_int_equal(decode_with(0, 1), 0); /* version 1: the same, never an index */
  assert_int_equal(decode_with(0, 0), CG_ERECORD);
  assert_int_equal(decode_with(0, 3), CG_ERECORD);
  assert_int_equal(decode_with(0, 0xff), CG_ERECORD);

  assert_int_equal(decode_with(1, CG_CERT_VALID), 0);
  assert_int_equal(decode_with(1, CG_CERT_REVOKED), 0);
  assert_int_equal(decode_with(1, 0), CG_ERECORD);
  assert_int_equal(decode_with(1, 4), CG_ERECORD);

  assert_int_equal(decode_with(2, CG_SEAL_RS256), 0);
  assert_int_equal(decode_with(2, 0), CG_ERECORD);
  assert_int_equal(decode_with(2, 3), CG_ERECORD);

  assert_int_equal(decode_with(3, CG_SEAL_UNCHECKED), 0);
  assert_int_equal(decode_with(3, 3), CG_ERECORD);

  assert_int_equal(decode_with(4, 0xff), 0); /* seal_reason is free */

  assert_int_equal(decode_with(5, CG_SOURCE_CITY), 0);
  assert_int_equal(decode_with(5, CG_SOURCE_LAST), 0); /* a third or fourth tier */
  assert_int_equal(decode_with(5, 0), CG_ERECORD);
  assert_int_equal(decode_with(5, CG_SOURCE_LAST + 1), CG_ERECORD);

  assert_int_equal(decode_with(6, CG_HOLDER_CITIZEN), 0);
  assert_int_equal(decode_with(6, 0), CG_ERECORD);
  assert_int_equal(decode_with(6, 3), CG_ERECORD);

  /* Flags: only those defined; reserved bytes must be zero. */
  assert_int_equal(decode_with(7, CG_RECORD_REVOKED_LATER), 0);
  assert_int_equal(decode_with(7, 2), CG_ERECORD);
  assert_int_equal(decode_with(7, 0x80), CG_ERECORD);
  assert_int_equal(decode_with(62, 1), CG_ERECORD);
  assert_int_equal(decode_with(63, 0x80), CG_ERECORD);
}

static void put32(char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (char)(v >> (8 * i));
}

/* The member index: written after the seal, read back, checked against the
 * body; a version 1 record cannot carry one. */
static void test_index(void **state) {
  cg_record_t r = sample(70), d;
  cg_cert_index_t ix = {0}, got;
  uint8_t packed[CG_RECORD_INDEX_MAX];
  const char *p = body;
  cg_buf_t b;
  (void)state;

  /* The body's three members start after '{' and after each ','. */
  ix.top[ix.ntop++] = 1;
  for (const char *q = p; (q = strchr(q, ',')) != NULL; q++)
    ix.top[ix.ntop++] = (uint16_t)(q + 1 - p);
  assert_int_equal(ix.ntop, 3);
  cg_record_index_set(&r, &ix, packed);
  assert_int_equal(r.index_len, 4 + 2 * 3);
  cg_buf_init(&b, 1 << 20);
  assert_int_equal(cg_record_encode(&r, &b), 0);
  assert_int_equal(b.len, CG_RECORD_HEADER + strlen(body) + CG_SEAL_FPR_LEN + 70 + 10);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), 0);
  assert_int_equal(d.index_len, 10);
  assert_ptr_equal(d.index, (const uint8_t *)d.sig + 70);
  assert_int_equal(cg_record_index_get(&d, &got), 0);
  assert_int_equal(got.ntop, 3);
  assert_int_equal(got.ndata, 0);
  assert_memory_equal(got.top, ix.top, 3 * sizeof ix.top[0]);
  /* Members found through it: first, middle, last (before the '}'). */
  const char *v;
  size_t vlen;
  assert_int_equal(cg_record_member(&d, "certificateHolderCode", &v, &vlen), 0);
  assert_int_equal(vlen, 20);
  assert_memory_equal(v, "\"11010519491231002X\"", 20);
  assert_int_equal(cg_record_member(&d, "certificateName", &v, &vlen), 0);
  assert_int_equal(vlen, strlen("\"居住证\""));
  assert_memory_equal(v, "\"居住证\"", vlen);
  assert_int_equal(cg_record_member(&d, "status", &v, &vlen), 0);
  assert_int_equal(vlen, 7);
  assert_memory_equal(v, "\"valid\"", 7);
  assert_int_equal(cg_record_member(&d, "certificate", &v, &vlen), CG_ENOTFOUND); /* a prefix */
  assert_int_equal(cg_record_member(&d, "data", &v, &vlen), CG_ENOTFOUND);

  /* An offset off a member's quote, or falling, and the index is not used. */
  ((uint8_t *)b.base)[b.len - 2] += 1; /* the third offset */
  assert_int_equal(cg_record_decode(b.base, b.len, &d), 0);
  assert_int_equal(cg_record_index_get(&d, &got), CG_ENOTFOUND);
  ((uint8_t *)b.base)[b.len - 2] = 1; /* below the second */
  assert_int_equal(cg_record_index_get(&d, &got), CG_ENOTFOUND);
  /* Counts that disagree with the index's length: the record is refused. */
  ((uint8_t *)b.base)[b.len - 10] = 4;
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  ((uint8_t *)b.base)[b.len - 10] = 3;
  /* Version 1 has no index. */
  b.base[0] = 1;
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  cg_buf_free(&b);

  /* No index (too many members): nothing written. */
  ix.ntop = 0;
  cg_record_index_set(&r, &ix, packed);
  assert_null(r.index);
  assert_int_equal(r.index_len, 0);
  assert_int_equal(cg_record_member(&r, "status", &v, &vlen), CG_ENOTFOUND);
}

static void test_decode_lengths(void **state) {
  cg_buf_t b;
  cg_record_t d;
  uint32_t blen = (uint32_t)strlen(body);
  (void)state;

  /* body_len pointing past the end, or short of it. */
  encode_sample(&b);
  put32(b.base + 56, blen + 1);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  put32(b.base + 56, blen - 1);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  put32(b.base + 56, UINT32_MAX);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  /* Lengths that add up to len by wrapping around 32 bits. */
  put32(b.base + 56, (uint32_t)(blen - 70 - CG_SEAL_FPR_LEN - CG_RECORD_HEADER));
  b.base[60] = (char)(70 + CG_SEAL_FPR_LEN + CG_RECORD_HEADER), b.base[61] = 0;
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  cg_buf_free(&b);

  /* sig_len 0 with the bytes cut to match: only the field check can
   * refuse it. */
  encode_sample(&b);
  b.base[60] = 0, b.base[61] = 0;
  assert_int_equal(cg_record_decode(b.base, b.len - 70, &d), CG_ERECORD);
  /* sig_len 69 with one byte cut is consistent and fine. */
  b.base[60] = 69;
  assert_int_equal(cg_record_decode(b.base, b.len - 1, &d), 0);
  assert_int_equal(d.sig_len, 69);
  cg_buf_free(&b);

  /* Lengths that add up but are over the limits. */
  cg_record_t r = sample(70);
  r.seal_alg = CG_SEAL_ES256;
  size_t big = CG_CERT_BODY_MAX + 1;
  char *bigbody = malloc(big);
  assert_non_null(bigbody);
  memset(bigbody, 'a', big);
  r.body = bigbody;
  r.body_len = CG_CERT_BODY_MAX;
  cg_buf_init(&b, 1 << 20);
  assert_int_equal(cg_record_encode(&r, &b), 0);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), 0);
  /* One more body byte, spliced in, length field to match. */
  assert_int_equal(cg_buf_putc(&b, 0), 0);
  memmove(b.base + CG_RECORD_HEADER + 1, b.base + CG_RECORD_HEADER, b.len - 1 - CG_RECORD_HEADER);
  put32(b.base + 56, CG_CERT_BODY_MAX + 1);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  cg_buf_free(&b);

  /* A signature longer than any seal's base64, lengths consistent. */
  r = sample(CG_SEAL_B64_MAX);
  cg_buf_init(&b, 1 << 20);
  assert_int_equal(cg_record_encode(&r, &b), 0);
  assert_int_equal(cg_buf_putc(&b, 'A'), 0);
  b.base[60] = (char)((CG_SEAL_B64_MAX + 1) & 0xff), b.base[61] = (char)((CG_SEAL_B64_MAX + 1) >> 8);
  assert_int_equal(cg_record_decode(b.base, b.len, &d), CG_ERECORD);
  cg_buf_free(&b);
  free(bigbody);
}

static void expected_key(const char *type, const char *code, uint8_t out[16]) {
  char in[64];
  XXH128_canonical_t c;
  size_t n = strlen(code);

  memcpy(in, type, 3);
  memcpy(in + 3, code, n);
  XXH128_canonicalFromHash(&c, XXH3_128bits(in, 3 + n));
  memcpy(out, c.digest, 16);
}

static void test_holder_key(void **state) {
  static const char code[] = "11010519491231002X";
  uint8_t a[CG_HOLDER_KEY_LEN], b[CG_HOLDER_KEY_LEN], want[16];
  (void)state;

  cg_record_holder_key(CG_HOLDER_CITIZEN, code, strlen(code), a);
  expected_key("111", code, want);
  assert_memory_equal(a, want, 16);
  /* Stable: the same again, and the code need not be NUL-terminated. */
  char copy[32];
  memcpy(copy, code, strlen(code));
  memset(copy + strlen(code), 'Z', sizeof copy - strlen(code));
  cg_record_holder_key(CG_HOLDER_CITIZEN, copy, strlen(code), b);
  assert_memory_equal(a, b, 16);

  /* The same characters under the other holder type are another holder. */
  cg_record_holder_key(CG_HOLDER_ORG, code, strlen(code), b);
  expected_key("001", code, want);
  assert_memory_equal(b, want, 16);
  assert_memory_not_equal(a, b, 16);

  /* A USCC. */
  cg_record_holder_key(CG_HOLDER_ORG, "91350100M000100Y43", 18, b);
  expected_key("001", "91350100M000100Y43", want);
  assert_memory_equal(b, want, 16);

  /* One character more or different is another key. */
  cg_record_holder_key(CG_HOLDER_CITIZEN, code, strlen(code) - 1, b);
  assert_memory_not_equal(a, b, 16);
  cg_record_holder_key(CG_HOLDER_CITIZEN, "11010519491231003X", 18, b);
  assert_memory_not_equal(a, b, 16);
}

/* Certificates' dates are Beijing time: at 16:00 UTC the day turns. */
static void test_today(void **state) {
  (void)state;
  assert_int_equal(cg_record_today(1795795200 - 1), 20261127); /* 2026-11-27 15:59:59 UTC */
  assert_int_equal(cg_record_today(1795795200), 20261128);     /* 16:00:00 UTC, 00:00 CST */
  assert_int_equal(cg_record_today(1798732799), 20261231);     /* 2026-12-31 15:59:59 UTC */
  assert_int_equal(cg_record_today(1798732800), 20270101);     /* a new year in Beijing */
  assert_int_equal(cg_record_today(0), 19700101);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_round_trip_extremes),
      cmocka_unit_test(test_etag),
      cmocka_unit_test(test_encode_refuses),
      cmocka_unit_test(test_decode_prefixes),
      cmocka_unit_test(test_decode_header_fields),
      cmocka_unit_test(test_decode_lengths),
      cmocka_unit_test(test_index),
      cmocka_unit_test(test_holder_key),
      cmocka_unit_test(test_today),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
