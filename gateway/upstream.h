/* upstream.h — fetching what the store lacks from the upstream platforms
 * (docs/upstream.md).
 *
 * One cg_upstream_t per process: the tiers with their circuit breakers,
 * address ejection and retry budget, and the table of identifiers being
 * fetched (so that each is fetched once, whichever worker asks) or recently
 * found nowhere. A fetch runs on the loop of the worker that asked first,
 * through that worker's client (upclient.h); the answer is checked by the
 * seal verifiers and stored by the writer; every waiting request, on any
 * worker, gets the same result through its worker's queue. Worker 0 also
 * polls the tiers' change feeds.
 */
#ifndef CG_GATEWAY_UPSTREAM_H
#define CG_GATEWAY_UPSTREAM_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "gateway/server.h"
#include "gateway/worker.h"

typedef struct cg_upstream cg_upstream_t;

/* What a fetch came to, shared by all its waiters (reference counted). */
typedef struct cg_upresult {
  _Atomic int refs;
  int err;       /* 0: rec is the record; CG_ENOTFOUND, CG_EUPSTREAM, CG_EUPTIMEOUT */
  uint8_t *rec;  /* encoded record, seal verified (holders: entries, see below) */
  size_t len;
} cg_upresult_t;
void cg_upresult_release(cg_upresult_t *r);

/* Builds the tiers of cfg (none: upstream is off). Returns 0 or CG_E… with why. */
int cg_upstream_new(cg_upstream_t **out, cg_server_t *srv, const cg_config_t *cfg, cg_why_t *why);
void cg_upstream_free(cg_upstream_t *up);
int cg_upstream_tiers(const cg_upstream_t *up);
/* The config the tiers were built from (refresh, deadline, …): [upstream]
 * takes effect at start; a reload does not change it, but for what
 * cg_upstream_reload takes. */
const cg_config_t *cg_upstream_config(const cg_upstream_t *up);

/* SIGHUP: takes the access ids, tokens and purpose of cfg's tiers, for the
 * calls made from now on (a platform's credentials rotate; a restart is
 * not needed for that). Returns how many tiers' headers changed (why says
 * so when other [upstream] keys differ too: those take effect at the next
 * start), or CG_ECONFIG with why when cfg names other tiers, addresses or
 * TLS settings (then nothing is taken). From the main thread, one reload at
 * a time, while workers make calls; up may be NULL (no tiers). */
int cg_upstream_reload(cg_upstream_t *up, const cg_config_t *cfg, cg_why_t *why);

/* On the worker's thread, from its loop's start and end. */
int cg_upstream_worker_start(cg_upstream_t *up, cg_worker_t *w, cg_why_t *why);
void cg_upstream_worker_stop(cg_upstream_t *up, cg_worker_t *w); /* before the loop's last walk */
void cg_upstream_worker_free(cg_upstream_t *up, cg_worker_t *w);  /* after the loop ends */

/* A request on w wants ident, which the store lacks or holds past its
 * refresh time. Returns CG_ENOTFOUND when every tier said so lately,
 * CG_EUNAVAIL when too many fetches are in flight, or 0: done(arg, err, 0,
 * result) will run on w — within the deadline — with a result to release. */
int cg_upstream_want(cg_upstream_t *up, cg_worker_t *w, const char *ident, size_t len,
                     cg_worker_fn done, void *arg);

/* The same for a holder's certificates (holder_type CG_HOLDER_…, or 0 for a
 * code that is valid as both an ID number and a credit code: either kind),
 * asked of every tier and put together; the result's rec holds seals.h's
 * entries (u16 identifier length, identifier, u32 record length, record). */
int cg_upstream_want_holder(cg_upstream_t *up, cg_worker_t *w, int holder_type, const char *code,
                            cg_worker_fn done, void *arg);

/* One entry of a holder's result. */
typedef struct cg_upstream_entry {
  const char *ident;
  size_t ident_len;
  const uint8_t *rec;
  size_t rec_len;
  size_t whole; /* bytes of the entry, from its length field on */
} cg_upstream_entry_t;
/* The entry at *off of p[0..len), moving *off past it: 1, or 0 at the end
 * (or at bytes that do not make a whole entry). */
int cg_upstream_entry(const uint8_t *p, size_t len, size_t *off, cg_upstream_entry_t *e);

/* Counts a stale record served because every tier failed. */
void cg_upstream_count_stale(cg_upstream_t *up);

/* Appends the upstream metrics (Prometheus text). */
int cg_upstream_metrics(cg_upstream_t *up, cg_buf_t *out);

#endif
