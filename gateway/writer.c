/* writer.c — the LMDB writer thread (see writer.h). */
#include "gateway/writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ident.h"

#define GROUP_MAX 8192     /* items per transaction */
#define WAIT_MS 40         /* the longest an item waits before its group starts: with the
                              commit, within the 100 ms a crash may lose */
#define QUEUE_MAX 262144    /* audit records waiting; beyond, requests are refused */

enum { ITEM_VERDICT, ITEM_AUDIT, ITEM_FILL, ITEM_REVOKE, ITEM_META };

struct item {
  int kind;
  struct item *next;
  /* verdict */
  char ident[CG_IDENT_MAX + 1];
  size_t ident_len;
  uint64_t etag;
  int reason;
  uint32_t gen;
  /* audit */
  cg_audit_t *audit;
  /* fill (an encoded record), meta (a value under ident as the key) */
  void *data;
  size_t data_len;
};

struct cg_writer {
  cg_store_t *store;
  uint8_t audit_key[32];
  cg_audit_hmac_t *hmac;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct item *head, *tail;
  size_t queued;
  int stopping;
  uint64_t seq;
  cg_writer_stats_t stats;
  cg_buf_t buf;
};

cg_writer_stats_t *cg_writer_stats(cg_writer_t *w) { return &w->stats; }

