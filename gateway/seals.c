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

#include <cjson/cJSON.h>

#include "core/cert.h"
#include "core/ident.h"
#include "core/store.h"
#include "gateway/worker.h"
#include "gateway/writer.h"

#define QUEUE_MAX 65536   /* jobs waiting; a request finding it full gets 503 */
#define SCAN_BATCH 256    /* stale records read per snapshot by the scanner */
#define WRITE_BATCH 4096  /* verdicts per write transaction */
#define HOLDER_FILL_MAX 1000 /* certificates kept from one holder answer */

enum { JOB_RECORD, JOB_PRESENTED, JOB_FILL, JOB_FEED, JOB_FILL_HOLDER };

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
  int source;  /* fills and feeds: the tier's record source */
  int holder_type; /* holder fills: the holder asked for (in ident: the code) */
  char key[96]; /* feeds: the meta key of the tier's cursor */
  struct job *next;
};

struct cg_seals {
  cg_server_t *srv;
  int nthreads;
  pthread_t *threads, scanner;
  _Atomic int stopping;

  pthread_mutex_t mu; /* jobs */
  pthread_cond_t has_job, has_room;
  /* Two lists: requests' jobs (a fetch waiting, a platform's answer) are
   * taken before the scanner's, which may be tens of thousands after a
   * change of trust. */
  struct job *head, *tail;       /* requests' */
  struct job *bg_head, *bg_tail; /* the scanner's */
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

/* background: the scanner's job, which waits for room below half the
 * queue (a request, even one that wants no answer, never waits on an event
 * loop) and goes behind every request's. */
static int push(cg_seals_t *s, struct job *j, int background) {
  pthread_mutex_lock(&s->mu);
  while (background && s->njobs >= QUEUE_MAX / 2 && !s->stopping)
    pthread_cond_wait(&s->has_room, &s->mu);
  if (s->njobs >= QUEUE_MAX || s->stopping) {
    pthread_mutex_unlock(&s->mu);
    return CG_EUNAVAIL;
  }
  struct job **head = background ? &s->bg_head : &s->head;
  struct job **tail = background ? &s->bg_tail : &s->tail;
  if (*tail)
    (*tail)->next = j;
  else
    *head = j;
  *tail = j;
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

/* A check of rec's seal: its body and seal copied, so that the job lives
 * past the snapshot rec points into. */
static struct job *record_job(cg_trust_t *trust, const char *ident, size_t len,
                              const cg_record_t *rec, cg_worker_t *w, cg_seals_done_cb done,
                              void *arg) {
  struct job *j;
  if (len > CG_IDENT_MAX || (j = job_new(trust, rec->body, rec->body_len)) == NULL)
    return NULL;
  j->kind = JOB_RECORD;
  memcpy(j->ident, ident, len);
  j->ident_len = len;
  j->etag = rec->etag;
  cg_record_seal(rec, &j->seal);
  j->issued = rec->issued;
  j->w = w;
  j->done = done;
  j->arg = arg;
  return j;
}

/* Queues j (background: the scanner's); freed if it cannot be. */
static int push_record(cg_seals_t *s, struct job *j, int background) {
  int asked = j->w != NULL; /* (read before: once queued, j is a verifier's) */
  int err = push(s, j, background);
  if (err != 0)
    job_free(j);
  else
    count(asked ? &s->stats.on_request : &s->stats.background, 1);
  return err;
}

int cg_seals_check(cg_seals_t *s, cg_trust_t *trust, const char *ident, size_t len,
                   const cg_record_t *rec, cg_worker_t *w, cg_seals_done_cb done, void *arg) {
  struct job *j = record_job(trust, ident, len, rec, w, done, arg);
  return j == NULL ? CG_ENOMEM : push_record(s, j, 0);
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

int cg_seals_fill(cg_seals_t *s, cg_trust_t *trust, const char *json, size_t len, const char *ident,
                  size_t ilen, int source, cg_worker_t *w, cg_seals_done_cb done, void *arg) {
  struct job *j;
  int err;
  if (ilen > CG_IDENT_MAX || (j = job_new(trust, json, len)) == NULL)
    return CG_ENOMEM;
  j->kind = JOB_FILL;
  memcpy(j->ident, ident, ilen);
  j->ident_len = ilen;
  j->source = source;
  j->w = w, j->done = done, j->arg = arg;
  if ((err = push(s, j, 0)) != 0)
    job_free(j);
  return err;
}

int cg_seals_fill_holder(cg_seals_t *s, cg_trust_t *trust, const char *json, size_t len,
                         int holder_type, const char *code, int source, cg_worker_t *w,
                         cg_seals_done_cb done, void *arg) {
  struct job *j;
  int err;
  if (strlen(code) > CG_IDENT_MAX || (j = job_new(trust, json, len)) == NULL)
    return CG_ENOMEM;
  j->kind = JOB_FILL_HOLDER;
  j->ident_len = strlen(code);
  memcpy(j->ident, code, j->ident_len + 1);
  j->holder_type = holder_type;
  j->source = source;
  j->w = w, j->done = done, j->arg = arg;
  if ((err = push(s, j, 0)) != 0)
    job_free(j);
  return err;
}

int cg_seals_feed(cg_seals_t *s, cg_trust_t *trust, const char *json, size_t len, int source,
                  const char *cursor_key, cg_worker_t *w, cg_seals_done_cb done, void *arg) {
  struct job *j;
  int err;
  if (strlen(cursor_key) >= sizeof j->key || (j = job_new(trust, json, len)) == NULL)
    return CG_ENOMEM;
  j->kind = JOB_FEED;
  j->source = source;
  snprintf(j->key, sizeof j->key, "%s", cursor_key);
  j->w = w, j->done = done, j->arg = arg;
  if ((err = push(s, j, 0)) != 0)
    job_free(j);
  return err;
}

static void discard_fill(void *p) { cg_fill_free(p); }

void cg_fill_free(cg_fill_t *f) {
  if (f != NULL) {
    free(f->rec);
    free(f);
  }
}

/* ---- platform answers: parse, check the seal, encode ------------------------------ */

/* Makes a record of one certificate object from a platform: fill->err is 0
 * and fill->rec its encoding when the object is a valid certificate (of
 * ident, when given) whose seal verifies. */
static void make_record(cg_seal_verifier_t *ver, uint32_t gen, const cJSON *obj, int revoked,
                        const char *ident, size_t ilen, int holder_type, const char *holder,
                        int source, cg_fill_t *f) {
  cg_buf_t body, out;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_record_t r;
  uint8_t index[CG_RECORD_INDEX_MAX];
  cg_why_t why = {0};
  int err;

  cg_buf_init(&body, CG_CERT_BODY_MAX);
  cg_buf_init(&out, CG_CERT_BODY_MAX + 1024);
  if ((err = cg_cert_from_json(obj, &body, &meta, &seal, &why)) != 0) {
    f->err = err;
    snprintf(f->why, sizeof f->why, "%s", why.text);
    goto done;
  }
  if (ident != NULL && (strlen(meta.identifier) != ilen || memcmp(meta.identifier, ident, ilen))) {
    f->err = CG_EBADREQ;
    snprintf(f->why, sizeof f->why, "the answer is another certificate");
    goto done;
  }
  if (holder != NULL && ((holder_type != 0 && meta.holder_type != holder_type) ||
                         strcmp(meta.holder_code, holder) != 0)) {
    f->err = CG_EBADREQ;
    snprintf(f->why, sizeof f->why, "the answer is another holder's certificate");
    goto done;
  }
  f->reason = ver ? cg_seal_verify(ver, body.base, body.len, &seal, meta.issued)
                  : CG_SEAL_MALFORMED_SEAL;
  if (f->reason != CG_SEAL_OK) {
    f->err = CG_EBADREQ;
    snprintf(f->why, sizeof f->why, "its seal does not verify: %s",
             cg_seal_reason_name(f->reason));
    goto done;
  }
  memset(&r, 0, sizeof r);
  r.status = (uint8_t)(revoked ? CG_CERT_REVOKED : meta.status);
  r.flags = revoked && meta.status != CG_CERT_REVOKED ? CG_RECORD_REVOKED_LATER : 0;
  r.seal_state = CG_SEAL_VERIFIED;
  r.trust_gen = gen;
  r.source = (uint8_t)source;
  r.holder_type = (uint8_t)meta.holder_type;
  r.issued = meta.issued;
  r.effective = meta.effective;
  r.expiring = meta.expiring;
  r.fetched_at = (uint64_t)time(NULL);
  cg_record_holder_key(meta.holder_type, meta.holder_code, strlen(meta.holder_code), r.holder_key);
  r.body = body.base;
  r.body_len = (uint32_t)body.len;
  r.seal_alg = (uint8_t)seal.alg;
  r.signer = seal.signer;
  r.sig = seal.sig;
  r.sig_len = seal.sig_len;
  cg_record_index_set(&r, &meta.index, index);
  if ((err = cg_record_encode(&r, &out)) != 0 || (f->rec = malloc(out.len)) == NULL) {
    f->err = err ? err : CG_ENOMEM;
    snprintf(f->why, sizeof f->why, "cannot encode the record");
    goto done;
  }
  memcpy(f->rec, out.base, out.len);
  f->len = out.len;
  snprintf(f->ident, sizeof f->ident, "%s", meta.identifier);
  f->err = 0;
done:
  cg_buf_free(&body);
  cg_buf_free(&out);
}

/* A platform's answer that cJSON would read with a NUL cut into a string
 * (cert.h) is refused whole. 1 when it is (f->err and f->why set). */
static int hidden_nul(const struct job *j, cg_fill_t *f) {
  const char *why = cg_cert_hidden_nul(j->body, j->body_len);
  if (why == NULL)
    return 0;
  f->err = CG_EBADREQ;
  snprintf(f->why, sizeof f->why, "the answer holds %s", why);
  return 1;
}

/* {"certificate": {…}, "revoked": true?} for the identifier asked. */
static cg_fill_t *run_fill(cg_seals_t *s, cg_seal_verifier_t *ver, const struct job *j) {
  cg_fill_t *f = calloc(1, sizeof *f);
  cJSON *doc, *cert;
  if (f == NULL || hidden_nul(j, f))
    return f;
  doc = cJSON_ParseWithLength(j->body, j->body_len);
  cert = cJSON_GetObjectItemCaseSensitive(doc, "certificate");
  if (!cJSON_IsObject(cert)) {
    f->err = CG_EBADREQ;
    snprintf(f->why, sizeof f->why, "the answer is not {\"certificate\": {…}}");
  } else {
    make_record(ver, cg_trust_generation(j->trust), cert,
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "revoked")), j->ident,
                j->ident_len, 0, NULL, j->source, f);
    if (f->err == 0)
      cg_writer_fill(s->srv->writer, f->ident, strlen(f->ident), f->rec, f->len);
  }
  cJSON_Delete(doc);
  return f;
}

/* {"certificates": [{…}, …]} for the holder asked: each certificate of that
 * holder whose seal verifies is stored and returned, as entries of
 * u16 identifier length, identifier, u32 record length, record; others are
 * left out and counted (f->changes[3]). */
static cg_fill_t *run_fill_holder(cg_seals_t *s, cg_seal_verifier_t *ver, const struct job *j) {
  cg_fill_t *f = calloc(1, sizeof *f);
  cJSON *doc, *list, *cert;
  cg_buf_t out;
  if (f == NULL || hidden_nul(j, f))
    return f;
  cg_buf_init(&out, 64u << 20);
  doc = cJSON_ParseWithLength(j->body, j->body_len);
  list = cJSON_GetObjectItemCaseSensitive(doc, "certificates");
  if (!cJSON_IsArray(list)) {
    f->err = CG_EBADREQ;
    snprintf(f->why, sizeof f->why, "the answer is not {\"certificates\": […]}");
    goto done;
  }
  cJSON_ArrayForEach(cert, list) {
    cg_fill_t one = {0};
    /* A holder has at most so many certificates worth answering with (a
     * list answer holds 1,000); a platform sending more is not followed
     * further, which also bounds what the worker merges. */
    if (f->changes[1] == HOLDER_FILL_MAX)
      break;
    make_record(ver, cg_trust_generation(j->trust), cert,
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cert, "revoked")), NULL, 0,
                j->holder_type, j->ident, j->source, &one);
    if (one.err == 0) {
      uint16_t il = (uint16_t)strlen(one.ident);
      uint32_t rl = (uint32_t)one.len;
      if (cg_buf_append(&out, &il, 2) != 0 || cg_buf_append(&out, one.ident, il) != 0 ||
          cg_buf_append(&out, &rl, 4) != 0 || cg_buf_append(&out, one.rec, one.len) != 0) {
        free(one.rec);
        break;
      }
      cg_writer_fill(s->srv->writer, one.ident, il, one.rec, one.len);
      f->changes[1]++;
    } else {
      f->changes[3]++;
      snprintf(f->why, sizeof f->why, "%s", one.why);
    }
    free(one.rec);
  }
  /* Only bad certificates: the platform's answer was of no use. */
  if (f->changes[1] == 0 && f->changes[3] > 0)
    f->err = CG_EBADREQ;
  if (out.len > 0 && (f->rec = malloc(out.len)) != NULL) {
    memcpy(f->rec, out.base, out.len);
    f->len = out.len;
  }
