/* seals.h — seal checks off the event loops.
 *
 * Verifier threads (one per core by default, not libuv's pool, which name
 * lookups share) take jobs from one queue: a stored record whose verdict is
 * stale, or a certificate a venue presents to POST /v1/verify. Verdicts on
 * stored records go to the writer thread, the process's only LMDB writer,
 * which files them in batches. A scanner walks the store after start and
 * after each change of trust store, queueing every stale record. Answers to
 * a waiting request go back to its worker through the worker's reply queue.
 */
#ifndef CG_GATEWAY_SEALS_H
#define CG_GATEWAY_SEALS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/ident.h"
#include "core/record.h"
#include "core/seal.h"
#include "core/trust.h"
#include "gateway/server.h"
#include "gateway/worker.h"

typedef struct cg_seals cg_seals_t;

/* Called on the worker's thread with the verdict: (arg, reason, trust
 * generation, NULL). */
typedef cg_worker_fn cg_seals_done_cb;

typedef struct cg_seals_stats {
  _Atomic uint64_t verified, failed;   /* seal checks done, by outcome */
  _Atomic uint64_t on_request;         /* checks a request waited for */
  _Atomic uint64_t background;         /* checks queued by the scanner */
  _Atomic uint64_t filed;              /* verdicts handed to the writer */
  _Atomic uint64_t queued;             /* jobs waiting now */
} cg_seals_stats_t;

int cg_seals_start(cg_seals_t **out, cg_server_t *srv, int threads, int recheck);
void cg_seals_stop(cg_seals_t *s);
cg_seals_stats_t *cg_seals_stats(cg_seals_t *s);

/* Queues a check of a stored record (its body and seal are copied) under
 * trust. With a worker, done(arg, …) runs on that worker when the verdict
 * is in; without, the check is a background one. Returns 0, or
 * CG_EUNAVAIL when the queue is full. */
int cg_seals_check(cg_seals_t *s, cg_trust_t *trust, const char *ident, size_t len,
                   const cg_record_t *rec, cg_worker_t *w, cg_seals_done_cb done, void *arg);

/* Queues a check of a presented certificate (POST /v1/verify): nothing is
 * written to the store. */
int cg_seals_verify(cg_seals_t *s, cg_trust_t *trust, const char *body, size_t len,
                    const cg_seal_t *seal, uint32_t issued, cg_worker_t *w, cg_seals_done_cb done,
                    void *arg);

/* What a verifier made of a platform's answer (upstream.c), handed to done
 * as (arg, err, 0, fill); the receiver frees it with cg_fill_free. */
typedef struct cg_fill {
  int err;           /* 0: rec is the encoded record, seal verified, queued to be stored */
  int reason;        /* the seal's verdict (fills); more is waiting (feeds) */
  char ident[CG_IDENT_MAX + 1]; /* its identifier (fills); the next cursor (feeds) */
  uint8_t *rec;
  size_t len;
  uint64_t changes[4]; /* feeds: revoked, replaced, skipped (not held), refused (bad) */
  char why[200];     /* what was wrong with the answer */
} cg_fill_t;
void cg_fill_free(cg_fill_t *f);

/* Queues a platform's answer to a fetch of ident ({"certificate": …}):
 * parsed, checked to be ident, its seal verified under trust; a good one is
 * handed to the writer with source and returned. */
int cg_seals_fill(cg_seals_t *s, cg_trust_t *trust, const char *json, size_t len, const char *ident,
                  size_t ilen, int source, cg_worker_t *w, cg_seals_done_cb done, void *arg);
/* Queues a platform's answer to a list by holder ({"certificates": […]}):
 * each certificate of that holder (CG_HOLDER_… and code) whose seal
 * verifies is handed to the writer and returned in fill->rec as entries of
 * u16 identifier length, identifier, u32 record length, record; the others
 * are counted in fill->changes[3]. */
int cg_seals_fill_holder(cg_seals_t *s, cg_trust_t *trust, const char *json, size_t len,
                         int holder_type, const char *code, int source, cg_worker_t *w,
                         cg_seals_done_cb done, void *arg);
/* Queues a page of a tier's change feed, applied as docs/upstream.md says;
 * its cursor is filed under cursor_key after the changes. */
int cg_seals_feed(cg_seals_t *s, cg_trust_t *trust, const char *json, size_t len, int source,
                  const char *cursor_key, cg_worker_t *w, cg_seals_done_cb done, void *arg);

/* The trust store changed: walk the store again for stale verdicts. */
void cg_seals_rescan(cg_seals_t *s);

#endif
