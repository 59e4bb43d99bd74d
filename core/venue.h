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
