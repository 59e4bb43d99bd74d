/* seal.h — electronic seals (电子印章): an issuing agency's digital signature
 * over a certificate's canonical body (docs/record.md defines those bytes).
 *
 * A seal is the algorithm, the SHA-256 fingerprint of the signer's X.509
 * certificate (its DER) and the signature over SHA-256(canonical body).
 * The signature is kept in base64, the form it has in JSON and in the
 * store: it is encoded once when sealed and decoded only when verified, so
 * neither import nor serving pays for base64. This file signs; verification
 * comes with issue 5 through the same types.
 */
#ifndef CG_SEAL_H
#define CG_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CG_SEAL_FPR_LEN 32   /* SHA-256 of the signer certificate's DER */
#define CG_SEAL_SIG_MAX 512  /* bytes of signature: RSA-4096 fits */
#define CG_SEAL_B64_MAX 684  /* its base64: 4 * ceil(512 / 3) */

typedef enum cg_seal_alg {
  CG_SEAL_NONE = 0,
  CG_SEAL_ES256 = 1, /* ECDSA P-256 with SHA-256, DER-encoded signature */
  CG_SEAL_RS256 = 2, /* RSA PKCS#1 v1.5 with SHA-256, 2048 bits or more */
  /* SM2 with SM3 (GB/T 38540) will take the next number. */
} cg_seal_alg_t;

typedef struct cg_seal {
  cg_seal_alg_t alg;
  uint8_t signer[CG_SEAL_FPR_LEN];
  uint16_t sig_len;                /* characters of base64 in sig */
  char sig[CG_SEAL_B64_MAX + 1];   /* standard base64 with padding, NUL-terminated */
} cg_seal_t;

/* "ES256" / "RS256" for an algorithm, NULL for another value. */
const char *cg_seal_alg_name(cg_seal_alg_t alg);
/* The algorithm named by s, or CG_SEAL_NONE. */
cg_seal_alg_t cg_seal_alg_parse(const char *s, size_t len);

struct cg_signer;

/* 1 if s[0..len) is standard base64 (RFC 4648 §4, padded, the bits the
 * padding leaves over zero) of 1 to CG_SEAL_SIG_MAX bytes. A check of form,
 * not a decoder: decoding is mbedTLS's, when a seal is verified. */
int cg_seal_b64_valid(const char *s, size_t len);

/* Seals body: signs SHA-256(body) with the signer's private key and fills
 * out (signature in base64). The signer must not be used by another thread at the same time.
 * Returns 0, or CG_ECRYPTO. */
int cg_seal_sign(struct cg_signer *signer, const void *body, size_t len, cg_seal_t *out);

/* ---- verification -------------------------------------------------------- */

/* Why a seal is not verified (stored in a record's seal_reason). */
#define CG_SEAL_REASONS(XX)                                                                        \
  XX(OK, "verified")                                                                               \
  XX(BAD_SIGNATURE, "bad_signature")                                                               \
  XX(UNKNOWN_SIGNER, "unknown_signer")                                                             \
  XX(UNTRUSTED_CHAIN, "untrusted_chain")                                                           \
  XX(SIGNER_EXPIRED, "signer_expired")                                                             \
  XX(SIGNER_REVOKED, "signer_revoked")                                                             \
  XX(SIGNER_KEY_USAGE, "signer_key_usage")                                                         \
  XX(UNSUPPORTED_ALG, "unsupported_alg")                                                           \
  XX(MALFORMED_SEAL, "malformed_seal")                                                             \
  XX(TRUST_STALE, "trust_stale")

enum cg_seal_reason {
#define CG__R(n, s) CG_SEAL_##n,
  CG_SEAL_REASONS(CG__R)
#undef CG__R
  CG_SEAL__REASONS
};

/* "verified", "bad_signature", …; "unknown" for another value. */
const char *cg_seal_reason_name(int reason);

struct cg_trust;
typedef struct cg_seal_verifier cg_seal_verifier_t;

/* A verifier for one thread: it caches, per signer, the verdict on the
 * signer's chain and a ready ECDSA context, so a chain is checked once and
 * each seal costs one signature check. t must outlive it. */
int cg_seal_verifier_new(const struct cg_trust *t, cg_seal_verifier_t **out);
void cg_seal_verifier_free(cg_seal_verifier_t *v);

/* Checks seal over body for a certificate issued on `issued` (yyyymmdd):
 * the signer known to the trust store, chaining to an anchor, not revoked
 * by a loaded CRL, with digitalSignature key usage, valid on the issue date,
 * its key of the seal's algorithm, and the signature over SHA-256(body).
 * Returns CG_SEAL_OK or the first reason it fails. */
int cg_seal_verify(cg_seal_verifier_t *v, const void *body, size_t len, const cg_seal_t *seal,
                   uint32_t issued);

#endif
