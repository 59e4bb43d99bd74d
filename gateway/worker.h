/* worker.h — one event loop thread: its listener, connections, counters
 * and store reader. Nothing here is touched by another thread except the
 * counters (read when /metrics is scraped) and seen_gen. */
#ifndef CG_GATEWAY_WORKER_H
#define CG_GATEWAY_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "core/store.h"
#include "gateway/metrics.h"
#include "gateway/server.h"

typedef struct cg_conn cg_conn_t;

/* Work another thread hands to a worker: fn(arg, a, b, p) runs on its loop. */
typedef void (*cg_worker_fn)(void *arg, int a, uint32_t b, void *p);
/* What frees p when fn will never run (the worker's loop has ended). */
typedef void (*cg_worker_discard_fn)(void *p);

struct cg_worker {
  int id;
  cg_server_t *srv;
  pthread_t thread;
  uv_loop_t loop;
  uv_tcp_t listener;
  int listen_fd;
  int listening;
  uv_async_t wake;    /* the main thread's nudge: state or config changed */
  uv_async_t replies; /* work handed over by other threads (cg_worker_post) */
  pthread_mutex_t reply_mu;
  void *reply_head, *reply_tail;
  int reply_closed; /* the loop has ended: posts are discarded (under reply_mu) */
  uv_timer_t sweep;   /* timeouts, the Date header, log flushing */
  cg_store_reader_t *reader;
  cg_conn_t *conns;   /* doubly linked, newest first */
  unsigned nconns;
  cg_metrics_t metrics;
  _Atomic uint64_t seen_gen; /* newest runtime generation this worker has taken */
  _Atomic int done;
  uint64_t now_ms;    /* loop time, refreshed each sweep and read */
  char date[40];      /* "Date: ...\r\n", refreshed once a second */
  time_t date_sec;
  char readbuf[64 * 1024];
  cg_buf_t scratch;   /* a request's answer body is built here */
  void *verify_cache; /* recent POST /v1/verify verdicts (routes.c) */
  void *rng;          /* the worker's random generator, for scan ids (routes.c) */
  struct cg_json_arena *json; /* cJSON memory for one request at a time (routes.c) */
  struct cg_token_cache *tokens; /* keyed AES-GCM contexts for QR codes (routes.c) */
  cg_buf_t log;       /* access log lines waiting to be written */
  unsigned log_seq;   /* for sampling */
  _Atomic int force_close; /* drain deadline passed: close everything (set by the main thread) */
};

/* Creates the listening socket (SO_REUSEPORT, so that every worker has its
 * own) bound to addr. Returns the fd or a negative CG_E… code with why. */
int cg_worker_listen_socket(const char *addr, cg_why_t *why);

/* Starts a worker thread on an already bound socket. */
int cg_worker_start(cg_worker_t *w, cg_server_t *srv, int id, int fd);

/* Asks the worker (from any thread) to look at the server's state again. */
void cg_worker_wake(cg_worker_t *w);

/* Queues fn(arg, a, b, p) to run on w's loop: the one way other threads
 * (verifiers, the upstream fetches of other workers) hand work to a worker.
 * Once the loop has ended (shutdown: a verifier may still finish a job for
 * a worker that has stopped), or for what was queued but never ran, fn is
 * not called and discard(p) frees p instead (discard may be NULL).
 * Returns 0 or CG_ENOMEM. */
int cg_worker_post(cg_worker_t *w, cg_worker_fn fn, void *arg, int a, uint32_t b, void *p,
                   cg_worker_discard_fn discard);

/* Writes out pending access log lines (worker thread). */
void cg_worker_flush_log(cg_worker_t *w);

#endif
