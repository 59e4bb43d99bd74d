/* upclient.c — the worker's upstream HTTP client (see upclient.h).
 *
 * A connection carries one call at a time. Between calls it waits in its
 * address's idle list, still reading, so that a platform closing it is seen
 * at once; a call on a reused connection that dies before the first byte
 * of an answer is sent again once on a new connection (the platform may
 * have closed it just as the request went out, and a GET may be repeated).
 *
 * TLS runs over the same libuv stream: mbedTLS reads ciphertext from a
 * buffer the read callback fills and writes into one that is flushed with
 * uv_write after each call into it. Each worker has its own ssl_config and
 * random generator per tier, so no TLS state is shared between threads.
 */
#include "gateway/upclient.h"

#include <llhttp.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"

enum state { S_CONNECTING, S_HANDSHAKE, S_CALL, S_IDLE };

/* A pooled connection idle this long is closed: a firewall or NAT that has
 * forgotten the flow says nothing, and the next call on it would hang until
 * its timeout (and count against the platform's breaker). */
#define IDLE_MS 30000
/* A pooled connection keeps no body buffer larger than this (a holder's
 * list may have grown it to 8 MiB). */
#define IDLE_BUF_MAX (64u << 10)

struct upconn {
  uv_tcp_t tcp; /* first: the handle's address is the connection's */
  uv_connect_t creq;
  uv_timer_t timer;
  cg_upclient_t *cl;
  int tier, addr;
  int state;
  int closing;
  int handles; /* open handles (tcp, timer): freed when both are closed */
  int reused;  /* it served a call before this one */
  int got_bytes; /* answer bytes arrived for this call */
  struct upconn *prev, *next; /* the address's idle list */
  struct upconn *aprev, *anext; /* every connection of the client */
  llhttp_t parser;
  int status, complete, keep_alive;
  cg_buf_t body;
  /* the call */
  cg_upcall_t *call;  /* NULL between calls, or once it has ended */
  int fail_kind;      /* a failure found while starting, reported on the next turn */
  char *request;
  size_t request_len;
  uint64_t deadline; /* loop ms */
  unsigned connect_ms, total_ms;
  /* TLS */
  mbedtls_ssl_context *ssl;
  cg_buf_t tls_in;
  size_t tls_in_off;
  cg_buf_t tls_out;
};

/* A call's handle: it outlives the connection it started on when that one
 * dies before answering and the call moves to a fresh one. */
struct cg_upcall {
  struct upconn *u;
  cg_upcall_cb cb;
  void *arg;
};

struct address {
  struct sockaddr_storage sa;
  char host[128];
  unsigned port;
  int tls;
  struct upconn *idle;
  unsigned nidle;
};

struct tier {
  struct address addrs[CG_TIER_ADDRS_MAX];
  int naddrs;
  int tls;
  char server_name[128];
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
};

struct cg_upclient {
  uv_loop_t *loop;
  unsigned pool;
  struct tier tiers[CG_TIERS_MAX];
  int ntiers;
  struct upconn *all; /* every connection not yet closing */
  llhttp_settings_t settings;
  int closed;
};

static const char *const kind_names[CG_UP__KINDS] = {
    [CG_UP_OK] = "ok",          [CG_UP_CONNECT] = "connect", [CG_UP_RESET] = "reset",
    [CG_UP_TIMEOUT] = "timeout", [CG_UP_PROTOCOL] = "protocol", [CG_UP_TLS] = "tls",
};

const char *cg_upcall_kind_name(int kind) {
  return kind >= 0 && kind < CG_UP__KINDS ? kind_names[kind] : "unknown";
}

/* ---- connection lifetime ------------------------------------------------------ */

static void conn_free(struct upconn *u) {
  if (u->ssl != NULL) {
    mbedtls_ssl_free(u->ssl);
    free(u->ssl);
  }
  cg_buf_free(&u->body);
  cg_buf_free(&u->tls_in);
  cg_buf_free(&u->tls_out);
  free(u->request);
  free(u);
}

