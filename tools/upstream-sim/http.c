/* http.c — one client connection, on a thread of its own.
 *
 * Blocking reads are fed to llhttp (strict mode); on_message_complete pauses
 * the parser so that each request is answered before the next one is
 * parsed, which keeps pipelined answers in order. A connection stays open
 * while both sides want keep-alive (HTTP/1.1 unless "Connection: close",
 * HTTP/1.0 only with "Connection: keep-alive"). Every answer has a
 * Content-Length. The faults routes.c draws end here: a hang reads and
 * drops input until the peer leaves, a reset closes with RST, a slow answer
 * dribbles its body.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#include "sim.h"

#define CONN_MAX 1024            /* connections served at once; more are closed */
#define IDLE_TIMEOUT_S 120       /* a read that waits longer ends the connection */
#define SEND_TIMEOUT_S 30        /* so does a write the peer does not take */
#define STACK_SIZE (512 * 1024)  /* a TLS handshake is the deepest thing a thread does */
#define SHRINK_ABOVE (1u << 20)  /* buffers larger than this are freed after use */

enum { H_OTHER, H_ACCESS_ID, H_TOKEN, H_PURPOSE, H_EXPECT };

typedef struct conn {
  sim_t *sim;
  sim_io_t io;
  llhttp_t parser;
  sim_request_t req;
  sim_answer_t ans;
  char field[24]; /* the header name being read; longer ones are not ours */
  size_t field_len;
  int kind; /* H_… of the header whose value is being read */
  char expect[32];
  size_t expect_len;
  int has_expect;
  size_t head_bytes;
  int http_minor, keep;
  int err_status; /* set by a callback that refuses the request */
  const char *err_message;
  uint64_t rng;
  char in[16 * 1024];
} conn_t;

static atomic_int nconns;

/* ---- parsing ------------------------------------------------------------------ */

static int fail(conn_t *c, int status, const char *message) {
  c->err_status = status;
  c->err_message = message;
  return -1;
}

static int count_head(conn_t *c, size_t n) {
  c->head_bytes += n;
  return c->head_bytes > SIM_HEAD_MAX ? fail(c, 431, "the request head is too large") : 0;
}

static int on_message_begin(llhttp_t *p) {
  conn_t *c = p->data;
  sim_request_t *r = &c->req;

  r->method = -1; /* not known until the head is complete (0 is DELETE) */
  r->url_len = r->access_id_len = r->token_len = r->purpose_len = 0;
  r->url[0] = r->access_id[0] = r->token[0] = r->purpose[0] = '\0';
  r->has_access_id = r->has_token = r->has_purpose = 0;
  cg_buf_reset(&r->body);
  c->field_len = c->expect_len = 0;
  c->has_expect = 0;
  c->kind = H_OTHER;
  c->head_bytes = 0;
  c->err_status = 0;
  c->err_message = NULL;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  conn_t *c = p->data;
  if (count_head(c, n))
    return -1;
  if (c->req.url_len + n > SIM_URL_MAX)
    return fail(c, 414, "the request target is too long");
  memcpy(c->req.url + c->req.url_len, at, n);
  c->req.url_len += n;
  c->req.url[c->req.url_len] = '\0';
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  conn_t *c = p->data;
  if (count_head(c, n))
    return -1;
  /* llhttp may hand a name over in pieces. */
  if (c->field_len + n <= sizeof c->field)
    memcpy(c->field + c->field_len, at, n);
  c->field_len += n;
  return 0;
}

static int on_header_field_complete(llhttp_t *p) {
  static const struct {
    const char *name;
    int kind;
  } ours[] = {{"X-Access-Id", H_ACCESS_ID},
              {"X-Access-Token", H_TOKEN},
              {"X-Purpose", H_PURPOSE},
              {"Expect", H_EXPECT}};
  conn_t *c = p->data;
  sim_request_t *r = &c->req;
  unsigned char *seen = NULL;

  c->kind = H_OTHER;
  for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
    if (c->field_len == strlen(ours[i].name) &&
        strncasecmp(c->field, ours[i].name, c->field_len) == 0)
      c->kind = ours[i].kind;
  c->field_len = 0;
  switch (c->kind) {
  case H_ACCESS_ID: seen = &r->has_access_id; break;
  case H_TOKEN: seen = &r->has_token; break;
  case H_PURPOSE: seen = &r->has_purpose; break;
  case H_EXPECT:
    if (c->has_expect)
      return fail(c, 400, "Expect is given more than once");
    c->has_expect = 1;
    return 0;
  default: return 0;
  }
  /* Two values would be joined into one nobody sent. */
  if (*seen)
    return fail(c, 400, "an X-Access-Id, X-Access-Token or X-Purpose header is repeated");
  *seen = 1;
  return 0;
}

