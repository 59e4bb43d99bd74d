/* conn.c — a client connection: strict HTTP/1.1 on llhttp.
 *
 * Input is fed to llhttp; on_message_complete pauses the parser so each
 * request is answered before the next is parsed (pipelined answers stay in
 * order). Answers go to out[fill]; one write at a time drains the other
 * buffer. When the pending output grows past OUT_HIGH the unparsed input is
 * stashed and reading stops until the client has read what it asked for.
 * llhttp leaves some ambiguous framing to the application: folded header
 * lines, missing or repeated Host, Upgrade. Those are refused here.
 */
#include "gateway/conn.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "gateway/routes.h"
#include "gateway/upstream.h"

#define OUT_HIGH (256 * 1024) /* pending output that stops reading */
#define OUT_MAX (8u << 20)    /* one buffer's hard limit */

static const llhttp_settings_t *settings(void);
static void close_cb(uv_handle_t *h);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void start_write(cg_conn_t *c);

static const cg_config_t *cfg(cg_conn_t *c) {
  return atomic_load_explicit(&c->w->srv->rt, memory_order_acquire)->cfg;
}

/* ---- life cycle ------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  cg_conn_t *c = h->data;
  (void)suggested;
  /* One buffer per worker: every byte read is parsed (or stashed) before
   * the callback returns. */
  buf->base = c->w->readbuf;
  buf->len = sizeof c->w->readbuf;
}

static void request_reset(cg_conn_t *c) {
  cg_request_t *r = &c->req;
  cg_buf_t body = r->body;
  cg_buf_reset(&body);
  memset(r, 0, offsetof(cg_request_t, body));
  r->body = body;
  r->url[0] = r->auth[0] = r->inm[0] = r->xff[0] = '\0';
  r->route = CG_ROUTE_OTHER;
  r->venue_id = NULL;
  r->venue = NULL;
  c->field_len = 0;
  c->in_value = 0;
  c->value_parts = 0;
  c->head_bytes = 0;
  c->nheaders = 0;
  c->err_status = 0;
  c->err_message = NULL;
  c->ov_set = 0;
}

void cg_conn_accept(cg_worker_t *w) {
  const cg_config_t *conf = atomic_load(&w->srv->rt)->cfg;
  cg_conn_t *c = calloc(1, sizeof *c);

  w->now_ms = uv_now(&w->loop); /* deadlines count from now, not the last sweep */
  if (c == NULL)
    return;
  c->w = w;
  uv_tcp_init(&w->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, close_cb);
    return;
  }
  /* Link first: close_cb unlinks. */
  c->next = w->conns;
  if (w->conns)
    w->conns->prev = c;
  w->conns = c;
  w->nconns++;
  cg_count(&w->metrics.connections_open, 1);
  cg_count(&w->metrics.connections_total, 1);
  if (w->nconns > conf->max_connections || w->srv->state >= CG_STATE_STOPPING) {
    cg_conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (conf->send_buffer > 0) {
    int size = (int)conf->send_buffer; /* at most 64M: the config says so */
    uv_send_buffer_size((uv_handle_t *)&c->tcp, &size);
  }
  llhttp_init(&c->parser, HTTP_REQUEST, settings());
  c->parser.data = c;
  cg_buf_init(&c->req.body, conf->max_body_bytes);
  cg_buf_init(&c->out[0], OUT_MAX);
  cg_buf_init(&c->out[1], OUT_MAX);
  cg_buf_init(&c->stash, sizeof w->readbuf);
  c->writing = -1;
  /* A connection that sends nothing is closed after the header timeout. */
  c->phase = CG_PHASE_HEAD;
  c->deadline_ms = w->now_ms + conf->header_timeout_ms;
  c->proxy_wait = conf->proxy_protocol != 0;
  c->reading = 1;
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

static void conn_free(cg_conn_t *c) {
  cg_worker_t *w = c->w;

  if (c->prev)
    c->prev->next = c->next;
  else if (w->conns == c)
    w->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  if (w->nconns > 0) {
    w->nconns--;
    atomic_store_explicit(&w->metrics.connections_open,
                          cg_read(&w->metrics.connections_open) - 1, memory_order_relaxed);
  }
  cg_upresult_release(c->up_result);
  cg_buf_free(&c->req.body);
  cg_buf_free(&c->out[0]);
  cg_buf_free(&c->out[1]);
  cg_buf_free(&c->stash);
  free(c);
  if (w->srv->state >= CG_STATE_STOPPING && w->nconns == 0)
    cg_worker_wake(w);
}

static void close_cb(uv_handle_t *h) {
  cg_conn_t *c = h->data;
  /* A seal check still holds this connection's address: it is freed when
   * the answer arrives (cg_conn_continue), not before. */
  if (c->suspended)
    c->handle_closed = 1;
  else
    conn_free(c);
}

void cg_conn_close(cg_conn_t *c) {
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, close_cb);
}

