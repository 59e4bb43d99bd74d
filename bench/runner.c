/* runner.c — load threads and their connections (see runner.h).
 *
 * A connection writes pre-rendered requests from a double buffer (one being
 * written, one being filled, as gateway/conn.c does for answers) and parses
 * answers with llhttp; a ring of `pipeline` slots remembers, in order, when
 * each outstanding request was due and sent. Both buffers together never
 * hold more than the outstanding requests, so each is sized once at
 * pipeline x the longest request. A connection that fails is counted by the
 * kind of failure, its outstanding requests are counted lost, and it is
 * opened again (after a pause when connecting failed).
 */
#include "bench/runner.h"

#include <llhttp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define READ_BUF (64 * 1024)
#define SWEEP_MS 50          /* timeouts and stop requests are checked this often */
#define RECONNECT_MS 100     /* pause after a failed connect, so a dead target is not hammered */
/* Open loop: libuv timers count whole milliseconds from a clock read at the
 * start of each loop turn, so one fires up to about 1.5 ms after the moment
 * asked for. A request is therefore sent up to 2 ms before its intended time
 * when its timer fires; it is then timed from its actual send, so sending
 * early never shortens a latency, while sending late would lengthen it. */
#define EARLY_NS 2000000ull

static const char *const err_names[CG_RUN_ERRS] = {"connect", "read", "timeout", "parse", "closed"};

const char *cg_run_err_name(int kind) {
  return kind >= 0 && kind < CG_RUN_ERRS ? err_names[kind] : "?";
}

typedef struct pending {
  uint64_t t0;   /* latency counts from here: the intended time, or the send if that was earlier */
  uint64_t sent; /* when it was written */
  int kind, expect;
} pending_t;

enum { C_IDLE, C_CONNECTING, C_OPEN, C_CLOSING };

struct worker;

typedef struct conn {
  struct worker *w;
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  uv_timer_t timer; /* open loop: the next intended send; else the pause before reconnecting */
  llhttp_t parser;
  int state;
  int peer_closing; /* the last answer said Connection: close */
  int last_err;     /* why it was last closed, or -1 */
  uint64_t connect_ns;
  cg_rng_t rng;
  pending_t *ring;  /* pipeline slots; n outstanding from head */
  unsigned head, n;
  char *out[2];     /* each holds up to pipeline x the longest request */
  size_t outlen[2];
  int fill, writing; /* out[fill] takes new requests; out[writing] is being written, or -1 */
  uint64_t next_ns, interval_ns; /* open loop */
} conn_t;

typedef struct worker {
  struct cg_run *run;
  unsigned index;
  uv_thread_t tid;
  uv_loop_t loop;
  uv_timer_t sweep, end;
  conn_t *conns;
  unsigned nconns;
  int by_count;     /* stop after quota requests, not after the duration */
  uint64_t quota, issued;
  uint64_t now_ns;  /* when the data being parsed arrived */
  uint64_t last_progress_ns; /* the last connection made or answer read */
  uint64_t connect_fail_ns;  /* the last connection that could not be made */
  int stopping;
  _Atomic uint64_t prog_answered, prog_errors;
  _Atomic int running;
  cg_run_stats_t st;
  char readbuf[READ_BUF];
} worker_t;

struct cg_run {
  cg_run_opts_t o;
  uint64_t start_ns;
  size_t outcap;
  worker_t **workers;
  unsigned nworkers;
  atomic_int stop_asked;
};

static llhttp_settings_t settings;

static void conn_connect(conn_t *c);
static void conn_timer_cb(uv_timer_t *t);
static void worker_stop(worker_t *w);

/* ---- bookkeeping --------------------------------------------------------------- */

static int may_issue(const worker_t *w) {
  return !w->stopping && (!w->by_count || w->issued < w->quota);
}

static void check_done(worker_t *w) {
  if (!w->stopping && w->by_count && w->st.answered + w->st.lost >= w->quota)
    worker_stop(w);
}

static void count_error(worker_t *w, int kind) {
  w->st.errors[kind]++;
  atomic_fetch_add_explicit(&w->prog_errors, 1, memory_order_relaxed);
}

/* ---- closing and reopening ------------------------------------------------------- */

static void conn_close_cb(uv_handle_t *h) {
  conn_t *c = h->data;
  worker_t *w = c->w;

  c->state = C_IDLE;
  c->outlen[0] = c->outlen[1] = 0;
  c->fill = 0;
  c->writing = -1;
  if (w->stopping)
    return;
  if (c->last_err == CG_RUN_ECONNECT)
    uv_timer_start(&c->timer, conn_timer_cb, RECONNECT_MS, 0);
  else
    conn_connect(c);
}

