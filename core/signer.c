/* signer.c — seal keys and their X.509 certificates, on mbedTLS 2.28.
 *
 * Owns a cg_signer_t: the private key, its parsed certificate (whose DER is
 * the fingerprinted form), and a DRBG of its own, so that no signer shares
 * random state with another. Every mbedTLS code stops here, translated to
 * CG_ECRYPTO or CG_ENOMEM. Callers: certctl (keys, demo CA), core/seal.c.
 */
#include "core/signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#define RSA_BITS 2048
#define RSA_EXPONENT 65537
/* A certificate issued by an RSA-4096 key is about 1.5 KiB of DER. */
#define DER_MAX 4096
/* A cert or key PEM file is a few KiB; anything far larger is not one. */
#define PEM_FILE_MAX (64 * 1024)
/* The DRBG takes at most 384 bytes of seed, 48 of them entropy; a longer
 * subject is cut, which only weakens the personalisation, not the seed. */
#define PERS_MAX 256

#define PEM_CRT_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define PEM_CRT_END "-----END CERTIFICATE-----\n"

/* Used by one thread at a time: the DRBG reseeds without a lock and the EC
 * key caches its group's precomputed table on first use. */
struct cg_signer {
  cg_seal_alg_t alg;
  mbedtls_pk_context key;
  mbedtls_x509_crt crt;           /* exactly one certificate; crt.raw is its DER */
  mbedtls_entropy_context entropy; /* the DRBG keeps a pointer to it for reseeds */
  mbedtls_ctr_drbg_context drbg;
  uint8_t fpr[CG_SEAL_FPR_LEN];
};


/* mbedTLS 2.x codes add a high-level and a low-level part; allocation
 * failure can show up in either. */
static int crypto_err(int rc) {
  int high = -rc & 0xFF80;
  int low = -rc & 0x007F;

  if (rc >= 0)
    return 0;
  if (high == -MBEDTLS_ERR_PK_ALLOC_FAILED || high == -MBEDTLS_ERR_X509_ALLOC_FAILED ||
      high == -MBEDTLS_ERR_PEM_ALLOC_FAILED || high == -MBEDTLS_ERR_ECP_ALLOC_FAILED ||
      low == -MBEDTLS_ERR_MPI_ALLOC_FAILED || low == -MBEDTLS_ERR_ASN1_ALLOC_FAILED)
    return CG_ENOMEM;
  return CG_ECRYPTO;
}

static cg_signer_t *signer_new(void) {
  cg_signer_t *s = calloc(1, sizeof *s);

  if (s == NULL)
    return NULL;
  mbedtls_pk_init(&s->key);
  mbedtls_x509_crt_init(&s->crt);
  mbedtls_entropy_init(&s->entropy);
  mbedtls_ctr_drbg_init(&s->drbg);
  return s;
}

void cg_signer_free(cg_signer_t *s) {
  if (s == NULL)
    return;
  mbedtls_ctr_drbg_free(&s->drbg);
  mbedtls_entropy_free(&s->entropy);
  mbedtls_x509_crt_free(&s->crt);
  mbedtls_pk_free(&s->key); /* zeroises the private key */
  free(s);
}

static int seed(cg_signer_t *s, const void *pers, size_t len) {
  if (len > PERS_MAX)
    len = PERS_MAX;
  return crypto_err(mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
                                          pers, len));
}

/* The algorithm a key can seal with: EC on P-256, or RSA of 2048 bits up to
 * what a cg_seal_t holds. Anything else is not a seal key here. */
static cg_seal_alg_t key_alg(const mbedtls_pk_context *key) {
  switch (mbedtls_pk_get_type(key)) {
  case MBEDTLS_PK_ECKEY:
  case MBEDTLS_PK_ECDSA:
    return mbedtls_pk_ec(*key)->grp.id == MBEDTLS_ECP_DP_SECP256R1 ? CG_SEAL_ES256
                                                                    : CG_SEAL_NONE;
  case MBEDTLS_PK_RSA: {
    size_t bits = mbedtls_pk_get_bitlen(key);
    return bits >= 2048 && bits <= 8 * CG_SEAL_SIG_MAX ? CG_SEAL_RS256 : CG_SEAL_NONE;
  }
  default:
    return CG_SEAL_NONE;
  }
}

