/* metrics.h — a worker's counters and the Prometheus text rendering.
 *
 * Each worker writes only its own counters (relaxed atomics: plain loads
 * and stores on x86, no lock prefix) and /metrics sums every worker's when
 * scraped, so counting costs nothing on the request path.
 */
#ifndef CG_GATEWAY_METRICS_H
#define CG_GATEWAY_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"

enum cg_route {
  CG_ROUTE_CERTIFICATE, CG_ROUTE_HOLDER, CG_ROUTE_SCAN, CG_ROUTE_VERIFY, CG_ROUTE_HEALTHZ, CG_ROUTE_READYZ,
  CG_ROUTE_METRICS, CG_ROUTE_OTHER, CG_ROUTE__N
};

/* Statuses counted one by one; anything else counts as "other". */
#define CG_STATUSES(XX)                                                                            \
  XX(200) XX(304) XX(400) XX(401) XX(403) XX(404) XX(405) XX(408) XX(410) XX(413) XX(414)         \
  XX(429) XX(431) XX(500) XX(503) XX(504)

enum cg_status_index {
#define CG__S(n) CG_S_##n,
  CG_STATUSES(CG__S)
#undef CG__S
  CG_S_OTHER, CG_S__N
};

/* Latency buckets, seconds: 25 µs doubling up to about 13 s. */
#define CG_LAT_BUCKETS 20

typedef _Atomic uint64_t cg_counter_t;

typedef struct cg_metrics {
  cg_counter_t requests[CG_ROUTE__N][CG_S__N];
  cg_counter_t latency[CG_ROUTE__N][CG_LAT_BUCKETS + 1]; /* last: +Inf */
  cg_counter_t latency_sum_us[CG_ROUTE__N];
  cg_counter_t cache_hits, cache_misses;
  cg_counter_t connections_open, connections_total;
  cg_counter_t bad_requests_closed; /* malformed messages answered 400 and closed */
  cg_counter_t timeouts;            /* 408s and silent idle closes */
} cg_metrics_t;

static inline void cg_count(cg_counter_t *c, uint64_t n) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                        memory_order_relaxed);
}
static inline uint64_t cg_read(cg_counter_t *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}

int cg_metrics_status_index(int status);
void cg_metrics_observe(cg_metrics_t *m, int route, int status, uint64_t latency_ns);
const char *cg_metrics_route_name(int route);

/* Gauges that are not sums of worker counters. */
typedef struct cg_metrics_extra {
  uint64_t map_size, map_used;
  unsigned readers_used, readers_max;
  uint64_t certificates;
  unsigned venues;
  int workers;
  int ready;
  double uptime_seconds;
  uint64_t config_generation;
  uint32_t trust_generation;
  int trust_stale;             /* a CRL out of force (docs/seal.md) */
  long long trust_next_change; /* Unix time a CRL next goes out of or into force, 0: none */
  uint64_t seals_verified, seals_failed, seals_on_request, seals_background, seals_filed,
      seals_queued;
} cg_metrics_extra_t;

/* Renders the sum of n workers' metrics plus the extras, in the Prometheus
 * text exposition format (version 0.0.4). */
int cg_metrics_render(cg_metrics_t *const *workers, int n, const cg_metrics_extra_t *x,
                      cg_buf_t *out);

#endif
