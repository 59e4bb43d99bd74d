/* runner.h — the load threads: connections that send a workload and time it.
 *
 * One libuv loop per thread, the connections spread over the threads; each
 * thread owns its connections, histograms and counters, and the main thread
 * only reads two progress counters per thread while it runs and merges the
 * rest after joining. Closed loop keeps `pipeline` requests outstanding per
 * connection; open loop (rate > 0) sends at fixed intended times and times
 * each answer from its intended time (coordinated omission corrected, as
 * wrk2 does).
 */
#ifndef CG_RUNNER_H
#define CG_RUNNER_H

#include <stdint.h>
#include <sys/socket.h>

#include "bench/hist.h"
#include "bench/workload.h"

#define CG_RUN_PIPELINE_MAX 1024

/* Kinds of error; each counts events (one per connection that failed). */
enum cg_run_err {
  CG_RUN_ECONNECT, /* could not connect */
  CG_RUN_EREAD,    /* read or write failed (reset by the peer, …) */
  CG_RUN_ETIMEOUT, /* the oldest request on a connection had no answer in time */
  CG_RUN_EPARSE,   /* the answer was not HTTP, or answered nothing asked */
  CG_RUN_ECLOSED,  /* the server closed the connection */
  CG_RUN_ERRS
};

/* "connect", "read", "timeout", "parse", "closed". */
const char *cg_run_err_name(int kind);

typedef struct cg_run_opts {
  struct sockaddr_storage addr;  /* the target */
  const cg_workload_t *work;     /* shared, read-only */
  unsigned connections;          /* over all threads */
  unsigned pipeline;             /* requests outstanding per connection, 1..CG_RUN_PIPELINE_MAX */
  unsigned threads;              /* at most connections */
  double duration_s;             /* run this long (ignored when requests > 0) */
  uint64_t requests;             /* or until this many have been answered or lost */
  double rate;                   /* requests per second over all connections; 0: closed loop */
  uint64_t timeout_ms;           /* per request */
  uint64_t seed;
} cg_run_opts_t;

/* Everything a run measured. Latency is from the intended send time in open
 * loop and from the actual send in closed loop; service is always from the
 * actual send (the two differ only in open loop). */
typedef struct cg_run_stats {
  cg_hist_t latency;
  cg_hist_t service;
  cg_hist_t kind_latency[CG_WORK_KINDS];
  uint64_t kind_answered[CG_WORK_KINDS];
  uint64_t sent;          /* requests written */
  uint64_t answered;      /* complete answers */
  uint64_t lost;          /* sent, then lost with their connection */
  uint64_t unexpected;    /* answers whose status was not the one expected */
  uint64_t bytes_read;
  uint64_t errors[CG_RUN_ERRS];
  uint64_t status[600];   /* by status code; [0] counts codes outside 100..599 */
  uint64_t connects;      /* connections established */
  double elapsed_s;       /* from the start to when the run stopped */
  int gave_up;            /* stopped early: no connection could be made for --timeout */
} cg_run_stats_t;

typedef struct cg_run cg_run_t;

/* Starts the threads and returns at once; NULL with a sentence in err. */
cg_run_t *cg_run_start(const cg_run_opts_t *o, char *err, size_t errlen);

/* Progress so far over all threads. Returns 1 while some thread runs. */
int cg_run_poll(cg_run_t *r, uint64_t *answered, uint64_t *errors);

/* Asks every thread to stop now (safe from any thread, idempotent). */
void cg_run_stop(cg_run_t *r);

/* Waits for the threads, merges what they measured into st (an allocation
 * of the caller's, about 60 KiB) and frees r. */
void cg_run_finish(cg_run_t *r, cg_run_stats_t *st);

#endif