/* Closes c after a failure of the given kind (-1: not a failure) and opens
 * it again once closed. Requests outstanding on it are lost. */
static void conn_reset(conn_t *c, int kind) {
  worker_t *w = c->w;

  if (c->state != C_OPEN && c->state != C_CONNECTING)
    return;
  if (kind >= 0)
    count_error(w, kind);
  if (kind == CG_RUN_ECONNECT)
    w->connect_fail_ns = uv_hrtime();
  c->last_err = kind;
  w->st.lost += c->n;
  c->n = 0;
  c->head = 0;
  c->state = C_CLOSING;
  uv_timer_stop(&c->timer);
  /* Pending writes and the connect are cancelled (their callbacks see
   * C_CLOSING) before conn_close_cb runs. */
  uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

/* ---- writing --------------------------------------------------------------------- */

static void write_cb(uv_write_t *req, int status) {
  conn_t *c = req->data;

  if (c->writing >= 0)
    c->outlen[c->writing] = 0;
  c->writing = -1;
  if (c->state != C_OPEN)
    return;
  if (status < 0) {
    conn_reset(c, CG_RUN_EREAD);
    check_done(c->w);
    return;
  }
  if (c->outlen[c->fill] > 0) {
    /* Requests queued while the last write was under way. */
    uv_buf_t b = uv_buf_init(c->out[c->fill], (unsigned)c->outlen[c->fill]);
    c->writing = c->fill;
    c->fill ^= 1;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
      c->writing = -1;
      conn_reset(c, CG_RUN_EREAD);
      check_done(c->w);
    }
  }
}

static void flush(conn_t *c) {
  size_t len = c->outlen[c->fill];
  uv_buf_t b;
  int n;

  if (c->writing >= 0 || c->state != C_OPEN || len == 0)
    return;
  /* Requests are small: most go out at once, with no write request and no
   * callback on the next loop turn. */
  b = uv_buf_init(c->out[c->fill], (unsigned)len);
  n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)len) {
    c->outlen[c->fill] = 0;
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    conn_reset(c, CG_RUN_EREAD);
    return;
  }
  if (n > 0) {
    memmove(c->out[c->fill], c->out[c->fill] + n, len - (size_t)n);
    c->outlen[c->fill] -= (size_t)n;
  }
  c->writing = c->fill;
  c->fill ^= 1;
  c->wreq.data = c;
  b = uv_buf_init(c->out[c->writing], (unsigned)c->outlen[c->writing]);
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
    c->writing = -1;
    conn_reset(c, CG_RUN_EREAD);
  }
}

/* Queues one request due at t0 (for latency) and sent at now. */
static void enqueue(conn_t *c, uint64_t t0, uint64_t now) {
  worker_t *w = c->w;
  const cg_work_req_t *r = cg_workload_pick(w->run->o.work, &c->rng);
  pending_t *q = &c->ring[(c->head + c->n) % w->run->o.pipeline];

  memcpy(c->out[c->fill] + c->outlen[c->fill], r->base, r->len);
  c->outlen[c->fill] += r->len;
  q->t0 = t0;
  q->sent = now;
  q->kind = r->kind;
  q->expect = r->expect;
  c->n++;
  w->issued++;
  w->st.sent++;
}

/* Sends what may be sent now: closed loop, up to pipeline outstanding; open
 * loop, every request whose intended time has come (late ones keep their
 * intended time, so the wait counts), then waits for the next. */
static void fill(conn_t *c, uint64_t now) {
  worker_t *w = c->w;
  const cg_run_opts_t *o = &w->run->o;

  if (c->state != C_OPEN)
    return;
  if (o->rate <= 0.0) {
    while (c->n < o->pipeline && may_issue(w))
      enqueue(c, now, now);
  } else {
    while (c->n < o->pipeline && may_issue(w) && c->next_ns <= now + EARLY_NS) {
      enqueue(c, c->next_ns < now ? c->next_ns : now, now);
      c->next_ns += c->interval_ns;
    }
    if (c->n < o->pipeline && may_issue(w))
      uv_timer_start(&c->timer, conn_timer_cb, (c->next_ns - now) / 1000000, 0);
  }
  flush(c);
}

/* ---- reading ----------------------------------------------------------------------- */

