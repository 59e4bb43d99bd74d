/* worker.c — an event loop thread (see worker.h).
 *
 * libuv 1.44 has no UV_TCP_REUSEPORT, so the main thread makes one socket
 * per worker with SO_REUSEPORT set and bound before uv_tcp_open hands it to
 * the worker's loop: the kernel then spreads new connections over workers,
 * and no lock or shared accept queue sits between them.
 */
#include "gateway/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "gateway/conn.h"
#include "gateway/routes.h"
#include "gateway/seals.h"
#include "gateway/upstream.h"

#define SWEEP_MS 100

int cg_worker_listen_socket(const char *addr, cg_why_t *why) {
  struct sockaddr_storage ss;
  char host[256];
  const char *colon = strrchr(addr, ':');
  int port, fd, one = 1;
  size_t hlen;

  if (colon == NULL || colon == addr || (port = atoi(colon + 1)) <= 0 || port > 65535)
    return cg_why_set(why, CG_ECONFIG, "listen address \"%s\" is not HOST:PORT", addr);
  hlen = (size_t)(colon - addr);
  if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']')
    snprintf(host, sizeof host, "%.*s", (int)hlen - 2, addr + 1);
  else
    snprintf(host, sizeof host, "%.*s", (int)hlen, addr);
  memset(&ss, 0, sizeof ss);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
    return cg_why_set(why, CG_ECONFIG, "listen host \"%s\" is not an IP address", host);
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cg_why_set(why, CG_EIO, "socket: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&ss,
           ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) !=
          0) {
    int e = errno;
    close(fd);
    return cg_why_set(why, CG_EIO, "cannot listen on %s: %s", addr, strerror(e));
  }
  return fd;
}

static void on_connection(uv_stream_t *server, int status) {
  cg_worker_t *w = server->data;
  if (status == 0)
    cg_conn_accept(w);
}