/* Lingering close. A connection closed with input unread — a body past
 * max_body_bytes, a head past max_header_bytes, still being sent — makes
 * the kernel send a reset, and a reset that reaches the client before it
 * has read the answer destroys it (RFC 9112 9.6). So after a 413 or 431
 * the write side is shut once the answer is out (a FIN after it) and what
 * the client still sends is read and dropped, until it closes, for at most
 * LINGER_MS or LINGER_BYTES. Not after a 408: a client that trickles is
 * not waited for. */
#define LINGER_MS 5000
#define LINGER_BYTES (64u << 20)

static void shutdown_cb(uv_shutdown_t *req, int status) {
  cg_conn_t *c = req->data;
  if (status < 0 && status != UV_ECANCELED) /* (ECANCELED: closed meanwhile) */
    cg_conn_close(c);
}

static void linger(cg_conn_t *c) {
  if (c->lingering)
    return; /* (write_cb may come here twice: once through start_write) */
  if (!c->linger || c->eof) {
    cg_conn_close(c);
    return;
  }
  c->lingering = 1;
  c->w->now_ms = uv_now(&c->w->loop);
  c->deadline_ms = c->w->now_ms + LINGER_MS;
  c->sreq.data = c;
  if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
    cg_conn_close(c);
    return;
  }
  if (!c->reading) {
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
  }
}

/* ---- answers ---------------------------------------------------------------- */

/* Status lines, written whole: formatting them for every answer showed up
 * in profiles. */
static const char *status_line(int status) {
  switch (status) {
  case 200: return "HTTP/1.1 200 OK\r\n";
  case 304: return "HTTP/1.1 304 Not Modified\r\n";
  case 400: return "HTTP/1.1 400 Bad Request\r\n";
  case 401: return "HTTP/1.1 401 Unauthorized\r\n";
  case 403: return "HTTP/1.1 403 Forbidden\r\n";
  case 404: return "HTTP/1.1 404 Not Found\r\n";
  case 405: return "HTTP/1.1 405 Method Not Allowed\r\n";
  case 408: return "HTTP/1.1 408 Request Timeout\r\n";
  case 409: return "HTTP/1.1 409 Conflict\r\n";
  case 410: return "HTTP/1.1 410 Gone\r\n";
  case 413: return "HTTP/1.1 413 Content Too Large\r\n";
  case 414: return "HTTP/1.1 414 URI Too Long\r\n";
  case 429: return "HTTP/1.1 429 Too Many Requests\r\n";
  case 431: return "HTTP/1.1 431 Request Header Fields Too Large\r\n";
  case 503: return "HTTP/1.1 503 Service Unavailable\r\n";
  case 504: return "HTTP/1.1 504 Gateway Timeout\r\n";
  case 507: return "HTTP/1.1 507 Insufficient Storage\r\n";
  default: return "HTTP/1.1 500 Internal Server Error\r\n";
  }
}

/* Whether the connection stays open after this answer. */
static int keep_open(cg_conn_t *c) {
  return !c->close_after && c->w->srv->state < CG_STATE_STOPPING &&
         llhttp_should_keep_alive(&c->parser);
}

static char *put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}
#define PUTS(p, lit) put(p, lit, sizeof lit - 1)

static char *put_size(char *p, size_t v) {
  char tmp[24];
  int n = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (n > 0)
    *p++ = tmp[--n];
  return p;
}

