/* token.h — the QR code a holder shows (亮码) and a venue scans (扫码).
 *
 * A code is "CG1:" and the Base45 of: version, key id, nonce, and the claims
 * sealed with AES-128-GCM under the key of that id (docs/qr-code.md has the
 * layout and a test vector). Whoever photographs a code learns the key id and
 * how many certificate types it asks for, nothing about the holder. The key
 * ring is shared by the minter (certctl mint, the holder's app platform) and
 * certgw, which opens codes on POST /v1/scan.
 */
#ifndef CG_TOKEN_H
#define CG_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CG_TOKEN_PREFIX "CG1:"
#define CG_TOKEN_VERSION 1
#define CG_TOKEN_KEY_LEN 16      /* AES-128 */
#define CG_TOKEN_NONCE_LEN 12    /* random; also the GCM IV */
#define CG_TOKEN_GCM_TAG_LEN 16
#define CG_TOKEN_HOLDER_LEN 18   /* citizen ID number or credit code */
#define CG_TOKEN_TYPES_MAX 4
#define CG_TOKEN_TYPE_TAG_LEN 3  /* first bytes of SHA-256 of a type code */
#define CG_TOKEN_TEXT_MAX 120    /* characters of the longest code, NUL not counted */
#define CG_TOKEN_SKEW_DEFAULT 30 /* seconds of clock difference forgiven */

/* ---- key ring -------------------------------------------------------------- */

/* Up to 255 AES-128 keys by id (1..255); at most one is marked mint. Every
 * key opens codes, only the mint key seals new ones, so a key is rotated by
 * adding the new one, moving "mint" to it and removing the old one once the
 * longest lifetime has passed. Immutable once loaded: any number of threads
 * may open codes with one ring at the same time. */
typedef struct cg_keyring cg_keyring_t;

/* Reads a key ring file: one key a line, "KID HEX-AES-128-KEY [mint]",
 * blank lines and #-comments ignored, hex in either case. Returns 0, or
 * CG_ECONFIG with "path:line: what" in why (bad id, key or word, an id twice,
 * two mint keys, no key at all), CG_EIO if it cannot be read, CG_ENOMEM.
 * *out is the caller's: free it with cg_keyring_free. */
int cg_keyring_load(cg_keyring_t **out, const char *path, cg_why_t *why);
/* The same from text in memory; name stands for the path in messages. */
int cg_keyring_parse(cg_keyring_t **out, const char *text, size_t len, const char *name,
                     cg_why_t *why);
/* Wipes the keys and frees the ring. NULL is allowed. */
void cg_keyring_free(cg_keyring_t *ring);
/* Number of keys in the ring. */
int cg_keyring_count(const cg_keyring_t *ring);
/* Id of the mint key, or 0 if no key is marked mint. */
int cg_keyring_mint_id(const cg_keyring_t *ring);

/* ---- claims ---------------------------------------------------------------- */

/* What a code says. A plain value: the caller owns it. */
typedef struct cg_token_claims {
  int holder_type;                                /* CG_HOLDER_CITIZEN or CG_HOLDER_ORG */
  char holder_code[CG_TOKEN_HOLDER_LEN + 1];      /* 18 characters and a NUL */
  uint8_t types[CG_TOKEN_TYPES_MAX][CG_TOKEN_TYPE_TAG_LEN]; /* tags of the types asked for */
  int ntypes;                                     /* 0: every type */
  uint32_t issued_at;                             /* Unix seconds */
  uint16_t lifetime;                              /* seconds; expires at issued_at + lifetime */
  uint8_t key_id;                                 /* the key that sealed it */
  uint8_t nonce[CG_TOKEN_NONCE_LEN];
} cg_token_claims_t;

/* The tag of a certificate type code: the first 3 bytes of SHA-256 of its
 * 21 characters. Codes carry tags, not type codes, to stay short; a server
 * matches them against the types of the holder's certificates, where a
 * false match needs two of one holder's types to share 24 bits. */
void cg_token_type_tag(const char *type_code, size_t len, uint8_t tag[CG_TOKEN_TYPE_TAG_LEN]);

/* Adds the tag of type_code (21 characters: a valid credit code and three
 * digits) to c; a type already there is not added twice. Returns 0, CG_EIDENT
 * for a malformed type code, or CG_EBADREQ if c holds CG_TOKEN_TYPES_MAX. */
int cg_token_claims_add_type(cg_token_claims_t *c, const char *type_code, size_t len,
                             cg_why_t *why);

/* 1 if c asks for certificates of type_code (or for every type), else 0. */
int cg_token_claims_wants(const cg_token_claims_t *c, const char *type_code, size_t len);

/* ---- minting and opening ----------------------------------------------------- */

/* Fills buf with len random bytes; returns 0 on success. mbedtls_ctr_drbg_random
 * has this signature. */
typedef int (*cg_token_rng_cb)(void *ctx, unsigned char *buf, size_t len);

/* Seals c under the ring's mint key and writes the code's text and a NUL to
 * out (cap >= CG_TOKEN_TEXT_MAX + 1 always suffices). The caller sets
 * holder_type, holder_code, the types and lifetime; this sets issued_at to
 * now, key_id and nonce (from rng with rng_ctx; rng NULL: a CTR_DRBG seeded
 * from the system's entropy for this call). Returns 0; CG_EHOLDER for a holder
 * code that is not valid for its type; CG_EBADREQ for more than
 * CG_TOKEN_TYPES_MAX types, a zero lifetime or a now past 2106; CG_ECONFIG if
 * no key is marked mint; CG_ECRYPTO if rng or AES fails; CG_ETOOBIG if out is
 * too small. */
int cg_token_mint(const cg_keyring_t *ring, cg_token_claims_t *c, uint64_t now,
                  cg_token_rng_cb rng, void *rng_ctx, char *out, size_t cap, cg_why_t *why);

/* Opens the code text[0..len) at Unix time now. Returns 0 and fills *out; or
 *   CG_ECODE    not a code: no "CG1:", bad Base45, wrong length, other version;
 *   CG_ETOKEN   not genuine: unknown key id, failed authentication (the GCM tag
 *               is compared in constant time), nonsense inside, or a lifetime
 *               above max_ttl (or zero);
 *   CG_EEXPIRED issued more than skew seconds after now, or now is past
 *               issued_at + lifetime + skew. *out is filled, as the code is
 *               genuine (a caller can say how long ago it expired);
 *   CG_ECRYPTO  mbedTLS failed otherwise.
 * On the other failures *out is zeroed. why says more. Safe to call from
 * several threads on one ring: each call has its own GCM context. */
int cg_token_open(const cg_keyring_t *ring, const char *text, size_t len, uint64_t now,
                  unsigned skew, unsigned max_ttl, cg_token_claims_t *out, cg_why_t *why);

/* One thread's keyed AES-GCM contexts, so that opening a code does not
 * schedule its key and GHASH tables again each time (a third of the cost of
 * opening one). A cache serves one thread, and whichever ring it is given:
 * a ring other than the one it last saw (a reload) drops its keys. */
typedef struct cg_token_cache cg_token_cache_t;

/* NULL when out of memory. */
cg_token_cache_t *cg_token_cache_new(void);
void cg_token_cache_free(cg_token_cache_t *tc);

/* cg_token_open through tc's contexts (tc NULL: a context for this call). */
int cg_token_open_cached(cg_token_cache_t *tc, const cg_keyring_t *ring, const char *text,
                         size_t len, uint64_t now, unsigned skew, unsigned max_ttl,
                         cg_token_claims_t *out, cg_why_t *why);

#endif
