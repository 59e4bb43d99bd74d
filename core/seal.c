/* seal.c — making electronic seals (电子印章) over canonical record bodies.
 *
 * Owns the seal algorithm names and the signing step: the body is hashed
 * here and the digest signed by the signer's key in core/signer.c, which
 * keeps the key and its DRBG behind the opaque cg_signer_t. Verification
 * will live here too (issue 5). Callers: certctl and the upstream simulator.
 */
#include "core/seal.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/signer.h"
#include "core/trust.h"

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

static unsigned b64_value(char c) {
  return c >= 'A' && c <= 'Z'   ? (unsigned)(c - 'A')
         : c >= 'a' && c <= 'z' ? (unsigned)(c - 'a' + 26)
         : c >= '0' && c <= '9' ? (unsigned)(c - '0' + 52)
         : c == '+'             ? 62u
                                : 63u;
}

int cg_seal_b64_valid(const char *s, size_t len) {
  size_t pad = 0;
  unsigned ok = 1;

  if (len == 0 || len % 4 != 0 || len > CG_SEAL_B64_MAX)
    return 0;
  if (s[len - 1] == '=')
    pad = s[len - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < len - pad; i++)
    ok &= b64_tab[(unsigned char)s[i]];
  /* The bits of the last character that padding leaves over must be zero,
   * as an encoder writes them: mbedTLS ignores them, so otherwise one
   * signature could be spelled four (or sixteen) ways. */
  if (ok && pad > 0 && (b64_value(s[len - pad - 1]) & (pad == 1 ? 3u : 15u)) != 0)
    return 0;
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

/* ---- verification --------------------------------------------------------- */

static const char *const reason_names[] = {
#define CG__R(n, s) s,
    CG_SEAL_REASONS(CG__R)
#undef CG__R
};

const char *cg_seal_reason_name(int r) {
  return r >= 0 && r < CG_SEAL__REASONS ? reason_names[r] : "unknown";
}

/* What a verifier knows of one signer. */
struct known {
  uint8_t fpr[CG_SEAL_FPR_LEN];
  const mbedtls_x509_crt *crt;
  int chain;                 /* CG_SEAL_OK or why the signer is not trusted */
  uint32_t from, to;         /* validity, yyyymmdd */
  int ec;                    /* an ECDSA P-256 key: ctx holds a copy */
  mbedtls_ecdsa_context ctx; /* per thread: its group caches tables */
  UT_hash_handle hh;
};

struct cg_seal_verifier {
  const cg_trust_t *trust;
  struct known *known;
};

int cg_seal_verifier_new(const cg_trust_t *t, cg_seal_verifier_t **out) {
  cg_seal_verifier_t *v = calloc(1, sizeof *v);
  if (v == NULL)
    return CG_ENOMEM;
  v->trust = t;
  *out = v;
  return 0;
}

void cg_seal_verifier_free(cg_seal_verifier_t *v) {
  struct known *k, *tmp;
  if (v == NULL)
    return;
  HASH_ITER(hh, v->known, k, tmp) {
    HASH_DEL(v->known, k);
    if (k->ec)
      mbedtls_ecdsa_free(&k->ctx);
    free(k);
  }
  free(v);
}

static uint32_t ymd(const mbedtls_x509_time *t) {
  return (uint32_t)(t->year * 10000 + t->mon * 100 + t->day);
}

/* The dates every certificate of a chain was valid on: yyyymmdd, from and
 * to, narrowed by each certificate mbedTLS walks (chain_dates). */
struct window {
  uint32_t from, to;
};

/* mbedTLS checks each certificate's validity against the clock; a seal is
 * judged on its issue date instead (DESIGN.md: "valid at the issue date"),
 * so the certificates' date flags are set aside here and their validity
 * narrows the window the issue date must fall in: an anchor or CA that has
 * expired since still vouches for what was sealed while it was valid, and
 * nothing sealed outside it. The CRLs' date flags stay: revocation data
 * past its nextUpdate cannot say that a signer is not revoked now. */
static int chain_dates(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
  struct window *w = arg;
  uint32_t from = ymd(&crt->valid_from), to = ymd(&crt->valid_to);
  (void)depth;
  *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  if (from > w->from)
    w->from = from;
  if (to < w->to)
    w->to = to;
  return 0;
}

/* The signer's chain, revocation and key usage: the same for every seal it
 * made under this trust store, so checked once; *w gets the window its
 * seals' issue dates must fall in. */
static int judge(const cg_trust_t *t, const mbedtls_x509_crt *crt, struct window *w) {
  uint32_t flags = 0;
  int rc;
  *w = (struct window){ymd(&crt->valid_from), ymd(&crt->valid_to)};
  rc = mbedtls_x509_crt_verify_with_profile((mbedtls_x509_crt *)crt, cg__trust_anchors(t),
                                            cg__trust_crls(t), &mbedtls_x509_crt_profile_default,
                                            NULL, &flags, chain_dates, w);
  /* A fatal error (not a verdict) leaves flags all ones: no chain. */
  if (rc != 0 && rc != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
    return CG_SEAL_UNTRUSTED_CHAIN;
  if (flags & MBEDTLS_X509_BADCERT_REVOKED)
    return CG_SEAL_SIGNER_REVOKED; /* (even on a stale CRL: it was revoked) */
  /* A CRL past its nextUpdate, or not yet in force: fail closed, with a
   * reason of its own — the trust store is at fault, not the seal. */
  if (flags & (MBEDTLS_X509_BADCRL_EXPIRED | MBEDTLS_X509_BADCRL_FUTURE))
    return CG_SEAL_TRUST_STALE;
  if (flags != 0)
    return CG_SEAL_UNTRUSTED_CHAIN;
  /* mbedTLS passes a certificate without the extension; a seal key must say
   * that it signs. */
  if (!(crt->ext_types & MBEDTLS_X509_EXT_KEY_USAGE) ||
      mbedtls_x509_crt_check_key_usage(crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0)
    return CG_SEAL_SIGNER_KEY_USAGE;
  return CG_SEAL_OK;
}

static struct known *know(cg_seal_verifier_t *v, const uint8_t fpr[CG_SEAL_FPR_LEN]) {
  const mbedtls_x509_crt *crt = cg__trust_signer(v->trust, fpr);
  struct known *k;

  if (crt == NULL)
    return NULL;
  if ((k = calloc(1, sizeof *k)) == NULL)
    return NULL;
  memcpy(k->fpr, fpr, CG_SEAL_FPR_LEN);
  k->crt = crt;
  struct window w = {ymd(&crt->valid_from), ymd(&crt->valid_to)};
  k->chain = cg__trust_revoked(v->trust, fpr) ? CG_SEAL_SIGNER_REVOKED : judge(v->trust, crt, &w);
  k->from = w.from;
  k->to = w.to;
  if (mbedtls_pk_get_type(&crt->pk) == MBEDTLS_PK_ECKEY &&
      mbedtls_pk_ec(crt->pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1) {
    mbedtls_ecdsa_init(&k->ctx);
    if (mbedtls_ecdsa_from_keypair(&k->ctx, mbedtls_pk_ec(crt->pk)) == 0)
      k->ec = 1;
    else
      mbedtls_ecdsa_free(&k->ctx);
  }
  HASH_ADD(hh, v->known, fpr, CG_SEAL_FPR_LEN, k);
  return k;
}

int cg_seal_verify(cg_seal_verifier_t *v, const void *body, size_t len, const cg_seal_t *seal,
                   uint32_t issued) {
  uint8_t hash[32], sig[CG_SEAL_SIG_MAX];
  size_t sig_len = 0;
  struct known *k;

  if (seal->alg != CG_SEAL_ES256 && seal->alg != CG_SEAL_RS256)
    return CG_SEAL_UNSUPPORTED_ALG;
  if (!cg_seal_b64_valid(seal->sig, seal->sig_len) ||
      mbedtls_base64_decode(sig, sizeof sig, &sig_len, (const unsigned char *)seal->sig,
                            seal->sig_len) != 0)
    return CG_SEAL_MALFORMED_SEAL;
  HASH_FIND(hh, v->known, seal->signer, CG_SEAL_FPR_LEN, k);
  if (k == NULL && (k = know(v, seal->signer)) == NULL)
    return CG_SEAL_UNKNOWN_SIGNER;
  if (k->chain != CG_SEAL_OK)
    return k->chain;
  if (issued < k->from || issued > k->to)
    return CG_SEAL_SIGNER_EXPIRED;
  /* The algorithm named must be the signer key's: an RSA key does not make
   * an ES256 seal, whatever the bytes. */
  if (seal->alg == CG_SEAL_ES256 ? !k->ec
                                 : (mbedtls_pk_get_type(&k->crt->pk) != MBEDTLS_PK_RSA ||
                                    mbedtls_pk_get_bitlen(&k->crt->pk) < 2048))
    return CG_SEAL_UNSUPPORTED_ALG;
  if (mbedtls_sha256_ret(body, len, hash, 0) != 0)
    return CG_SEAL_MALFORMED_SEAL;
  if (seal->alg == CG_SEAL_ES256) {
    if (mbedtls_ecdsa_read_signature(&k->ctx, hash, sizeof hash, sig, sig_len) != 0)
      return CG_SEAL_BAD_SIGNATURE;
  } else if (mbedtls_pk_verify((mbedtls_pk_context *)&k->crt->pk, MBEDTLS_MD_SHA256, hash,
                               sizeof hash, sig, sig_len) != 0) {
    return CG_SEAL_BAD_SIGNATURE;
  }
  return CG_SEAL_OK;
}