void cg_conn_respond(cg_conn_t *c, int status, const char *ctype, const char *headers,
                     const char *body, size_t len) {
  cg_conn_respond2(c, status, ctype, headers, body, len, NULL, 0);
}

void cg_conn_respond2(cg_conn_t *c, int status, const char *ctype, const char *headers,
                      const char *body, size_t len1, const char *body2, size_t len2) {
  size_t len = len1 + len2;
  cg_buf_t *o = &c->out[c->fill];
  int keep = c->err_status == 0 && keep_open(c);
  int with_body = body != NULL && c->req.method != HTTP_HEAD && status != 304;
  const char *sl = status_line(status);
  size_t hlen = headers ? strlen(headers) : 0, clen = ctype ? strlen(ctype) : 0;
  char *p;

  if (!keep)
    c->close_after = 1;
  if (cg_buf_reserve(o, 192 + strlen(sl) + clen + hlen + (with_body ? len : 0)) != 0) {
    c->close_after = 1; /* the output limit: this client reads nothing */
  } else {
    p = o->base + o->len;
    p = put(p, sl, strlen(sl));
    p = PUTS(p, "Server: certgw\r\n");
    p = put(p, c->w->date, strlen(c->w->date));
    if (ctype != NULL) {
      p = PUTS(p, "Content-Type: ");
      p = put(p, ctype, clen);
      p = PUTS(p, "\r\n");
    }
    if (status != 304) {
      p = PUTS(p, "Content-Length: ");
      p = put_size(p, len);
      p = PUTS(p, "\r\n");
    }
    if (hlen)
      p = put(p, headers, hlen);
    if (!keep)
      p = PUTS(p, "Connection: close\r\n\r\n");
    else if (c->req.http_minor == 0)
      p = PUTS(p, "Connection: keep-alive\r\n\r\n");
    else
      p = PUTS(p, "\r\n");
    if (with_body) {
      p = put(p, body, len1);
      if (len2)
        p = put(p, body2, len2);
    }
    o->len = (size_t)(p - o->base);
  }
  cg_metrics_observe(&c->w->metrics, c->req.route, status, uv_hrtime() - c->req.start_ns);
  cg_routes_log(c, status, len);
}

void cg_conn_error(cg_conn_t *c, int code, const char *message) {
  char body[512];
  const char *extra = code == CG_EMETHOD ? cg_routes_allow(c) : NULL;
  int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                   cg_err_name(code), message ? message : cg_strerror(code));
  if (n < 0 || (size_t)n >= sizeof body)
    n = 0;
  cg_conn_respond(c, cg_err_status(code), "application/json", extra, body, (size_t)n);
}

/* Answers a message llhttp (or a callback) refused, then closes: after a
 * framing error nothing that follows on the connection can be trusted. */
static void refuse(cg_conn_t *c, int status, const char *message) {
  int code = status == 431   ? CG_EHDRBIG
             : status == 413 ? CG_ETOOBIG
             : status == 408 ? CG_ETIMEDOUT
             : status == 414 ? CG_EBADREQ
                             : CG_EBADREQ;
  char body[384];
  int n;

  c->close_after = 1;
  c->linger = status == 413 || status == 431;
  c->err_status = status;
  if (!c->began) {
    c->req.start_ns = uv_hrtime();
    c->req.route = CG_ROUTE_OTHER;
  }
  n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
               status == 414 ? "uri_too_long" : cg_err_name(code),
               message ? message : cg_strerror(code));
  cg_conn_respond(c, status, "application/json", NULL, body, n > 0 ? (size_t)n : 0);
  if (status == 400)
    cg_count(&c->w->metrics.bad_requests_closed, 1);
  c->began = 0;
}

/* ---- writing --------------------------------------------------------------- */

static size_t pending(const cg_conn_t *c) {
  return c->out[0].len + c->out[1].len;
}

static void feed(cg_conn_t *c, const char *data, size_t len);

