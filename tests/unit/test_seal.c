/* test_seal.c — unit tests of core/seal.c.
 *
 * Seals are checked with mbedtls_pk_verify over SHA-256(body) under the
 * signer certificate's public key, as a verifier elsewhere would; then one
 * flipped byte of body or signature must make them fail. The group setup
 * generates the only RSA key of this file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "core/seal.h"
#include "core/signer.h"

#define PEM_CAP 8192

static const char body[] =
    "{\"certificateHolderCode\":\"11010519491231002X\",\"certificateName\":"
    "\"居民身份证\",\"issueDate\":\"2024-05-01\"}";

typedef struct fixture {
  cg_signer_t *ca;  /* ES256, self-signed */
  cg_signer_t *ec;  /* ES256 agency */
  cg_signer_t *rsa; /* RS256 agency */
} fixture_t;

static int make(cg_signer_t **out, cg_seal_alg_t alg, const char *subject, uint64_t serial,
                int is_ca, cg_signer_t *issuer) {
  time_t now = time(NULL);
  cg_signer_spec_t spec = {alg, subject, now - 60, now + 86400, serial, is_ca};

  return cg_signer_generate(out, &spec, issuer);
}

static int group_setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);

  if (f == NULL || make(&f->ca, CG_SEAL_ES256, "CN=测试印章根证书,C=CN", 1, 1, NULL) != 0 ||
      make(&f->ec, CG_SEAL_ES256, "CN=某市公安局电子印章,O=某市公安局,C=CN", 2, 0, f->ca) != 0 ||
      make(&f->rsa, CG_SEAL_RS256, "CN=某市民政局电子印章,O=某市民政局,C=CN", 3, 0, f->ca) != 0)
    return -1;
  *state = f;
  return 0;
}

static int group_teardown(void **state) {
  fixture_t *f = *state;

  if (f != NULL) {
    cg_signer_free(f->ca);
    cg_signer_free(f->ec);
    cg_signer_free(f->rsa);
    free(f);
  }
  return 0;
}

/* What a verifier does: SHA-256 of the body, signature under the public key
 * of the certificate the seal names. Returns mbedtls_pk_verify's result. */
static int verify(const cg_signer_t *s, const void *data, size_t len, const uint8_t *sig,
                  size_t sig_len) {
  mbedtls_x509_crt crt;
  uint8_t hash[32];
  size_t der_len;
  const uint8_t *der = cg_signer_der(s, &der_len);
  int rc;

  mbedtls_x509_crt_init(&crt);
  assert_int_equal(mbedtls_x509_crt_parse_der(&crt, der, der_len), 0);
  assert_int_equal(mbedtls_sha256_ret(data, len, hash, 0), 0);
  rc = mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, sig_len);
  mbedtls_x509_crt_free(&crt);
  return rc;
}

/* The seal carries its signature in base64; a verifier decodes it first. */
static size_t raw_sig(const cg_seal_t *seal, uint8_t *out, size_t cap) {
  size_t n = 0;
  assert_true(cg_seal_b64_valid(seal->sig, seal->sig_len));
  assert_int_equal(mbedtls_base64_decode(out, cap, &n, (const unsigned char *)seal->sig,
                                         seal->sig_len), 0);
  return n;
}

static int verify_seal(const cg_signer_t *s, const void *data, size_t len, const cg_seal_t *seal) {
  uint8_t raw[CG_SEAL_SIG_MAX];
  size_t n = raw_sig(seal, raw, sizeof raw);
  return verify(s, data, len, raw, n);
}