static int on_message_complete(llhttp_t *p) {
  conn_t *c = p->data;
  worker_t *w = c->w;
  cg_run_stats_t *st = &w->st;
  pending_t *q;
  int status = p->status_code;

  if (c->n == 0)
    return -1; /* an answer to nothing that was asked: a parse error */
  q = &c->ring[c->head];
  c->head = (c->head + 1) % w->run->o.pipeline;
  c->n--;
  uint64_t lat = w->now_ns > q->t0 ? (w->now_ns - q->t0) / 1000 : 0;
  uint64_t svc = w->now_ns > q->sent ? (w->now_ns - q->sent) / 1000 : 0;
  cg_hist_record(&st->latency, lat);
  cg_hist_record(&st->service, svc);
  cg_hist_record(&st->kind_latency[q->kind], lat);
  st->kind_answered[q->kind]++;
  st->status[status >= 100 && status < 600 ? status : 0]++;
  if (status != q->expect)
    st->unexpected++;
  st->answered++;
  w->last_progress_ns = w->now_ns;
  if (!llhttp_should_keep_alive(p)) {
    /* The server closes after this answer: asking more on this connection
     * would only draw a reset. */
    c->peer_closing = 1;
    return HPE_PAUSED;
  }
  return 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn_t *c = h->data;
  (void)suggested;
  /* One buffer per thread: every byte read is parsed before the callback returns. */
  buf->base = c->w->readbuf;
  buf->len = sizeof c->w->readbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  worker_t *w = c->w;
  llhttp_errno_t e;

  if (nread == 0)
    return;
  if (nread < 0) {
    conn_reset(c, nread == UV_EOF ? CG_RUN_ECLOSED : CG_RUN_EREAD);
    check_done(w);
    return;
  }
  w->now_ns = uv_hrtime();
  w->st.bytes_read += (uint64_t)nread;
  e = llhttp_execute(&c->parser, buf->base, (size_t)nread);
  atomic_store_explicit(&w->prog_answered, w->st.answered, memory_order_relaxed);
  if (c->peer_closing)
    conn_reset(c, CG_RUN_ECLOSED);
  else if (e != HPE_OK)
    conn_reset(c, CG_RUN_EPARSE);
  else
    fill(c, w->now_ns);
  check_done(w);
}

/* ---- connecting -------------------------------------------------------------------- */

static void connect_cb(uv_connect_t *req, int status) {
  conn_t *c = req->data;
  worker_t *w = c->w;

  if (c->state != C_CONNECTING)
    return; /* closed while connecting */
  if (status < 0) {
    conn_reset(c, CG_RUN_ECONNECT);
    check_done(w);
    return;
  }
  c->state = C_OPEN;
  c->peer_closing = 0;
  w->st.connects++;
  w->last_progress_ns = uv_hrtime();
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_RESPONSE, &settings);
  c->parser.data = c;
  if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) != 0) {
    conn_reset(c, CG_RUN_EREAD);
    return;
  }
  fill(c, w->last_progress_ns);
}

static void conn_connect(conn_t *c) {
  worker_t *w = c->w;

  uv_tcp_init(&w->loop, &c->tcp);
  c->tcp.data = c;
  c->creq.data = c;
  c->state = C_CONNECTING;
  c->connect_ns = uv_hrtime();
  if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&w->run->o.addr, connect_cb) != 0)
    conn_reset(c, CG_RUN_ECONNECT);
}

static void conn_timer_cb(uv_timer_t *t) {
  conn_t *c = t->data;
  if (c->w->stopping)
    return;
  if (c->state == C_IDLE)
    conn_connect(c);
  else if (c->state == C_OPEN)
    fill(c, uv_hrtime());
}

/* ---- the thread ----------------------------------------------------------------------- */

static void worker_stop(worker_t *w) {
  if (w->stopping)
    return;
  w->stopping = 1;
  w->st.elapsed_s = (double)(uv_hrtime() - w->run->start_ns) / 1e9;
  for (unsigned i = 0; i < w->nconns; i++) {
    conn_t *c = &w->conns[i];
    if (c->state == C_OPEN || c->state == C_CONNECTING) {
      c->state = C_CLOSING;
      uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
    }
    uv_close((uv_handle_t *)&c->timer, NULL);
  }
  uv_close((uv_handle_t *)&w->sweep, NULL);
  uv_close((uv_handle_t *)&w->end, NULL);
}

static int any_open(const worker_t *w) {
  for (unsigned i = 0; i < w->nconns; i++)
    if (w->conns[i].state == C_OPEN)
      return 1;
  return 0;
}

