/* trust.h — the trust store for electronic seals (docs/seal.md).
 *
 * A directory: anchors/NAME.pem (seal CA certificates), signers/NAME.pem (agency
 * seal certificates; the store's signer database adds more), crl/NAME.pem or
 * NAME.crl (revocation lists of those CAs) and revoked.txt (fingerprints of
 * signers the operator has withdrawn trust from). Loaded whole into an immutable
 * cg_trust_t that verifier threads share; a reload builds a new one. Its
 * generation is a digest of the files, so every process that loads the same
 * trust store agrees on it and a record remembers which one checked it.
 */
#ifndef CG_TRUST_H
#define CG_TRUST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "core/seal.h"

struct cg_store;
typedef struct cg_trust cg_trust_t;

/* Loads dir (and, if store is not NULL, the signer certificates it holds).
 * Returns 0, or CG_EIO / CG_ECRYPTO / CG_ECONFIG with the file in why. A
 * trust store with no anchor is refused: it would trust nothing. */
int cg_trust_load(cg_trust_t **out, const char *dir, struct cg_store *store, cg_why_t *why);
/* Drops the loader's reference; the trust store is freed when the last
 * holder (cg_trust_ref) lets go. Threads may hold references. */
void cg_trust_free(cg_trust_t *t);
/* Takes one more reference (any thread). Returns t. */
cg_trust_t *cg_trust_ref(cg_trust_t *t);

/* A digest of the anchors, CRLs and signer files: equal trust stores have
 * equal generations. Never 0 (0 means "never checked" in a record). */
uint32_t cg_trust_generation(const cg_trust_t *t);

/* When a loaded CRL next goes out of force (its nextUpdate passes) or
 * comes into force (its thisUpdate comes): the earliest such time still to
 * come, 0 if none. Loaded again from then on, the same files make another
 * generation: seals under a CRL out of force fail closed (trust_stale)
 * until a fresh one is put in crl/. */
time_t cg_trust_fresh_until(const cg_trust_t *t);
/* Whether a CRL was out of force (past its nextUpdate, or before its
 * thisUpdate) when t was loaded. */
int cg_trust_stale(const cg_trust_t *t);

/* How many anchors, signer certificates and CRLs were loaded. */
void cg_trust_counts(const cg_trust_t *t, int *anchors, int *signers, int *crls);

/* Calls cb for each signer certificate (DER, fingerprint) until it returns
 * non-zero. For listings. */
int cg_trust_each_signer(const cg_trust_t *t,
                         int (*cb)(void *arg, const uint8_t fpr[32], const void *der, size_t len,
                                   int revoked),
                         void *arg);

/* ---- internal to core/ (seal.c) ------------------------------------------- */

struct mbedtls_x509_crt;
struct mbedtls_x509_crl;
/* The signer certificate with this fingerprint, or NULL. Owned by t. */
const struct mbedtls_x509_crt *cg__trust_signer(const cg_trust_t *t, const uint8_t fpr[32]);
struct mbedtls_x509_crt *cg__trust_anchors(const cg_trust_t *t);
struct mbedtls_x509_crl *cg__trust_crls(const cg_trust_t *t);
/* 1 if revoked.txt lists this signer. */
int cg__trust_revoked(const cg_trust_t *t, const uint8_t fpr[32]);

#endif
