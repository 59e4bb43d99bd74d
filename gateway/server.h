/* server.h — what the gateway's threads share.
 *
 * The main thread owns the cg_server_t: config, signals, start and stop.
 * Each worker owns its loop, listener, connections, counters and store
 * reader. What workers read of the server is either immutable (the runtime
 * snapshot, swapped whole on reload) or an atomic (state, generation).
 */
#ifndef CG_GATEWAY_SERVER_H
#define CG_GATEWAY_SERVER_H

#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <uv.h>

#include "core/config.h"
#include "core/store.h"
#include "core/trust.h"
#include "core/venue.h"
#include "gateway/metrics.h"

enum cg_server_state {
  CG_STATE_STARTING = 0,
  CG_STATE_SERVING = 1,
  CG_STATE_DRAINING = 2, /* /readyz says 503, listeners still open */
  CG_STATE_STOPPING = 3, /* listeners closed, connections finishing */
};

/* Config and venues as one immutable snapshot. Workers take the current
 * one at the start of each request; the main thread frees an old snapshot
 * once every worker has acknowledged the newer generation. */
#define CG_TRUSTED_PROXIES_MAX 16

typedef struct cg_runtime {
  cg_config_t *cfg;
  cg_venue_registry_t *venues;
  struct cg_trust *trust;   /* the seal trust store */
  struct cg_keyring *keyring; /* QR code keys (token.h) */
  uint32_t trust_gen;
  uint64_t gen;
  char trusted_proxies[CG_TRUSTED_PROXIES_MAX][64]; /* peers whose X-Forwarded-For is believed */
  int ntrusted;
  struct cg_runtime *older; /* waiting to be freed */
} cg_runtime_t;

/* 1 if ip (as a peer's address is written) is one of rt's trusted proxies. */
static inline int cg_runtime_trusts(const cg_runtime_t *rt, const char *ip) {
  for (int i = 0; i < rt->ntrusted; i++)
    if (strcmp(rt->trusted_proxies[i], ip) == 0)
      return 1;
  return 0;
}

typedef struct cg_worker cg_worker_t;

typedef struct cg_server {
  const char *config_path;
  char listen[256];      /* --listen, else the config's */
  int nworkers;
  cg_store_t *store;
  _Atomic(cg_runtime_t *) rt;
  _Atomic int state;
  _Atomic uint64_t gen;
  /* For threads other than the workers (the seal scanner): the trust
   * generation in force, and a lock held while old snapshots are freed, so
   * that such a thread can take a reference from the current one. */
  _Atomic uint32_t trust_gen;
  pthread_mutex_t rt_free_mu;
  uint64_t started_ms;   /* uv_hrtime at start, ms */
  cg_worker_t **workers;
  struct cg_seals *seals; /* verifier threads and the re-check scanner */
  struct cg_writer *writer; /* the one LMDB writer: verdicts, audit records, fills */
  struct cg_upstream *upstream; /* the platforms asked on a miss (upstream.h) */
  uint8_t audit_key[32];  /* from the store's meta (audit.h) */
  int log_fd;            /* access log, -1 when off */
} cg_server_t;

#endif
