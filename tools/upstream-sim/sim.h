/* sim.h — what the parts of certgw-upstream-sim share.
 *
 * main.c reads the options, loads the data set, listens and hands each
 * connection to a thread of its own (http.c), which parses requests with
 * llhttp and sends what routes.c answers. data.c owns the certificates and
 * the change feed, faults.c the fault settings and the draws, tls.c the
 * byte stream of a connection (plain TCP or mbedTLS). Everything in sim_t
 * is set before the first connection; afterwards only the faults (under
 * faults_mu), the counters (atomics) and the data set (its own lock) change.
 */
#ifndef SIM_H
#define SIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/error.h"

#define SIM_URL_MAX 8192           /* longest request target */
#define SIM_HDR_MAX 1024           /* longest value kept of the headers we read */
#define SIM_HEAD_MAX (64 * 1024)   /* request line and headers together */
#define SIM_BODY_MAX (1u << 20)    /* request bodies (the /_sim/ POSTs) */
#define SIM_ANSWER_MAX (64u << 20) /* an answer body: 5000 changes fit easily */
#define SIM_HEAD_ROOM 256          /* room kept in front of an answer body for its head */
#define SIM_CURSOR_MAX 64          /* a cursor is opaque text of at most 64 bytes */
#define SIM_LIMIT_DEFAULT 500      /* changes per poll */
#define SIM_LIMIT_MAX 5000

/* ---- faults.c -------------------------------------------------------------- */

/* The fault settings (docs/upstream.md, "The simulator"). Rates are
 * probabilities 0..1 drawn afresh for each protocol call. */
typedef struct sim_faults {
  unsigned latency_ms, jitter_ms, slow_ms;
  double error_rate, hang_rate, reset_rate, garbage_rate, slow_rate, close_rate;
} sim_faults_t;

#define SIM_FAULT_MS_MAX 3600000 /* an hour: anything longer is a typo */

/* Sets the fault called name (an option name without "--", "-" as "_":
 * "error_rate", "slow_ms") to v. Returns 0, or CG_EBADREQ with why when the
 * name is unknown or v out of range; f is unchanged then. */
int sim_faults_set(sim_faults_t *f, const char *name, double v, cg_why_t *why);
/* Appends the settings as a JSON object with those names. */
int sim_faults_json(const sim_faults_t *f, cg_buf_t *out);

/* A xorshift64* generator; each connection thread owns one state. */
uint64_t sim_rng_seed(void);
double sim_rng_next(uint64_t *state); /* uniform in [0, 1) */
/* 1 with probability p (never for p <= 0, always for p >= 1). */
int sim_rng_hit(uint64_t *state, double p);

/* Sleeps ms milliseconds, resuming after signals. */
void sim_sleep_ms(unsigned ms);

/* ---- data.c ---------------------------------------------------------------- */

typedef struct sim_data sim_data_t;

/* Loads a JSON Lines file of sealed certificates (the certctl export
 * format); blank lines are skipped. Returns 0, or an error with why and the
 * number of the line at fault in *line (0: the file itself); nothing is
 * kept then. */
int sim_data_load(const char *path, sim_data_t **out, size_t *line, cg_why_t *why);

/* The answers append their JSON bodies to out (docs/upstream.md, "The
 * protocol"). Each holds the data set's read lock while it copies, so
 * nothing out refers to changes afterwards. They return 0, CG_ENOTFOUND,
 * or CG_ETOOBIG / CG_ENOMEM when out cannot take the answer. */
int sim_data_fetch(sim_data_t *d, const char *identifier, cg_buf_t *out);
/* type NULL: every type. Revoked certificates are left out. */
int sim_data_holder(sim_data_t *d, const char *holder, const char *type, cg_buf_t *out);
/* Changes after since (since_text is how the caller wrote it, digits only;
 * answered back as the cursor when since is past the end of the feed). */
int sim_data_changes(sim_data_t *d, uint64_t since, const char *since_text, size_t limit,
                     cg_buf_t *out);

/* Adds or replaces a certificate from its JSON text (kept as given, less
 * surrounding white space) and appends a "new" or "updated" change.
 * Appends {"op":…,"cursor":…} to out. Returns 0, or CG_EBADREQ / CG_EIDENT /
 * CG_EHOLDER / CG_ETOOBIG with why for a text that is not a certificate. */
