/* writer.c — the LMDB writer thread (see writer.h).
 *
 * Audit records come through one ring per worker: a single-producer,
 * single-consumer byte ring, so the request path takes no lock and
 * allocates nothing — it packs the record and publishes it with one release
 * store. Everything else (verdicts, fills, revocations, cursors) is rare and
 * comes through a list under a mutex. Every WAIT_MS the thread takes what
 * the list and the rings hold into one write transaction and commits it.
 */
#include "gateway/writer.h"

#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uthash.h>
#include <xxhash.h>

#include "core/cert.h"
#include "core/ident.h"

#define GROUP_MAX 8192     /* items per transaction */
#define WAIT_MS 10         /* the longest an item waits before its group starts: with the
                              commit, within the 100 ms a crash may lose. Small groups, as
                              a worker on the writer's core waits while one is filed:
                              with 40 ms groups a fetch's p99 was half as long again */
#define RING_BYTES (8u << 20) /* a worker's audit records waiting (~30,000); when full,
                                  requests are refused rather than left unrecorded */
#define RINGS_MAX 1024
#define MEMO_SLOTS 16384 /* holder HMACs remembered (direct-mapped, ~1 MB) */
#define INDEX_MS 1000     /* a batch of holder index entries is due this long after the last
                             began; it goes in over up to INDEX_SLICES groups more */
#define PEND_MAX (1u << 20) /* index entries held for that (twice 48 MB at most, waiting and
                               being filed): then filed at once */
#define INDEX_SLICES 50     /* groups a due batch of index entries is filed over, at most */
#define SLICE_MIN 1024      /* entries a group files at least (a small batch: in one or few) */
#define SLICE_MAX (PEND_MAX / INDEX_SLICES + SLICE_MIN) /* the largest slice */
#define RUNS_MAX 512        /* sorted runs (one a group) a batch holds before it is due */
#define MARK_PREFIX CG_AUDIT_MARK_PREFIX

enum { ITEM_VERDICT, ITEM_FILL, ITEM_REVOKE, ITEM_META };

/* A worker's audit ring. head and tail count bytes from the start and only
 * grow; an entry is a u32 length and that many bytes, 4-aligned, never
 * split by the end of the buffer (a length of WRAP says "go to the start"). */
#define WRAP UINT32_MAX
struct ring {
  _Atomic uint64_t head; /* written by the worker */
  char pad1[56];
  _Atomic uint64_t tail; /* written by the writer thread */
  char pad2[56];
  char *buf;
  cg_buf_t pack; /* the worker's: a record packed before it is copied in */
  _Atomic int nudged; /* the worker asked for an early group; the writer clears it */
};

struct item {
  int kind;
  struct item *next;
  /* verdict */
  char ident[CG_IDENT_MAX + 1];
  size_t ident_len;
  uint64_t etag;
  int reason;
  uint32_t gen;
  /* fill (an encoded record), meta (a value under ident as the key) */
  void *data;
  size_t data_len;
};

/* A revocation of a certificate the store did not hold when it came: a
 * fetch of it answered before the revocation may still be on its way, and
 * its fill must not store it as valid. Kept REVOKED_KEEP_MS, at most
 * REVOKED_MAX (the oldest dropped first: uthash keeps insertion order). */
#define REVOKED_KEEP_MS (10 * 60 * 1000)
#define REVOKED_MAX 65536

struct revoked {
  UT_hash_handle hh;
  uint64_t at_ms;
  size_t len;
  char ident[];
};

struct cg_writer {
  cg_store_t *store;
  struct revoked *revoked; /* uthash, by identifier; the writer thread's alone */
  uint8_t audit_key[32];
  uint8_t recovered_to[CG_AUDIT_KEY_LEN]; /* recovery: the last log key walked */
  cg_audit_hmac_t *hmac;
  cg_audit_block_t *block; /* the records of the group's block being built */
  uint64_t block_ms;       /* its key's time: its first record's */
  cg_buf_t block_buf;      /* its encoding, for the put */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_cond_t room; /* a group is filed: ring space was given back */
  int hurry;           /* a ring is filling: file a group now, not at the next tick */
  struct item *head, *tail;
  size_t queued;
  int stopping;
  uint64_t seq;
  uint64_t key_ms; /* the time in the last audit key filed */
  cg_writer_stats_t stats;
  struct ring *rings;
  int nrings;
  /* The last HMAC made for each of a few thousand holders: an HMAC costs
   * four SHA-256 blocks (~1.6 µs here), the writer's largest cost per record,
   * and uses of one holder's certificates come in runs. A slot is checked
   * against the whole code, so a hash collision only costs a fresh HMAC. */
  struct memo {
    uint8_t type, len;
    char code[32];
    uint8_t mac[CG_AUDIT_HOLDER_LEN];
  } *memo;
  /* Holder index entries not filed yet (see "the holder index" below):
   * gathered in pend, each group's sorted into a run of its own; once due
   * they move to filing, and go into the index a slice a group, merged
   * from the runs in order. */
  struct pend {
    uint8_t holder[CG_AUDIT_HOLDER_LEN];
    uint8_t key[CG_AUDIT_KEY_LEN];
  } *pend, *filing, *slice;
  size_t npend;
  size_t run_at;                      /* where pend's unsorted tail (this group's) begins */
  size_t runs[RUNS_MAX + 1];          /* pend's sorted runs: [runs[i], runs[i + 1]) */
  int nruns;
  uint8_t pend_min[CG_AUDIT_KEY_LEN]; /* the oldest record they index */
  struct run {
    size_t at, end;
  } fruns[RUNS_MAX];                  /* filing's runs, what is left of each */
  int heap[RUNS_MAX], nheap;          /* filing's runs with entries left, by next entry */
  size_t nfiling_left, slice_size;    /* entries of filing not in the index yet; a slice */
  size_t nslice;                      /* entries in slice, taken from filing, not committed */
  uint8_t filing_min[CG_AUDIT_KEY_LEN];
  struct pend last_merged;            /* the last entry the merge gave (order check, */
  size_t nmerged;                     /* Debug builds), and how many of this batch */
  int marked;                         /* the store holds this writer's mark */
  int mark_frozen;                    /* a stopping group failed: the mark stays as stored */
  uint64_t index_due_ms;
  int cursors_frozen; /* a group failed: feed cursors stay where the store has them */
  _Atomic unsigned cursor_losses; /* groups with feed items that failed (for the poller) */
  char mark[64];                      /* this writer's meta key while npend > 0 */
};