static void sweep_cb(uv_timer_t *t) {
  worker_t *w = t->data;
  uint64_t now = uv_hrtime(), limit = w->run->o.timeout_ms * 1000000ull;

  if (atomic_load(&w->run->stop_asked)) {
    worker_stop(w);
    return;
  }
  for (unsigned i = 0; i < w->nconns; i++) {
    conn_t *c = &w->conns[i];
    if (c->state == C_OPEN && c->n > 0 && now - c->ring[c->head].sent > limit)
      conn_reset(c, CG_RUN_ETIMEOUT);
    else if (c->state == C_CONNECTING && now - c->connect_ns > limit)
      conn_reset(c, CG_RUN_ECONNECT);
  }
  /* Counting requests, a target that accepts no connection would keep the
   * run going for ever: give up when connecting has failed and nothing has
   * been connected or answered for a timeout. (A server that stalls does not
   * end the run: its connections time out and are made again.) */
  if (w->by_count && w->connect_fail_ns > w->last_progress_ns &&
      now - w->last_progress_ns > limit && !any_open(w)) {
    w->st.gave_up = 1;
    worker_stop(w);
    return;
  }
  check_done(w);
}

static void end_cb(uv_timer_t *t) {
  worker_stop(t->data);
}

static void worker_main(void *arg) {
  worker_t *w = arg;
  const cg_run_opts_t *o = &w->run->o;

  uv_update_time(&w->loop); /* the loop was made on another thread a moment ago */
  w->last_progress_ns = uv_hrtime();
  if (w->by_count && w->quota == 0) {
    worker_stop(w);
  } else {
    for (unsigned i = 0; i < w->nconns; i++)
      conn_connect(&w->conns[i]);
    uv_timer_start(&w->sweep, sweep_cb, SWEEP_MS, SWEEP_MS);
    if (!w->by_count)
      uv_timer_start(&w->end, end_cb, (uint64_t)(o->duration_s * 1000.0 + 0.5), 0);
  }
  uv_run(&w->loop, UV_RUN_DEFAULT);
  if (!w->stopping) /* cannot happen: the sweep timer runs until worker_stop */
    w->st.elapsed_s = (double)(uv_hrtime() - w->run->start_ns) / 1e9;
  atomic_store(&w->running, 0);
}

static void worker_free(worker_t *w) {
  if (w == NULL)
    return;
  for (unsigned i = 0; w->conns && i < w->nconns; i++) {
    free(w->conns[i].ring);
    free(w->conns[i].out[0]);
    free(w->conns[i].out[1]);
  }
  free(w->conns);
  free(w);
}

/* Everything a thread needs, made on the caller's thread before it starts. */
static worker_t *worker_new(cg_run_t *r, unsigned index, unsigned nconns, unsigned first_conn) {
  const cg_run_opts_t *o = &r->o;
  worker_t *w = calloc(1, sizeof *w);

  if (w == NULL)
    return NULL;
  w->run = r;
  w->index = index;
  w->nconns = nconns;
  w->conns = calloc(nconns, sizeof *w->conns);
  if (w->conns == NULL || uv_loop_init(&w->loop) != 0) {
    worker_free(w);
    return NULL;
  }
  cg_hist_init(&w->st.latency);
  cg_hist_init(&w->st.service);
  for (int k = 0; k < CG_WORK_KINDS; k++)
    cg_hist_init(&w->st.kind_latency[k]);
  uv_timer_init(&w->loop, &w->sweep);
  uv_timer_init(&w->loop, &w->end);
  w->sweep.data = w->end.data = w;
  for (unsigned i = 0; i < nconns; i++) {
    conn_t *c = &w->conns[i];
    c->w = w;
    c->writing = -1;
    c->last_err = -1;
    c->ring = calloc(o->pipeline, sizeof *c->ring);
    c->out[0] = malloc(r->outcap);
    c->out[1] = malloc(r->outcap);
    if (!c->ring || !c->out[0] || !c->out[1]) {
      uv_loop_close(&w->loop);
      worker_free(w);
      return NULL;
    }
    cg_rng_seed(&c->rng, o->seed, first_conn + i);
    uv_timer_init(&w->loop, &c->timer);
    c->timer.data = c;
    if (o->rate > 0.0) {
      /* Each connection sends rate/connections per second, its first at a
       * random point of its interval so they do not all send together. */
      c->interval_ns = (uint64_t)(1e9 * (double)o->connections / o->rate);
      if (c->interval_ns == 0)
        c->interval_ns = 1;
      c->next_ns = r->start_ns + (uint64_t)(cg_rng_double(&c->rng) * (double)c->interval_ns);
    }
  }
  return w;
}

