/* test_signer.c — unit tests of core/signer.c.
 *
 * The certificates are checked with mbedTLS directly, not through signer.c:
 * chain verification against the CA, key usage, basic constraints, serial,
 * validity, and that a Chinese subject survives as the child's issuer. RSA
 * key generation is slow, so the group setup makes the one RSA key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "core/signer.h"

#define CA_SUBJECT "CN=某市电子证照印章根证书,O=某市大数据局,C=CN"
#define EC_SUBJECT "CN=某市公安局电子印章,OU=户政管理,O=某市公安局,C=CN"
#define RSA_SUBJECT "CN=某市市场监督管理局电子印章,O=某市市场监督管理局,C=CN"
#define EC_SERIAL UINT64_C(0x8000000000000001) /* top bit set: DER needs a 0 pad */
#define PEM_CAP 8192

typedef struct fixture {
  time_t now;
  cg_signer_t *ca;
  cg_signer_t *ec;  /* ES256 agency issued by ca */
  cg_signer_t *rsa; /* RS256 agency issued by ca */
} fixture_t;

static cg_signer_spec_t spec_of(const fixture_t *f, cg_seal_alg_t alg, const char *subject,
                                uint64_t serial, int is_ca) {
  cg_signer_spec_t spec = {
      .alg = alg,
      .subject = subject,
      .not_before = f->now - 3600,
      .not_after = f->now + 365 * 86400,
      .serial = serial,
      .is_ca = is_ca,
  };
  return spec;
}

static int group_setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);
  cg_signer_spec_t spec;

  if (f == NULL)
    return -1;
  f->now = time(NULL);
  spec = spec_of(f, CG_SEAL_ES256, CA_SUBJECT, 1, 1);
  if (cg_signer_generate(&f->ca, &spec, NULL) != 0)
    return -1;
  spec = spec_of(f, CG_SEAL_ES256, EC_SUBJECT, EC_SERIAL, 0);
  if (cg_signer_generate(&f->ec, &spec, f->ca) != 0)
    return -1;
  spec = spec_of(f, CG_SEAL_RS256, RSA_SUBJECT, 3, 0);
  if (cg_signer_generate(&f->rsa, &spec, f->ca) != 0)
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

/* The signer's certificate, parsed by mbedTLS from the DER signer.c exposes. */
static void parse_crt(const cg_signer_t *s, mbedtls_x509_crt *crt) {
  size_t len;
  const uint8_t *der = cg_signer_der(s, &len);

  mbedtls_x509_crt_init(crt);
  assert_non_null(der);
  assert_int_equal(mbedtls_x509_crt_parse_der(crt, der, len), 0);
}

static void assert_verifies(const cg_signer_t *child, const cg_signer_t *anchor) {
  mbedtls_x509_crt c, a;
  uint32_t flags = 0xffffffff;

  parse_crt(child, &c);
  parse_crt(anchor, &a);
  assert_int_equal(mbedtls_x509_crt_verify(&c, &a, NULL, NULL, &flags, NULL, NULL), 0);
  assert_int_equal(flags, 0);
  mbedtls_x509_crt_free(&c);
  mbedtls_x509_crt_free(&a);
}

static void assert_fingerprint_is_sha256_of_der(const cg_signer_t *s) {
  uint8_t want[32];
  size_t len;
  const uint8_t *der = cg_signer_der(s, &len);

  assert_true(len > 100);
  assert_int_equal(mbedtls_sha256_ret(der, len, want, 0), 0);
  assert_memory_equal(cg_signer_fingerprint(s), want, 32);
}

/* mbedTLS 2.28 does not parse the key identifier extensions, so they are
 * found in the DER: the OID, then the OCTET STRING as x509write_crt writes
 * it (not critical; a 20-byte SHA-1 key id, in AKI as [0] of a SEQUENCE). */
static const uint8_t ski_prefix[] = {0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14};
static const uint8_t aki_prefix[] = {0x06, 0x03, 0x55, 0x1d, 0x23, 0x04, 0x18,
                                     0x30, 0x16, 0x80, 0x14};

static const uint8_t *key_id(const mbedtls_x509_crt *crt, const uint8_t *prefix, size_t n) {
  const uint8_t *at = memmem(crt->raw.p, crt->raw.len, prefix, n);

  assert_non_null(at);
  assert_true(at + n + 20 <= crt->raw.p + crt->raw.len);
  return at + n;
}