/* Where the value of a header of ours goes: NULL for the others. */
static char *value_of(conn_t *c, size_t **len, size_t *cap) {
  sim_request_t *r = &c->req;
  *cap = SIM_HDR_MAX;
  switch (c->kind) {
  case H_ACCESS_ID: *len = &r->access_id_len; return r->access_id;
  case H_TOKEN: *len = &r->token_len; return r->token;
  case H_PURPOSE: *len = &r->purpose_len; return r->purpose;
  case H_EXPECT: *len = &c->expect_len; *cap = sizeof c->expect - 1; return c->expect;
  default: return NULL;
  }
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  conn_t *c = p->data;
  size_t *len, cap;
  char *dst = value_of(c, &len, &cap);

  if (count_head(c, n))
    return -1;
  if (dst == NULL)
    return 0;
  if (*len + n > cap)
    return fail(c, 431, "a header value is too long");
  memcpy(dst + *len, at, n);
  *len += n;
  dst[*len] = '\0';
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  conn_t *c = p->data;
  size_t *len, cap;
  char *dst = value_of(c, &len, &cap);

  /* llhttp skips the white space before a value but hands over the white
   * space after it, which is no more part of the value (RFC 9110 5.5). */
  if (dst != NULL) {
    while (*len > 0 && (dst[*len - 1] == ' ' || dst[*len - 1] == '\t'))
      (*len)--;
    dst[*len] = '\0';
  }
  return 0;
}

static int on_headers_complete(llhttp_t *p) {
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  conn_t *c = p->data;

  c->req.method = p->method;
  c->http_minor = p->http_minor;
  if (p->http_major != 1)
    return fail(c, 400, "only HTTP/1.0 and HTTP/1.1 are spoken here");
  if (c->req.url[0] != '/')
    return fail(c, 400, "the request target must be an absolute path");
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > SIM_BODY_MAX)
    return fail(c, 413, "the request body is larger than this simulator accepts");
  if (c->has_expect) {
    if (strcasecmp(c->expect, "100-continue") != 0 || p->http_minor == 0)
      return fail(c, 417, "the only expectation met here is 100-continue");
    /* curl waits for this before it sends a larger body. */
    if (sim_io_write(&c->io, cont, sizeof cont - 1) != 0)
      return fail(c, 400, "cannot write");
  }
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  conn_t *c = p->data;
  if (cg_buf_append(&c->req.body, at, n) != 0)
    return fail(c, 413, "the request body is larger than this simulator accepts");
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  conn_t *c = p->data;
  c->keep = llhttp_should_keep_alive(p);
  /* Answer this request before the next one is parsed. */
  return HPE_PAUSED;
}

/* llhttp_settings_init only zeroes the structure. */
static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- answering ---------------------------------------------------------------- */

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 417: return "Expectation Failed";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  default: return "Unknown";
  }
}

static void sleep_until(const struct timespec *t) {
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
    ;
}

/* Sends n bytes a few at a time, evenly over ms: at most one write every
 * 5 ms, and at least 4 bytes in each but the last. */
static int dribble(conn_t *c, const char *p, size_t n, unsigned ms) {
  size_t steps = n / 4 > 0 ? n / 4 : 1, chunk;
  struct timespec start, t;

  if (steps > ms / 5 + 1)
    steps = ms / 5 + 1;
  chunk = (n + steps - 1) / steps;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (size_t i = 1; i <= steps; i++) {
    /* Deadlines from the start, so the sleeps do not add up their drift. */
    uint64_t ns = (uint64_t)start.tv_nsec + (uint64_t)ms * 1000000u * i / steps;
    size_t k = n < chunk ? n : chunk;
    t.tv_sec = start.tv_sec + (time_t)(ns / 1000000000u);
    t.tv_nsec = (long)(ns % 1000000000u);
    sleep_until(&t);
    if (sim_io_write(&c->io, p, k) != 0)
      return -1;
    p += k;
    n -= k;
  }
  return 0;
}

