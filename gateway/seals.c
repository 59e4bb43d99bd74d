/* seals.c — verifier threads, the verdict writer and the re-check scanner
 * (see seals.h). Threads meet only at three queues, each a list under its
 * own mutex; nothing here runs on an event loop but cg_seals_deliver. */
#include "gateway/seals.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ident.h"
#include "core/store.h"
#include "gateway/worker.h"
#include "gateway/writer.h"

#define QUEUE_MAX 65536   /* jobs waiting; a request finding it full gets 503 */
#define SCAN_BATCH 256    /* stale records read per snapshot by the scanner */
#define WRITE_BATCH 4096  /* verdicts per write transaction */

enum { JOB_RECORD, JOB_PRESENTED };

struct job {
  int kind;
  cg_trust_t *trust; /* a reference */
  char ident[CG_IDENT_MAX + 1];
  size_t ident_len;
  uint64_t etag;
  char *body;
  size_t body_len;
  cg_seal_t seal;
  uint32_t issued;
  cg_worker_t *w;
  cg_seals_done_cb done;
  void *arg;
  struct job *next;
};

struct reply {
  cg_seals_done_cb done;
  void *arg;
  int reason;
  uint32_t gen;
  struct reply *next;
};

struct cg_seals {
  cg_server_t *srv;
  int nthreads;
  pthread_t *threads, scanner;
  _Atomic int stopping;

  pthread_mutex_t mu; /* jobs */
  pthread_cond_t has_job, has_room;
  struct job *head, *tail;
  size_t njobs;

  pthread_mutex_t smu; /* scanner */
  pthread_cond_t scan_wanted;
  int scan_requests;
  int recheck;

  cg_seals_stats_t stats;
};

static void count(_Atomic uint64_t *c, int64_t n) { atomic_fetch_add(c, (uint64_t)n); }

cg_seals_stats_t *cg_seals_stats(cg_seals_t *s) { return &s->stats; }

/* ---- the job queue ------------------------------------------------------------ */