done:
  cg_buf_free(&out);
  cJSON_Delete(doc);
  return f;
}

/* A page of a change feed: revocations filed, new and updated versions of
 * certificates the store holds replaced (their seals checked first), and
 * the cursor filed after them. The reply carries the cursor to poll from
 * next (in f->ident) and, in f->reason, whether more is waiting. */
static cg_fill_t *run_feed(cg_seals_t *s, cg_seal_verifier_t *ver, cg_store_reader_t **rd,
                           const struct job *j) {
  cg_fill_t *f = calloc(1, sizeof *f);
  cJSON *doc, *changes, *cursor, *ch;
  if (f == NULL || hidden_nul(j, f))
    return f;
  doc = cJSON_ParseWithLength(j->body, j->body_len);
  changes = cJSON_GetObjectItemCaseSensitive(doc, "changes");
  cursor = cJSON_GetObjectItemCaseSensitive(doc, "cursor");
  if (!cJSON_IsArray(changes) || !cJSON_IsString(cursor) || strlen(cursor->valuestring) == 0 ||
      strlen(cursor->valuestring) > 64) {
    f->err = CG_EBADREQ;
    snprintf(f->why, sizeof f->why, "the feed answer is not {\"changes\": […], \"cursor\": …}");
    goto done;
  }
  if (*rd == NULL && cg_store_reader_open(s->srv->store, rd) != 0) {
    f->err = CG_ESTORE;
    goto done;
  }
  cJSON_ArrayForEach(ch, changes) {
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(ch, "op");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ch, "certificateIdentifier");
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(ch, "certificate");
    if (!cJSON_IsString(op))
      continue;
    if (strcmp(op->valuestring, "revoked") == 0 && cJSON_IsString(id)) {
      cg_ident_t ident;
      if (cg_ident_parse(id->valuestring, strlen(id->valuestring), &ident, NULL) != 0) {
        f->changes[3]++; /* not an identifier: refused */
        continue;
      }
      cg_writer_revoke(s->srv->writer, id->valuestring, strlen(id->valuestring));
      f->changes[0]++;
    } else if ((strcmp(op->valuestring, "new") == 0 || strcmp(op->valuestring, "updated") == 0) &&
               cJSON_IsObject(cert)) {
      const cJSON *cid = cJSON_GetObjectItemCaseSensitive(cert, "certificateIdentifier");
      cg_record_t old;
      cg_fill_t one = {0};
      int held;
      if (!cJSON_IsString(cid))
        continue;
      /* Only copies certgw holds are kept current; others are fetched when
       * asked for (a feed may carry a whole province). */
      if (cg_store_reader_begin(*rd) != 0)
        continue;
      held = cg_store_cert_get(*rd, cid->valuestring, strlen(cid->valuestring), &old) == 0;
      int old_revoked = held && (old.flags & CG_RECORD_REVOKED_LATER);
      int old_source = held ? old.source : j->source;
      cg_store_reader_end(*rd);
      if (!held) {
        f->changes[2]++;
        continue;
      }
      /* A revocation stays (a later version does not undo it), and so does
       * where the copy came from: an imported one is kept current by the
       * feed, not refreshed. */
      make_record(ver, cg_trust_generation(j->trust), cert, old_revoked, NULL, 0, 0, NULL,
                  old_source, &one);
      if (one.err == 0) {
        cg_writer_fill(s->srv->writer, one.ident, strlen(one.ident), one.rec, one.len);
        f->changes[1]++;
      } else {
        f->changes[3]++; /* a bad version is not stored: the old one stays */
      }
      free(one.rec);
    }
  }
  cg_writer_meta(s->srv->writer, j->key, cursor->valuestring, strlen(cursor->valuestring));
  snprintf(f->ident, sizeof f->ident, "%s", cursor->valuestring);
  f->reason = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "more"));