/* Writes the head into the room in front of the body and sends both. */
static int send_answer(conn_t *c, int keep) {
  sim_answer_t *a = &c->ans;
  char head[SIM_HEAD_ROOM], *start;
  size_t blen;
  int hl;

  if (a->body.len < SIM_HEAD_ROOM) /* no room: sim_answer_reset ran out of memory */
    return -1;
  blen = a->body.len - SIM_HEAD_ROOM;
  if (a->close_delimited) /* the caller closes after it: the end of the body */
    hl = snprintf(head, sizeof head,
                  "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                  a->status, reason(a->status));
  else
    hl = snprintf(head, sizeof head,
                  "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n%s\r\n",
                  a->status, reason(a->status), blen,
                  !keep                ? "Connection: close\r\n"
                  : c->http_minor == 0 ? "Connection: keep-alive\r\n"
                                       : "");
  if (hl < 0 || (size_t)hl >= sizeof head)
    return -1;
  start = a->body.base + SIM_HEAD_ROOM - hl;
  memcpy(start, head, (size_t)hl);
  if (c->req.method == HTTP_HEAD) /* its answer is the head alone (405 here) */
    return sim_io_write(&c->io, start, (size_t)hl);
  if (a->slow_ms == 0)
    return sim_io_write(&c->io, start, (size_t)hl + blen);
  if (sim_io_write(&c->io, start, (size_t)hl) != 0)
    return -1;
  return dribble(c, a->body.base + SIM_HEAD_ROOM, blen, a->slow_ms);
}

/* A hang keeps the connection open and never answers. Reading on (and
 * dropping what comes) notices when the peer gives up, so the thread ends
 * then; SIGTERM ends the process whatever its threads do. */
static void hang(conn_t *c) {
  char buf[4096];
  for (;;) {
    ssize_t r = recv(c->io.fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
      return;
  }
}

/* Answers the request just parsed. Returns 0 to read on, -1 when the
 * connection is done with. */
static int answer(conn_t *c) {
  sim_answer_reset(&c->ans);
  switch (sim_routes_handle(c->sim, &c->req, &c->ans, &c->rng)) {
  case SIM_HANG:
    hang(c);
    return -1;
  case SIM_RESET:
    sim_io_reset(&c->io);
    return -1;
  case SIM_SEND:
    break;
  }
  if (send_answer(c, c->keep) != 0 || !c->keep || c->ans.close_delimited)
    return -1;
  /* A holder list or a page of changes can be megabytes; do not keep that
   * much per idle connection. */
  if (c->ans.body.cap > SHRINK_ABOVE)
    cg_buf_free(&c->ans.body);
  if (c->req.body.cap > SHRINK_ABOVE)
    cg_buf_free(&c->req.body);
  return 0;
}

/* A request llhttp or a callback refused: answered, then closed. */
static void refuse(conn_t *c) {
  int status = c->err_status ? c->err_status : 400;
  const char *msg = c->err_message ? c->err_message : llhttp_get_error_reason(&c->parser);
  const char *code = status == 413 ? "payload_too_large"
                     : status == 431 ? "headers_too_large"
                                     : "bad_request";
  sim_answer_error(&c->ans, status, code, msg ? msg : "the request is malformed");
  send_answer(c, 0);
}

/* Returns 0 to read on, -1 when the connection is done with. */
static int feed(conn_t *c, const char *data, size_t len) {
  while (len > 0) {
    llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
    const char *pos;

    if (e == HPE_OK)
      return 0;
    if (e != HPE_PAUSED) {
      refuse(c);
      return -1;
    }
    pos = llhttp_get_error_pos(&c->parser);
    llhttp_resume(&c->parser);
    len -= (size_t)(pos - data);
    data = pos;
    if (answer(c) != 0)
      return -1;
  }
  return 0;
}

static void *conn_main(void *arg) {
  conn_t *c = arg;

  if (sim_io_open(&c->io, c->sim->tls) == 0) {
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
    for (;;) {
      ssize_t n = sim_io_read(&c->io, c->in, sizeof c->in);
      if (n <= 0 || feed(c, c->in, (size_t)n) != 0)
        break;
    }
  }
  sim_io_close(&c->io); /* nothing left to do after a reset */
  cg_buf_free(&c->req.body);
  cg_buf_free(&c->ans.body);
  free(c);
  atomic_fetch_sub(&nconns, 1);
  return NULL;
}

int sim_http_start(sim_t *s, int fd) {
  struct timeval rt = {.tv_sec = IDLE_TIMEOUT_S}, st = {.tv_sec = SEND_TIMEOUT_S};
  int one = 1;
  pthread_attr_t attr;
  pthread_t t;
  conn_t *c;

  if (atomic_fetch_add(&nconns, 1) >= CONN_MAX || (c = calloc(1, sizeof *c)) == NULL) {
    atomic_fetch_sub(&nconns, 1);
    close(fd);
    return -1;
  }
  /* Answers leave in one write each; Nagle would only hold back the dribbles. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof st);
  c->sim = s;
  c->io.fd = fd;
  c->rng = sim_rng_seed();
  cg_buf_init(&c->req.body, SIM_BODY_MAX);
  cg_buf_init(&c->ans.body, SIM_HEAD_ROOM + SIM_ANSWER_MAX);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, STACK_SIZE);
  if (pthread_create(&t, &attr, conn_main, c) != 0) {
    pthread_attr_destroy(&attr);
    close(fd);
    free(c);
    atomic_fetch_sub(&nconns, 1);
    return -1;
  }
  pthread_attr_destroy(&attr);
  return 0;
}