/* Parses the one certificate and computes its fingerprint. */
static int set_cert(cg_signer_t *s, const unsigned char *buf, size_t len, int pem) {
  int rc = pem ? mbedtls_x509_crt_parse(&s->crt, buf, len)
               : mbedtls_x509_crt_parse_der(&s->crt, buf, len);

  /* x509_crt_parse returns a positive count when some certificates of a
   * chain failed; a signer file holds exactly one certificate. */
  if (rc != 0)
    return rc < 0 ? crypto_err(rc) : CG_ECRYPTO;
  if (s->crt.next != NULL)
    return CG_ECRYPTO;
  if (mbedtls_sha256_ret(s->crt.raw.p, s->crt.raw.len, s->fpr, 0) != 0)
    return CG_ECRYPTO;
  return 0;
}

/* "YYYYMMDDhhmmss" in UTC, the form x509write_crt_set_validity takes;
 * years outside four digits would not fit it. */
static int x509_time(char out[16], time_t t) {
  struct tm tm;

  if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1950 || tm.tm_year + 1900 > 9999)
    return CG_ECRYPTO;
  return strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 14 ? 0 : CG_ECRYPTO;
}

static int copy_buf(mbedtls_asn1_buf *dst, const mbedtls_asn1_buf *src) {
  dst->tag = src->tag;
  dst->len = src->len;
  dst->p = mbedtls_calloc(1, src->len > 0 ? src->len : 1);
  if (dst->p == NULL)
    return CG_ENOMEM;
  memcpy(dst->p, src->p, src->len);
  return 0;
}

/* Sets the issuer name to the issuer certificate's subject, attribute by
 * attribute with the original string tags. Going through a string
 * (x509_dn_gets) would not do: it turns UTF-8 bytes 0x80-0x9F into '?', so
 * a Chinese subject would no longer match and the chain would not verify.
 * The list is built in reverse because the writer emits it last to first;
 * nodes come from mbedtls_calloc since x509write_crt_free frees them. */
static int copy_issuer_name(mbedtls_asn1_named_data **head, const mbedtls_x509_name *src) {
  for (; src != NULL; src = src->next) {
    mbedtls_asn1_named_data *n;

    if (src->oid.p == NULL)
      continue; /* an empty name parses as one blank node */
    /* The writer has no multi-valued RDNs; a copy without them would not
     * match the issuer, so refuse rather than make a cert that never verifies. */
    if (src->next_merged)
      return CG_ECRYPTO;
    n = mbedtls_calloc(1, sizeof *n);
    if (n == NULL)
      return CG_ENOMEM;
    n->next = *head;
    *head = n;
    if (copy_buf(&n->oid, &src->oid) != 0 || copy_buf(&n->val, &src->val) != 0)
      return CG_ENOMEM;
  }
  return 0;
}

static int gen_key(cg_signer_t *s, cg_seal_alg_t alg) {
  int rc;

  if (alg == CG_SEAL_ES256) {
    rc = mbedtls_pk_setup(&s->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (rc == 0)
      rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(s->key),
                               mbedtls_ctr_drbg_random, &s->drbg);
  } else if (alg == CG_SEAL_RS256) {
    rc = mbedtls_pk_setup(&s->key, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (rc == 0) /* mbedtls_rsa_init left PKCS#1 v1.5 padding, as RS256 wants */
      rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(s->key), mbedtls_ctr_drbg_random, &s->drbg,
                               RSA_BITS, RSA_EXPONENT);
  } else {
    return CG_ECRYPTO;
  }
  return crypto_err(rc);
}

/* mbedTLS 2.28 keeps one value per attribute type when it parses a subject
 * string ("OU=a,OU=b" becomes one OU), so a certificate could silently carry
 * another subject than asked for. Counting the attributes on both sides
 * catches it; "\," is the only escape the parser accepts. */
static int subject_kept(const char *subject, const mbedtls_x509_name *name) {
  size_t asked = 1, got = 0;

  for (const char *c = subject; *c != '\0'; c++) {
    if (*c == '\\' && c[1] != '\0')
      c++;
    else if (*c == ',')
      asked++;
  }
  for (; name != NULL; name = name->next)
    got += name->oid.p != NULL;
  return asked == got;
}

/* Writes the certificate for spec, signed by issuer (s itself when NULL),
 * and parses it back into s->crt. */
