/* upclient.h — a worker's HTTP/1.1 client to the upstream platforms.
 *
 * One per worker, on its loop: GET requests over TCP or TLS (mbedTLS, the
 * platform's CA and host name checked), responses parsed by llhttp, idle
 * connections kept per address for reuse. A call ends in exactly one
 * callback — an answer or the kind of failure — unless it is cancelled.
 * Which address, tier, retry or breaker is upstream.c's business.
 */
#ifndef CG_GATEWAY_UPCLIENT_H
#define CG_GATEWAY_UPCLIENT_H

#include <stddef.h>
#include <uv.h>

#include "core/config.h"

#define CG_UPCALL_BODY_MAX (8u << 20) /* a larger answer is a failure */

/* How a call failed. */
enum cg_upcall_kind {
  CG_UP_OK = 0,
  CG_UP_CONNECT,  /* refused, unreachable */
  CG_UP_RESET,    /* closed or reset before the whole answer came */
  CG_UP_TIMEOUT,  /* connect or answer took too long */
  CG_UP_PROTOCOL, /* not HTTP, or too large */
  CG_UP_TLS,      /* handshake failed: certificate, name, protocol */
  CG_UP__KINDS
};
const char *cg_upcall_kind_name(int kind);

typedef struct cg_upclient cg_upclient_t;
typedef struct cg_upcall cg_upcall_t;

/* status and body are valid only during the call; kind CG_UP_OK means an
 * HTTP answer of any status came. */
typedef void (*cg_upcall_cb)(void *arg, int kind, int status, const char *body, size_t len);

/* Resolves every tier's addresses now (a name is looked up once, at start).
 * Returns 0 or CG_ECONFIG with why. */
int cg_upclient_new(cg_upclient_t **out, uv_loop_t *loop, const cg_config_t *cfg, cg_why_t *why);
/* Closes every connection; calls in flight end without their callback.
 * The loop must run once more for their close callbacks. */
void cg_upclient_close(cg_upclient_t *cl);
/* Then, with the loop finished: frees the client. */
void cg_upclient_free(cg_upclient_t *cl);

/* GET target (path and query) from address addr of tier, with extra header
 * lines (each ending in \r\n). The whole call, connect included, gets
 * total_ms; the connect, connect_ms. Returns the call, or NULL without
 * memory (then cb is not called). */
cg_upcall_t *cg_upclient_get(cg_upclient_t *cl, int tier, int addr, const char *target,
                             const char *headers, unsigned connect_ms, unsigned total_ms,
                             cg_upcall_cb cb, void *arg);
/* The call's callback will not run; its connection is closed. */
void cg_upcall_cancel(cg_upcall_t *call);

#endif