int sim_data_put(sim_data_t *d, const char *text, size_t len, cg_buf_t *out, cg_why_t *why);
/* Revokes a certificate: a "revoked" change (only the first time) and
 * "revoked": true on its fetches from now on. A valid identifier the
 * platform does not serve gets the change only (each time). Appends {"op":…,"cursor":…}.
 * Returns 0 or CG_ENOTFOUND. */
int sim_data_revoke(sim_data_t *d, const char *identifier, cg_buf_t *out);

/* ---- the process ----------------------------------------------------------- */

enum sim_op { SIM_OP_CERTIFICATE, SIM_OP_HOLDER, SIM_OP_CHANGES, SIM_OP_COUNT };

typedef struct sim_tls sim_tls_t;

typedef struct sim {
  const char *name;
  const char *access_id, *token; /* both NULL: no credentials asked */
  sim_data_t *data;
  sim_tls_t *tls; /* NULL: plain TCP */
  pthread_mutex_t faults_mu;
  sim_faults_t faults;
  atomic_uint_fast64_t requests[SIM_OP_COUNT]; /* protocol calls received, faulted or not */
} sim_t;

/* ---- http.c ---------------------------------------------------------------- */

/* A request as routes.c sees it; http.c fills it. Header values are
 * NUL-terminated; has_* says whether the header came at all. */
typedef struct sim_request {
  int method; /* llhttp_method_t */
  char url[SIM_URL_MAX + 1];
  size_t url_len;
  char access_id[SIM_HDR_MAX + 1], token[SIM_HDR_MAX + 1], purpose[SIM_HDR_MAX + 1];
  size_t access_id_len, token_len, purpose_len;
  unsigned char has_access_id, has_token, has_purpose;
  cg_buf_t body;
} sim_request_t;

/* What a connection does with a request routes.c has looked at. */
typedef enum sim_action { SIM_SEND, SIM_HANG, SIM_RESET } sim_action_t;

/* An answer. body holds SIM_HEAD_ROOM bytes of room before the body proper,
 * where http.c writes the head so that both leave in one write. */
typedef struct sim_answer {
  int status;
  cg_buf_t body;
  unsigned slow_ms; /* 0: send at once; else dribble the body over this long */
  int close_delimited; /* no Content-Length: the body ends when the connection closes */
} sim_answer_t;

/* Starts a thread for an accepted socket; it owns fd from now on.
 * Returns 0, or -1 (fd closed) when there are too many connections. */
int sim_http_start(sim_t *s, int fd);

/* ---- routes.c -------------------------------------------------------------- */

/* Answers one request: the protocol (with its faults and counters) or the
 * /_sim/ endpoints. rng is the connection's generator. */
sim_action_t sim_routes_handle(sim_t *s, const sim_request_t *r, sim_answer_t *a,
                               uint64_t *rng);

/* Empties an answer's body (keeping the head room). */
void sim_answer_reset(sim_answer_t *a);
/* Makes a the error {"error":{"code":…,"message":…}} with status. */
void sim_answer_error(sim_answer_t *a, int status, const char *code, const char *message);

/* ---- tls.c ----------------------------------------------------------------- */

/* Loads the certificate chain and key and seeds one generator for every
 * connection. Returns 0, or an error with why. */
int sim_tls_new(const char *cert_file, const char *key_file, sim_tls_t **out, cg_why_t *why);

/* A connection's byte stream: plain when ssl is NULL. */
typedef struct sim_io {
  int fd;
  struct mbedtls_ssl_context *ssl;
} sim_io_t;

/* Runs the server handshake on io->fd (tls NULL: nothing to do).
 * Returns 0 or -1 (the peer gave up or is not speaking TLS). */
int sim_io_open(sim_io_t *io, sim_tls_t *tls);
/* Reads some bytes: > 0, 0 at the end of the stream, -1 on an error or the
 * idle timeout. */
ssize_t sim_io_read(sim_io_t *io, void *buf, size_t n);
/* Writes all n bytes. Returns 0 or -1. */
int sim_io_write(sim_io_t *io, const void *buf, size_t n);
/* Closes gracefully: close_notify, FIN, then waits (briefly) for the peer's
 * end so that an unread request does not turn the close into a reset. */
void sim_io_close(sim_io_t *io);
/* Closes with a TCP reset (SO_LINGER 0), no close_notify. */
void sim_io_reset(sim_io_t *io);

#endif