static void test_ca_is_self_signed_ca(void **state) {
  fixture_t *f = *state;
  mbedtls_x509_crt crt;

  assert_int_equal(cg_signer_alg(f->ca), CG_SEAL_ES256);
  assert_verifies(f->ca, f->ca);
  parse_crt(f->ca, &crt);
  assert_int_equal(crt.version, 3);
  assert_int_equal(mbedtls_pk_get_type(&crt.pk), MBEDTLS_PK_ECKEY);
  assert_int_equal(crt.sig_md, MBEDTLS_MD_SHA256);
  assert_int_equal(crt.ca_istrue, 1);
  /* Self-signed: the authority key is its own key. */
  assert_memory_equal(key_id(&crt, aki_prefix, sizeof aki_prefix),
                      key_id(&crt, ski_prefix, sizeof ski_prefix), 20);
  assert_int_equal(crt.issuer_raw.len, crt.subject_raw.len);
  assert_memory_equal(crt.issuer_raw.p, crt.subject_raw.p, crt.subject_raw.len);
  assert_int_equal(mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN), 0);
  assert_int_equal(mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_CRL_SIGN), 0);
  assert_int_not_equal(
      mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE), 0);
  mbedtls_x509_crt_free(&crt);
}

static void check_agency(const fixture_t *f, const cg_signer_t *s, mbedtls_pk_type_t type) {
  mbedtls_x509_crt crt, ca;

  assert_verifies(s, f->ca);
  parse_crt(s, &crt);
  parse_crt(f->ca, &ca);
  assert_int_equal(crt.version, 3);
  assert_int_equal(mbedtls_pk_get_type(&crt.pk), type);
  /* Signed by the CA's EC key, whatever the agency's own key is. */
  assert_int_equal(crt.sig_pk, MBEDTLS_PK_ECDSA);
  assert_int_equal(crt.sig_md, MBEDTLS_MD_SHA256);
  assert_int_equal(crt.ca_istrue, 0);
  /* Byte for byte: the Chinese subject must not have been through a string. */
  assert_int_equal(crt.issuer_raw.len, ca.subject_raw.len);
  assert_memory_equal(crt.issuer_raw.p, ca.subject_raw.p, ca.subject_raw.len);
  assert_int_equal(
      mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE), 0);
  assert_int_equal(mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_NON_REPUDIATION), 0);
  assert_int_not_equal(mbedtls_x509_crt_check_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN),
                       0);
  /* The child names the CA's key as its authority key, and has its own. */
  assert_memory_equal(key_id(&crt, aki_prefix, sizeof aki_prefix),
                      key_id(&ca, ski_prefix, sizeof ski_prefix), 20);
  assert_memory_not_equal(key_id(&crt, ski_prefix, sizeof ski_prefix),
                          key_id(&ca, ski_prefix, sizeof ski_prefix), 20);
  mbedtls_x509_crt_free(&crt);
  mbedtls_x509_crt_free(&ca);
}

static void test_ec_agency_chains_to_ca(void **state) {
  fixture_t *f = *state;

  assert_int_equal(cg_signer_alg(f->ec), CG_SEAL_ES256);
  check_agency(f, f->ec, MBEDTLS_PK_ECKEY);
}

static void test_rsa_agency_chains_to_ca(void **state) {
  fixture_t *f = *state;
  mbedtls_x509_crt crt;

  assert_int_equal(cg_signer_alg(f->rsa), CG_SEAL_RS256);
  check_agency(f, f->rsa, MBEDTLS_PK_RSA);
  parse_crt(f->rsa, &crt);
  assert_int_equal(mbedtls_pk_get_bitlen(&crt.pk), 2048);
  assert_int_equal(mbedtls_mpi_cmp_int(&mbedtls_pk_rsa(crt.pk)->E, 65537), 0);
  mbedtls_x509_crt_free(&crt);
}

