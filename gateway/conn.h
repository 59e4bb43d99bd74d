/* conn.h — one client connection: HTTP/1.1 on llhttp (strict mode).
 *
 * Requests are parsed, limited and answered in order (pipelining); answers
 * are queued in the connection's output buffer and written in batches.
 * The connection is freed only in its close callback. See docs/http.md.
 */
#ifndef CG_GATEWAY_CONN_H
#define CG_GATEWAY_CONN_H

#include <llhttp.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "gateway/worker.h"

#define CG_URL_MAX 2048
#define CG_AUTH_MAX 256
#define CG_INM_MAX 256

enum cg_phase {
  CG_PHASE_IDLE, /* between requests (keep-alive) */
  CG_PHASE_HEAD, /* a request head is arriving */
  CG_PHASE_BODY, /* a request body is arriving */
};

/* What a handler sees of a request. Strings are NUL-terminated copies. */
typedef struct cg_request {
  /* Cleared whole for each request: everything before body. */
  int method;          /* llhttp_method_t */
  int http_major, http_minor;
  size_t url_len;
  size_t auth_len;
  int auth_overflow;
  size_t inm_len;
  size_t xff_len;
  int xff_cut;                /* bytes were dropped from its left end */
  int hosts;
  int upgrade;
  int trailers;      /* the head is parsed: fields now are a chunked body's trailer */
  int charged;       /* the venue's rate limit has counted this request (not again when it
                        runs again after a seal check or a platform's answer) */
  uint64_t start_ns;
  int route;              /* enum cg_route, for metrics and the log */
  const char *venue_id;   /* once authenticated, for the log */
  const void *venue;      /* the cg_venue_t, for this request only */
  cg_buf_t body;
  /* Read only up to their lengths above, and kept NUL-terminated by what
   * writes them: emptied, not cleared (3 KB a request). */
  char url[CG_URL_MAX + 1];
  char auth[CG_AUTH_MAX + 1]; /* Authorization value */
  char inm[CG_INM_MAX + 1];   /* If-None-Match value */
  char xff[256];              /* X-Forwarded-For values, joined by ", " (the last 255 bytes) */
} cg_request_t;

struct cg_conn {
  uv_tcp_t tcp; /* first: the handle's address is the connection's */
  cg_worker_t *w;
  cg_conn_t *prev, *next;
  llhttp_t parser;
  cg_request_t req;

  /* header parsing */
  char field[32];
  size_t field_len;
  int in_value;            /* the current header's name is complete */
  int value_parts;         /* value callbacks for the current header */
  const char *exec_begin;  /* the buffer being executed */
  int tail_lf;             /* the bytes parsed before it end in LF, then spaces or tabs */
  size_t head_bytes;
  int nheaders;
  int err_status;          /* set by a callback that refuses the message */
  const char *err_message;
  int began;               /* a request has started and not been answered */

  /* output: out[fill] collects answers while out[!fill] is being written */
  cg_buf_t out[2];
  int fill;
  int writing;
  uv_write_t wreq;
  cg_buf_t stash;          /* input held back while the output is too large */
  int reading;

  int phase;
  uint64_t deadline_ms;
  uint64_t write_deadline_ms;
  size_t write_left;       /* bytes of the answer being written still queued, at the last look */
  int close_after;         /* close once the output is written */
  int eof;                 /* the client has closed its side */
  int linger;              /* refused mid-send (413, 431): linger before closing */
  int lingering;           /* answered, write side shut: reading what still comes */
  size_t lingered;         /* bytes read and dropped while lingering */
  uv_shutdown_t sreq;
  int closing;
  int suspended;           /* the handler answers later (a seal check) */
  int handle_closed;       /* closed while suspended: freed when it resumes */

  /* A verdict that came back for the suspended request (routes.c). */
  int ov_set;
  uint64_t ov_etag;        /* the record version it is for (0: a presented one) */
  int ov_reason;
  uint32_t ov_gen;
  uint64_t pend_etag;
  struct cg_upresult *up_result; /* what an upstream fetch came back with (upstream.h) */

  char peer[64];           /* the peer's address, looked up once (routes.c), or the
                              client's from a PROXY line */
  int proxy_wait;          /* [server] proxy_protocol: the PROXY line is still to come */
  char proxy_line[108];    /* what came of it so far (at most 107 bytes and a NUL) */
  size_t proxy_len;

  /* the venue of the last Authorization seen on this connection */
  char auth_seen[CG_AUTH_MAX + 1];
  size_t auth_seen_len;
  const void *auth_venue;
  uint64_t auth_gen;
};

/* Accepts a connection from the worker's listener. */
void cg_conn_accept(cg_worker_t *w);

/* Answers the current request. body may be NULL for none; headers are
 * extra header lines, each ending in \r\n (may be NULL). */
void cg_conn_respond(cg_conn_t *c, int status, const char *content_type, const char *headers,
                     const char *body, size_t len);
/* The same with a body in two pieces, sent one after the other (a head
 * made last need not be moved in front of what was made first). */
void cg_conn_respond2(cg_conn_t *c, int status, const char *content_type, const char *headers,
                      const char *body, size_t len1, const char *body2, size_t len2);
/* Answers with the JSON error body of a CG_E… code (message NULL: the
 * code's own sentence). */
void cg_conn_error(cg_conn_t *c, int err, const char *message);

/* The address of the connection's TCP peer, as text ("" when unknown). */
void cg_conn_peer_name(cg_conn_t *c, char *out, size_t cap);

/* The handler will answer later: parsing stops after this request, input
 * is held back, until cg_conn_continue. */
void cg_conn_suspend(cg_conn_t *c);
/* Runs the suspended request's handler again (it finds what it waited for
 * in the connection) and, once it has answered, takes up the input. */
void cg_conn_continue(cg_conn_t *c);

/* Closes c now (drain or timeout). */
void cg_conn_close(cg_conn_t *c);

/* Called by the worker's sweep: applies timeouts. */
void cg_conn_sweep(cg_conn_t *c, uint64_t now_ms);

/* The worker is stopping: idle connections close now, busy ones after
 * their answer. */
void cg_conn_drain(cg_conn_t *c);

#endif