static int enqueue(cg_writer_t *w, struct item *it) {
  pthread_mutex_lock(&w->mu);
  /* An audit record that cannot be kept must not be promised: past the
   * bound the request is refused instead (the disk is not keeping up). */
  if (it->kind == ITEM_AUDIT && w->queued >= QUEUE_MAX) {
    pthread_mutex_unlock(&w->mu);
    return CG_EUNAVAIL;
  }
  w->queued++;
  if (w->tail)
    w->tail->next = it;
  else
    w->head = it;
  w->tail = it;
  /* No wake-up per item: the writer looks every WAIT_MS anyway, and a
   * futex call per request would cost more than the rest of the audit.
   * Only a large backlog calls it at once. */
  if (w->queued == GROUP_MAX)
    pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

void cg_writer_verdict(cg_writer_t *w, const char *ident, size_t len, uint64_t etag, int reason,
                       uint32_t gen) {
  struct item *it;
  if (len > CG_IDENT_MAX || (it = calloc(1, sizeof *it)) == NULL)
    return; /* the record stays stale and is checked again later */
  it->kind = ITEM_VERDICT;
  memcpy(it->ident, ident, len);
  it->ident_len = len;
  it->etag = etag;
  it->reason = reason;
  it->gen = gen;
  enqueue(w, it);
}

int cg_writer_audit(cg_writer_t *w, const cg_audit_t *a) {
  struct item *it = calloc(1, sizeof *it);
  if (it == NULL || (it->audit = malloc(sizeof *a)) == NULL) {
    free(it);
    return CG_ENOMEM;
  }
  it->kind = ITEM_AUDIT;
  *it->audit = *a;
  if (enqueue(w, it) != 0) {
    free(it->audit);
    free(it);
    return CG_EUNAVAIL;
  }
  return 0;
}

static int file_audit(cg_writer_t *w, cg_store_writer_t *tx, cg_audit_t *a);

static int enqueue_data(cg_writer_t *w, int kind, const char *key, size_t klen, const void *data,
                        size_t len) {
  struct item *it = klen <= CG_IDENT_MAX ? calloc(1, sizeof *it) : NULL;
  if (it == NULL || (len > 0 && (it->data = malloc(len)) == NULL)) {
    free(it);
    return CG_ENOMEM;
  }
  it->kind = kind;
  memcpy(it->ident, key, klen);
  it->ident_len = klen;
  if (len > 0)
    memcpy(it->data, data, len);
  it->data_len = len;
  return enqueue(w, it);
}

int cg_writer_fill(cg_writer_t *w, const char *ident, size_t len, const void *rec, size_t reclen) {
  return enqueue_data(w, ITEM_FILL, ident, len, rec, reclen);
}

int cg_writer_revoke(cg_writer_t *w, const char *ident, size_t len) {
  return enqueue_data(w, ITEM_REVOKE, ident, len, NULL, 0);
}

int cg_writer_meta(cg_writer_t *w, const char *key, const void *val, size_t len) {
  return enqueue_data(w, ITEM_META, key, strlen(key), val, len);
}

/* One item of a group. A record that is gone is not an error: a verdict or
 * a revocation for it has nothing left to change. */
static int file_item(cg_writer_t *w, cg_store_writer_t *tx, struct item *it) {
  int err = 0;
  switch (it->kind) {
  case ITEM_VERDICT:
    cg_store_cert_set_seal(tx, it->ident, it->ident_len, it->etag,
                           it->reason == CG_SEAL_OK ? CG_SEAL_VERIFIED : CG_SEAL_INVALID,
                           it->reason, it->gen);
    atomic_fetch_add(&w->stats.verdicts, 1);
    return 0;
  case ITEM_AUDIT:
    return file_audit(w, tx, it->audit);
  case ITEM_FILL:
    err = cg_store_cert_put(tx, it->ident, it->ident_len, it->data, it->data_len, NULL);
    atomic_fetch_add(&w->stats.fills, 1);
    break;
  case ITEM_REVOKE:
    err = cg_store_cert_revoke(tx, it->ident, it->ident_len);
    atomic_fetch_add(&w->stats.revocations, 1);
    break;
  case ITEM_META:
    err = cg_store_put(tx, CG_DB_META, it->ident, it->ident_len, it->data, it->data_len);
    break;
  }
  return err == CG_ENOTFOUND || err == CG_ERECORD ? 0 : err;
}

static int file_audit(cg_writer_t *w, cg_store_writer_t *tx, cg_audit_t *a) {
  uint8_t key[CG_AUDIT_KEY_LEN];
  int err;

  if (a->holder_code[0] != '\0') {
    if (w->hmac != NULL)
      cg_audit_hmac(w->hmac, a->holder_type, a->holder_code, strlen(a->holder_code), a->holder);
    else
      cg_audit_holder_key(w->audit_key, a->holder_type, a->holder_code, strlen(a->holder_code),
                          a->holder);
    memset(a->holder_code, 0, sizeof a->holder_code);
  }
  cg_audit_key(a->time_ms, ++w->seq, key);
  cg_buf_reset(&w->buf);
  if ((err = cg_audit_encode(a, &w->buf)) != 0 ||
      (err = cg_store_put_last(tx, CG_DB_AUDIT, key, sizeof key, w->buf.base, w->buf.len)) != 0)
    return err;
  /* Holders are looked up among millions of records: indexed. A venue's
   * records are for supervision, read by walking the log in time order,
   * which spares one index write per use on the request rate. */
  if (a->holder_code[0] == '\0' && memcmp(a->holder, (uint8_t[32]){0}, 32) == 0)
    return 0;
  if ((err = cg_store_index_add(tx, CG_DB_AUDIT_HOLDER, a->holder, CG_AUDIT_HOLDER_LEN, key,
                                sizeof key)) != 0)
    return err;
  return 0;
}

static void *run(void *arg) {
  cg_writer_t *w = arg;

  for (;;) {
    struct item *batch;
    int stop;

    pthread_mutex_lock(&w->mu);
    while (w->head == NULL && !w->stopping) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += WAIT_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&w->cv, &w->mu, &until);
    }
    batch = w->head;
    w->head = w->tail = NULL;
    w->queued = 0;
    stop = w->stopping;
    pthread_mutex_unlock(&w->mu);
    if (batch == NULL && stop)
      break;
    /* Items arriving while this group commits (and syncs) form the next. */
    while (batch != NULL) {
      cg_store_writer_t *tx;
      uint64_t nv = 0, na = 0;
      int n = 0, err = 0;

      if ((err = cg_store_write_begin(w->store, 0, &tx)) != 0) {
        fprintf(stderr, "certgw: writer: cannot begin: %s\n", cg_strerror(err));
        break;
      }
      for (; batch != NULL && n < GROUP_MAX && !err; n++) {
        struct item *it = batch;
        batch = it->next;
        err = file_item(w, tx, it);
        nv += it->kind != ITEM_AUDIT;
        na += it->kind == ITEM_AUDIT;
        free(it->audit);
        free(it->data);
        free(it);
      }
      if (err == 0 && (err = cg_store_write_commit(tx)) == 0) {
        atomic_fetch_add(&w->stats.audits, na);
        atomic_fetch_add(&w->stats.commits, 1);
      } else {
        if (err != 0)
          fprintf(stderr, "certgw: writer: %llu audit records and %llu other items not filed: %s\n",
                  (unsigned long long)na, (unsigned long long)nv, cg_strerror(err));
        atomic_fetch_add(&w->stats.failures, 1);
      }
    }
    while (batch != NULL) {
      struct item *it = batch;
      batch = it->next;
      free(it->audit);
      free(it->data);
      free(it);
    }
  }
  return NULL;
}

int cg_writer_start(cg_writer_t **out, cg_store_t *store, const uint8_t audit_key[32]) {
  cg_writer_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return CG_ENOMEM;
  w->store = store;
  memcpy(w->audit_key, audit_key, 32);
  w->hmac = cg_audit_hmac_new(audit_key);
  /* Audit keys count on from a time-based start: two processes sharing a
   * store get distinct keys, and a restart does not reuse old ones. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  w->seq = ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)ts.tv_nsec << 8) ^ (uint64_t)getpid();
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  cg_buf_init(&w->buf, 1 << 20);
  if (pthread_create(&w->thread, NULL, run, w) != 0) {
    free(w);
    return CG_EINTERNAL;
  }
  *out = w;
  return 0;
}

void cg_writer_stop(cg_writer_t *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stopping = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  cg_audit_hmac_free(w->hmac);
  cg_buf_free(&w->buf);
  free(w);
}