static void write_cb(uv_write_t *req, int status) {
  cg_conn_t *c = req->data;
  const cg_config_t *conf;

  cg_buf_reset(&c->out[c->writing]);
  c->writing = -1;
  if (status < 0 || c->closing) {
    cg_conn_close(c);
    return;
  }
  conf = cfg(c);
  if (c->out[c->fill].len > 0) {
    start_write(c);
    if (c->writing >= 0 || c->closing)
      return;
  }
  if (c->close_after) {
    linger(c);
    return;
  }
  /* Everything asked for has been read: take up held-back input (unless a
   * request still waits for its answer). */
  if (!c->reading && !c->suspended) {
    if (c->stash.len > 0) {
      cg_buf_t s = c->stash;
      cg_buf_init(&c->stash, sizeof c->w->readbuf);
      feed(c, s.base, s.len);
      cg_buf_free(&s);
      /* The last request held back may now wait for its answer (a seal
       * check, a platform) with nothing after it: reading waits too, or the
       * next request would overwrite it and be answered first. */
      if (c->closing || c->suspended || c->stash.len > 0 || c->writing >= 0)
        return;
    }
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
  }
  if (c->phase == CG_PHASE_IDLE)
    c->deadline_ms = c->w->now_ms + conf->idle_timeout_ms;
}

static void start_write(cg_conn_t *c) {
  cg_buf_t *o;
  uv_buf_t b;
  int n;

  if (c->writing >= 0 || c->closing || c->out[c->fill].len == 0)
    return;
  o = &c->out[c->fill];
  /* Most answers fit the socket buffer: write them now, without a write
   * request and its callback on the next loop turn. */
  b = uv_buf_init(o->base, (unsigned)o->len);
  n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)o->len) {
    cg_buf_reset(o);
    if (c->close_after)
      linger(c);
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    cg_conn_close(c);
    return;
  }
  if (n > 0) {
    memmove(o->base, o->base + n, o->len - (size_t)n);
    o->len -= (size_t)n;
  }
  c->writing = c->fill;
  c->fill ^= 1;
  b = uv_buf_init(c->out[c->writing].base, (unsigned)c->out[c->writing].len);
  c->wreq.data = c;
  c->write_deadline_ms = c->w->now_ms + cfg(c)->write_timeout_ms;
  c->write_left = b.len;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
    cg_buf_reset(&c->out[c->writing]);
    c->writing = -1;
    cg_conn_close(c);
  }
}

/* ---- llhttp callbacks ------------------------------------------------------ */

enum { H_OTHER, H_AUTH, H_INM, H_HOST, H_UPGRADE, H_XFF };

static int header_kind(const cg_conn_t *c) {
  if (c->field_len == 13 && strncasecmp(c->field, "authorization", 13) == 0)
    return H_AUTH;
  if (c->field_len == 13 && strncasecmp(c->field, "if-none-match", 13) == 0)
    return H_INM;
  if (c->field_len == 4 && strncasecmp(c->field, "host", 4) == 0)
    return H_HOST;
  if (c->field_len == 7 && strncasecmp(c->field, "upgrade", 7) == 0)
    return H_UPGRADE;
  if (c->field_len == 15 && strncasecmp(c->field, "x-forwarded-for", 15) == 0)
    return H_XFF;
  return H_OTHER;
}

static int fail(cg_conn_t *c, int status, const char *message) {
  c->err_status = status;
  c->err_message = message;
  return -1; /* HPE_USER */
}

static int count_head(cg_conn_t *c, size_t n) {
  c->head_bytes += n;
  if (c->head_bytes > cfg(c)->max_header_bytes)
    return fail(c, 431, "the request head is larger than this server accepts");
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  cg_conn_t *c = p->data;
  request_reset(c);
  c->began = 1;
  c->req.start_ns = uv_hrtime();
  c->phase = CG_PHASE_HEAD;
  /* One deadline for the whole head, not reset by each byte: a client that
   * trickles a header a byte at a time still runs out of time. */
  c->deadline_ms = c->w->now_ms + cfg(c)->header_timeout_ms;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  cg_conn_t *c = p->data;
  if (count_head(c, n))
    return -1;
  if (c->req.url_len + n > CG_URL_MAX)
    return fail(c, 414, "the request target is too long");
  memcpy(c->req.url + c->req.url_len, at, n);
  c->req.url_len += n;
  c->req.url[c->req.url_len] = '\0';
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  cg_conn_t *c = p->data;
  if (count_head(c, n))
    return -1;
  if (c->req.trailers)
    return 0; /* (see on_header_value) */
  if (c->in_value || c->nheaders == 0) {
    /* A new header begins (llhttp may split a name over several calls). */
    if (++c->nheaders > (int)cfg(c)->max_headers)
      return fail(c, 431, "the request has too many header fields");
    c->field_len = 0;
    c->in_value = 0;
    c->value_parts = 0;
  }
  /* A name longer than the buffer is one we do not look at: its length
   * counts on, its bytes past the buffer are dropped (a name that comes in
   * several parts may have passed the end already). */
  if (c->field_len < sizeof c->field) {
    size_t room = sizeof c->field - c->field_len;
    memcpy(c->field + c->field_len, at, n < room ? n : room);
  }
  c->field_len += n;
  return 0;
}

