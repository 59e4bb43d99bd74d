/* seal.c — making electronic seals (电子印章) over canonical record bodies.
 *
 * Owns the seal algorithm names and the signing step: the body is hashed
 * here and the digest signed by the signer's key in core/signer.c, which
 * keeps the key and its DRBG behind the opaque cg_signer_t. Verification
 * will live here too (issue 5). Callers: certctl and the upstream simulator.
 */
#include "core/seal.h"

#include <string.h>

#include <mbedtls/sha256.h>

#include "core/signer.h"

static const struct {
  cg_seal_alg_t alg;
  const char *name;
} algs[] = {
    {CG_SEAL_ES256, "ES256"},
    {CG_SEAL_RS256, "RS256"},
};

const char *cg_seal_alg_name(cg_seal_alg_t alg) {
  for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
    if (algs[i].alg == alg)
      return algs[i].name;
  return NULL;
}

/* Names come from peers (a seal's "alg" field), so the match is exact and
 * bounded by len: no case folding, no prefixes, no reliance on a NUL. */
cg_seal_alg_t cg_seal_alg_parse(const char *s, size_t len) {
  if (s == NULL)
    return CG_SEAL_NONE;
  for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
    if (strlen(algs[i].name) == len && memcmp(algs[i].name, s, len) == 0)
      return algs[i].alg;
  return CG_SEAL_NONE;
}

int cg_seal_sign(struct cg_signer *signer, const void *body, size_t len, cg_seal_t *out) {
  uint8_t hash[32];
  size_t sig_len = 0;
  int rc;

  memset(out, 0, sizeof *out);
  if (mbedtls_sha256_ret(body, len, hash, 0) != 0)
    return CG_ECRYPTO;
  rc = cg__signer_sign_hash(signer, hash, out->sig, sizeof out->sig, &sig_len);
  if (rc != 0)
    return rc;
  out->alg = cg_signer_alg(signer);
  memcpy(out->signer, cg_signer_fingerprint(signer), CG_SEAL_FPR_LEN);
  out->sig_len = (uint16_t)sig_len;
  return 0;
}
