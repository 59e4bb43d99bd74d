/* demo_tls.c — the demo's TLS material for tests of HTTPS upstreams.
 *
 * Writes DIR/upstream/tls/: ca.pem (a CA), server.pem and server.key (its
 * certificate for platform.test and 127.0.0.1, which certgw-upstream-sim
 * --tls-cert/--tls-key serves) and other-ca.pem (an unrelated CA, for a
 * client that must refuse the server). All keys are EC P-256 from a DRBG
 * seeded by the system: unlike the certificate data, never repeatable.
 * Called by `certctl demo` (demo.c) only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "certctl.h"

#define CA_SUBJECT "CN=certgw demo upstream TLS CA,O=certgw demo,C=CN"
#define OTHER_SUBJECT "CN=certgw demo other TLS CA,O=certgw demo,C=CN"
#define SERVER_SUBJECT "CN=platform.test,O=certgw demo,C=CN"
#define SERVER_DNS "platform.test"
#define PEM_MAX 4096
#define SEQUENCE (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)

typedef struct tls_ctx {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
} tls_ctx_t;

/* One certificate to write. san: the server's subjectAltName. */
typedef struct tls_cert {
  const char *subject, *issuer;
  mbedtls_pk_context *key, *issuer_key;
  int is_ca, san;
} tls_cert_t;

static int gen_key(tls_ctx_t *t, mbedtls_pk_context *k) {
  int rc = mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (rc == 0)
    rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k), mbedtls_ctr_drbg_random,
                             &t->drbg);
  return rc;
}

static int write_general_name(unsigned char **p, unsigned char *buf, unsigned char tag,
                              const void *v, size_t n) {
  size_t len = 0;
  int ret;

  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, buf, v, n));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, n));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag));
  return (int)len;
}

/* subjectAltName = SEQUENCE { [2] dNSName "platform.test", [7] iPAddress
 * 127.0.0.1, [2] dNSName "127.0.0.1" } (RFC 5280 4.2.1.6). mbedTLS 2.28
 * writes no SAN of its own, so it is built with the ASN.1 writer, which
 * fills buf from its end (*out points into it). Its verifier also matches
 * a host name against dNSName entries only, never an iPAddress: the third
 * entry lets a 2.28 client that connects to https://127.0.0.1 (server_name
 * defaulting to the url's host) accept the server; OpenSSL and curl match
 * the iPAddress. */
static int san_der(unsigned char *buf, size_t cap, unsigned char **out, size_t *out_len) {
  static const unsigned char ip[4] = {127, 0, 0, 1};
  unsigned char *p = buf + cap;
  size_t len = 0;
  int ret;

  MBEDTLS_ASN1_CHK_ADD(len, write_general_name(&p, buf, 2, "127.0.0.1", 9));
  MBEDTLS_ASN1_CHK_ADD(len, write_general_name(&p, buf, 7, ip, sizeof ip));
  MBEDTLS_ASN1_CHK_ADD(len, write_general_name(&p, buf, 2, SERVER_DNS, strlen(SERVER_DNS)));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, SEQUENCE));
  *out = p;
  *out_len = len;
  return 0;
}

/* extKeyUsage = SEQUENCE { serverAuth }: a TLS client that checks the
 * purpose (OpenSSL, mbedTLS when the extension is there) accepts it. */
static int eku_der(unsigned char *buf, size_t cap, unsigned char **out, size_t *out_len) {
  unsigned char *p = buf + cap;
  size_t len = 0;
  int ret;

  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_SERVER_AUTH,
                                                   MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, SEQUENCE));
  *out = p;
  *out_len = len;
  return 0;
}

/* Writes c's certificate as PEM into pem (PEM_MAX bytes): valid from a day
 * ago (clocks differ) for ten years, a random 128-bit serial. */