done:
  cJSON_Delete(doc);
  return f;
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
  cg_store_reader_t *rd = NULL; /* for change feeds */

  for (;;) {
    struct job *j;
    int reason;
    uint32_t gen;

    pthread_mutex_lock(&s->mu);
    while (s->head == NULL && s->bg_head == NULL && !s->stopping)
      pthread_cond_wait(&s->has_job, &s->mu);
    if (s->head == NULL && s->bg_head == NULL) {
      pthread_mutex_unlock(&s->mu);
      break;
    }
    if (s->head != NULL) {
      j = s->head;
      if ((s->head = j->next) == NULL)
        s->tail = NULL;
    } else {
      j = s->bg_head;
      if ((s->bg_head = j->next) == NULL)
        s->bg_tail = NULL;
    }
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
    if (j->kind == JOB_FILL || j->kind == JOB_FEED || j->kind == JOB_FILL_HOLDER) {
      cg_fill_t *f = j->kind == JOB_FILL          ? run_fill(s, ver, j)
                     : j->kind == JOB_FILL_HOLDER ? run_fill_holder(s, ver, j)
                                                  : run_feed(s, ver, &rd, j);
      if (f == NULL ||
          cg_worker_post(j->w, j->done, j->arg, f->err, 0, f, discard_fill) != 0) {
        /* Without memory to say so the waiters would hang: this cannot be
         * recovered from, and a gateway that hangs silently is worse. */
        fprintf(stderr, "certgw: out of memory answering an upstream fill\n");
        abort();
      }
      job_free(j);
      continue;
    }
    gen = cg_trust_generation(j->trust);
    reason = ver ? cg_seal_verify(ver, j->body, j->body_len, &j->seal, j->issued)
                 : CG_SEAL_MALFORMED_SEAL;
    count(reason == CG_SEAL_OK ? &s->stats.verified : &s->stats.failed, 1);
    if (j->kind == JOB_RECORD)
      file_verdict(s, j, reason, gen);
    if (j->w != NULL)
      cg_worker_post(j->w, j->done, j->arg, reason, gen, NULL, NULL);
    job_free(j);
  }
  cg_seal_verifier_free(ver);
  cg_trust_free(bound);
  cg_store_reader_close(rd);
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
 * are read a batch at a time, copied into jobs, and queued once the batch's
 * snapshot has ended (so that a wait for room does not hold back the reuse
 * of freed pages), the scanner waiting while the queue is half full so that
 * requests always find room in it; their jobs go first (push). */
