/* audit.h — the record of every use of a certificate (用证记录).
 *
 * Every scan and every fetch by identifier leaves one: when, which venue,
 * why (purpose, service matter), which holder — as an HMAC under a key the
 * store keeps, so the holder can be looked up but is never stored in plain
 * text —, which certificates were returned, the result and the client's
 * address. Records live in CG_DB_AUDIT in blocks keyed by (milliseconds,
 * sequence) of their first, with an index by holder; certgw's writer
 * thread files them in groups (docs/audit.md).
 */
#ifndef CG_AUDIT_H
#define CG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

#define CG_AUDIT_KEY_LEN 16   /* u64 ms, u64 sequence, big-endian */
#define CG_AUDIT_HOLDER_LEN 32
#define CG_AUDIT_IDS_MAX 16   /* identifiers recorded per use */

enum cg_audit_kind { CG_AUDIT_SCAN = 1, CG_AUDIT_FETCH = 2, CG_AUDIT_LIST = 3 };

typedef struct cg_audit {
  uint64_t time_ms;
  int kind;
  char venue[65];
  char purpose[129];
  char matter[65];
  uint8_t holder[CG_AUDIT_HOLDER_LEN]; /* cg_audit_holder_key */
  /* Until filed: the holder in plain text, for the writer to turn into the
   * HMAC off the request path. Never stored. */
  int holder_type;
  char holder_code[19];
  int status;                          /* the HTTP status answered */
  char client[64];
  char scan_id[33];
  int nids;
  char ids[CG_AUDIT_IDS_MAX][129];
} cg_audit_t;

/* HMAC-SHA256(audit key, holder type code ‖ holder code). */
void cg_audit_holder_key(const uint8_t key[32], int holder_type, const char *code, size_t len,
                         uint8_t out[CG_AUDIT_HOLDER_LEN]);

/* The same with a prepared key, for a thread that computes many (the
 * writer): no allocation and no key schedule per holder. One thread each. */
typedef struct cg_audit_hmac cg_audit_hmac_t;
cg_audit_hmac_t *cg_audit_hmac_new(const uint8_t key[32]);
void cg_audit_hmac_free(cg_audit_hmac_t *h);
void cg_audit_hmac(cg_audit_hmac_t *h, int holder_type, const char *code, size_t len,
                   uint8_t out[CG_AUDIT_HOLDER_LEN]);

/* The stored value: a compact binary form (docs/audit.md), written by the
 * writer thread for every use, so kept cheap; and back, bounds-checked. */
int cg_audit_encode(const cg_audit_t *a, cg_buf_t *out);

/* A use as the request path knows it: pointers into what it has, nothing
 * copied (a cg_audit_t is 2.5 KB). NULL strings are empty. */
typedef struct cg_audit_use {
  uint64_t time_ms;
  int kind;
  int status;
  const char *venue, *purpose, *matter, *client, *scan_id;
  const char *const *ids;
  int nids;
} cg_audit_use_t;

/* Appends the encoding of u with this holder HMAC (NULL: none, zeros), the
 * bytes cg_audit_encode writes for the same record. */
int cg_audit_pack(const cg_audit_use_t *u, const uint8_t holder[CG_AUDIT_HOLDER_LEN],
                  cg_buf_t *out);
#define CG_AUDIT_HOLDER_AT 12 /* where the holder HMAC sits in an encoding */
#define CG_AUDIT_TIME_AT 4    /* and the time, u64 big-endian ms */

/* Meta keys "audit.unindexed.<writer id>": the oldest audit record whose
 * holder index entry a writer has not filed yet (gateway/writer.c). */
#define CG_AUDIT_MARK_PREFIX "audit.unindexed."
int cg_audit_decode(const char *p, size_t len, cg_audit_t *a);
/* The record as a JSON object, for people and tools (certctl audit --json). */
int cg_audit_json(const cg_audit_t *a, cg_buf_t *out);

/* ---- blocks: the stored form since 2026-11-28 -------------------------------
 *
 * The log keeps many records in one value (a block): each distinct string
 * and holder HMAC once, each record as indexes into them. Uses come in runs
 * (one venue's scanner, one client address, one holder's certificates), so
 * a block is a fraction of the records' size, and one put and one index
 * entry per holder replace one of each per record (docs/audit.md). Older
 * stores hold one record per value (cg_audit_encode); the readers take both. */
#define CG_AUDIT_BLOCK_MAX 65536 /* bytes in a block, at most */

typedef struct cg_audit_block cg_audit_block_t;
cg_audit_block_t *cg_audit_block_new(void);
void cg_audit_block_free(cg_audit_block_t *b);
/* Empties b for the next block. */
void cg_audit_block_reset(cg_audit_block_t *b);
/* Whether b may lack room for one more record (finish it first). */
int cg_audit_block_full(const cg_audit_block_t *b);
size_t cg_audit_block_count(const cg_audit_block_t *b);
/* Adds a record in the single-record encoding (cg_audit_pack). CG_ERECORD
 * if it is not one, CG_ETOOBIG when full, CG_ENOMEM. */
int cg_audit_block_add(cg_audit_block_t *b, const void *rec, size_t len);
/* Appends the block's encoding to out. */
int cg_audit_block_finish(const cg_audit_block_t *b, cg_buf_t *out);
/* The block's distinct holders (records without one have none here): n of
 * them, CG_AUDIT_HOLDER_LEN bytes each. */
const uint8_t *cg_audit_block_holders(const cg_audit_block_t *b, size_t *n);

/* Calls fn with every record of a stored value, a block or a single record,
 * in order, once the whole value has been checked (CG_ERECORD: none is
 * given). fn returns nonzero to stop, which is returned. */
typedef int (*cg_audit_fn)(void *arg, const cg_audit_t *a);
int cg_audit_each(const char *val, size_t len, cg_audit_fn fn, void *arg);
/* Calls fn with each distinct holder HMAC of a stored value (none for a
 * record without one), after the same check. */
typedef int (*cg_audit_holder_fn)(void *arg, const uint8_t holder[CG_AUDIT_HOLDER_LEN]);
int cg_audit_each_holder(const char *val, size_t len, cg_audit_holder_fn fn, void *arg);

/* The database key of a record: time and a sequence number. */
void cg_audit_key(uint64_t time_ms, uint64_t seq, uint8_t out[CG_AUDIT_KEY_LEN]);

const char *cg_audit_kind_name(int kind);

#endif