static void on_handle_closed(uv_handle_t *h) {
  struct upconn *u = h->data;
  if (--u->handles == 0)
    conn_free(u);
}

static void idle_remove(struct upconn *u) {
  struct address *a = &u->cl->tiers[u->tier].addrs[u->addr];
  if (u->state != S_IDLE)
    return;
  if (u->prev)
    u->prev->next = u->next;
  else
    a->idle = u->next;
  if (u->next)
    u->next->prev = u->prev;
  u->prev = u->next = NULL;
  a->nidle--;
}

static void conn_close(struct upconn *u) {
  if (u->closing)
    return;
  idle_remove(u);
  if (u->aprev)
    u->aprev->anext = u->anext;
  else
    u->cl->all = u->anext;
  if (u->anext)
    u->anext->aprev = u->aprev;
  u->closing = 1;
  /* A call still on it ends without its callback (the client is closing). */
  free(u->call);
  u->call = NULL;
  uv_close((uv_handle_t *)&u->timer, on_handle_closed);
  uv_close((uv_handle_t *)&u->tcp, on_handle_closed);
}

static int start_call(struct upconn *u);
static struct upconn *conn_new(cg_upclient_t *cl, int tier, int addr);

static void fail_later(struct upconn *u, int kind);

static void on_idle_expired(uv_timer_t *t) {
  conn_close(t->data); /* (out of the pool first: conn_close) */
}

/* The call ends: its callback runs once, then the connection is kept or
 * closed. */
static void finish(struct upconn *u, int kind) {
  cg_upcall_t *call = u->call;

  uv_timer_stop(&u->timer);
  u->call = NULL;
  /* A reused connection that died before answering: once more, fresh. */
  if (kind != CG_UP_OK && kind != CG_UP_TIMEOUT && u->reused && !u->got_bytes && call != NULL) {
    struct upconn *n = conn_new(u->cl, u->tier, u->addr);
    if (n != NULL) {
      n->call = call;
      call->u = n;
      n->request = u->request, n->request_len = u->request_len;
      u->request = NULL;
      n->deadline = u->deadline, n->connect_ms = u->connect_ms, n->total_ms = u->total_ms;
      conn_close(u);
      if (start_call(n) != 0)
        fail_later(n, CG_UP_CONNECT);
      return;
    }
  }
  if (call != NULL) {
    cg_upcall_cb cb = call->cb;
    void *arg = call->arg;
    free(call);
    cb(arg, kind, u->status, u->body.base, u->body.len);
  }
  if (u->closing)
    return;
  if (kind == CG_UP_OK && u->keep_alive && !u->cl->closed) {
    struct address *a = &u->cl->tiers[u->tier].addrs[u->addr];
    if (a->nidle < u->cl->pool) {
      free(u->request);
      u->request = NULL;
      if (u->body.cap > IDLE_BUF_MAX)
        cg_buf_free(&u->body);
      uv_timer_start(&u->timer, on_idle_expired, IDLE_MS, 0); /* (a call restarts it) */
      u->state = S_IDLE;
      u->reused = 1;
      u->next = a->idle;
      u->prev = NULL;
      if (a->idle)
        a->idle->prev = u;
      a->idle = u;
      a->nidle++;
      return;
    }
  }
  conn_close(u);
}

/* ---- writing ------------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status) {
  struct upconn *u = req->data;
  free(req);
  if (status != 0 && !u->closing && u->call != NULL) {
    finish(u, CG_UP_RESET);
    conn_close(u);
  }
}

static int send_raw(struct upconn *u, const void *p, size_t len) {
  uv_write_t *req = malloc(sizeof *req + len);
  uv_buf_t b;
  if (req == NULL)
    return CG_ENOMEM;
  memcpy(req + 1, p, len);
  b = uv_buf_init((char *)(req + 1), (unsigned)len);
  req->data = u;
  if (uv_write(req, (uv_stream_t *)&u->tcp, &b, 1, on_written) != 0) {
    free(req);
    return CG_EIO;
  }
  return 0;
}

/* mbedTLS's send: collect, flushed after the call into mbedTLS returns. */
static int bio_send(void *ctx, const unsigned char *p, size_t len) {
  struct upconn *u = ctx;
  return cg_buf_append(&u->tls_out, p, len) == 0 ? (int)len : MBEDTLS_ERR_SSL_ALLOC_FAILED;
}

