/* writer.h — the process's one LMDB writer.
 *
 * A thread that files what other threads hand it: seal verdicts (seals.c),
 * audit records (routes.c), fills and revocations from upstream
 * (upstream.c). Whatever has arrived goes into one write
 * transaction, committed and synced: while a commit syncs, the next group
 * gathers, so records are durable within one commit of being handed over
 * (docs/audit.md). On stop everything handed over is filed first.
 */
#ifndef CG_GATEWAY_WRITER_H
#define CG_GATEWAY_WRITER_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/audit.h"
#include "core/store.h"

typedef struct cg_writer cg_writer_t;

/* audit_key: the store's key for holder HMACs (audit.h); rings: one audit
 * ring for each worker. */
int cg_writer_start(cg_writer_t **out, cg_store_t *store, const uint8_t audit_key[32], int rings);
/* Files everything queued, then stops. */
void cg_writer_stop(cg_writer_t *w);

/* Queue a seal verdict on a record (kept only if the record is unchanged). */
void cg_writer_verdict(cg_writer_t *w, const char *ident, size_t len, uint64_t etag, int reason,
                       uint32_t gen);
/* Queue an audit record in ring (the calling worker's own: one thread per
 * ring), with the holder in plain text (NULL: none) for the writer to turn
 * into its HMAC. Takes no lock and allocates nothing — unless the ring is
 * filling: then it asks the writer for an early group, and when full waits
 * up to a second for room (back-pressure on the worker's clients). Returns 0,
 * or CG_EUNAVAIL when the ring stayed full (the caller refuses the request). */
int cg_writer_audit(cg_writer_t *w, int ring, const cg_audit_use_t *u, int holder_type,
                    const char *holder_code);

/* Queue an encoded record to store under ident (a fill from upstream),
 * replacing what is there. Returns 0 or CG_ENOMEM. */
int cg_writer_fill(cg_writer_t *w, const char *ident, size_t len, const void *rec, size_t reclen);
/* Queue a revocation by the issuing platform (cg_store_cert_revoke). */
int cg_writer_revoke(cg_writer_t *w, const char *ident, size_t len);
/* Queue a meta value (a feed cursor). Items are filed in the order queued,
 * so a cursor queued after the changes it covers is never stored without
 * them. */
int cg_writer_meta(cg_writer_t *w, const char *key, const void *val, size_t len);

typedef struct cg_writer_stats {
  _Atomic uint64_t verdicts, audits, fills, revocations, commits, failures;
  _Atomic uint64_t waits; /* audit records that waited for ring space */
} cg_writer_stats_t;
cg_writer_stats_t *cg_writer_stats(cg_writer_t *w);
/* How many groups with feed cursors or changes have failed. After the
 * first, the cursors stored stay as they are until the next start; after
 * each, a feed poller must poll once more from those (upstream.c), not from
 * where its own got to: the changes lost with the group come again. */
unsigned cg_writer_cursor_losses(cg_writer_t *w);
/* Appends the writer's counters (Prometheus text). */
int cg_writer_metrics(cg_writer_t *w, cg_buf_t *out);

#endif