cg_run_t *cg_run_start(const cg_run_opts_t *o, char *err, size_t errlen) {
  cg_run_t *r = calloc(1, sizeof *r);
  unsigned first = 0;

  if (r == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  r->o = *o;
  if (r->o.threads > r->o.connections)
    r->o.threads = r->o.connections;
  r->outcap = (size_t)o->pipeline * cg_workload_max_len(o->work);
  r->workers = calloc(r->o.threads, sizeof *r->workers);
  llhttp_settings_init(&settings);
  settings.on_message_complete = on_message_complete;
  r->start_ns = uv_hrtime();
  for (unsigned t = 0; r->workers && t < r->o.threads; t++) {
    /* Connections, and a request count, spread as evenly as they go. */
    unsigned n = o->connections / r->o.threads + (t < o->connections % r->o.threads);
    worker_t *w = worker_new(r, t, n, first);
    if (w == NULL)
      break;
    r->workers[r->nworkers++] = w;
    if (o->requests > 0) {
      w->by_count = 1;
      w->quota = o->requests / r->o.threads + (t < o->requests % r->o.threads);
    }
    first += n;
  }
  if (r->nworkers < r->o.threads) {
    for (unsigned t = 0; t < r->nworkers; t++) {
      uv_loop_close(&r->workers[t]->loop);
      worker_free(r->workers[t]);
    }
    free(r->workers);
    free(r);
    snprintf(err, errlen, "out of memory for %u connections of depth %u", o->connections, o->pipeline);
    return NULL;
  }
  for (unsigned t = 0; t < r->nworkers; t++) {
    worker_t *w = r->workers[t];
    atomic_store(&w->running, 1);
    if (uv_thread_create(&w->tid, worker_main, w) != 0) {
      /* The threads already started are told to stop and joined. */
      atomic_store(&r->stop_asked, 1);
      for (unsigned k = 0; k < t; k++)
        uv_thread_join(&r->workers[k]->tid);
      for (unsigned k = 0; k < r->nworkers; k++) {
        uv_loop_close(&r->workers[k]->loop);
        worker_free(r->workers[k]);
      }
      free(r->workers);
      free(r);
      snprintf(err, errlen, "cannot start a thread");
      return NULL;
    }
  }
  return r;
}

int cg_run_poll(cg_run_t *r, uint64_t *answered, uint64_t *errors) {
  int running = 0;
  *answered = *errors = 0;
  for (unsigned t = 0; t < r->nworkers; t++) {
    *answered += atomic_load_explicit(&r->workers[t]->prog_answered, memory_order_relaxed);
    *errors += atomic_load_explicit(&r->workers[t]->prog_errors, memory_order_relaxed);
    running |= atomic_load(&r->workers[t]->running);
  }
  return running;
}

void cg_run_stop(cg_run_t *r) {
  atomic_store(&r->stop_asked, 1);
}

void cg_run_finish(cg_run_t *r, cg_run_stats_t *st) {
  memset(st, 0, sizeof *st);
  cg_hist_init(&st->latency);
  cg_hist_init(&st->service);
  for (int k = 0; k < CG_WORK_KINDS; k++)
    cg_hist_init(&st->kind_latency[k]);
  for (unsigned t = 0; t < r->nworkers; t++) {
    worker_t *w = r->workers[t];
    const cg_run_stats_t *s = &w->st;
    uv_thread_join(&w->tid);
    uv_loop_close(&w->loop);
    cg_hist_merge(&st->latency, &s->latency);
    cg_hist_merge(&st->service, &s->service);
    for (int k = 0; k < CG_WORK_KINDS; k++) {
      cg_hist_merge(&st->kind_latency[k], &s->kind_latency[k]);
      st->kind_answered[k] += s->kind_answered[k];
    }
    st->sent += s->sent;
    st->answered += s->answered;
    st->lost += s->lost;
    st->unexpected += s->unexpected;
    st->bytes_read += s->bytes_read;
    for (int k = 0; k < CG_RUN_ERRS; k++)
      st->errors[k] += s->errors[k];
    for (int k = 0; k < 600; k++)
      st->status[k] += s->status[k];
    st->connects += s->connects;
    if (s->elapsed_s > st->elapsed_s)
      st->elapsed_s = s->elapsed_s;
    st->gave_up |= s->gave_up;
    worker_free(w);
  }
  free(r->workers);
  free(r);
}
