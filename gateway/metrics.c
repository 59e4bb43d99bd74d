/* metrics.c — counting and the Prometheus text format (see metrics.h). */
#include "gateway/metrics.h"

#include <stdio.h>

static const char *const route_names[CG_ROUTE__N] = {
    [CG_ROUTE_CERTIFICATE] = "certificate", [CG_ROUTE_HOLDER] = "holder",
    [CG_ROUTE_VERIFY] = "verify",           [CG_ROUTE_SCAN] = "scan",
    [CG_ROUTE_HEALTHZ] = "healthz",         [CG_ROUTE_READYZ] = "readyz",
    [CG_ROUTE_METRICS] = "metrics",         [CG_ROUTE_OTHER] = "other",
};

static const int statuses[CG_S__N] = {
#define CG__S(n) n,
    CG_STATUSES(CG__S)
#undef CG__S
    0,
};

const char *cg_metrics_route_name(int route) {
  return route >= 0 && route < CG_ROUTE__N ? route_names[route] : "other";
}

int cg_metrics_status_index(int status) {
  switch (status) {
#define CG__S(n)                                                                                   \
  case n:                                                                                          \
    return CG_S_##n;
    CG_STATUSES(CG__S)
#undef CG__S
  default:
    return CG_S_OTHER;
  }
}

static double bucket_bound(int i) { return 25e-6 * (double)(1u << i); }

void cg_metrics_observe(cg_metrics_t *m, int route, int status, uint64_t ns) {
  uint64_t us = ns / 1000;
  int b = 0;
  /* Smallest bucket whose bound is >= the latency: 25 µs << b. */
  while (b < CG_LAT_BUCKETS && (uint64_t)25 << b < us)
    b++;
  cg_count(&m->requests[route][cg_metrics_status_index(status)], 1);
  cg_count(&m->latency[route][b], 1);
  cg_count(&m->latency_sum_us[route], us);
}

static uint64_t sum_at(cg_metrics_t *const *ws, int n, size_t off) {
  uint64_t s = 0;
  for (int i = 0; i < n; i++)
    s += cg_read((cg_counter_t *)((char *)ws[i] + off));
  return s;
}

/* The sum over workers of one counter, named as a member expression. */
#define SUM(expr) sum_at(ws, n, (size_t)((char *)&ws[0]->expr - (char *)ws[0]))