static int on_header_field_complete(llhttp_t *p) {
  cg_conn_t *c = p->data;
  /* Here, not at the first value part: an empty value has none, and the
   * next header's name would be taken for more of this one. */
  c->in_value = 1;
  return 0;
}

/* Whether the bytes before at, back over spaces and tabs, end a line. A
 * value part after a line end is an obsolete line folding: llhttp passes a
 * line starting with a space or tab as more of the value (or, after an
 * empty value, as the value), with the line end skipped. HAProxy would
 * unfold it into something else, so it is refused (RFC 9112 5.2). Looking
 * back, rather than comparing where parts start and end, also catches the
 * fold that is a value's first part. */
static int after_line_end(const cg_conn_t *c, const char *at) {
  const char *q = at;
  while (q > c->exec_begin && (q[-1] == ' ' || q[-1] == '\t'))
    q--;
  return q > c->exec_begin ? q[-1] == '\n' : c->tail_lf;
}

/* Keeps the last bytes of X-Forwarded-For, whose right end is what counts
 * (routes.c: client_address): a long list loses its left end, marked cut. */
static void xff_add(cg_request_t *r, const char *at, size_t n) {
  const size_t cap = sizeof r->xff - 1;
  if (n >= cap) {
    memcpy(r->xff, at + n - cap, cap);
    r->xff_len = cap;
    r->xff_cut = 1;
  } else {
    if (r->xff_len + n > cap) {
      size_t drop = r->xff_len + n - cap;
      memmove(r->xff, r->xff + drop, r->xff_len - drop);
      r->xff_len -= drop;
      r->xff_cut = 1;
    }
    memcpy(r->xff + r->xff_len, at, n);
    r->xff_len += n;
  }
  r->xff[r->xff_len] = '\0';
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  cg_conn_t *c = p->data;
  cg_request_t *r = &c->req;
  int kind;

  if (count_head(c, n))
    return -1;
  /* A trailer (fields after a chunked body, which llhttp passes here too)
   * is dropped, as RFC 9110 6.5.1 allows: checked after the head, it would
   * add to Authorization or X-Forwarded-For behind the checks' back. */
  if (n == 0 || c->req.trailers)
    return 0;
  if (after_line_end(c, at))
    return fail(c, 400, "obsolete line folding is not accepted");
  c->value_parts++;
  kind = c->field_len <= sizeof c->field ? header_kind(c) : H_OTHER;
  if (kind == H_AUTH) {
    if (r->auth_len + n > CG_AUTH_MAX) {
      r->auth_overflow = 1;
    } else {
      memcpy(r->auth + r->auth_len, at, n);
      r->auth_len += n;
      r->auth[r->auth_len] = '\0';
    }
  } else if (kind == H_XFF) {
    /* Several X-Forwarded-For headers make one list (RFC 9110 5.3). */
    if (c->value_parts == 1 && r->xff_len > 0)
      xff_add(r, ", ", 2);
    xff_add(r, at, n);
  } else if (kind == H_INM) {
    size_t k = r->inm_len + n > CG_INM_MAX ? CG_INM_MAX - r->inm_len : n;
    memcpy(r->inm + r->inm_len, at, k);
    r->inm_len += k;
    r->inm[r->inm_len] = '\0';
  }
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  cg_conn_t *c = p->data;
  if (c->req.trailers)
    return 0;
  int kind = c->field_len <= sizeof c->field ? header_kind(c) : H_OTHER;
  if (kind == H_HOST)
    c->req.hosts++;
  else if (kind == H_UPGRADE)
    c->req.upgrade = 1;
  return 0;
}

