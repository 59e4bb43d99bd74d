/* routes.h — the HTTP API (CONTRACT.md, docs/api.md): which handler answers
 * a request, and what it answers. Handlers run on the worker's loop and
 * answer synchronously from the store. */
#ifndef CG_GATEWAY_ROUTES_H
#define CG_GATEWAY_ROUTES_H

#include "gateway/conn.h"

/* Answers the request that has just been parsed on c. */
void cg_routes_handle(cg_conn_t *c);
/* The Allow header line for the current request's route. */
const char *cg_routes_allow(cg_conn_t *c);
/* Writes an access log line for the answer just queued (if logging is on
 * and this request is sampled). No personal data: no path, no query. */
void cg_routes_log(cg_conn_t *c, int status, size_t body_len);
/* Forgets what the handlers keep from an older runtime (the keyed contexts
 * of its QR key ring: a key retired by a reload leaves memory at once). */
void cg_routes_runtime_changed(cg_worker_t *w);
/* Frees what the handlers keep in w between requests, once its loop ended. */
void cg_routes_worker_end(cg_worker_t *w);

#endif