static void check_seal(cg_signer_t *s, cg_seal_alg_t alg) {
  cg_seal_t seal;
  char *copy = strdup(body);
  size_t len = strlen(body);

  assert_non_null(copy);
  memset(&seal, 0xa5, sizeof seal);
  assert_int_equal(cg_seal_sign(s, body, len, &seal), 0);
  assert_int_equal(seal.alg, alg);
  assert_memory_equal(seal.signer, cg_signer_fingerprint(s), CG_SEAL_FPR_LEN);
  uint8_t raw[CG_SEAL_SIG_MAX];
  size_t raw_len = raw_sig(&seal, raw, sizeof raw);
  assert_int_equal(strlen(seal.sig), seal.sig_len); /* NUL-terminated base64 */
  if (alg == CG_SEAL_RS256) {
    assert_int_equal(raw_len, 256);
    assert_int_equal(seal.sig_len, 344);
  } else {
    /* DER: SEQUENCE { INTEGER r, INTEGER s }, at most 72 bytes on P-256. */
    assert_in_range(raw_len, 8, 72);
    assert_int_equal(raw[0], 0x30);
    assert_int_equal(raw[1], raw_len - 2);
  }

  assert_int_equal(verify(s, body, len, raw, raw_len), 0);

  /* One flipped byte of the body, at either end or in the middle. */
  size_t at[] = {0, len / 2, len - 1};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    copy[at[i]] ^= 0x01;
    assert_int_not_equal(verify(s, copy, len, raw, raw_len), 0);
    copy[at[i]] ^= 0x01;
  }
  assert_int_not_equal(verify(s, body, len - 1, raw, raw_len), 0);

  /* One flipped byte of the signature: in r, in s, the last. */
  size_t sat[] = {8, raw_len / 2 + 4, raw_len - 1u};
  for (size_t i = 0; i < sizeof sat / sizeof sat[0]; i++) {
    raw[sat[i]] ^= 0x01;
    assert_int_not_equal(verify(s, body, len, raw, raw_len), 0);
    raw[sat[i]] ^= 0x01;
  }
  assert_int_equal(verify(s, body, len, raw, raw_len), 0);
  free(copy);
}

static void test_seal_es256(void **state) {
  fixture_t *f = *state;

  check_seal(f->ec, CG_SEAL_ES256);
}

static void test_seal_rs256(void **state) {
  fixture_t *f = *state;

  check_seal(f->rsa, CG_SEAL_RS256);
}

static void test_seal_by_ca_key(void **state) {
  fixture_t *f = *state;

  check_seal(f->ca, CG_SEAL_ES256);
}

static void test_seal_does_not_verify_under_another_key(void **state) {
  fixture_t *f = *state;
  cg_seal_t seal;

  assert_int_equal(cg_seal_sign(f->ec, body, strlen(body), &seal), 0);
  assert_int_not_equal(verify_seal(f->ca, body, strlen(body), &seal), 0);
  assert_int_not_equal(verify_seal(f->rsa, body, strlen(body), &seal), 0);
  assert_memory_not_equal(seal.signer, cg_signer_fingerprint(f->ca), CG_SEAL_FPR_LEN);
}

static void test_seal_empty_body(void **state) {
  fixture_t *f = *state;
  cg_seal_t seal;

  assert_int_equal(cg_seal_sign(f->ec, NULL, 0, &seal), 0);
  assert_int_equal(verify_seal(f->ec, "", 0, &seal), 0);
  assert_int_equal(cg_seal_sign(f->rsa, "", 0, &seal), 0);
  assert_int_equal(verify_seal(f->rsa, "", 0, &seal), 0);
  assert_int_not_equal(verify_seal(f->rsa, "x", 1, &seal), 0);
}

/* A signer loaded from PEM, with its own DRBG, seals as the original: its
 * seals name the same fingerprint and verify under the original cert. */
static void test_seal_by_loaded_signer(void **state) {
  fixture_t *f = *state;
  cg_signer_t *srcs[] = {f->ec, f->rsa};

  for (size_t i = 0; i < 2; i++) {
    char *cert = malloc(PEM_CAP), *key = malloc(PEM_CAP);
    cg_signer_t *copy = NULL;
    cg_seal_t seal;

    assert_int_equal(cg_signer_cert_pem(srcs[i], cert, PEM_CAP), 0);
    assert_int_equal(cg_signer_key_pem(srcs[i], key, PEM_CAP), 0);
    assert_int_equal(cg_signer_load(&copy, cert, key), 0);
    assert_int_equal(cg_seal_sign(copy, body, strlen(body), &seal), 0);
    assert_int_equal(seal.alg, cg_signer_alg(srcs[i]));
    assert_memory_equal(seal.signer, cg_signer_fingerprint(srcs[i]), CG_SEAL_FPR_LEN);
    assert_int_equal(verify_seal(srcs[i], body, strlen(body), &seal), 0);
    cg_signer_free(copy);
    free(cert);
    free(key);
  }
}