static int on_headers_complete(llhttp_t *p) {
  cg_conn_t *c = p->data;
  cg_request_t *r = &c->req;
  const cg_config_t *conf = cfg(c);

  r->trailers = 1;
  r->method = p->method;
  r->http_major = p->http_major;
  r->http_minor = p->http_minor;
  if (r->http_major != 1)
    return fail(c, 400, "only HTTP/1.0 and HTTP/1.1 are spoken here");
  /* RFC 9112 3.2: exactly one Host in HTTP/1.1; a second one is as bad. */
  if (r->hosts > 1 || (r->http_minor >= 1 && r->hosts == 0))
    return fail(c, 400, r->hosts ? "more than one Host header" : "the Host header is missing");
  if (r->upgrade || p->upgrade)
    return fail(c, 400, "protocol upgrades (h2c, websocket) are not supported");
  if (r->url[0] != '/')
    return fail(c, 400, "the request target must be an absolute path");
  if (p->flags & F_CONTENT_LENGTH && p->content_length > conf->max_body_bytes)
    return fail(c, 413, "the request body is larger than this server accepts");
  if ((p->flags & F_CONTENT_LENGTH && p->content_length > 0) || (p->flags & F_CHUNKED)) {
    c->phase = CG_PHASE_BODY;
    c->deadline_ms = c->w->now_ms + conf->body_timeout_ms;
  }
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  cg_conn_t *c = p->data;
  c->deadline_ms = c->w->now_ms + cfg(c)->body_timeout_ms;
  if (cg_buf_append(&c->req.body, at, n) != 0)
    return fail(c, 413, "the request body is larger than this server accepts");
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  (void)p;
  /* Answer this request before parsing the next one. */
  return HPE_PAUSED;
}

static const llhttp_settings_t *settings(void) {
  static llhttp_settings_t s;
  static int ready;
  if (!ready) {
    llhttp_settings_init(&s);
    s.on_message_begin = on_message_begin;
    s.on_url = on_url;
    s.on_header_field = on_header_field;
    s.on_header_field_complete = on_header_field_complete;
    s.on_header_value = on_header_value;
    s.on_header_value_complete = on_header_value_complete;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_message_complete;
    ready = 1;
  }
  return &s;
}

/* ---- reading ---------------------------------------------------------------- */

static void stop_reading(cg_conn_t *c, const char *rest, size_t n) {
  if (n > 0)
    cg_buf_append(&c->stash, rest, n); /* at most one read buffer */
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* What after_line_end needs to know of the bytes parsed before the next
 * buffer (or the rest of this one): whether they end in LF and blanks. */
static void note_tail(cg_conn_t *c, const char *end) {
  const char *q = end;
  while (q > c->exec_begin && (q[-1] == ' ' || q[-1] == '\t'))
    q--;
  if (q > c->exec_begin)
    c->tail_lf = q[-1] == '\n';
}

static void feed(cg_conn_t *c, const char *data, size_t len) {
  while (len > 0 && !c->closing && !c->close_after) {
    llhttp_errno_t e;

    if (pending(c) > OUT_HIGH) {
      /* The socket may take it all now; if not, hold the rest back until
       * the write callback says the client has caught up. */
      start_write(c);
      if (c->closing)
        return;
      if (c->writing >= 0) {
        stop_reading(c, data, len);
        break;
      }
    }
    c->exec_begin = data;
    e = llhttp_execute(&c->parser, data, len);
    note_tail(c, e == HPE_PAUSED ? llhttp_get_error_pos(&c->parser) : data + len);
    if (e == HPE_OK)
      break;
    if (e == HPE_PAUSED) {
      const char *pos = llhttp_get_error_pos(&c->parser);
      llhttp_resume(&c->parser);
      c->began = 0;
      len -= (size_t)(pos - data);
      data = pos;
      cg_routes_handle(c);
      if (c->suspended) {
        /* Answers leave in order: nothing after this request is parsed
         * until it has been answered. */
        stop_reading(c, data, len);
        break;
      }
      request_reset(c);
      c->phase = CG_PHASE_IDLE;
      c->deadline_ms = c->w->now_ms + cfg(c)->idle_timeout_ms;
      continue;
    }
    if (c->err_status == 0)
      c->err_message = llhttp_get_error_reason(&c->parser);
    refuse(c, c->err_status ? c->err_status : 400, c->err_message);
    break;
  }
  start_write(c);
}

/* ---- the PROXY protocol (v1) -------------------------------------------------------
 *
 * Behind a load balancer in TCP mode (HAProxy `send-proxy`), each connection
 * opens with one line, "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY
 * UNKNOWN …\r\n", at most 107 bytes: SRC is the client's address, which the
 * audit then records. It is taken only from a peer in trusted_proxies. */

void cg_conn_peer_name(cg_conn_t *c, char *out, size_t cap) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  out[0] = '\0';
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
    return;
  if (ss.ss_family == AF_INET)
    uv_ip4_name((struct sockaddr_in *)&ss, out, cap);
  else
    uv_ip6_name((struct sockaddr_in6 *)&ss, out, cap);
}

