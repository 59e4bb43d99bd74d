/* store.h — the LMDB environment of a data directory (docs/store.md).
 *
 * One environment, named databases (enum cg_store_db). Readers are reusable
 * read transactions, one per thread, renewed and reset around each lookup so
 * that no reader pins old pages. Every change goes through one write path, a
 * cg_store_writer_t, which keeps the holder index in step with the
 * certificates. LMDB's codes are translated here and go no further.
 */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/record.h"

#define CG_STORE_SCHEMA 2
#define CG_STORE_MAP_DEFAULT (64ULL << 30) /* sparse: costs nothing until used */
#define CG_STORE_READERS_DEFAULT 1024

enum cg_store_db {
  CG_DB_CERT,   /* identifier -> record (record.h) */
  CG_DB_HOLDER, /* XXH3-128(holder type ‖ code) -> identifiers (sorted duplicates) */
  CG_DB_SIGNER, /* SHA-256 fingerprint -> DER of the signer's X.509 certificate */
  CG_DB_VENUE,  /* venue id -> venue record (venue.h) */
  CG_DB_MATTER, /* service-matter code -> matter record */
  CG_DB_META,   /* "schema", "trust_gen", "created" -> little-endian integers;
                   "audit_key" -> 32 random bytes (audit.h);
                   "upstream.cursor.<tier>" -> a change feed cursor (text) */
  CG_DB_AUDIT,  /* big-endian (ms, sequence) -> audit record (audit.h) */
  CG_DB_AUDIT_HOLDER, /* HMAC of the holder -> audit keys (sorted duplicates) */
  CG_DB_AUDIT_VENUE,  /* venue id -> audit keys (sorted duplicates) */
  CG_DB__COUNT
};

typedef struct cg_store cg_store_t;
typedef struct cg_store_reader cg_store_reader_t;
typedef struct cg_store_writer cg_store_writer_t;

typedef struct cg_store_opts {
  const char *path;     /* data directory; created (with the store) when missing */
  uint64_t map_size;    /* 0: CG_STORE_MAP_DEFAULT */
  unsigned max_readers; /* 0: CG_STORE_READERS_DEFAULT */
  int readonly;         /* open an existing store read-only */
  int group_commit;     /* many small commits (the gateway's audit groups): each
                           syncs its pages but leaves its meta page to the next
                           one's sync (MDB_NOMETASYNC), one disk flush a commit
                           instead of two; a crash may undo the last commit,
                           never leave the store inconsistent */
} cg_store_opts_t;

/* Opens (or creates) the store. Clears reader slots left by dead processes.
 * A store of another schema version is refused with CG_ESCHEMA.
 * Returns 0, or a CG_E… code with the reason in why. */
int cg_store_open(cg_store_t **out, const cg_store_opts_t *opts, cg_why_t *why);
/* Closes the store. Every reader and writer must be closed first. */
void cg_store_close(cg_store_t *s);
/* Clears reader slots of dead processes; returns how many, or a CG_E… code. */
int cg_store_reader_check(cg_store_t *s);

/* ---- reading ------------------------------------------------------------ */

/* A reusable read transaction for one thread at a time. */
int cg_store_reader_open(cg_store_t *s, cg_store_reader_t **out);
void cg_store_reader_close(cg_store_reader_t *r);
/* Starts a snapshot; everything read until cg_store_reader_end is from it,
 * and every slice returned points into the map and dies with it. */
int cg_store_reader_begin(cg_store_reader_t *r);
void cg_store_reader_end(cg_store_reader_t *r);

/* The value of key in db. Returns 0, CG_ENOTFOUND or CG_ESTORE. */
int cg_store_get(cg_store_reader_t *r, int db, const void *key, size_t klen, cg_slice_t *val);
/* The decoded record of identifier. 0, CG_ENOTFOUND, CG_ERECORD, CG_ESTORE. */
int cg_store_cert_get(cg_store_reader_t *r, const char *ident, size_t len, cg_record_t *rec);

/* Calls cb for each entry of db in key order (for CG_DB_HOLDER: each
 * duplicate). cb returns 0 to go on; anything else stops the walk and is
 * returned. */
typedef int (*cg_store_each_cb)(void *arg, cg_slice_t key, cg_slice_t val);
int cg_store_each(cg_store_reader_t *r, int db, cg_store_each_cb cb, void *arg);

/* The same, starting at the first key >= from (from NULL: the first). */
int cg_store_each_from(cg_store_reader_t *r, int db, const void *from, size_t flen,
                       cg_store_each_cb cb, void *arg);

/* Calls cb with each identifier filed under the holder, in identifier order.
 * Returns 0 (also when there are none), cb's non-zero value, or CG_ESTORE. */
int cg_store_holder_each(cg_store_reader_t *r, const uint8_t key[CG_HOLDER_KEY_LEN],
                         cg_store_each_cb cb, void *arg);

/* ---- the write path ----------------------------------------------------- */

#define CG_STORE_BULK 1 /* many puts: append while keys come sorted, file the
                           holder index in one sorted pass at commit, start
                           the writeback of spilled pages every 100 ms while
                           it runs, and sync once at commit */