static void scan_pass(cg_seals_t *s, cg_store_reader_t *rd) {
  cg_trust_t *trust;
  struct scan *x = calloc(1, sizeof *x);
  struct job **jobs = calloc(SCAN_BATCH, sizeof *jobs);
  int more = 1, first = 1;

  if (x == NULL || jobs == NULL) {
    free(x);
    free(jobs);
    return;
  }
  /* The snapshot is the workers'; the scanner is none of them, so it takes
   * its own reference under the lock its freeing takes (main.c). */
  pthread_mutex_lock(&s->srv->rt_free_mu);
  trust = cg_trust_ref(atomic_load(&s->srv->rt)->trust);
  pthread_mutex_unlock(&s->srv->rt_free_mu);
  x->gen = cg_trust_generation(trust);
  while (more && !s->stopping) {
    int n = 0;
    x->n = 0;
    if (cg_store_reader_begin(rd) != 0)
      break;
    more = cg_store_each_from(rd, CG_DB_CERT, first ? NULL : x->last, first ? 0 : x->last_len,
                              scan_one, x) == 1;
    for (int i = 0; i < x->n; i++) {
      cg_record_t r;
      if (cg_store_cert_get(rd, x->stale[i].ident, x->stale[i].len, &r) == 0 &&
          (jobs[n] = record_job(trust, x->stale[i].ident, x->stale[i].len, &r, NULL, NULL, NULL)) !=
              NULL)
        n++;
    }
    cg_store_reader_end(rd);
    for (int i = 0; i < n; i++)
      push_record(s, jobs[i], 1);
    /* The walk stopped on a full batch at x->last, already taken: go on
     * after it next time. A key plus a zero byte sorts right after it. */
    if (x->last_len < CG_IDENT_MAX) {
      x->last[x->last_len++] = '\0';
    }
    first = 0;
    /* A newer trust store makes this pass moot (and asked for another);
     * a reload that kept the trust store does not. */
    if (atomic_load(&s->srv->trust_gen) != x->gen)
      break;
  }
  free(jobs);
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
    if (pthread_create(&s->threads[i], NULL, verifier_main, s) == 0)
      pthread_setname_np(s->threads[i], "cg-verifier");
  if (pthread_create(&s->scanner, NULL, scanner_main, s) == 0)
    pthread_setname_np(s->scanner, "cg-scanner");
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