cg_writer_stats_t *cg_writer_stats(cg_writer_t *w) { return &w->stats; }

unsigned cg_writer_cursor_losses(cg_writer_t *w) {
  return w != NULL ? atomic_load(&w->cursor_losses) : 0;
}

/* ms from now on the monotonic clock, the clock cv and room wait on. */
static struct timespec deadline_in(long ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += ms % 1000 * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

static int enqueue(cg_writer_t *w, struct item *it) {
  pthread_mutex_lock(&w->mu);
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

/* ---- audit rings ------------------------------------------------------------ */

int cg_writer_audit(cg_writer_t *w, int ring, const cg_audit_use_t *u, int holder_type,
                    const char *holder_code) {
  struct ring *r;
  size_t code_len = holder_code ? strlen(holder_code) : 0;
  uint64_t head, tail, at, need, room;
  uint32_t len;

  if (ring < 0 || ring >= w->nrings || code_len > 32)
    return CG_EINTERNAL;
  r = &w->rings[ring];
  /* [u8 holder type][u8 code length][code][the record, holder HMAC zero]:
   * the writer puts the HMAC in, off the request path. */
  cg_buf_reset(&r->pack);
  if (cg_buf_putc(&r->pack, (char)holder_type) != 0 ||
      cg_buf_putc(&r->pack, (char)code_len) != 0 ||
      cg_buf_append(&r->pack, holder_code, code_len) != 0 ||
      cg_audit_pack(u, NULL, &r->pack) != 0)
    return CG_ENOMEM;
  len = (uint32_t)r->pack.len;
  need = (4 + (uint64_t)len + 3) & ~(uint64_t)3;
  head = atomic_load_explicit(&r->head, memory_order_relaxed);
  tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  at = head % RING_BYTES;
  /* An entry does not wrap: skip to the start when it would. */
  room = at + need > RING_BYTES ? RING_BYTES - at : 0;
  if (head + room + need - tail > RING_BYTES / 2 && !atomic_load(&r->nudged)) {
    /* Half full: the writer is asked to file a group now rather than at
     * its next tick (once, until it has). */
    atomic_store(&r->nudged, 1);
    pthread_mutex_lock(&w->mu);
    w->hurry = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
  }
  if (head + room + need - tail > RING_BYTES) {
    /* Full: this worker outruns the writer (as when they share a core).
     * It waits for a group to be filed — pushing back on its clients —
     * for a while before it refuses: a use is never left unrecorded. */
    struct timespec until = deadline_in(1000);
    pthread_mutex_lock(&w->mu);
    w->hurry = 1;
    pthread_cond_signal(&w->cv);
    while (head + room + need - atomic_load_explicit(&r->tail, memory_order_acquire) > RING_BYTES &&
           !w->stopping && pthread_cond_timedwait(&w->room, &w->mu, &until) == 0)
      ;
    pthread_mutex_unlock(&w->mu);
    tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head + room + need - tail > RING_BYTES)
      return CG_EUNAVAIL; /* the disk is not keeping up: refuse, do not lose */
    atomic_fetch_add(&w->stats.waits, 1);
  }
  if (room > 0) {
    uint32_t wrap = WRAP;
    if (room >= 4)
      memcpy(r->buf + at, &wrap, 4);
    head += room;
    at = 0;
  }
  memcpy(r->buf + at, &len, 4);
  memcpy(r->buf + at + 4, r->pack.base, len);
  atomic_store_explicit(&r->head, head + need, memory_order_release);
  return 0;
}



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

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void revoked_drop(cg_writer_t *w, struct revoked *r) {
  HASH_DEL(w->revoked, r);
  free(r);
}

static void revoked_note(cg_writer_t *w, const char *ident, size_t len) {
  uint64_t now = mono_ms();
  struct revoked *r, *tmp;
  HASH_FIND(hh, w->revoked, ident, len, r);
  if (r != NULL)
    revoked_drop(w, r); /* put back at the end, with the new time */
  HASH_ITER(hh, w->revoked, r, tmp) {
    if (now - r->at_ms < REVOKED_KEEP_MS && HASH_COUNT(w->revoked) < REVOKED_MAX)
      break;
    revoked_drop(w, r);
  }
  if ((r = malloc(sizeof *r + len)) == NULL)
    return;
  r->at_ms = now;
  r->len = len;
  memcpy(r->ident, ident, len);
  HASH_ADD(hh, w->revoked, ident[0], len, r);
}

static int revoked_recently(cg_writer_t *w, const char *ident, size_t len) {
  struct revoked *r;
  HASH_FIND(hh, w->revoked, ident, len, r);
  return r != NULL && mono_ms() - r->at_ms < REVOKED_KEEP_MS;
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
  case ITEM_FILL: {
    /* A revocation by the issuer stays: a version that comes later (a feed
     * update, a refresh from a tier that has not heard) does not undo it.
     * The store keeps one it holds (cg_store_cert_put); one of a
     * certificate it did not hold when it came is remembered here. */
    if (revoked_recently(w, it->ident, it->ident_len))
      cg_record_set_revoked_later(it->data, it->data_len);
    err = cg_store_cert_put(tx, it->ident, it->ident_len, it->data, it->data_len, NULL);
    atomic_fetch_add(&w->stats.fills, 1);
    break;
  }
  case ITEM_REVOKE:
    err = cg_store_cert_revoke(tx, it->ident, it->ident_len);
    if (err == CG_ENOTFOUND)
      revoked_note(w, it->ident, it->ident_len);
    atomic_fetch_add(&w->stats.revocations, 1);
    break;
  case ITEM_META:
    /* After a failed group a cursor could pass changes that were lost with
     * it: from then on cursors are not moved, and the next start polls the
     * feed again from the last one stored (applying a change twice is
     * harmless). */
    if (!w->cursors_frozen)
      err = cg_store_put(tx, CG_DB_META, it->ident, it->ident_len, it->data, it->data_len);
    break;
  }
  /* A record that is gone, bad, or named wrongly: nothing to change, and
   * no reason to lose the rest of the group. */
  return err == CG_ENOTFOUND || err == CG_ERECORD || err == CG_EIDENT ? 0 : err;
}