static int bio_recv(void *ctx, unsigned char *p, size_t len) {
  struct upconn *u = ctx;
  size_t have = u->tls_in.len - u->tls_in_off;
  if (have == 0)
    return MBEDTLS_ERR_SSL_WANT_READ;
  if (len > have)
    len = have;
  memcpy(p, u->tls_in.base + u->tls_in_off, len);
  u->tls_in_off += len;
  if (u->tls_in_off == u->tls_in.len)
    cg_buf_reset(&u->tls_in), u->tls_in_off = 0;
  return (int)len;
}

static int flush_tls(struct upconn *u) {
  int err = 0;
  if (u->tls_out.len > 0) {
    err = send_raw(u, u->tls_out.base, u->tls_out.len);
    cg_buf_reset(&u->tls_out);
  }
  return err;
}

static int send_request(struct upconn *u) {
  if (u->ssl == NULL)
    return send_raw(u, u->request, u->request_len);
  for (size_t off = 0; off < u->request_len;) {
    int n = mbedtls_ssl_write(u->ssl, (const unsigned char *)u->request + off,
                              u->request_len - off);
    if (n < 0 && n != MBEDTLS_ERR_SSL_WANT_WRITE && n != MBEDTLS_ERR_SSL_WANT_READ)
      return CG_EIO;
    if (n > 0)
      off += (size_t)n;
    if (flush_tls(u) != 0)
      return CG_EIO;
  }
  return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static int on_headers_complete(llhttp_t *p) {
  struct upconn *u = p->data;
  u->status = p->status_code;
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct upconn *u = p->data;
  return cg_buf_append(&u->body, at, len) == 0 ? 0 : -1;
}

static int on_message_complete(llhttp_t *p) {
  struct upconn *u = p->data;
  u->complete = 1;
  u->keep_alive = llhttp_should_keep_alive(p);
  return HPE_PAUSED; /* nothing after the answer belongs to this call */
}

static void parse(struct upconn *u, const char *p, size_t len) {
  llhttp_errno_t e;
  if (u->state != S_CALL) { /* an idle connection has nothing to say */
    conn_close(u);
    return;
  }
  u->got_bytes = 1;
  e = llhttp_execute(&u->parser, p, len);
  if (u->complete) {
    /* Bytes after the answer: the connection is not reusable. */
    if (e == HPE_PAUSED && llhttp_get_error_pos(&u->parser) != p + len)
      u->keep_alive = 0;
    finish(u, CG_UP_OK);
  } else if (e != HPE_OK) {
    finish(u, CG_UP_PROTOCOL);
  }
}

/* The peer closed: an answer without Content-Length or chunks ends here.
 * Whether it is complete now: llhttp_finish runs on_message_complete, whose
 * HPE_PAUSED it passes back (llhttp 8.1, api.c), so that is success too. */
static int finish_at_close(struct upconn *u) {
  llhttp_errno_t e = llhttp_finish(&u->parser);
  if ((e != HPE_OK && e != HPE_PAUSED) || !u->complete)
    return 0;
  u->keep_alive = 0;
  return 1;
}

static void handshake(struct upconn *u);

static void on_tls_data(struct upconn *u) {
  unsigned char buf[16384];
  if (u->state == S_HANDSHAKE) {
    handshake(u);
    if (u->closing || u->state == S_HANDSHAKE || u->call == NULL)
      return;
  }
  while (!u->closing && (u->state == S_CALL || u->state == S_IDLE)) {
    int n = mbedtls_ssl_read(u->ssl, buf, sizeof buf);
    flush_tls(u);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
      return;
    if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
      if (u->state == S_CALL && finish_at_close(u))
        finish(u, CG_UP_OK);
      else if (u->state == S_CALL)
        finish(u, CG_UP_RESET);
      else
        conn_close(u);
      return;
    }
    if (n < 0) {
      if (u->state == S_CALL)
        finish(u, CG_UP_RESET);
      else
        conn_close(u);
      return;
    }
    parse(u, (const char *)buf, (size_t)n);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  static _Thread_local char buf[65536];
  (void)h, (void)suggested;
  *b = uv_buf_init(buf, sizeof buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct upconn *u = s->data;
  if (u->closing || n == 0)
    return;
  if (n < 0) {
    if (u->state == S_IDLE || u->call == NULL) {
      conn_close(u);
    } else if (n == UV_EOF && u->ssl == NULL && u->state == S_CALL && finish_at_close(u)) {
      finish(u, CG_UP_OK); /* an answer delimited by the close */
    } else {
      finish(u, CG_UP_RESET);
      conn_close(u);
    }
    return;
  }
  if (u->ssl != NULL) {
    if (cg_buf_append(&u->tls_in, b->base, (size_t)n) != 0) {
      finish(u, CG_UP_PROTOCOL);
      conn_close(u);
      return;
    }
    on_tls_data(u);
  } else {
    parse(u, b->base, (size_t)n);
  }
}

/* ---- the call ------------------------------------------------------------------ */

static void on_timeout(uv_timer_t *t) {
  struct upconn *u = t->data;
  finish(u, CG_UP_TIMEOUT);
  conn_close(u);
}

/* Returns 0, or -1 when the request could not be sent (the caller reports). */
static int begin_request(struct upconn *u) {
  uint64_t now = uv_now(u->cl->loop);
  u->state = S_CALL;
  u->status = 0, u->complete = 0, u->keep_alive = 0, u->got_bytes = 0;
  cg_buf_reset(&u->body);
  llhttp_init(&u->parser, HTTP_RESPONSE, &u->cl->settings);
  u->parser.data = u;
  uv_timer_start(&u->timer, on_timeout, u->deadline > now ? u->deadline - now : 0, 0);
  return send_request(u) == 0 ? 0 : -1;
}

static void handshake(struct upconn *u) {
  int rc = mbedtls_ssl_handshake(u->ssl);
  flush_tls(u);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
    return;
  if (rc != 0) {
    finish(u, CG_UP_TLS);
    conn_close(u);
    return;
  }
  if (begin_request(u) != 0) {
    finish(u, CG_UP_RESET);
    conn_close(u);
  }
}

static void on_connect(uv_connect_t *req, int status) {
  struct upconn *u = req->data;
  if (u->closing)
    return;
  if (status != 0) {
    finish(u, CG_UP_CONNECT);
    conn_close(u);
    return;
  }
  uv_tcp_nodelay(&u->tcp, 1);
  if (uv_read_start((uv_stream_t *)&u->tcp, on_alloc, on_read) != 0) {
    finish(u, CG_UP_CONNECT);
    conn_close(u);
    return;
  }
  if (u->ssl != NULL) {
    uint64_t now = uv_now(u->cl->loop);
    u->state = S_HANDSHAKE;
    uv_timer_start(&u->timer, on_timeout, u->deadline > now ? u->deadline - now : 0, 0);
    handshake(u);
    return;
  }
  if (begin_request(u) != 0) {
    finish(u, CG_UP_RESET);
    conn_close(u);
  }
}

static struct upconn *conn_new(cg_upclient_t *cl, int tier, int addr) {
  struct upconn *u = calloc(1, sizeof *u);
  struct tier *t = &cl->tiers[tier];
  if (u == NULL)
    return NULL;
  u->cl = cl;
  u->tier = tier, u->addr = addr;
  cg_buf_init(&u->body, CG_UPCALL_BODY_MAX);
  cg_buf_init(&u->tls_in, 1u << 20);
  cg_buf_init(&u->tls_out, 1u << 20);
  if (t->addrs[addr].tls) {
    if ((u->ssl = malloc(sizeof *u->ssl)) == NULL) {
      conn_free(u);
      return NULL;
    }
    mbedtls_ssl_init(u->ssl);
    if (mbedtls_ssl_setup(u->ssl, &t->conf) != 0 ||
        mbedtls_ssl_set_hostname(u->ssl, t->server_name[0] ? t->server_name
                                                          : t->addrs[addr].host) != 0) {
      conn_free(u);
      return NULL;
    }
    mbedtls_ssl_set_bio(u->ssl, u, bio_send, bio_recv, NULL);
  }
  uv_tcp_init(cl->loop, &u->tcp);
  uv_timer_init(cl->loop, &u->timer);
  u->tcp.data = u->timer.data = u->creq.data = u;
  u->handles = 2;
  u->state = S_CONNECTING;
  u->anext = cl->all;
  if (cl->all)
    cl->all->aprev = u;
  cl->all = u;
  return u;
}

static void on_connect_timeout(uv_timer_t *t) {
  struct upconn *u = t->data;
  finish(u, CG_UP_TIMEOUT);
  conn_close(u);
}

static int start_call(struct upconn *u) {
  struct address *a = &u->cl->tiers[u->tier].addrs[u->addr];
  uint64_t now = uv_now(u->cl->loop);
  uint64_t left = u->deadline > now ? u->deadline - now : 0;
  if (uv_tcp_connect(&u->creq, &u->tcp, (struct sockaddr *)&a->sa, on_connect) != 0)
    return CG_EIO;
  uv_timer_start(&u->timer, on_connect_timeout, left < u->connect_ms ? left : u->connect_ms, 0);
  return 0;
}

static void on_fail_timer(uv_timer_t *t) {
  struct upconn *u = t->data;
  finish(u, u->fail_kind);
  conn_close(u);
}

/* A failure found while a call starts is reported on the next turn of the
 * loop: a callback never runs inside cg_upclient_get. */
static void fail_later(struct upconn *u, int kind) {
  u->fail_kind = kind;
  uv_timer_start(&u->timer, on_fail_timer, 0, 0);
}

cg_upcall_t *cg_upclient_get(cg_upclient_t *cl, int tier, int addr, const char *target,
                             const char *headers, unsigned connect_ms, unsigned total_ms,
                             cg_upcall_cb cb, void *arg) {
  struct address *a = &cl->tiers[tier].addrs[addr];
  struct upconn *u = a->idle;
  cg_upcall_t *call = malloc(sizeof *call);
  char *req;
  int n;

  size_t cap = strlen(target) + strlen(headers) + strlen(a->host) + 64;
  if (call == NULL || (req = malloc(cap)) == NULL) {
    free(call);
    return NULL;
  }
  n = snprintf(req, cap, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n%s\r\n", target, a->host, a->port,
               headers);
  if (u != NULL) {
    idle_remove(u);
  } else if ((u = conn_new(cl, tier, addr)) == NULL) {
    free(req);
    free(call);
    return NULL;
  }
  call->u = u, call->cb = cb, call->arg = arg;
  u->call = call;
  u->request = req;
  u->request_len = (size_t)n;
  u->connect_ms = connect_ms, u->total_ms = total_ms;
  u->deadline = uv_now(cl->loop) + total_ms;
  if (u->state == S_IDLE) {
    if (begin_request(u) != 0)
      fail_later(u, CG_UP_RESET);
  } else if (start_call(u) != 0) {
    fail_later(u, CG_UP_CONNECT);
  }
  return call;
}

void cg_upcall_cancel(cg_upcall_t *call) {
  struct upconn *u = call->u;
  u->call = NULL;
  free(call);
  conn_close(u);
}

/* ---- the client ------------------------------------------------------------------ */

static int tls_setup(struct tier *t, const cg_tier_t *ct, cg_why_t *why) {
  int rc;
  mbedtls_ssl_config_init(&t->conf);
  mbedtls_x509_crt_init(&t->ca);
  mbedtls_entropy_init(&t->entropy);
  mbedtls_ctr_drbg_init(&t->drbg);
  t->tls = 1; /* from here on cg_upclient_free frees them */
  if ((rc = mbedtls_x509_crt_parse_file(&t->ca, ct->ca_file)) < 0)
    return cg_why_set(why, CG_ECONFIG, "upstream %s: cannot read the CA in %s (-0x%04x)",
                      ct->name, ct->ca_file, (unsigned)-rc);
  if (mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                            (const unsigned char *)"certgw-upclient", 15) != 0 ||
      mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT) != 0)
    return cg_why_set(why, CG_EINTERNAL, "upstream %s: TLS setup failed", ct->name);
  /* The platform must prove who it is: a certificate from this CA, for
   * this name. */
  mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
  mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
  mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  return 0;
}