/* Starts the one write transaction (LMDB allows one at a time: a second
 * writer waits). Returns 0 or CG_ESTORE. */
int cg_store_write_begin(cg_store_t *s, int flags, cg_store_writer_t **out);
/* Stores an encoded record under its identifier, replacing one that is there
 * and moving its holder index entry if the holder changed; a record there
 * revoked by its issuer since sealing (CG_RECORD_REVOKED_LATER) stays so
 * whatever replaces it. *replaced (may be
 * NULL) tells whether one was there. Returns 0, CG_ERECORD, CG_EMAPFULL,
 * CG_ENOMEM or CG_ESTORE. */
int cg_store_cert_put(cg_store_writer_t *w, const char *ident, size_t len, const void *rec,
                      size_t reclen, int *replaced);
/* Records the verdict on a stored record's seal (state, reason, trust
 * generation), if the record still has this ETag: a record replaced since
 * it was checked keeps its own state. Returns 0, CG_ENOTFOUND, CG_EEXIST
 * (replaced meanwhile), CG_ERECORD or CG_ESTORE. */
int cg_store_cert_set_seal(cg_store_writer_t *w, const char *ident, size_t len, uint64_t etag,
                           int state, int reason, uint32_t trust_gen);

/* Marks a stored record revoked by its issuer after sealing (status
 * revoked, flag CG_RECORD_REVOKED_LATER; the ETag stays, the body and seal
 * are untouched). Returns 0 (also when already revoked), CG_ENOTFOUND,
 * CG_ERECORD or CG_ESTORE. */
int cg_store_cert_revoke(cg_store_writer_t *w, const char *ident, size_t len);

/* Adds a value under key in a sorted-duplicates index (AUDIT_HOLDER,
 * AUDIT_VENUE). */
int cg_store_index_add(cg_store_writer_t *w, int db, const void *key, size_t klen,
                       const void *v, size_t vlen);
/* Calls cb with each value filed under key in such an index. */
int cg_store_index_each(cg_store_reader_t *r, int db, const void *key, size_t klen,
                        cg_store_each_cb cb, void *arg);

/* A put whose key sorts after every key of db (audit records: time, then a
 * sequence): appended without a search; an out-of-order key falls back to
 * a put in its place. CG_EEXIST if db holds key already: a record is never
 * overwritten. */
int cg_store_put_last(cg_store_writer_t *w, int db, const void *key, size_t klen, const void *val,
                      size_t vlen);

/* Plain puts and deletes for the other databases (not CERT or HOLDER). */
int cg_store_put(cg_store_writer_t *w, int db, const void *key, size_t klen, const void *val,
                 size_t vlen);
int cg_store_del(cg_store_writer_t *w, int db, const void *key, size_t klen);
/* Reads inside the write transaction (sees its own changes). */
int cg_store_write_get(cg_store_writer_t *w, int db, const void *key, size_t klen,
                       cg_slice_t *val);
/* Makes everything durable and frees w (with group_commit: all but the
 * meta page, which the next commit or cg_store_sync syncs). On failure
 * nothing was changed. */
int cg_store_write_commit(cg_store_writer_t *w);
/* Flushes to disk what commits have left unsynced: with group_commit, the
 * last commit's meta page (cg_store_close does it too). 0 or CG_ESTORE. */
int cg_store_sync(cg_store_t *s);
/* With group_commit: syncs if the last commit that wrote ended after_ms or
 * more ago and nothing has synced its meta page since (a later commit that
 * writes does; one that fails or changes nothing does not). For the one
 * thread that commits. 1 if it synced, 0 if nothing was due, or CG_ESTORE. */
int cg_store_sync_due(cg_store_t *s, uint64_t after_ms);
/* Forgets everything written through w and frees w. */
void cg_store_write_abort(cg_store_writer_t *w);

/* Starts writing to disk what a long write transaction has already put in
 * the data file (LMDB spills dirty pages to it while the transaction runs),
 * without waiting for it: the sync at commit then finds less to do. May be
 * called from any thread while a writer is open. Returns 0 or CG_EIO. */
int cg_store_writeback(cg_store_t *s);

/* ---- figures ------------------------------------------------------------ */

typedef struct cg_store_stat {
  uint64_t entries[CG_DB__COUNT];
  uint64_t map_size;  /* bytes reserved */
  uint64_t map_used;  /* bytes in use (last page) */
  uint32_t page_size;
  uint32_t readers_max, readers_used;
  uint32_t schema;
  uint32_t trust_gen;
  uint64_t created;   /* unix seconds */
} cg_store_stat_t;

int cg_store_stat(cg_store_t *s, cg_store_stat_t *out);
/* Name of a database ("cert", "holder", …). */
const char *cg_store_db_name(int db);

/* Reads a little-endian integer of the meta database ("trust_gen", …);
 * 0 when absent. */
int cg_store_meta_u64(cg_store_reader_t *r, const char *key, uint64_t *out);

#endif