int cg_metrics_render(cg_metrics_t *const *ws, int n, const cg_metrics_extra_t *x, cg_buf_t *out) {
  int err = 0;

#define P(...) (err = err ? err : cg_buf_printf(out, __VA_ARGS__))
  P("# HELP certgw_requests_total HTTP requests answered, by route and status.\n"
    "# TYPE certgw_requests_total counter\n");
  for (int r = 0; r < CG_ROUTE__N; r++)
    for (int s = 0; s < CG_S__N; s++) {
      uint64_t v = SUM(requests[r][s]);
      if (v || (s == CG_S_200 && r != CG_ROUTE_OTHER)) {
        if (s == CG_S_OTHER)
          P("certgw_requests_total{route=\"%s\",status=\"other\"} %llu\n", route_names[r],
            (unsigned long long)v);
        else
          P("certgw_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route_names[r],
            statuses[s], (unsigned long long)v);
      }
    }
  P("# HELP certgw_request_duration_seconds Time from a request's first byte to its answer.\n"
    "# TYPE certgw_request_duration_seconds histogram\n");
  for (int r = 0; r < CG_ROUTE__N; r++) {
    uint64_t cum = 0;
    for (int b = 0; b <= CG_LAT_BUCKETS; b++) {
      cum += SUM(latency[r][b]);
      if (b < CG_LAT_BUCKETS)
        P("certgw_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
          route_names[r], bucket_bound(b), (unsigned long long)cum);
      else
        P("certgw_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
          route_names[r], (unsigned long long)cum);
    }
    P("certgw_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r],
      (double)SUM(latency_sum_us[r]) / 1e6);
    P("certgw_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r],
      (unsigned long long)cum);
  }
  P("# HELP certgw_cache_lookups_total Certificate lookups in the local store, by result.\n"
    "# TYPE certgw_cache_lookups_total counter\n"
    "certgw_cache_lookups_total{result=\"hit\"} %llu\n"
    "certgw_cache_lookups_total{result=\"miss\"} %llu\n",
    (unsigned long long)SUM(cache_hits), (unsigned long long)SUM(cache_misses));
  P("# HELP certgw_connections_open Client connections open now.\n"
    "# TYPE certgw_connections_open gauge\ncertgw_connections_open %llu\n",
    (unsigned long long)SUM(connections_open));
  P("# HELP certgw_connections_total Client connections accepted.\n"
    "# TYPE certgw_connections_total counter\ncertgw_connections_total %llu\n",
    (unsigned long long)SUM(connections_total));
  P("# HELP certgw_malformed_requests_total Malformed HTTP messages, answered 400 and closed.\n"
    "# TYPE certgw_malformed_requests_total counter\ncertgw_malformed_requests_total %llu\n",
    (unsigned long long)SUM(bad_requests_closed));
  P("# HELP certgw_timeouts_total Connections timed out (408 or idle close).\n"
    "# TYPE certgw_timeouts_total counter\ncertgw_timeouts_total %llu\n",
    (unsigned long long)SUM(timeouts));
  P("# HELP certgw_store_map_bytes LMDB map reserved and used.\n"
    "# TYPE certgw_store_map_bytes gauge\n"
    "certgw_store_map_bytes{kind=\"reserved\"} %llu\n"
    "certgw_store_map_bytes{kind=\"used\"} %llu\n",
    (unsigned long long)x->map_size, (unsigned long long)x->map_used);
  P("# HELP certgw_store_readers LMDB reader slots in use and available.\n"
    "# TYPE certgw_store_readers gauge\n"
    "certgw_store_readers{kind=\"used\"} %u\ncertgw_store_readers{kind=\"max\"} %u\n",
    x->readers_used, x->readers_max);
  P("# HELP certgw_store_certificates Certificates in the local store.\n"
    "# TYPE certgw_store_certificates gauge\ncertgw_store_certificates %llu\n",
    (unsigned long long)x->certificates);
  P("# HELP certgw_venues Venues registered.\n# TYPE certgw_venues gauge\ncertgw_venues %u\n",
    x->venues);
  P("# HELP certgw_workers Worker threads.\n# TYPE certgw_workers gauge\ncertgw_workers %d\n",
    x->workers);
  P("# HELP certgw_ready 1 when serving, 0 while starting or draining.\n"
    "# TYPE certgw_ready gauge\ncertgw_ready %d\n", x->ready);
  P("# HELP certgw_config_generation Configuration loads, the first included.\n"
    "# TYPE certgw_config_generation gauge\ncertgw_config_generation %llu\n",
    (unsigned long long)x->config_generation);
  P("# HELP certgw_seal_checks_total Seal verifications (ECDSA or RSA), by outcome. Never on "
    "the request path: a cache hit adds nothing here.\n"
    "# TYPE certgw_seal_checks_total counter\n"
    "certgw_seal_checks_total{result=\"verified\"} %llu\n"
    "certgw_seal_checks_total{result=\"failed\"} %llu\n",
    (unsigned long long)x->seals_verified, (unsigned long long)x->seals_failed);
  P("# HELP certgw_seal_checks_queued_total Seal checks queued, by cause.\n"
    "# TYPE certgw_seal_checks_queued_total counter\n"
    "certgw_seal_checks_queued_total{cause=\"request\"} %llu\n"
    "certgw_seal_checks_queued_total{cause=\"background\"} %llu\n",
    (unsigned long long)x->seals_on_request, (unsigned long long)x->seals_background);
  P("# HELP certgw_seal_verdicts_filed_total Seal verdicts written to the store.\n"
    "# TYPE certgw_seal_verdicts_filed_total counter\ncertgw_seal_verdicts_filed_total %llu\n",
    (unsigned long long)x->seals_filed);
  P("# HELP certgw_seal_queue Seal checks waiting now.\n"
    "# TYPE certgw_seal_queue gauge\ncertgw_seal_queue %llu\n",
    (unsigned long long)x->seals_queued);
  P("# HELP certgw_trust_generation Generation of the trust store in force.\n"
    "# TYPE certgw_trust_generation gauge\ncertgw_trust_generation %u\n", x->trust_generation);
  P("# HELP certgw_trust_stale 1 while a CRL of the trust store is out of force (past its "
    "nextUpdate, or before its thisUpdate): its CA's seals fail as trust_stale.\n"
    "# TYPE certgw_trust_stale gauge\ncertgw_trust_stale %d\n",
    x->trust_stale);
  P("# HELP certgw_trust_crl_next_change_seconds When a CRL next goes out of force or comes into "
    "it (Unix time; 0: no CRL will): alert well before it, and renew the CRLs.\n"
    "# TYPE certgw_trust_crl_next_change_seconds gauge\n"
    "certgw_trust_crl_next_change_seconds %lld\n",
    x->trust_next_change);
  P("# HELP certgw_uptime_seconds Seconds since the process started.\n"
    "# TYPE certgw_uptime_seconds gauge\ncertgw_uptime_seconds %.3f\n", x->uptime_seconds);
  P("# HELP certgw_build_info Build of this certgw.\n# TYPE certgw_build_info gauge\n"
    "certgw_build_info{version=\"%s\"} 1\n", CG_VERSION);
#undef P
  return err;
}