static int trusted_peer(cg_conn_t *c) {
  char ip[64];
  cg_conn_peer_name(c, ip, sizeof ip);
  return ip[0] != '\0' &&
         cg_runtime_trusts(atomic_load_explicit(&c->w->srv->rt, memory_order_acquire), ip);
}

static int port_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 5 || (n > 1 && s[0] == '0') || strspn(s, "0123456789") != n)
    return 0;
  return atoi(s) <= 65535;
}

/* The line without its CRLF. 0, or what is wrong with it. */
static const char *proxy_parse(cg_conn_t *c, char *line) {
  char *tok[7], *save = NULL;
  int n = 0;
  unsigned char addr[16];
  for (char *t = strtok_r(line, " ", &save); t != NULL && n < 7; t = strtok_r(NULL, " ", &save))
    tok[n++] = t;
  if (n < 2 || strcmp(tok[0], "PROXY") != 0)
    return "the connection does not open with a PROXY line";
  if (strcmp(tok[1], "UNKNOWN") == 0)
    return NULL; /* the proxy's own connection (a health check): its address stays */
  int family = strcmp(tok[1], "TCP4") == 0 ? AF_INET : strcmp(tok[1], "TCP6") == 0 ? AF_INET6 : 0;
  if (family == 0 || n != 6 || inet_pton(family, tok[2], addr) != 1 ||
      inet_pton(family, tok[3], addr) != 1 || !port_ok(tok[4]) || !port_ok(tok[5]) ||
      strlen(tok[2]) >= sizeof c->peer)
    return "malformed PROXY line";
  memcpy(c->peer, tok[2], strlen(tok[2]) + 1);
  return NULL;
}

/* Takes the PROXY line from the front of what was read. 1: more is needed
 * (all of it taken), 0: done (*data and *len past the line), -1: refused. */
