/* workload.h — what certbench asks: pre-rendered requests and how to pick one.
 *
 * A workload is read from a demo deployment's demo.json (its venue keys,
 * certificate identifiers and holders) and rendered once into complete HTTP
 * request byte strings; after cg_workload_render it is immutable and shared
 * by every load thread, each picking with its own random generator.
 */
#ifndef CG_WORKLOAD_H
#define CG_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The kinds of request, in the order they are reported. */
enum cg_work_kind { CG_WORK_FETCH, CG_WORK_HOLDER, CG_WORK_SCAN, CG_WORK_KINDS };

/* "fetch", "holder", "scan". */
const char *cg_work_kind_name(int kind);

#define CG_WORK_REQ_MAX 8192 /* longest request rendered, head and body */

/* One request, ready to be written. Owned by the workload. */
typedef struct cg_work_req {
  const char *base;
  size_t len;
  int kind;        /* CG_WORK_… */
  int expect;      /* the status a healthy server answers (200, or 404 for a miss) */
} cg_work_req_t;

/* xoshiro256**: small, fast and good enough to pick keys. One per connection. */
typedef struct cg_rng {
  uint64_t s[4];
} cg_rng_t;

/* Seeds r from seed and a stream number (splitmix64), so every connection
 * draws its own sequence and a run is repeatable with --seed. */
void cg_rng_seed(cg_rng_t *r, uint64_t seed, uint64_t stream);
uint64_t cg_rng_next(cg_rng_t *r);
/* Uniform in [0, 1). */
double cg_rng_double(cg_rng_t *r);

typedef struct cg_workload cg_workload_t;

/* What to render. weight[k] is kind k's share of a mix (all 0 but one for a
 * single kind). zipf 0 picks keys uniformly; zipf s > 0 picks certificate
 * types (then a certificate of that type uniformly) and holders with
 * probability proportional to 1 / rank^s. miss is the share (0..1) of fetches
 * sent for a valid identifier that is not in the store. */
typedef struct cg_workload_opts {
  const char *host;       /* Host header: the target as given, HOST:PORT */
  const char *venue;      /* a scope name (department, hotel) or a venue id */
  unsigned weight[CG_WORK_KINDS];
  double zipf;
  double miss;
  const char *id;         /* fetch only this identifier, or NULL */
  const char *ids_file;   /* fetch these identifiers, one a line, instead of
                           * demo.json's sample, or NULL */
  const char *codes_file; /* QR texts for scan, one a line, or NULL: mint them */
  const char *certctl;    /* the certctl program that mints QR codes */
  int in_turn;            /* fetch the identifiers in turn, not at random: each
                           * once before any twice (first fetches of an
                           * upstream-only list are all misses) */
  uint64_t seed;
} cg_workload_opts_t;

/* Reads demo.json at path. Returns 0, or -1 with a sentence in err. */
int cg_workload_open(const char *path, cg_workload_t **out, char *err, size_t errlen);
void cg_workload_free(cg_workload_t *w);

/* demo.json's "listen" (HOST:PORT). Valid as long as w. */
const char *cg_workload_listen(const cg_workload_t *w);

/* Renders every request o asks for. Returns 0, or -1 with a sentence in err.
 * Warnings (a venue whose scope refuses part of the mix) go to stderr. */
int cg_workload_render(cg_workload_t *w, const cg_workload_opts_t *o, char *err, size_t errlen);

/* A request drawn as the options said. Valid as long as w. */
const cg_work_req_t *cg_workload_pick(const cg_workload_t *w, cg_rng_t *r);

/* The longest request rendered, in bytes. */
size_t cg_workload_max_len(const cg_workload_t *w);

/* The venue chosen: its id and scope. Valid as long as w. */
const char *cg_workload_venue_id(const cg_workload_t *w);
const char *cg_workload_venue_scope(const cg_workload_t *w);

/* How many distinct requests of a kind were rendered (hits and misses
 * counted apart), and for fetch how many certificate types they span. */
typedef struct cg_workload_info {
  size_t keys[CG_WORK_KINDS];
  size_t misses;
  size_t types;
} cg_workload_info_t;
void cg_workload_info(const cg_workload_t *w, cg_workload_info_t *info);

#endif