static void test_b64_form(void **state) {
  char big[CG_SEAL_B64_MAX + 8];
  (void)state;
  assert_true(cg_seal_b64_valid("AAAA", 4));
  assert_true(cg_seal_b64_valid("AA==", 4));
  assert_true(cg_seal_b64_valid("AAA=", 4));
  assert_true(cg_seal_b64_valid("ab+/", 4));
  assert_false(cg_seal_b64_valid("", 0));
  assert_false(cg_seal_b64_valid("AAA", 3));      /* not a multiple of 4 */
  assert_false(cg_seal_b64_valid("A===", 4));     /* three pads */
  assert_false(cg_seal_b64_valid("A=AA", 4));     /* pad inside */
  assert_false(cg_seal_b64_valid("AA-_", 4));     /* base64url is not base64 */
  assert_false(cg_seal_b64_valid("AA A", 4));
  assert_false(cg_seal_b64_valid("AA\0A", 4));
  /* Bits beyond the bytes encoded must be zero: one spelling a signature. */
  assert_true(cg_seal_b64_valid("AAE=", 4));  /* E = 000100: low 2 bits zero */
  assert_false(cg_seal_b64_valid("AAB=", 4)); /* B = 000001 */
  assert_false(cg_seal_b64_valid("AAC=", 4));
  assert_true(cg_seal_b64_valid("AQ==", 4));  /* Q = 010000: low 4 bits zero */
  assert_false(cg_seal_b64_valid("AR==", 4));
  assert_false(cg_seal_b64_valid("AB==", 4));
  assert_false(cg_seal_b64_valid("A/==", 4));
  /* 684 characters decode to 513 bytes unless padded down to 512. */
  memset(big, 'A', sizeof big);
  assert_false(cg_seal_b64_valid(big, CG_SEAL_B64_MAX));
  big[CG_SEAL_B64_MAX - 1] = '=';
  big[CG_SEAL_B64_MAX - 2] = '=';
  assert_true(cg_seal_b64_valid(big, CG_SEAL_B64_MAX));
  assert_false(cg_seal_b64_valid(big, CG_SEAL_B64_MAX + 4));
}

static void test_alg_names(void **state) {
  (void)state;
  assert_string_equal(cg_seal_alg_name(CG_SEAL_ES256), "ES256");
  assert_string_equal(cg_seal_alg_name(CG_SEAL_RS256), "RS256");
  assert_null(cg_seal_alg_name(CG_SEAL_NONE));
  assert_null(cg_seal_alg_name((cg_seal_alg_t)99));

  assert_int_equal(cg_seal_alg_parse("ES256", 5), CG_SEAL_ES256);
  assert_int_equal(cg_seal_alg_parse("RS256", 5), CG_SEAL_RS256);
  for (int a = CG_SEAL_ES256; a <= CG_SEAL_RS256; a++) {
    const char *name = cg_seal_alg_name((cg_seal_alg_t)a);
    assert_int_equal(cg_seal_alg_parse(name, strlen(name)), a);
  }
  /* Only len bytes are read: no NUL needed, nothing after them counts. */
  assert_int_equal(cg_seal_alg_parse("RS256RS256", 5), CG_SEAL_RS256);
  assert_int_equal(cg_seal_alg_parse("ES256\"}", 5), CG_SEAL_ES256);
}

static void test_alg_parse_rejects(void **state) {
  (void)state;
  assert_int_equal(cg_seal_alg_parse("es256", 5), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("Es256", 5), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("ES25", 4), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("ES256", 4), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("ES2566", 6), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("ES256\0", 6), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse(" ES256", 6), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("", 0), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse(NULL, 0), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("ES384", 5), CG_SEAL_NONE);
  assert_int_equal(cg_seal_alg_parse("SM2", 3), CG_SEAL_NONE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seal_es256),
      cmocka_unit_test(test_seal_rs256),
      cmocka_unit_test(test_seal_by_ca_key),
      cmocka_unit_test(test_seal_does_not_verify_under_another_key),
      cmocka_unit_test(test_seal_empty_body),
      cmocka_unit_test(test_seal_by_loaded_signer),
      cmocka_unit_test(test_b64_form),
      cmocka_unit_test(test_alg_names),
      cmocka_unit_test(test_alg_parse_rejects),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