/* ---- the holder index, filed in batches ----------------------------------------
 *
 * Each record goes into the log in the group after it was made; its holder
 * index entry waits up to INDEX_MS and is filed with the others of that
 * second, sorted. Index entries land on pages all over the index, so filing
 * them with every group (WAIT_MS) rewrote most of its pages up to a hundred
 * times a second; once a second, once. And not all at once: a second's
 * entries (~100,000 at full speed) took some 30 ms to sort and put, a stall
 * for any worker sharing the writer's core. So each group sorts its own
 * entries (a run), and a due batch goes into the index over up to
 * INDEX_SLICES groups (half a second), a slice each, merged from the runs
 * in key order: each index page is still rewritten about once.
 *
 * While entries wait, the store's meta holds this writer's mark (MARK_PREFIX
 * and an id: the oldest record not indexed), put in the same transactions
 * as the records: after a crash the next writer to start indexes the log
 * from every mark it finds, and `certctl audit` reads the log from them
 * too, so no record is ever out of reach. */

static int cmp_pend(const void *a, const void *b) {
  return memcmp(a, b, sizeof(struct pend));
}

static int pend_add(cg_writer_t *w, cg_store_writer_t *tx, const uint8_t *holder,
                    const uint8_t *key) {
  if (w->pend == NULL || w->npend == PEND_MAX) {
    /* No room to wait: filed now, as before batching. */
    return cg_store_index_add(tx, CG_DB_AUDIT_HOLDER, holder, CG_AUDIT_HOLDER_LEN, key,
                              CG_AUDIT_KEY_LEN);
  }
  if (w->npend == 0 || memcmp(key, w->pend_min, CG_AUDIT_KEY_LEN) < 0)
    memcpy(w->pend_min, key, CG_AUDIT_KEY_LEN);
  memcpy(w->pend[w->npend].holder, holder, CG_AUDIT_HOLDER_LEN);
  memcpy(w->pend[w->npend].key, key, CG_AUDIT_KEY_LEN);
  w->npend++;
  return 0;
}

/* Sorts this group's entries into a run of their own. */
static void close_run(cg_writer_t *w) {
  if (w->npend == w->run_at || w->nruns == RUNS_MAX)
    return; /* (with RUNS_MAX runs the batch is due: the last run grows) */
  qsort(w->pend + w->run_at, w->npend - w->run_at, sizeof *w->pend, cmp_pend);
  w->runs[w->nruns++] = w->run_at;
  w->runs[w->nruns] = w->run_at = w->npend;
}

/* Heap of filing's runs, the run whose next entry is least on top. */
static int run_less(const cg_writer_t *w, int a, int b) {
  return cmp_pend(&w->filing[w->fruns[a].at], &w->filing[w->fruns[b].at]) < 0;
}

static void heap_down(cg_writer_t *w, int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < w->nheap && run_less(w, w->heap[l], w->heap[m]))
      m = l;
    if (r < w->nheap && run_less(w, w->heap[r], w->heap[m]))
      m = r;
    if (m == i)
      return;
    int t = w->heap[i];
    w->heap[i] = w->heap[m];
    w->heap[m] = t;
    i = m;
  }
}

/* The batch in pend is due: it becomes filing (the arrays swap), its runs
 * the heap's. */