static int write_cert(cg_signer_t *s, const cg_signer_spec_t *spec, cg_signer_t *issuer) {
  mbedtls_x509write_cert w;
  mbedtls_mpi serial;
  unsigned char *der = NULL;
  uint8_t serial_be[8];
  char nb[16], na[16];
  int len, rc;

  mbedtls_x509write_crt_init(&w);
  mbedtls_mpi_init(&serial);

  if ((rc = x509_time(nb, spec->not_before)) != 0 || (rc = x509_time(na, spec->not_after)) != 0)
    goto fail;
  for (int i = 0; i < 8; i++)
    serial_be[i] = (uint8_t)(spec->serial >> (56 - 8 * i));
  der = malloc(DER_MAX);
  if (der == NULL) {
    rc = CG_ENOMEM;
    goto fail;
  }

  mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&w, &s->key);
  mbedtls_x509write_crt_set_issuer_key(&w, issuer != NULL ? &issuer->key : &s->key);
  if ((rc = crypto_err(mbedtls_mpi_read_binary(&serial, serial_be, sizeof serial_be))) != 0 ||
      (rc = crypto_err(mbedtls_x509write_crt_set_serial(&w, &serial))) != 0 ||
      (rc = crypto_err(mbedtls_x509write_crt_set_validity(&w, nb, na))) != 0 ||
      (rc = crypto_err(mbedtls_x509write_crt_set_subject_name(&w, spec->subject))) != 0)
    goto fail;
  if (issuer != NULL)
    rc = copy_issuer_name(&w.issuer, &issuer->crt.subject);
  else
    rc = crypto_err(mbedtls_x509write_crt_set_issuer_name(&w, spec->subject));
  if (rc != 0)
    goto fail;
  /* The authority key identifier is computed from the issuer key the same
   * way as the issuer's own subject key identifier, so the two match. */
  if ((rc = crypto_err(mbedtls_x509write_crt_set_basic_constraints(&w, spec->is_ca ? 1 : 0,
                                                                    -1))) != 0 ||
      (rc = crypto_err(mbedtls_x509write_crt_set_subject_key_identifier(&w))) != 0 ||
      (rc = crypto_err(mbedtls_x509write_crt_set_authority_key_identifier(&w))) != 0)
    goto fail;
  rc = mbedtls_x509write_crt_set_key_usage(
      &w, spec->is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                      : MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_NON_REPUDIATION);
  if ((rc = crypto_err(rc)) != 0)
    goto fail;

  /* The issuer's key signs, drawing on this signer's DRBG for blinding
   * (ECDSA nonces are deterministic here); the issuer's key is still used,
   * so the issuer too must not be in use on another thread meanwhile. */
  len = mbedtls_x509write_crt_der(&w, der, DER_MAX, mbedtls_ctr_drbg_random, &s->drbg);
  if (len < 0) {
    rc = crypto_err(len);
    goto fail;
  }
  /* The writer fills the buffer from its end. */
  rc = set_cert(s, der + DER_MAX - len, (size_t)len, 0);
  if (rc == 0 && !subject_kept(spec->subject, &s->crt.subject))
    rc = CG_ECRYPTO;

fail:
  free(der);
  mbedtls_mpi_free(&serial);
  mbedtls_x509write_crt_free(&w);
  return rc;
}

int cg_signer_generate(cg_signer_t **out, const cg_signer_spec_t *spec, cg_signer_t *issuer) {
  cg_signer_t *s = NULL;
  int rc;

  *out = NULL;
  /* The header promises only crypto or memory errors; a spec no certificate
   * can be made from is reported as the former. */
  if (spec->subject == NULL || spec->subject[0] == '\0' || spec->serial == 0 ||
      spec->not_after <= spec->not_before ||
      (spec->alg != CG_SEAL_ES256 && spec->alg != CG_SEAL_RS256))
    return CG_ECRYPTO;

  s = signer_new();
  if (s == NULL)
    return CG_ENOMEM;
  s->alg = spec->alg;
  if ((rc = seed(s, spec->subject, strlen(spec->subject))) != 0 ||
      (rc = gen_key(s, spec->alg)) != 0 || (rc = write_cert(s, spec, issuer)) != 0)
    goto fail;
  *out = s;
  return 0;

fail:
  cg_signer_free(s);
  return rc;
}

int cg_signer_load(cg_signer_t **out, const char *cert_pem, const char *key_pem) {
  cg_signer_t *s = NULL;
  int rc;

  *out = NULL;
  s = signer_new();
  if (s == NULL)
    return CG_ENOMEM;
  /* PEM parsers want the terminating NUL counted in the length. */
  if ((rc = set_cert(s, (const unsigned char *)cert_pem, strlen(cert_pem) + 1, 1)) != 0)
    goto fail;
  rc = mbedtls_pk_parse_key(&s->key, (const unsigned char *)key_pem, strlen(key_pem) + 1,
                            NULL, 0);
  if ((rc = crypto_err(rc)) != 0)
    goto fail;
  if (mbedtls_pk_check_pair(&s->crt.pk, &s->key) != 0 ||
      (s->alg = key_alg(&s->key)) == CG_SEAL_NONE) {
    rc = CG_ECRYPTO;
    goto fail;
  }
  /* Each loaded copy draws fresh entropy; the fingerprint only tells the
   * DRBGs of different signers apart. */
  if ((rc = seed(s, s->fpr, sizeof s->fpr)) != 0)
    goto fail;
  *out = s;
  return 0;

fail:
  cg_signer_free(s);
  return rc;
}