int cg_upclient_new(cg_upclient_t **out, uv_loop_t *loop, const cg_config_t *cfg, cg_why_t *why) {
  cg_upclient_t *cl = calloc(1, sizeof *cl);
  int err;

  if (cl == NULL)
    return CG_ENOMEM;
  cl->loop = loop;
  cl->pool = cfg->up_pool;
  llhttp_settings_init(&cl->settings);
  cl->settings.on_headers_complete = on_headers_complete;
  cl->settings.on_body = on_body;
  cl->settings.on_message_complete = on_message_complete;
  for (int i = 0; i < cfg->ntiers; i++) {
    const cg_tier_t *ct = &cfg->tiers[i];
    struct tier *t = &cl->tiers[i];
    int need_tls = 0;
    snprintf(t->server_name, sizeof t->server_name, "%s", ct->server_name);
    for (int j = 0; j < ct->naddrs; j++) {
      struct address *a = &t->addrs[j];
      struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
      char port[8];
      snprintf(a->host, sizeof a->host, "%s", ct->addrs[j].host);
      a->port = ct->addrs[j].port;
      a->tls = ct->addrs[j].tls;
      need_tls |= a->tls;
      snprintf(port, sizeof port, "%u", a->port);
      if (getaddrinfo(a->host, port, &hints, &res) != 0 || res == NULL) {
        cl->ntiers = i;
        cg_upclient_free(cl);
        return cg_why_set(why, CG_ECONFIG, "upstream %s: cannot resolve %s", ct->name, a->host);
      }
      memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
      freeaddrinfo(res);
    }
    t->naddrs = ct->naddrs;
    cl->ntiers = i + 1;
    if (need_tls && (err = tls_setup(t, ct, why)) != 0) {
      cg_upclient_free(cl);
      return err;
    }
  }
  *out = cl;
  return 0;
}

void cg_upclient_close(cg_upclient_t *cl) {
  if (cl == NULL)
    return;
  cl->closed = 1;
  while (cl->all != NULL)
    conn_close(cl->all);
}

void cg_upclient_free(cg_upclient_t *cl) {
  if (cl == NULL)
    return;
  cg_upclient_close(cl);
  /* Only now, with every connection's close callback run, may the TLS
   * configuration go. */
  for (int i = 0; i < cl->ntiers; i++) {
    struct tier *t = &cl->tiers[i];
    if (t->tls) {
      mbedtls_ssl_config_free(&t->conf);
      mbedtls_x509_crt_free(&t->ca);
      mbedtls_ctr_drbg_free(&t->drbg);
      mbedtls_entropy_free(&t->entropy);
    }
  }
  free(cl);
}
