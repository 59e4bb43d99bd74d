/* venue.h — venues (社会用证单位) and their keys.
 *
 * A venue has an id, a name, a credit code, a scope name (config.h) and a
 * key. The key is shown once when made and stored only as its SHA-256, so
 * a copy of the store reveals no key; checking compares in constant time.
 * Venue records live in CG_DB_VENUE as JSON (docs/store.md).
 */
#ifndef CG_VENUE_H
#define CG_VENUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

#define CG_VENUE_ID_MAX 64
#define CG_VENUE_KEY_LEN 52 /* "cgk_" + 48 hex digits (24 random bytes) */
#define CG_VENUE_HASH_LEN 32

typedef struct cg_venue {
  char id[CG_VENUE_ID_MAX + 1];
  char name[256];
  char credit_code[19];
  char scope[32];
  uint8_t key_hash[CG_VENUE_HASH_LEN];
  unsigned rate;       /* requests per second; 0: the scope's default */
  int disabled;
  uint64_t created;    /* unix seconds */
} cg_venue_t;

/* Makes a new random key (NUL-terminated, CG_VENUE_KEY_LEN characters) and
 * puts its hash in v->key_hash. Returns 0 or CG_ECRYPTO. */
int cg_venue_key_new(cg_venue_t *v, char key[CG_VENUE_KEY_LEN + 1]);
/* SHA-256 of a presented key. */
void cg_venue_key_hash(const char *key, size_t len, uint8_t out[CG_VENUE_HASH_LEN]);
/* 1 if key hashes to v->key_hash (constant-time compare), else 0. */
int cg_venue_key_matches(const cg_venue_t *v, const char *key, size_t len);

/* JSON encoding of a venue record (key hash in hex). */
int cg_venue_encode(const cg_venue_t *v, cg_buf_t *out);
/* Parses a venue record. Returns 0 or CG_ERECORD. */
int cg_venue_decode(const char *p, size_t len, cg_venue_t *v);
/* 1 if id is 1..CG_VENUE_ID_MAX of [a-z0-9-], else 0. */
int cg_venue_id_valid(const char *id);

#endif

/* ---- the registry: every venue, found by its key --------------------------- */

struct cg_store;
typedef struct cg_venue_registry cg_venue_registry_t;

/* Reads every venue from the store into an immutable registry (one snapshot,
 * shared read-only by all workers; a reload builds a new one). Returns 0, or
 * CG_ERECORD / CG_ESTORE / CG_ENOMEM with why. */
int cg_venue_registry_load(struct cg_store *s, cg_venue_registry_t **out, cg_why_t *why);
void cg_venue_registry_free(cg_venue_registry_t *r);
/* The venue whose key is key[0..len), or NULL (unknown key). A disabled
 * venue is returned too: the caller refuses it. The digest of the
 * presented key is looked up, then compared in constant time. */
const cg_venue_t *cg_venue_registry_find(const cg_venue_registry_t *r, const char *key, size_t len);
/* Takes one request from the venue's token bucket: rate requests a second,
 * bursts of up to `burst`. Lock-free (one compare-and-swap), shared by all
 * workers; a reload starts the buckets full. Returns 0, or CG_ERATE with
 * *retry_after set to the seconds until a token is back. rate 0: no limit. */
int cg_venue_registry_take(const cg_venue_registry_t *r, const cg_venue_t *v, uint64_t now_ms,
                           unsigned rate, unsigned burst, unsigned *retry_after);

/* The venue with this id, or NULL. */
const cg_venue_t *cg_venue_registry_get(const cg_venue_registry_t *r, const char *id);
size_t cg_venue_registry_count(const cg_venue_registry_t *r);
/* Calls cb for each venue (in no particular order) until it returns non-zero,
 * which is returned. */
int cg_venue_registry_each(const cg_venue_registry_t *r, int (*cb)(void *arg, const cg_venue_t *v),
                           void *arg);