/* Reads a whole PEM file into a NUL-terminated buffer, the caller's to free
 * (and to zeroise: it may hold a private key). */
static int read_file(const char *path, char **out) {
  FILE *f = NULL;
  char *buf = NULL;
  size_t n;
  int rc = CG_EIO;

  *out = NULL;
  f = fopen(path, "rb");
  if (f == NULL)
    goto fail;
  buf = malloc(PEM_FILE_MAX + 1);
  if (buf == NULL) {
    rc = CG_ENOMEM;
    goto fail;
  }
  /* One byte more than allowed tells a full file from an oversized one;
   * an oversized file is refused here, before any parser sees it. */
  n = fread(buf, 1, PEM_FILE_MAX + 1, f);
  if (ferror(f) || n > PEM_FILE_MAX)
    goto fail;
  buf[n] = '\0';
  fclose(f);
  *out = buf;
  return 0;

fail:
  if (buf != NULL) {
    mbedtls_platform_zeroize(buf, PEM_FILE_MAX + 1);
    free(buf);
  }
  if (f != NULL)
    fclose(f);
  return rc;
}

int cg_signer_load_files(cg_signer_t **out, const char *cert_path, const char *key_path) {
  char *cert = NULL, *key = NULL;
  int rc;

  *out = NULL;
  if ((rc = read_file(cert_path, &cert)) != 0 || (rc = read_file(key_path, &key)) != 0)
    goto fail;
  rc = cg_signer_load(out, cert, key);

fail:
  free(cert);
  if (key != NULL) {
    mbedtls_platform_zeroize(key, strlen(key));
    free(key);
  }
  return rc;
}

static int pem_err(int rc) {
  if (rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || rc == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
    return CG_ETOOBIG;
  return crypto_err(rc);
}

int cg_signer_cert_pem(const cg_signer_t *s, char *buf, size_t cap) {
  size_t olen;
  int rc = mbedtls_pem_write_buffer(PEM_CRT_BEGIN, PEM_CRT_END, s->crt.raw.p, s->crt.raw.len,
                                    (unsigned char *)buf, cap, &olen);

  if (rc != 0 && cap > 0)
    buf[0] = '\0';
  return pem_err(rc);
}

int cg_signer_key_pem(cg_signer_t *s, char *buf, size_t cap) {
  int rc = mbedtls_pk_write_key_pem(&s->key, (unsigned char *)buf, cap);

  /* Leave no part of a private key behind in a buffer we report unused. */
  if (rc != 0 && cap > 0)
    mbedtls_platform_zeroize(buf, cap);
  return pem_err(rc);
}

const uint8_t *cg_signer_der(const cg_signer_t *s, size_t *len) {
  *len = s->crt.raw.len;
  return s->crt.raw.p;
}

const uint8_t *cg_signer_fingerprint(const cg_signer_t *s) {
  return s->fpr;
}

cg_seal_alg_t cg_signer_alg(const cg_signer_t *s) {
  return s->alg;
}

int cg__signer_sign_hash(cg_signer_t *s, const uint8_t hash[32], uint8_t *sig, size_t cap,
                         size_t *sig_len) {
  /* mbedtls 2.28's pk_sign takes no output size; it writes up to the key's
   * signature length, so sign into a buffer that always fits, then copy. */
  unsigned char tmp[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
  size_t n = 0;
  int rc;

  if (mbedtls_pk_get_type(&s->key) == MBEDTLS_PK_ECKEY) {
    /* pk_sign copies the key pair into a fresh ECDSA context each call, so
     * the comb table for the base point is rebuilt every time; signing on
     * the signer's own key pair keeps the table cached in its group (about
     * five times faster). That is also why a signer serves one thread. */
    rc = mbedtls_ecdsa_write_signature(mbedtls_pk_ec(s->key), MBEDTLS_MD_SHA256, hash, 32, tmp,
                                       &n, mbedtls_ctr_drbg_random, &s->drbg);
  } else {
    rc = mbedtls_pk_sign(&s->key, MBEDTLS_MD_SHA256, hash, 32, tmp, &n, mbedtls_ctr_drbg_random,
                         &s->drbg);
  }
  if (rc != 0)
    return crypto_err(rc);
  if (n > cap)
    return CG_ECRYPTO;
  memcpy(sig, tmp, n);
  *sig_len = n;
  return 0;
}