static void test_agency_does_not_chain_to_another_ca(void **state) {
  fixture_t *f = *state;
  cg_signer_spec_t spec = spec_of(f, CG_SEAL_ES256, CA_SUBJECT, 1, 1);
  cg_signer_t *other = NULL;
  mbedtls_x509_crt c, a;
  uint32_t flags = 0;

  /* Same subject, other key: only the signature can tell them apart. */
  assert_int_equal(cg_signer_generate(&other, &spec, NULL), 0);
  parse_crt(f->ec, &c);
  parse_crt(other, &a);
  assert_int_not_equal(mbedtls_x509_crt_verify(&c, &a, NULL, NULL, &flags, NULL, NULL), 0);
  assert_true(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
  mbedtls_x509_crt_free(&c);
  mbedtls_x509_crt_free(&a);
  cg_signer_free(other);
}

static void test_serial_and_validity(void **state) {
  fixture_t *f = *state;
  static const uint8_t want[8] = {0x80, 0, 0, 0, 0, 0, 0, 0x01};
  mbedtls_x509_crt crt;
  struct tm nb, na;
  time_t t;

  parse_crt(f->ec, &crt);
  assert_int_equal(crt.serial.len, 9);
  assert_int_equal(crt.serial.p[0], 0);
  assert_memory_equal(crt.serial.p + 1, want, 8);

  t = f->now - 3600;
  gmtime_r(&t, &nb);
  t = f->now + 365 * 86400;
  gmtime_r(&t, &na);
  assert_int_equal(crt.valid_from.year, nb.tm_year + 1900);
  assert_int_equal(crt.valid_from.mon, nb.tm_mon + 1);
  assert_int_equal(crt.valid_from.day, nb.tm_mday);
  assert_int_equal(crt.valid_from.hour, nb.tm_hour);
  assert_int_equal(crt.valid_from.min, nb.tm_min);
  assert_int_equal(crt.valid_from.sec, nb.tm_sec);
  assert_int_equal(crt.valid_to.year, na.tm_year + 1900);
  assert_int_equal(crt.valid_to.day, na.tm_mday);
  assert_int_equal(crt.valid_to.sec, na.tm_sec);
  mbedtls_x509_crt_free(&crt);
}

static void test_expired_cert_does_not_verify(void **state) {
  fixture_t *f = *state;
  cg_signer_spec_t spec = spec_of(f, CG_SEAL_ES256, EC_SUBJECT, 9, 0);
  cg_signer_t *old = NULL;
  mbedtls_x509_crt c, a;
  uint32_t flags = 0;

  spec.not_before = f->now - 10 * 86400;
  spec.not_after = f->now - 86400;
  assert_int_equal(cg_signer_generate(&old, &spec, f->ca), 0);
  parse_crt(old, &c);
  parse_crt(f->ca, &a);
  assert_int_not_equal(mbedtls_x509_crt_verify(&c, &a, NULL, NULL, &flags, NULL, NULL), 0);
  assert_int_equal(flags, MBEDTLS_X509_BADCERT_EXPIRED);
  mbedtls_x509_crt_free(&c);
  mbedtls_x509_crt_free(&a);
  cg_signer_free(old);
}

static void test_fingerprints(void **state) {
  fixture_t *f = *state;

  assert_fingerprint_is_sha256_of_der(f->ca);
  assert_fingerprint_is_sha256_of_der(f->ec);
  assert_fingerprint_is_sha256_of_der(f->rsa);
  assert_memory_not_equal(cg_signer_fingerprint(f->ca), cg_signer_fingerprint(f->ec), 32);
}

static void check_round_trip(cg_signer_t *s) {
  char *cert = malloc(PEM_CAP), *key = malloc(PEM_CAP);
  cg_signer_t *back = NULL;
  size_t len, back_len;
  const uint8_t *der, *back_der;

  assert_non_null(cert);
  assert_non_null(key);
  assert_int_equal(cg_signer_cert_pem(s, cert, PEM_CAP), 0);
  assert_int_equal(cg_signer_key_pem(s, key, PEM_CAP), 0);
  assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
  assert_non_null(strstr(key, "PRIVATE KEY-----"));

  assert_int_equal(cg_signer_load(&back, cert, key), 0);
  assert_non_null(back);
  assert_memory_equal(cg_signer_fingerprint(back), cg_signer_fingerprint(s), 32);
  assert_int_equal(cg_signer_alg(back), cg_signer_alg(s));
  der = cg_signer_der(s, &len);
  back_der = cg_signer_der(back, &back_len);
  assert_int_equal(back_len, len);
  assert_memory_equal(back_der, der, len);
  cg_signer_free(back);
  free(cert);
  free(key);
}

static void test_pem_round_trip(void **state) {
  fixture_t *f = *state;

  check_round_trip(f->ca);
  check_round_trip(f->ec);
  check_round_trip(f->rsa);
}

static void test_load_mismatched_key(void **state) {
  fixture_t *f = *state;
  char *cert = malloc(PEM_CAP), *ca_key = malloc(PEM_CAP), *rsa_key = malloc(PEM_CAP);
  cg_signer_t *s = (cg_signer_t *)f; /* any non-NULL value: must be cleared */

  assert_int_equal(cg_signer_cert_pem(f->ec, cert, PEM_CAP), 0);
  assert_int_equal(cg_signer_key_pem(f->ca, ca_key, PEM_CAP), 0);
  assert_int_equal(cg_signer_key_pem(f->rsa, rsa_key, PEM_CAP), 0);
  /* The same kind of key on the same curve, but not this certificate's. */
  assert_int_equal(cg_signer_load(&s, cert, ca_key), CG_ECRYPTO);
  assert_null(s);
  assert_int_equal(cg_signer_load(&s, cert, rsa_key), CG_ECRYPTO);
  assert_null(s);
  free(cert);
  free(ca_key);
  free(rsa_key);
}

static void test_load_garbage(void **state) {
  fixture_t *f = *state;
  char *cert = malloc(PEM_CAP), *key = malloc(PEM_CAP), *two = malloc(2 * PEM_CAP);
  cg_signer_t *s = NULL;
  size_t n;

  assert_int_equal(cg_signer_cert_pem(f->ec, cert, PEM_CAP), 0);
  assert_int_equal(cg_signer_key_pem(f->ec, key, PEM_CAP), 0);

  assert_int_equal(cg_signer_load(&s, "", key), CG_ECRYPTO);
  assert_int_equal(cg_signer_load(&s, "not a certificate", key), CG_ECRYPTO);
  assert_int_equal(cg_signer_load(&s, cert, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                            "-----END PRIVATE KEY-----\n"),
                   CG_ECRYPTO);
  assert_int_equal(cg_signer_load(&s, key, cert), CG_ECRYPTO); /* swapped */
  assert_null(s);

  /* Cut in the middle of the base64. */
  n = strlen(cert);
  memcpy(two, cert, n / 2);
  strcpy(two + n / 2, "\n-----END CERTIFICATE-----\n");
  assert_int_equal(cg_signer_load(&s, two, key), CG_ECRYPTO);
  /* A character that is not base64 in the middle of the body. */
  strcpy(two, cert);
  two[n / 2] = '*';
  assert_int_equal(cg_signer_load(&s, two, key), CG_ECRYPTO);
  /* Two certificates: which one would be the signer? */
  strcpy(two, cert);
  strcat(two, cert);
  assert_int_equal(cg_signer_load(&s, two, key), CG_ECRYPTO);
  assert_null(s);
  free(cert);
  free(key);
  free(two);
}

static void test_pem_buffer_too_small(void **state) {
  fixture_t *f = *state;
  char *buf = malloc(PEM_CAP);
  size_t need;

  assert_int_equal(cg_signer_cert_pem(f->ec, buf, PEM_CAP), 0);
  need = strlen(buf) + 1;
  assert_int_equal(cg_signer_cert_pem(f->ec, buf, need - 1), CG_ETOOBIG);
  assert_int_equal(cg_signer_cert_pem(f->ec, buf, 16), CG_ETOOBIG);
  assert_int_equal(cg_signer_cert_pem(f->ec, buf, need), 0);
  assert_int_equal(strlen(buf) + 1, need);

  assert_int_equal(cg_signer_key_pem(f->rsa, buf, PEM_CAP), 0);
  need = strlen(buf) + 1;
  assert_int_equal(cg_signer_key_pem(f->rsa, buf, need - 1), CG_ETOOBIG);
  /* A refused key PEM leaves nothing of the key behind. */
  for (size_t i = 0; i < need - 1; i++)
    assert_int_equal(buf[i], 0);
  assert_int_equal(cg_signer_key_pem(f->rsa, buf, 64), CG_ETOOBIG);
  assert_int_equal(cg_signer_key_pem(f->rsa, buf, need), 0);
  free(buf);
}

static const char *tmp_dir(void) {
  const char *d = getenv("CG_TEST_TMP");

  if (d == NULL || d[0] == '\0')
    return "/tmp";
  if (mkdir(d, 0700) != 0 && errno != EEXIST)
    return "/tmp";
  return d;
}

static void write_file(const char *path, const char *text, size_t len) {
  FILE *fp = fopen(path, "wb");

  assert_non_null(fp);
  assert_int_equal(fwrite(text, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
}

static void test_load_files(void **state) {
  fixture_t *f = *state;
  char *cert = malloc(PEM_CAP), *key = malloc(PEM_CAP), *big;
  char cert_path[512], key_path[512], big_path[512], missing[512];
  cg_signer_t *s = NULL;
  size_t big_len = 64 * 1024 + 1;

  snprintf(cert_path, sizeof cert_path, "%s/test_signer-%ld-cert.pem", tmp_dir(),
           (long)getpid());
  snprintf(key_path, sizeof key_path, "%s/test_signer-%ld-key.pem", tmp_dir(), (long)getpid());
  snprintf(big_path, sizeof big_path, "%s/test_signer-%ld-big.pem", tmp_dir(), (long)getpid());
  snprintf(missing, sizeof missing, "%s/test_signer-%ld-missing.pem", tmp_dir(),
           (long)getpid());
  assert_int_equal(cg_signer_cert_pem(f->rsa, cert, PEM_CAP), 0);
  assert_int_equal(cg_signer_key_pem(f->rsa, key, PEM_CAP), 0);
  write_file(cert_path, cert, strlen(cert));
  write_file(key_path, key, strlen(key));

  assert_int_equal(cg_signer_load_files(&s, cert_path, key_path), 0);
  assert_non_null(s);
  assert_memory_equal(cg_signer_fingerprint(s), cg_signer_fingerprint(f->rsa), 32);
  cg_signer_free(s);

  assert_int_equal(cg_signer_load_files(&s, missing, key_path), CG_EIO);
  assert_null(s);
  assert_int_equal(cg_signer_load_files(&s, cert_path, missing), CG_EIO);
  assert_int_equal(cg_signer_load_files(&s, cert_path, tmp_dir()), CG_EIO); /* a directory */
  assert_int_equal(cg_signer_load_files(&s, key_path, cert_path), CG_ECRYPTO);

  /* A valid certificate padded past the 64 KiB bound is refused unread. */
  big = malloc(big_len);
  assert_non_null(big);
  memset(big, '\n', big_len);
  memcpy(big, cert, strlen(cert));
  write_file(big_path, big, big_len);
  assert_int_equal(cg_signer_load_files(&s, big_path, key_path), CG_EIO);
  /* ...while the same padded to exactly 64 KiB is read. */
  write_file(big_path, big, big_len - 1);
  assert_int_equal(cg_signer_load_files(&s, big_path, key_path), 0);
  cg_signer_free(s);

  unlink(cert_path);
  unlink(key_path);
  unlink(big_path);
  free(big);
  free(cert);
  free(key);
}

static void test_generate_rejects_bad_spec(void **state) {
  fixture_t *f = *state;
  cg_signer_spec_t good = spec_of(f, CG_SEAL_ES256, EC_SUBJECT, 7, 0), spec;
  cg_signer_t *s = (cg_signer_t *)f; /* any non-NULL value: must be cleared */

  spec = good;
  spec.serial = 0;
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO);
  assert_null(s);
  spec = good;
  spec.not_after = spec.not_before;
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO);
  spec = good;
  spec.alg = CG_SEAL_NONE;
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO);
  spec = good;
  spec.subject = NULL;
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO);
  spec = good;
  spec.subject = "";
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO);
  spec = good;
  spec.subject = "XYZ=no such attribute";
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO);
  spec = good;
  spec.subject = "CN=某市公安局电子印章,OU=户政,OU=治安,O=某市公安局,C=CN";
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO); /* would lose an OU */
  spec = good;
  spec.not_after = (time_t)300000 * 365 * 86400; /* a five-digit year */
  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), CG_ECRYPTO);
  assert_null(s);
}