static void start_filing(cg_writer_t *w) {
  struct pend *t = w->filing;
  close_run(w);
  if (w->nruns == RUNS_MAX && w->run_at < w->npend) {
    /* The last run took what came after it: sorted again, whole. */
    size_t at = w->runs[RUNS_MAX - 1];
    qsort(w->pend + at, w->npend - at, sizeof *w->pend, cmp_pend);
    w->runs[RUNS_MAX] = w->npend;
  }
  w->filing = w->pend; /* (before the heap is built: it compares filing's entries) */
  w->pend = t;
  w->nheap = 0;
  for (int i = 0; i < w->nruns; i++) {
    w->fruns[i] = (struct run){w->runs[i], w->runs[i + 1]};
    w->heap[w->nheap++] = i;
  }
  for (int i = w->nheap / 2 - 1; i >= 0; i--)
    heap_down(w, i);
  w->nfiling_left = w->npend;
  w->slice_size = w->npend / INDEX_SLICES + 1 < SLICE_MIN ? SLICE_MIN : w->npend / INDEX_SLICES + 1;
  w->nmerged = 0;
  memcpy(w->filing_min, w->pend_min, CG_AUDIT_KEY_LEN);
  w->npend = w->run_at = 0;
  w->nruns = 0;
  w->runs[0] = 0;
}

/* Puts the next slice of filing into the index: at most max entries, in
 * key order. A slice whose group failed is put again, whole, by the next. */
static int file_slice(cg_writer_t *w, cg_store_writer_t *tx, size_t max) {
  int err = 0;
  if (w->nslice == 0) {
    while (w->nslice < max && w->nheap > 0) {
      int top = w->heap[0];
#ifndef NDEBUG
      /* The merge gives the batch in key order (what the slices are for). */
      assert(w->nmerged == 0 || cmp_pend(&w->last_merged, &w->filing[w->fruns[top].at]) <= 0);
      w->last_merged = w->filing[w->fruns[top].at];
      w->nmerged++;
#endif
      w->slice[w->nslice++] = w->filing[w->fruns[top].at++];
      if (w->fruns[top].at == w->fruns[top].end)
        w->heap[0] = w->heap[--w->nheap];
      heap_down(w, 0);
    }
  }
  for (size_t i = 0; i < w->nslice && !err; i++)
    err = cg_store_index_add(tx, CG_DB_AUDIT_HOLDER, w->slice[i].holder, CG_AUDIT_HOLDER_LEN,
                             w->slice[i].key, CG_AUDIT_KEY_LEN);
  return err;
}

/* After a group committed: its slice is in the index. */
static void slice_filed(cg_writer_t *w) {
  w->nfiling_left -= w->nslice;
  w->nslice = 0;
}

/* Puts or drops the mark, as entries still wait once this group's slice
 * is in or not; *marked says which, for when the group is committed. Once
 * a group that was stopping failed, the mark stays as stored: entries it
 * had taken are no longer held anywhere but under that mark. */
static int update_mark(cg_writer_t *w, cg_store_writer_t *tx, int *marked) {
  const uint8_t *min = NULL;
  int err;
  *marked = w->marked;
  if (w->mark_frozen)
    return 0;
  if (w->nfiling_left - w->nslice > 0)
    min = w->filing_min;
  if (w->npend > 0 && (min == NULL || memcmp(w->pend_min, min, CG_AUDIT_KEY_LEN) < 0))
    min = w->pend_min;
  *marked = min != NULL;
  if (min != NULL)
    return cg_store_put(tx, CG_DB_META, w->mark, strlen(w->mark), min, CG_AUDIT_KEY_LEN);
  if (!w->marked)
    return 0;
  err = cg_store_del(tx, CG_DB_META, w->mark, strlen(w->mark));
  return err == CG_ENOTFOUND ? 0 : err;
}

/* Files every entry of pend in tx, sorted (recovery at start). */
static int file_all(cg_writer_t *w, cg_store_writer_t *tx) {
  int err = 0;
  qsort(w->pend, w->npend, sizeof *w->pend, cmp_pend);
  for (size_t i = 0; i < w->npend && !err; i++)
    err = cg_store_index_add(tx, CG_DB_AUDIT_HOLDER, w->pend[i].holder, CG_AUDIT_HOLDER_LEN,
                             w->pend[i].key, CG_AUDIT_KEY_LEN);
  return err;
}

struct marks {
  char key[16][64];
  uint8_t at[16][CG_AUDIT_KEY_LEN]; /* each mark's oldest record */
  int n;
  uint8_t min[CG_AUDIT_KEY_LEN];
};

static int collect_mark(void *arg, cg_slice_t key, cg_slice_t val) {
  struct marks *m = arg;
  if (key.len < sizeof MARK_PREFIX - 1 || memcmp(key.base, MARK_PREFIX, sizeof MARK_PREFIX - 1))
    return 1; /* past the marks */
  if (val.len == CG_AUDIT_KEY_LEN && key.len < sizeof m->key[0] && m->n < 16) {
    if (m->n == 0 || memcmp(val.base, m->min, CG_AUDIT_KEY_LEN) < 0)
      memcpy(m->min, val.base, CG_AUDIT_KEY_LEN);
    memcpy(m->at[m->n], val.base, CG_AUDIT_KEY_LEN);
    memcpy(m->key[m->n], key.base, key.len);
    m->key[m->n++][key.len] = '\0';
  }
  return 0;
}

static int recover_holder(void *arg, const uint8_t *holder) {
  cg_writer_t *w = arg;
  if (w->npend == PEND_MAX)
    return 1;
  memcpy(w->pend[w->npend].holder, holder, CG_AUDIT_HOLDER_LEN);
  memcpy(w->pend[w->npend].key, w->recovered_to, CG_AUDIT_KEY_LEN);
  w->npend++;
  return 0;
}