void cg_worker_flush_log(cg_worker_t *w) {
  size_t off = 0;
  while (off < w->log.len) {
    ssize_t n = write(w->srv->log_fd, w->log.base + off, w->log.len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* the log is best effort: never stall serving on it */
    off += (size_t)n;
  }
  cg_buf_reset(&w->log);
}

static void refresh_date(cg_worker_t *w) {
  time_t now = time(NULL);
  struct tm tm;
  if (now == w->date_sec)
    return;
  w->date_sec = now;
  gmtime_r(&now, &tm);
  strftime(w->date, sizeof w->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* The worker's reaction to the server's state: stop listening when the
 * drain starts, close what is idle, and end the loop once nothing is open. */
static void apply_state(cg_worker_t *w) {
  cg_server_t *srv = w->srv;
  cg_runtime_t *rt = atomic_load(&srv->rt);

  /* Taking the newest runtime here means no request of this worker still
   * holds an older one: the main thread may free it. */
  if (atomic_load(&w->seen_gen) != rt->gen)
    cg_routes_runtime_changed(w);
  atomic_store(&w->seen_gen, rt->gen);
  if (srv->state < CG_STATE_STOPPING)
    return;
  if (w->listening) {
    /* Connections still in this listener's accept queue are reset by the
     * kernel; the drain delay before this point lets the load balancer
     * stop sending first. */
    uv_close((uv_handle_t *)&w->listener, NULL);
    w->listening = 0;
  }
  for (cg_conn_t *c = w->conns, *next; c != NULL; c = next) {
    next = c->next;
    cg_conn_drain(c);
  }
  if (w->nconns == 0 && !atomic_load(&w->done)) {
    atomic_store(&w->done, 1);
    cg_worker_flush_log(w);
    cg_upstream_worker_stop(srv->upstream, w);
    /* From here other threads' posts are discarded, not queued: the replies
     * handle is about to close (what is queued already is freed in run). */
    pthread_mutex_lock(&w->reply_mu);
    w->reply_closed = 1;
    pthread_mutex_unlock(&w->reply_mu);
    uv_walk(&w->loop, close_walk_cb, NULL);
  }
}

static void on_wake(uv_async_t *a) { apply_state(a->data); }

/* ---- work from other threads ------------------------------------------------ */

struct post {
  cg_worker_fn fn;
  cg_worker_discard_fn discard;
  void *arg, *p;
  int a;
  uint32_t b;
  struct post *next;
};

int cg_worker_post(cg_worker_t *w, cg_worker_fn fn, void *arg, int a, uint32_t b, void *p,
                   cg_worker_discard_fn discard) {
  struct post *r = malloc(sizeof *r);
  if (r == NULL)
    return CG_ENOMEM;
  r->fn = fn, r->discard = discard, r->arg = arg, r->a = a, r->b = b, r->p = p, r->next = NULL;
  pthread_mutex_lock(&w->reply_mu);
  if (w->reply_closed) {
    pthread_mutex_unlock(&w->reply_mu);
    if (discard != NULL)
      discard(p);
    free(r);
    return 0;
  }
  if (w->reply_tail)
    ((struct post *)w->reply_tail)->next = r;
  else
    w->reply_head = r;
  w->reply_tail = r;
  pthread_mutex_unlock(&w->reply_mu);
  /* uv_async_send coalesces: one wake-up runs every post queued by then. */
  uv_async_send(&w->replies);
  return 0;
}

static void on_replies(uv_async_t *a) {
  cg_worker_t *w = a->data;
  struct post *r;
  pthread_mutex_lock(&w->reply_mu);
  r = w->reply_head;
  w->reply_head = w->reply_tail = NULL;
  pthread_mutex_unlock(&w->reply_mu);
  while (r != NULL) {
    struct post *next = r->next;
    r->fn(r->arg, r->a, r->b, r->p);
    free(r);
    r = next;
  }
}

static void on_sweep(uv_timer_t *t) {
  cg_worker_t *w = t->data;
  uv_update_time(&w->loop);
  w->now_ms = uv_now(&w->loop);
  refresh_date(w);
  for (cg_conn_t *c = w->conns, *next; c != NULL; c = next) {
    next = c->next;
    cg_conn_sweep(c, w->now_ms);
  }
  if (w->log.len > 0)
    cg_worker_flush_log(w);
  if (w->srv->state >= CG_STATE_STOPPING)
    apply_state(w);
}

static void *run(void *arg) {
  cg_worker_t *w = arg;
  struct post *r;
  uv_run(&w->loop, UV_RUN_DEFAULT);
  /* No fn runs from here on: what was queued when the replies handle
   * closed, and what comes later, is freed, not left behind. */
  pthread_mutex_lock(&w->reply_mu);
  w->reply_closed = 1;
  r = w->reply_head;
  w->reply_head = w->reply_tail = NULL;
  pthread_mutex_unlock(&w->reply_mu);
  while (r != NULL) {
    struct post *next = r->next;
    if (r->discard != NULL)
      r->discard(r->p);
    free(r);
    r = next;
  }
  cg_worker_flush_log(w);
  cg_upstream_worker_free(w->srv->upstream, w);
  cg_routes_worker_end(w);
  cg_store_reader_close(w->reader);
  w->reader = NULL;
  return NULL;
}

int cg_worker_start(cg_worker_t *w, cg_server_t *srv, int id, int fd) {
  int rc;

  w->id = id;
  w->srv = srv;
  w->listen_fd = fd;
  cg_buf_init(&w->scratch, 16u << 20);
  cg_buf_init(&w->log, 1u << 20);
  if ((rc = cg_store_reader_open(srv->store, &w->reader)) != 0)
    return rc;
  if (uv_loop_init(&w->loop) != 0)
    return CG_EINTERNAL;
  uv_tcp_init(&w->loop, &w->listener);
  w->listener.data = w;
  if (uv_tcp_open(&w->listener, fd) != 0 ||
      uv_listen((uv_stream_t *)&w->listener, 4096, on_connection) != 0)
    return CG_EIO;
  w->listening = 1;
  uv_async_init(&w->loop, &w->wake, on_wake);
  w->wake.data = w;
  pthread_mutex_init(&w->reply_mu, NULL);
  uv_async_init(&w->loop, &w->replies, on_replies);
  w->replies.data = w;
  uv_timer_init(&w->loop, &w->sweep);
  w->sweep.data = w;
  uv_timer_start(&w->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
  w->now_ms = uv_now(&w->loop);
  refresh_date(w);
  atomic_store(&w->seen_gen, atomic_load(&srv->rt)->gen);
  {
    cg_why_t why;
    if ((rc = cg_upstream_worker_start(srv->upstream, w, &why)) != 0) {
      fprintf(stderr, "certgw: %s\n", why.text);
      return rc;
    }
  }
  if (pthread_create(&w->thread, NULL, run, w) != 0)
    return CG_EINTERNAL;
  {
    /* Named for top -H, perf and gdb (15 bytes at most). */
    char name[16];
    snprintf(name, sizeof name, "cg-worker-%u", (unsigned)w->id % 1000u);
    pthread_setname_np(w->thread, name);
  }
  return 0;
}

void cg_worker_wake(cg_worker_t *w) { uv_async_send(&w->wake); }