static int issue(tls_ctx_t *t, const tls_cert_t *c, unsigned char *pem) {
  mbedtls_x509write_cert w;
  mbedtls_mpi serial;
  unsigned char rnd[16], ext[128], *der;
  size_t der_len;
  char nb[16], na[16];
  time_t now = time(NULL), from = now - 86400, to = now + 10L * 366 * 86400;
  struct tm tm;
  int rc;

  mbedtls_x509write_crt_init(&w);
  mbedtls_mpi_init(&serial);
  strftime(nb, sizeof nb, "%Y%m%d%H%M%S", gmtime_r(&from, &tm));
  strftime(na, sizeof na, "%Y%m%d%H%M%S", gmtime_r(&to, &tm));
  mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&w, c->key);
  mbedtls_x509write_crt_set_issuer_key(&w, c->issuer_key);
  if ((rc = mbedtls_ctr_drbg_random(&t->drbg, rnd, sizeof rnd)) != 0)
    goto done;
  rnd[0] &= 0x7f; /* a positive INTEGER of at most 16 bytes */
  rnd[0] |= 0x40;
  if ((rc = mbedtls_mpi_read_binary(&serial, rnd, sizeof rnd)) != 0 ||
      (rc = mbedtls_x509write_crt_set_serial(&w, &serial)) != 0 ||
      (rc = mbedtls_x509write_crt_set_validity(&w, nb, na)) != 0 ||
      (rc = mbedtls_x509write_crt_set_subject_name(&w, c->subject)) != 0 ||
      (rc = mbedtls_x509write_crt_set_issuer_name(&w, c->issuer)) != 0 ||
      (rc = mbedtls_x509write_crt_set_basic_constraints(&w, c->is_ca, c->is_ca ? 0 : -1)) != 0 ||
      (rc = mbedtls_x509write_crt_set_subject_key_identifier(&w)) != 0 ||
      (rc = mbedtls_x509write_crt_set_authority_key_identifier(&w)) != 0)
    goto done;
  /* An ECDHE-ECDSA server signs its key exchange: digitalSignature. */
  rc = mbedtls_x509write_crt_set_key_usage(
      &w, c->is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                   : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
  if (rc != 0)
    goto done;
  if (c->san) {
    if ((rc = san_der(ext, sizeof ext, &der, &der_len)) != 0 ||
        (rc = mbedtls_x509write_crt_set_extension(&w, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                  MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
                                                  0, der, der_len)) != 0 ||
        (rc = eku_der(ext, sizeof ext, &der, &der_len)) != 0 ||
        (rc = mbedtls_x509write_crt_set_extension(&w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                  MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
                                                  0, der, der_len)) != 0)
      goto done;
  }
  rc = mbedtls_x509write_crt_pem(&w, pem, PEM_MAX, mbedtls_ctr_drbg_random, &t->drbg);
done:
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&w);
  return rc;
}

static int put(const char *dir, const char *name, const unsigned char *text, mode_t mode) {
  char path[4096];
  FILE *f;

  snprintf(path, sizeof path, "%s/upstream/tls/%s", dir, name);
  if ((f = fopen(path, "w")) == NULL) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    return CG_EIO;
  }
  /* The key file is made private before it holds the key. */
  if (fchmod(fileno(f), mode) != 0 || fputs((const char *)text, f) == EOF) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    fclose(f);
    return CG_EIO;
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    return CG_EIO;
  }
  return 0;
}

int ctl_demo_tls(const char *dir) {
  static const char pers[] = "certgw demo tls";
  tls_ctx_t t;
  mbedtls_pk_context ca, other, server;
  unsigned char pem[PEM_MAX];
  int rc, err = 0;

  mbedtls_entropy_init(&t.entropy);
  mbedtls_ctr_drbg_init(&t.drbg);
  mbedtls_pk_init(&ca);
  mbedtls_pk_init(&other);
  mbedtls_pk_init(&server);
  tls_cert_t certs[] = {
      {CA_SUBJECT, CA_SUBJECT, &ca, &ca, 1, 0},
      {SERVER_SUBJECT, CA_SUBJECT, &server, &ca, 0, 1},
      {OTHER_SUBJECT, OTHER_SUBJECT, &other, &other, 1, 0},
  };
  static const char *const files[] = {"ca.pem", "server.pem", "other-ca.pem"};

  if ((rc = mbedtls_ctr_drbg_seed(&t.drbg, mbedtls_entropy_func, &t.entropy,
                                  (const unsigned char *)pers, sizeof pers - 1)) != 0 ||
      (rc = gen_key(&t, &ca)) != 0 || (rc = gen_key(&t, &other)) != 0 ||
      (rc = gen_key(&t, &server)) != 0)
    goto done;
  for (size_t i = 0; i < sizeof certs / sizeof *certs && !err; i++) {
    if ((rc = issue(&t, &certs[i], pem)) != 0)
      goto done;
    err = put(dir, files[i], pem, 0644);
  }
  if (err == 0) {
    if ((rc = mbedtls_pk_write_key_pem(&server, pem, sizeof pem)) != 0)
      goto done;
    err = put(dir, "server.key", pem, 0600);
  }
done:
  if (rc != 0) {
    char msg[128];
    mbedtls_strerror(rc, msg, sizeof msg);
    fprintf(stderr, "certctl: demo: cannot make the upstream TLS files: %s\n", msg);
    err = CG_ECRYPTO;
  }
  mbedtls_platform_zeroize(pem, sizeof pem);
  mbedtls_pk_free(&server);
  mbedtls_pk_free(&other);
  mbedtls_pk_free(&ca);
  mbedtls_ctr_drbg_free(&t.drbg);
  mbedtls_entropy_free(&t.entropy);
  return err;
}