static int recover_one(void *arg, cg_slice_t key, cg_slice_t val) {
  cg_writer_t *w = arg;
  if (key.len != CG_AUDIT_KEY_LEN)
    return 0;
  /* A block's holders fit, or it is walked again from its key next time. */
  if (w->npend + CG_AUDIT_BLOCK_MAX / CG_AUDIT_HOLDER_LEN > PEND_MAX)
    return 1;
  memcpy(w->recovered_to, key.base, CG_AUDIT_KEY_LEN);
  cg_audit_each_holder(val.base, val.len, recover_holder, w); /* (a corrupt one: none) */
  return 0;
}

/* At start: index the log from every mark left (by a writer that stopped
 * without filing its entries), then drop the marks. Filing an entry twice
 * does nothing, so a mark of a writer still running costs nothing wrong:
 * it puts its mark back with its next group. */
static void recover_index(cg_writer_t *w) {
  struct marks m = {.n = 0};
  cg_store_reader_t *r = NULL;
  cg_store_writer_t *tx;
  int full = 0;

  if (w->pend == NULL || cg_store_reader_open(w->store, &r) != 0)
    return;
  if (cg_store_reader_begin(r) == 0) {
    cg_store_each_from(r, CG_DB_META, MARK_PREFIX, sizeof MARK_PREFIX - 1, collect_mark, &m);
    if (m.n > 0) {
      /* 1: stopped with as many entries as are held; below 0: the walk
       * failed part way. Either way, the marks move up to the last record
       * walked rather than go. */
      int rc = cg_store_each_from(r, CG_DB_AUDIT, m.min, CG_AUDIT_KEY_LEN, recover_one, w);
      full = rc != 0;
      if (rc < 0)
        fprintf(stderr, "certgw: writer: reading the audit log to index it: %s\n", cg_strerror(rc));
    }
    cg_store_reader_end(r);
  }
  cg_store_reader_close(r);
  if (m.n == 0 || cg_store_write_begin(w->store, 0, &tx) != 0) {
    w->npend = 0;
    return;
  }
  int err = file_all(w, tx);
  for (int i = 0; i < m.n && !err; i++) {
    if (!full) {
      err = cg_store_del(tx, CG_DB_META, m.key[i], strlen(m.key[i]));
      if (err == CG_ENOTFOUND)
        err = 0;
    } else if (memcmp(m.at[i], w->recovered_to, CG_AUDIT_KEY_LEN) < 0) {
      /* Up to the last record walked (filed again next time: harmless),
       * so that the next start goes on from there, not from the start. */
      err = cg_store_put(tx, CG_DB_META, m.key[i], strlen(m.key[i]), w->recovered_to,
                         CG_AUDIT_KEY_LEN);
    }
  }
  if (err == 0 && cg_store_write_commit(tx) == 0)
    fprintf(stderr, "certgw: writer: %zu audit index entries recovered from %d marks\n", w->npend,
            m.n);
  else if (err != 0)
    cg_store_write_abort(tx);
  w->npend = 0;
}

/* The block being built into the log, under the key of its first record,
 * and each of its holders into the pending index entries (pend_add). */
static int flush_block(cg_writer_t *w, cg_store_writer_t *tx) {
  uint8_t key[CG_AUDIT_KEY_LEN];
  const uint8_t *holders;
  size_t nholders;
  int err;

  if (cg_audit_block_count(w->block) == 0)
    return 0;
  cg_buf_reset(&w->block_buf);
  if ((err = cg_audit_block_finish(w->block, &w->block_buf)) != 0)
    return err;
  for (int tries = 0;; tries++) {
    cg_audit_key(w->block_ms, ++w->seq, key);
    err = cg_store_put_last(tx, CG_DB_AUDIT, key, sizeof key, w->block_buf.base, w->block_buf.len);
    if (err != CG_EEXIST || tries == 3)
      break; /* (taken: by another certgw on this store; the next sequence will do) */
  }
  /* Holders are looked up among millions of records: indexed, one entry
   * for each in the block, in batches (pend_add). A venue's records are for
   * supervision, read by walking the log in time order, which spares an
   * index write per block and venue. */
  holders = cg_audit_block_holders(w->block, &nholders);
  for (size_t i = 0; i < nholders && !err; i++)
    err = pend_add(w, tx, holders + i * CG_AUDIT_HOLDER_LEN, key);
  cg_audit_block_reset(w->block);
  return err;
}