static int proxy_line(cg_conn_t *c, const char **data, size_t *len) {
  const char *nl = memchr(*data, '\n', *len);
  size_t take = nl ? (size_t)(nl - *data) + 1 : *len;
  const char *why;

  if (c->proxy_len + take > sizeof c->proxy_line - 1) {
    refuse(c, 400, "the PROXY line is longer than 107 bytes");
    return -1;
  }
  memcpy(c->proxy_line + c->proxy_len, *data, take);
  c->proxy_len += take;
  *data += take;
  *len -= take;
  if (nl == NULL)
    return 1;
  c->proxy_wait = 0;
  if (c->proxy_len < 2 || c->proxy_line[c->proxy_len - 2] != '\r') {
    refuse(c, 400, "the PROXY line does not end in CRLF");
    return -1;
  }
  c->proxy_line[c->proxy_len - 2] = '\0';
  if (!trusted_peer(c)) {
    refuse(c, 400, "a PROXY line from a peer that is not a trusted proxy");
    return -1;
  }
  if ((why = proxy_parse(c, c->proxy_line)) != NULL) {
    refuse(c, 400, why);
    return -1;
  }
  return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  cg_conn_t *c = s->data;
  const char *data = buf->base;
  size_t len = (size_t)nread;

  if (nread == 0)
    return;
  if (c->lingering) {
    c->lingered += nread > 0 ? (size_t)nread : 0;
    if (nread < 0 || c->lingered > LINGER_BYTES)
      cg_conn_close(c);
    return;
  }
  if (nread < 0) {
    /* EOF or an error. A half-received request is abandoned; answers
     * already queued are still written, then the connection closes. */
    c->eof = 1;
    if (c->reading) {
      uv_read_stop(s);
      c->reading = 0;
    }
    if (c->writing < 0 && c->out[c->fill].len == 0)
      cg_conn_close(c);
    else
      c->close_after = 1;
    return;
  }
  c->w->now_ms = uv_now(&c->w->loop);
  if (c->proxy_wait) {
    int r = proxy_line(c, &data, &len);
    if (r < 0)
      start_write(c);
    if (r != 0 || len == 0)
      return;
  }
  feed(c, data, len);
}

/* ---- answering later ------------------------------------------------------------- */

void cg_conn_suspend(cg_conn_t *c) { c->suspended = 1; }

void cg_conn_continue(cg_conn_t *c) {
  c->suspended = 0;
  if (c->closing) {
    if (c->handle_closed)
      conn_free(c);
    return;
  }
  c->w->now_ms = uv_now(&c->w->loop);
  cg_routes_handle(c);
  if (c->suspended || c->closing)
    return;
  request_reset(c);
  c->phase = CG_PHASE_IDLE;
  c->deadline_ms = c->w->now_ms + cfg(c)->idle_timeout_ms;
  start_write(c);
  if (c->closing || c->writing >= 0)
    return; /* write_cb takes up the input */
  if (c->close_after) {
    /* Nothing left to write (an answer that could not be queued: out of
     * memory), and reading has stopped: nothing else would close it. */
    cg_conn_close(c);
    return;
  }
  if (c->stash.len > 0) {
    cg_buf_t st = c->stash;
    cg_buf_init(&c->stash, sizeof c->w->readbuf);
    feed(c, st.base, st.len);
    cg_buf_free(&st);
    if (c->closing || c->suspended || c->stash.len > 0 || c->writing >= 0)
      return;
  }
  if (!c->reading && !c->close_after) {
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
  }
}

/* ---- timeouts and draining ------------------------------------------------------ */

void cg_conn_sweep(cg_conn_t *c, uint64_t now) {
  if (c->closing || c->suspended) /* a seal check answers it, soon */
    return;
  if (c->lingering) {
    if (now >= c->deadline_ms)
      cg_conn_close(c);
    return;
  }
  if (c->writing >= 0) {
    /* The deadline is for progress: a slow reader of a long answer (a
     * holder's list) that takes some of it every write_timeout is not cut. */
    if (c->tcp.write_queue_size < c->write_left) {
      c->write_left = c->tcp.write_queue_size;
      c->write_deadline_ms = now + cfg(c)->write_timeout_ms;
    }
    if (now >= c->write_deadline_ms) {
      cg_count(&c->w->metrics.timeouts, 1);
      cg_conn_close(c);
    }
    return;
  }
  if (now < c->deadline_ms || !c->reading)
    return;
  cg_count(&c->w->metrics.timeouts, 1);
  if (c->phase != CG_PHASE_IDLE && c->began) {
    refuse(c, 408, "the request took too long to arrive");
    start_write(c);
  } else {
    cg_conn_close(c);
  }
}

void cg_conn_drain(cg_conn_t *c) {
  if (c->closing)
    return;
  if (c->w->force_close || c->lingering) { /* (answered already: stopping need not wait) */
    cg_conn_close(c);
    return;
  }
  if (c->phase == CG_PHASE_IDLE && !c->began && !c->suspended && c->writing < 0 &&
      c->out[c->fill].len == 0)
    cg_conn_close(c);
  /* Others close after their answer: keep_open() says no from now on. */
}
