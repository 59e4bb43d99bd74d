/* signer.h — seal keys and their X.509 certificates (mbedTLS).
 *
 * A cg_signer_t is a private key with its certificate: the demo seal CA, or
 * an issuing agency's seal key issued by that CA (keyUsage digitalSignature).
 * It owns its mbedTLS contexts and a DRBG; it must be used by one thread at a
 * time (the EC group caches a table on first use), so threads that sign in
 * parallel each load their own copy with cg_signer_load.
 */
#ifndef CG_SIGNER_H
#define CG_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "core/seal.h"

typedef struct cg_signer cg_signer_t;

typedef struct cg_signer_spec {
  cg_seal_alg_t alg;      /* key type: ES256 -> EC P-256, RS256 -> RSA-2048 */
  const char *subject;    /* X.509 subject, e.g. "CN=某市公安局电子印章,O=某市公安局,C=CN" */
  time_t not_before;
  time_t not_after;
  uint64_t serial;        /* certificate serial number, > 0 */
  int is_ca;              /* 1: basicConstraints cA, keyUsage keyCertSign|cRLSign;
                             0: keyUsage digitalSignature */
} cg_signer_spec_t;

/* Generates a key and a certificate for spec, signed by issuer's key (NULL:
 * self-signed). The subject personalises the signer's DRBG. Returns 0 or
 * CG_ECRYPTO / CG_ENOMEM; *out is the caller's, freed with cg_signer_free. */
int cg_signer_generate(cg_signer_t **out, const cg_signer_spec_t *spec,
                       cg_signer_t *issuer);

/* Loads a signer from its certificate and private key in PEM (NUL-terminated).
 * Returns 0, CG_ECRYPTO for a bad PEM or a key that does not match. */
int cg_signer_load(cg_signer_t **out, const char *cert_pem, const char *key_pem);
/* Loads from two files (cert PEM, key PEM). Returns 0, CG_EIO or CG_ECRYPTO. */
int cg_signer_load_files(cg_signer_t **out, const char *cert_path, const char *key_path);

void cg_signer_free(cg_signer_t *s);

/* PEM of the certificate / private key into buf (NUL-terminated).
 * Returns 0, or CG_ETOOBIG if cap is too small (8 KiB always suffices). */
int cg_signer_cert_pem(const cg_signer_t *s, char *buf, size_t cap);
int cg_signer_key_pem(cg_signer_t *s, char *buf, size_t cap);

/* The certificate's DER, owned by s, valid while s lives. */
const uint8_t *cg_signer_der(const cg_signer_t *s, size_t *len);
/* SHA-256 of the DER: the fingerprint a seal names its signer by. */
const uint8_t *cg_signer_fingerprint(const cg_signer_t *s);
cg_seal_alg_t cg_signer_alg(const cg_signer_t *s);

/* Internal to core/ (core/seal.c): signs a SHA-256 digest with the signer's
 * key into sig (cap bytes), setting *sig_len. 0 or CG_ECRYPTO. */
int cg__signer_sign_hash(cg_signer_t *s, const uint8_t hash[32], uint8_t *sig, size_t cap,
                         size_t *sig_len);

#endif