/* One ring entry into the group's block: the holder's HMAC put in. */
static int file_audit(cg_writer_t *w, cg_store_writer_t *tx, uint8_t *p, uint32_t len) {
  uint64_t ms = 0;
  uint8_t *rec, *holder;
  size_t code_len;
  int err;

  if (len < 2 || (code_len = p[1]) + 2 + CG_AUDIT_HOLDER_AT + CG_AUDIT_HOLDER_LEN > len)
    return 0; /* cannot happen: the worker packed it */
  rec = p + 2 + code_len;
  holder = rec + CG_AUDIT_HOLDER_AT;
  if (code_len > 0) {
    struct memo *m = w->memo ? &w->memo[(XXH3_64bits(p, 2 + code_len)) % MEMO_SLOTS] : NULL;
    if (m != NULL && m->len == code_len && m->type == p[0] && memcmp(m->code, p + 2, code_len) == 0) {
      memcpy(holder, m->mac, CG_AUDIT_HOLDER_LEN);
    } else {
      if (w->hmac != NULL)
        cg_audit_hmac(w->hmac, p[0], (const char *)p + 2, code_len, holder);
      else
        cg_audit_holder_key(w->audit_key, p[0], (const char *)p + 2, code_len, holder);
      if (m != NULL) {
        m->type = p[0], m->len = (uint8_t)code_len;
        memcpy(m->code, p + 2, code_len);
        memcpy(m->mac, holder, CG_AUDIT_HOLDER_LEN);
      }
    }
    memset(p + 2, 0, code_len); /* the ring's copy of the code goes no further */
  }
  for (int i = 0; i < 8; i++)
    ms = ms << 8 | rec[CG_AUDIT_TIME_AT + i];
  /* A key never goes back in time, so that the log is appended to, not
   * searched (and its pages split in the middle): the rings are merged by
   * time (file_rings), but a record packed late, or a clock stepped back,
   * would still come before the last. Such a record keeps its own time,
   * in a block under a key a few milliseconds later. */
  if (ms < w->key_ms)
    ms = w->key_ms;
  w->key_ms = ms;
  if (cg_audit_block_full(w->block) && (err = flush_block(w, tx)) != 0)
    return err;
  if (cg_audit_block_count(w->block) == 0)
    w->block_ms = ms;
  err = cg_audit_block_add(w->block, rec, len - 2 - code_len);
  if (err == CG_ERECORD) {
    /* Cannot happen (the worker packed it, within the bounds of a record):
     * said, rather than put where it would spoil its block. */
    fprintf(stderr, "certgw: writer: a malformed audit record was not filed\n");
    atomic_fetch_add(&w->stats.failures, 1);
    return 0;
  }
  return err;
}

/* Ring r's entry at *pos (before head), past the end's padding and wrap
 * marks: its bytes, and their number in *len; NULL when none is left. */
static uint8_t *ring_entry(struct ring *r, uint64_t *pos, uint64_t head, uint32_t *len) {
  while (*pos < head) {
    uint64_t at = *pos % RING_BYTES;
    if (RING_BYTES - at < 4) { /* too little left for a length: skipped */
      *pos += RING_BYTES - at;
      continue;
    }
    memcpy(len, r->buf + at, 4);
    if (*len == WRAP) {
      *pos += RING_BYTES - at;
      continue;
    }
    return (uint8_t *)r->buf + at + 4;
  }
  return NULL;
}

/* The time packed in a ring entry (0 if it has none: cannot happen). */
static uint64_t entry_ms(const uint8_t *p, uint32_t len) {
  uint64_t ms = 0;
  size_t at = len < 2 ? 0 : 2 + (size_t)p[1] + CG_AUDIT_TIME_AT;
  if (at == 0 || at + 8 > len)
    return 0;
  for (int i = 0; i < 8; i++)
    ms = ms << 8 | p[at + i];
  return ms;
}

/* Files every ring's entries from its tail up to heads[i] (read before the
 * transaction began), merged by time: a ring holds its worker's records in
 * their order, and the log takes them all in time order, so that they are
 * appended (file_audit). The caller advances the tails once committed. */
static int file_rings(cg_writer_t *w, cg_store_writer_t *tx, const uint64_t *heads, uint64_t *n) {
  uint64_t pos[RINGS_MAX], when[RINGS_MAX];
  uint8_t *next[RINGS_MAX];
  uint32_t len[RINGS_MAX];

  for (int i = 0; i < w->nrings; i++) {
    pos[i] = atomic_load_explicit(&w->rings[i].tail, memory_order_relaxed);
    if ((next[i] = ring_entry(&w->rings[i], &pos[i], heads[i], &len[i])) != NULL)
      when[i] = entry_ms(next[i], len[i]);
  }
  for (;;) {
    int k = -1, err;
    for (int i = 0; i < w->nrings; i++) /* (a few rings: one per worker) */
      if (next[i] != NULL && (k < 0 || when[i] < when[k]))
        k = i;
    if (k < 0)
      return flush_block(w, tx);
    if ((err = file_audit(w, tx, next[k], len[k])) != 0)
      return err;
    (*n)++;
    pos[k] += (4 + (uint64_t)len[k] + 3) & ~(uint64_t)3;
    if ((next[k] = ring_entry(&w->rings[k], &pos[k], heads[k], &len[k])) != NULL)
      when[k] = entry_ms(next[k], len[k]);
  }
}

static int rings_waiting(cg_writer_t *w) {
  for (int i = 0; i < w->nrings; i++)
    if (atomic_load_explicit(&w->rings[i].head, memory_order_acquire) !=
        atomic_load_explicit(&w->rings[i].tail, memory_order_relaxed))
      return 1;
  return 0;
}

static void free_items(struct item *it) {
  while (it != NULL) {
    struct item *next = it->next;
    free(it->data);
    free(it);
    it = next;
  }
}

/* A group not filed (its transaction did not begin, or not commit). */
static void group_failed(cg_writer_t *w, int had_items, int stopping) {
  atomic_fetch_add(&w->stats.failures, 1);
  if (stopping)
    w->mark_frozen = 1; /* (its slices were let go before the commit) */
  /* A lost revocation must come again: the feed cursors stored stay, and
   * the poller starts once more from them (upstream.c). */
  if (had_items) {
    if (!w->cursors_frozen)
      fprintf(stderr, "certgw: writer: feed cursors stay as stored until the next start\n");
    w->cursors_frozen = 1;
    atomic_fetch_add(&w->cursor_losses, 1);
  }
}