static int push(cg_seals_t *s, struct job *j, int wait) {
  pthread_mutex_lock(&s->mu);
  while (wait && s->njobs >= QUEUE_MAX / 2 && !s->stopping)
    pthread_cond_wait(&s->has_room, &s->mu);
  if (s->njobs >= QUEUE_MAX || s->stopping) {
    pthread_mutex_unlock(&s->mu);
    return CG_EUNAVAIL;
  }
  if (s->tail)
    s->tail->next = j;
  else
    s->head = j;
  s->tail = j;
  s->njobs++;
  atomic_store(&s->stats.queued, s->njobs);
  pthread_cond_signal(&s->has_job);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

static void job_free(struct job *j) {
  cg_trust_free(j->trust);
  free(j->body);
  free(j);
}

static struct job *job_new(cg_trust_t *trust, const char *body, size_t len) {
  struct job *j = calloc(1, sizeof *j);
  if (j == NULL || (j->body = malloc(len ? len : 1)) == NULL) {
    free(j);
    return NULL;
  }
  memcpy(j->body, body, len);
  j->body_len = len;
  j->trust = cg_trust_ref(trust);
  return j;
}

int cg_seals_check(cg_seals_t *s, cg_trust_t *trust, const char *ident, size_t len,
                   const cg_record_t *rec, cg_worker_t *w, cg_seals_done_cb done, void *arg) {
  struct job *j;
  int err;

  if (len > CG_IDENT_MAX || (j = job_new(trust, rec->body, rec->body_len)) == NULL)
    return CG_ENOMEM;
  j->kind = JOB_RECORD;
  memcpy(j->ident, ident, len);
  j->ident_len = len;
  j->etag = rec->etag;
  cg_record_seal(rec, &j->seal);
  j->issued = rec->issued;
  j->w = w;
  j->done = done;
  j->arg = arg;
  if ((err = push(s, j, w == NULL)) != 0)
    job_free(j);
  else
    count(w ? &s->stats.on_request : &s->stats.background, 1);
  return err;
}

int cg_seals_verify(cg_seals_t *s, cg_trust_t *trust, const char *body, size_t len,
                    const cg_seal_t *seal, uint32_t issued, cg_worker_t *w, cg_seals_done_cb done,
                    void *arg) {
  struct job *j = job_new(trust, body, len);
  int err;
  if (j == NULL)
    return CG_ENOMEM;
  j->kind = JOB_PRESENTED;
  j->seal = *seal;
  j->issued = issued;
  j->w = w;
  j->done = done;
  j->arg = arg;
  if ((err = push(s, j, 0)) != 0)
    job_free(j);
  return err;
}

/* ---- replies to workers ---------------------------------------------------------- */

static void reply(cg_worker_t *w, cg_seals_done_cb done, void *arg, int reason, uint32_t gen) {
  struct reply *r = calloc(1, sizeof *r);
  if (r == NULL)
    return; /* the request times out; nothing better can be done without memory */
  r->done = done, r->arg = arg, r->reason = reason, r->gen = gen;
  pthread_mutex_lock(&w->reply_mu);
  if (w->reply_tail)
    ((struct reply *)w->reply_tail)->next = r;
  else
    w->reply_head = r;
  w->reply_tail = r;
  pthread_mutex_unlock(&w->reply_mu);
  uv_async_send(&w->replies);
}

void cg_seals_deliver(cg_worker_t *w) {
  struct reply *r;
  pthread_mutex_lock(&w->reply_mu);
  r = w->reply_head;
  w->reply_head = w->reply_tail = NULL;
  pthread_mutex_unlock(&w->reply_mu);
  while (r != NULL) {
    struct reply *next = r->next;
    r->done(r->arg, r->reason, r->gen);
    free(r);
    r = next;
  }
}

/* ---- verifier threads -------------------------------------------------------------- */

static void file_verdict(cg_seals_t *s, const struct job *j, int reason, uint32_t gen) {
  cg_writer_verdict(s->srv->writer, j->ident, j->ident_len, j->etag, reason, gen);
  count(&s->stats.filed, 1);
}

static void *verifier_main(void *arg) {
  cg_seals_t *s = arg;
  cg_seal_verifier_t *ver = NULL;
  cg_trust_t *bound = NULL; /* the trust store ver was made for (a reference) */

  for (;;) {
    struct job *j;
    int reason;
    uint32_t gen;

    pthread_mutex_lock(&s->mu);
    while (s->head == NULL && !s->stopping)
      pthread_cond_wait(&s->has_job, &s->mu);
    if (s->head == NULL) {
      pthread_mutex_unlock(&s->mu);
      break;
    }
    j = s->head;
    s->head = j->next;
    if (s->head == NULL)
      s->tail = NULL;
    s->njobs--;
    atomic_store(&s->stats.queued, s->njobs);
    pthread_cond_signal(&s->has_room);
    pthread_mutex_unlock(&s->mu);
    if (s->stopping) { /* the workers are gone: nobody waits for an answer */
      job_free(j);
      continue;
    }

    /* A verifier caches verdicts on signers: it belongs to one trust store. */
    if (bound != j->trust) {
      cg_seal_verifier_free(ver);
      cg_trust_free(bound);
      bound = cg_trust_ref(j->trust);
      ver = NULL;
      cg_seal_verifier_new(bound, &ver);
    }
    gen = cg_trust_generation(j->trust);
    reason = ver ? cg_seal_verify(ver, j->body, j->body_len, &j->seal, j->issued)
                 : CG_SEAL_MALFORMED_SEAL;
    count(reason == CG_SEAL_OK ? &s->stats.verified : &s->stats.failed, 1);
    if (j->kind == JOB_RECORD)
      file_verdict(s, j, reason, gen);
    if (j->w != NULL)
      reply(j->w, j->done, j->arg, reason, gen);
    job_free(j);
  }
  cg_seal_verifier_free(ver);
  cg_trust_free(bound);
  return NULL;
}

/* ---- the scanner ----------------------------------------------------------------------------- */

struct scan {
  uint32_t gen;
  char last[CG_IDENT_MAX + 1];
  size_t last_len;
  int n;
  struct {
    char ident[CG_IDENT_MAX + 1];
    size_t len;
  } stale[SCAN_BATCH];
};

static int scan_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct scan *x = arg;
  cg_record_t r;
  if (key.len > CG_IDENT_MAX)
    return 0;
  memcpy(x->last, key.base, key.len);
  x->last_len = key.len;
  if (cg_record_decode(val.base, val.len, &r) != 0)
    return 0;
  if (r.seal_state == CG_SEAL_UNCHECKED || r.trust_gen != x->gen) {
    memcpy(x->stale[x->n].ident, key.base, key.len);
    x->stale[x->n].len = key.len;
    if (++x->n == SCAN_BATCH)
      return 1;
  }
  return 0;
}