static void test_subject_with_escaped_comma(void **state) {
  fixture_t *f = *state;
  cg_signer_spec_t spec = spec_of(f, CG_SEAL_ES256, "CN=某市卫生健康委员会\\,电子印章,C=CN", 8, 0);
  cg_signer_t *s = NULL;
  mbedtls_x509_crt crt;
  static const char cn[] = "某市卫生健康委员会,电子印章";

  assert_int_equal(cg_signer_generate(&s, &spec, f->ca), 0);
  assert_verifies(s, f->ca);
  parse_crt(s, &crt);
  assert_int_equal(crt.subject.val.len, strlen(cn));
  assert_memory_equal(crt.subject.val.p, cn, strlen(cn));
  assert_non_null(crt.subject.next);
  assert_null(crt.subject.next->next);
  mbedtls_x509_crt_free(&crt);
  cg_signer_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ca_is_self_signed_ca),
      cmocka_unit_test(test_ec_agency_chains_to_ca),
      cmocka_unit_test(test_rsa_agency_chains_to_ca),
      cmocka_unit_test(test_agency_does_not_chain_to_another_ca),
      cmocka_unit_test(test_serial_and_validity),
      cmocka_unit_test(test_expired_cert_does_not_verify),
      cmocka_unit_test(test_fingerprints),
      cmocka_unit_test(test_pem_round_trip),
      cmocka_unit_test(test_load_mismatched_key),
      cmocka_unit_test(test_load_garbage),
      cmocka_unit_test(test_pem_buffer_too_small),
      cmocka_unit_test(test_load_files),
      cmocka_unit_test(test_generate_rejects_bad_spec),
      cmocka_unit_test(test_subject_with_escaped_comma),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