/* One group: the listed items and every ring's entries up to now, in one
 * transaction. Ring space is given back when the group is done, filed or not. */
static void file_group(cg_writer_t *w, struct item *batch, int stopping) {
  uint64_t heads[RINGS_MAX];
  cg_store_writer_t *tx;
  uint64_t na = 0, nother = 0;
  int err, marked = w->marked;

  for (int i = 0; i < w->nrings; i++)
    heads[i] = atomic_load_explicit(&w->rings[i].head, memory_order_acquire);
  if ((err = cg_store_write_begin(w->store, 0, &tx)) != 0) {
    /* As a failed commit (below): the items and the rings' records are
     * lost, said so, the cursors held back, and the ring space given back,
     * or a lasting failure would leave a stopping writer spinning. */
    fprintf(stderr, "certgw: writer: cannot begin: %s; this group's records are not filed\n",
            cg_strerror(err));
    group_failed(w, batch != NULL, stopping);
    goto give_back;
  }
  for (struct item *it = batch; it != NULL && !err; it = it->next, nother++)
    err = file_item(w, tx, it);
  if (!err)
    err = file_rings(w, tx, heads, &na);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
  if (err == 0 && w->pend != NULL) {
    close_run(w);
    /* A batch due (and none being filed): it starts going in. Stopping,
     * everything goes in now, what is being filed and what waits. */
    do {
      if (w->nfiling_left == 0 && w->npend > 0 &&
          (ms >= w->index_due_ms || w->npend >= PEND_MAX / 2 || w->nruns == RUNS_MAX ||
           stopping)) {
        start_filing(w);
        w->index_due_ms = ms + INDEX_MS;
      }
      if (w->nfiling_left > 0) {
        err = file_slice(w, tx, stopping ? SLICE_MAX : w->slice_size);
        if (err == 0 && stopping)
          slice_filed(w); /* (committed below with the rest, or all lost together) */
      }
    } while (err == 0 && stopping && (w->nfiling_left > 0 || w->npend > 0));
    /* The records are in; say whether index entries still wait. */
    if (err == 0)
      err = update_mark(w, tx, &marked);
  }
  cg_audit_block_reset(w->block); /* (a failed group leaves records in it) */
  if (err != 0)
    cg_store_write_abort(tx);
  else if ((err = cg_store_write_commit(tx)) == 0) { /* (a failed commit frees tx itself) */
    if (w->nslice > 0)
      slice_filed(w);
    w->marked = marked;
    atomic_fetch_add(&w->stats.audits, na);
    atomic_fetch_add(&w->stats.commits, 1);
  }
  if (err != 0) {
    fprintf(stderr, "certgw: writer: %llu audit records and %llu other items not filed: %s\n",
            (unsigned long long)na, (unsigned long long)nother, cg_strerror(err));
    group_failed(w, batch != NULL, stopping);
  }
give_back:
  /* Filed or failed, the space is given back: a failing disk must not stop
   * the gateway behind a full ring (the failure is counted and logged). */
  for (int i = 0; i < w->nrings; i++)
    atomic_store_explicit(&w->rings[i].tail, heads[i], memory_order_release);
  free_items(batch);
}