/* One pass over the store under the trust store now in force: stale records
 * are read a batch at a time (no snapshot held while jobs wait) and queued,
 * waiting for room so that requests keep priority in a short queue. */
static void scan_pass(cg_seals_t *s, cg_store_reader_t *rd) {
  cg_runtime_t *rt = atomic_load(&s->srv->rt);
  cg_trust_t *trust = cg_trust_ref(rt->trust);
  struct scan *x = calloc(1, sizeof *x);
  int more = 1, first = 1;

  if (x == NULL) {
    cg_trust_free(trust);
    return;
  }
  x->gen = cg_trust_generation(trust);
  while (more && !s->stopping) {
    x->n = 0;
    if (cg_store_reader_begin(rd) != 0)
      break;
    more = cg_store_each_from(rd, CG_DB_CERT, first ? NULL : x->last, first ? 0 : x->last_len,
                              scan_one, x) == 1;
    /* The walk stopped on a full batch at x->last, already taken: go on
     * after it next time. A key plus a zero byte sorts right after it. */
    for (int i = 0; i < x->n; i++) {
      cg_record_t r;
      if (cg_store_cert_get(rd, x->stale[i].ident, x->stale[i].len, &r) == 0)
        cg_seals_check(s, trust, x->stale[i].ident, x->stale[i].len, &r, NULL, NULL, NULL);
    }
    cg_store_reader_end(rd);
    if (x->last_len < CG_IDENT_MAX) {
      x->last[x->last_len++] = '\0';
    }
    first = 0;
    /* A newer trust store makes this pass moot. */
    if (atomic_load(&s->srv->rt)->trust != rt->trust)
      break;
  }
  free(x);
  cg_trust_free(trust);
}

static void *scanner_main(void *arg) {
  cg_seals_t *s = arg;
  cg_store_reader_t *rd = NULL;

  if (cg_store_reader_open(s->srv->store, &rd) != 0)
    return NULL;
  for (;;) {
    pthread_mutex_lock(&s->smu);
    while (s->scan_requests == 0 && !s->stopping)
      pthread_cond_wait(&s->scan_wanted, &s->smu);
    s->scan_requests = 0;
    pthread_mutex_unlock(&s->smu);
    if (s->stopping)
      break;
    scan_pass(s, rd);
  }
  cg_store_reader_close(rd);
  return NULL;
}

void cg_seals_rescan(cg_seals_t *s) {
  if (!s->recheck)
    return;
  pthread_mutex_lock(&s->smu);
  s->scan_requests++;
  pthread_cond_signal(&s->scan_wanted);
  pthread_mutex_unlock(&s->smu);
}

/* ---- start and stop ------------------------------------------------------------------------------ */

int cg_seals_start(cg_seals_t **out, cg_server_t *srv, int threads, int recheck) {
  cg_seals_t *s = calloc(1, sizeof *s);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  if (s == NULL)
    return CG_ENOMEM;
  s->srv = srv;
  s->recheck = recheck;
  s->nthreads = threads > 0 ? threads : ncpu > 0 ? (int)ncpu : 1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->has_job, NULL);
  pthread_cond_init(&s->has_room, NULL);
  pthread_mutex_init(&s->smu, NULL);
  pthread_cond_init(&s->scan_wanted, NULL);
  s->threads = calloc((size_t)s->nthreads, sizeof *s->threads);
  for (int i = 0; i < s->nthreads; i++)
    pthread_create(&s->threads[i], NULL, verifier_main, s);
  pthread_create(&s->scanner, NULL, scanner_main, s);
  *out = s;
  cg_seals_rescan(s); /* records may have been checked under another trust store */
  return 0;
}

void cg_seals_stop(cg_seals_t *s) {
  if (s == NULL)
    return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_cond_broadcast(&s->has_job);
  pthread_cond_broadcast(&s->has_room);
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_lock(&s->smu);
  pthread_cond_broadcast(&s->scan_wanted);
  pthread_mutex_unlock(&s->smu);
  pthread_join(s->scanner, NULL);
  for (int i = 0; i < s->nthreads; i++)
    pthread_join(s->threads[i], NULL);
  free(s->threads);
  free(s);
}
