/* seal.c — making electronic seals (电子印章) over canonical record bodies.
 *
 * Owns the seal algorithm names and the signing step: the body is hashed
 * here and the digest signed by the signer's key in core/signer.c, which
 * keeps the key and its DRBG behind the opaque cg_signer_t. Verification
 * will live here too (issue 5). Callers: certctl and the upstream simulator.
 */
#include "core/seal.h"

#include <string.h>

#include <mbedtls/base64.h>
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

/* The base64 alphabet (RFC 4648 §4), as a table: every imported line has a
 * signature of 96 to 344 characters to check. */
static const unsigned char b64_tab[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
};

int cg_seal_b64_valid(const char *s, size_t len) {
  size_t pad = 0;
  unsigned ok = 1;

  if (len == 0 || len % 4 != 0 || len > CG_SEAL_B64_MAX)
    return 0;
  if (s[len - 1] == '=')
    pad = s[len - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < len - pad; i++)
    ok &= b64_tab[(unsigned char)s[i]];
  return ok && len / 4 * 3 - pad <= CG_SEAL_SIG_MAX;
}

int cg_seal_sign(struct cg_signer *signer, const void *body, size_t len, cg_seal_t *out) {
  uint8_t hash[32], sig[CG_SEAL_SIG_MAX];
  size_t sig_len = 0, b64_len = 0;
  int rc;

  memset(out, 0, sizeof *out);
  if (mbedtls_sha256_ret(body, len, hash, 0) != 0)
    return CG_ECRYPTO;
  rc = cg__signer_sign_hash(signer, hash, sig, sizeof sig, &sig_len);
  if (rc != 0)
    return rc;
  if (mbedtls_base64_encode((unsigned char *)out->sig, sizeof out->sig, &b64_len, sig, sig_len) != 0)
    return CG_ECRYPTO;
  out->alg = cg_signer_alg(signer);
  memcpy(out->signer, cg_signer_fingerprint(signer), CG_SEAL_FPR_LEN);
  out->sig_len = (uint16_t)b64_len;
  return 0;
}