static void *run(void *arg) {
  cg_writer_t *w = arg;

  for (;;) {
    struct item *batch;
    int stop;

    /* A group every WAIT_MS at most (sooner when the list is long): a
     * record waits at most that long before its group begins. */
    struct timespec until = deadline_in(WAIT_MS);
    pthread_mutex_lock(&w->mu);
    while (w->queued < GROUP_MAX && !w->stopping && !w->hurry &&
           pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
      ;
    w->hurry = 0;
    /* At most GROUP_MAX items a group (a long feed backlog: one
     * transaction each GROUP_MAX, not one that holds them all). */
    batch = w->head;
    if (w->queued <= GROUP_MAX) {
      w->head = w->tail = NULL;
      w->queued = 0;
    } else {
      struct item *last = batch;
      for (int i = 1; i < GROUP_MAX; i++)
        last = last->next;
      w->head = last->next;
      last->next = NULL;
      w->queued -= GROUP_MAX;
      w->hurry = 1; /* the rest go with the next group, at once */
    }
    stop = w->stopping;
    pthread_mutex_unlock(&w->mu);
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    uint64_t now_ms = (uint64_t)mono.tv_sec * 1000 + (uint64_t)mono.tv_nsec / 1000000;
    /* (Index entries due or being filed need groups even when no record
     * comes: otherwise they would wait for the next use.) */
    if (batch != NULL || rings_waiting(w) || w->nfiling_left > 0 ||
        (w->npend > 0 && (stop || now_ms >= w->index_due_ms))) {
      for (int i = 0; i < w->nrings; i++)
        atomic_store(&w->rings[i].nudged, 0);
      file_group(w, batch, stop);
      /* Workers waiting for ring space look again. */
      pthread_mutex_lock(&w->mu);
      pthread_cond_broadcast(&w->room);
      pthread_mutex_unlock(&w->mu);
    }
    /* The store syncs a group's meta page with the next group that writes
     * (group_commit); when none has within WAIT_MS (idle, or groups that
     * failed or changed nothing), a sync of its own: a committed group is
     * on disk within about WAIT_MS more, whatever follows. */
    if (cg_store_sync_due(w->store, WAIT_MS) < 0)
      fprintf(stderr, "certgw: writer: cannot sync the store\n");
    if (stop && !rings_waiting(w)) {
      /* Whatever came in while stopping is filed before the end. */
      pthread_mutex_lock(&w->mu);
      batch = w->head;
      w->head = w->tail = NULL;
      w->queued = 0;
      pthread_mutex_unlock(&w->mu);
      if (batch == NULL)
        break;
      file_group(w, batch, 1);
    }
  }
  if (cg_store_sync_due(w->store, 0) < 0) /* the last groups, before certgw exits */
    fprintf(stderr, "certgw: writer: cannot sync the store\n");
  return NULL;
}

static void writer_free(cg_writer_t *w) {
  struct revoked *r, *tmp;
  HASH_ITER(hh, w->revoked, r, tmp) {
    revoked_drop(w, r);
  }
  cg_audit_hmac_free(w->hmac);
  cg_audit_block_free(w->block);
  cg_buf_free(&w->block_buf);
  for (int i = 0; i < w->nrings; i++) {
    free(w->rings[i].buf);
    cg_buf_free(&w->rings[i].pack);
  }
  free(w->rings);
  free(w->memo);
  free(w->pend);
  free(w->filing);
  free(w->slice);
  free(w);
}

int cg_writer_start(cg_writer_t **out, cg_store_t *store, const uint8_t audit_key[32], int rings) {
  cg_writer_t *w = calloc(1, sizeof *w);
  if (w == NULL || rings < 0 || rings > RINGS_MAX ||
      (w->rings = calloc((size_t)(rings ? rings : 1), sizeof *w->rings)) == NULL) {
    free(w);
    return CG_ENOMEM;
  }
  w->nrings = rings;
  if ((w->block = cg_audit_block_new()) == NULL) {
    free(w->rings);
    free(w);
    return CG_ENOMEM;
  }
  cg_buf_init(&w->block_buf, CG_AUDIT_BLOCK_MAX);
  w->memo = calloc(MEMO_SLOTS, sizeof *w->memo); /* without it, every record gets its HMAC */
  /* Without these, entries are filed at once. */
  w->pend = malloc(PEND_MAX * sizeof *w->pend);
  w->filing = malloc(PEND_MAX * sizeof *w->filing);
  w->slice = malloc(SLICE_MAX * sizeof *w->slice);
  if (w->pend == NULL || w->filing == NULL || w->slice == NULL) {
    free(w->pend);
    free(w->filing);
    free(w->slice);
    w->pend = w->filing = w->slice = NULL;
  }
  for (int i = 0; i < rings; i++) {
    if ((w->rings[i].buf = malloc(RING_BYTES)) == NULL)
      return CG_ENOMEM; /* at start: the process exits */
    cg_buf_init(&w->rings[i].pack, 64 * 1024);
  }
  w->store = store;
  memcpy(w->audit_key, audit_key, 32);
  w->hmac = cg_audit_hmac_new(audit_key);
  /* Audit keys count on from a time-based start: two processes sharing a
   * store get distinct keys, and a restart does not reuse old ones. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  w->seq = ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)ts.tv_nsec << 8) ^ (uint64_t)getpid();
  snprintf(w->mark, sizeof w->mark, MARK_PREFIX "%016llx", (unsigned long long)w->seq);
  pthread_mutex_init(&w->mu, NULL);
  /* Waits are timed on the monotonic clock: a wall clock stepped back (NTP,
   * a resumed VM) must not hold a group, or a waiting worker, that long. */
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_cond_init(&w->room, &ca);
  pthread_condattr_destroy(&ca);
  /* Before any worker serves: with a million entries to index after a
   * crash, a recovery on the writer's thread would hold up its groups for
   * a second or more, the rings fill, and uses would be refused. */
  recover_index(w);
  if (pthread_create(&w->thread, NULL, run, w) != 0) {
    writer_free(w);
    return CG_EINTERNAL;
  }
  pthread_setname_np(w->thread, "cg-writer");
  *out = w;
  return 0;
}

void cg_writer_stop(cg_writer_t *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stopping = 1;
  pthread_cond_signal(&w->cv);
  pthread_cond_broadcast(&w->room);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  writer_free(w);
}

int cg_writer_metrics(cg_writer_t *w, cg_buf_t *out) {
  static const struct {
    const char *name, *help;
    size_t off;
  } counters[] = {
      {"audit_records", "Audit records filed in the store.", offsetof(cg_writer_stats_t, audits)},
      {"audit_waits", "Audit records whose worker waited for room in its ring (back-pressure).",
       offsetof(cg_writer_stats_t, waits)},
      {"writer_commits", "Write transactions committed by the writer thread.",
       offsetof(cg_writer_stats_t, commits)},
      {"writer_failures", "Writer groups that could not be filed (see the log).",
       offsetof(cg_writer_stats_t, failures)},
      {"writer_fills", "Certificates from upstream stored by the writer.",
       offsetof(cg_writer_stats_t, fills)},
      {"writer_revocations", "Revocations from change feeds filed by the writer.",
       offsetof(cg_writer_stats_t, revocations)},
  };
  int err = 0;
  if (w == NULL)
    return 0;
  for (size_t i = 0; i < sizeof counters / sizeof *counters && !err; i++)
    err = cg_buf_printf(out, "# HELP certgw_%s_total %s\n# TYPE certgw_%s_total counter\n"
                             "certgw_%s_total %llu\n",
                        counters[i].name, counters[i].help, counters[i].name, counters[i].name,
                        (unsigned long long)atomic_load(
                            (_Atomic uint64_t *)((char *)&w->stats + counters[i].off)));
  return err;
}
