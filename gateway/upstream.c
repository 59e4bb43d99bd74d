/* upstream.c — tiers, breakers, coalescing, the not-found memory, fetches
 * and the change feed (see upstream.h and docs/upstream.md).
 *
 * Shared state (the table of identifiers, breakers, the retry budget) sits
 * under one mutex, taken only on a cache miss, never on a hit. A fetch and
 * everything it touches afterwards — its upstream calls, its deadline timer
 * — belongs to the loop of the worker that started it.
 */
#include "gateway/upstream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>
#include <utlist.h>

#include "core/error.h"
#include "core/ident.h"
#include "core/record.h"
#include "gateway/seals.h"
#include "gateway/upclient.h"
#include "gateway/writer.h"

#define INFLIGHT_MAX 10000  /* identifiers fetched at once; beyond, 503 */
#define REMEMBER_MAX 100000 /* results remembered (not found, or just filled); oldest go first */
#define FILLED_MS 2000      /* a fill is remembered until the writer has surely stored it */
#define FEED_LIMIT 500      /* changes asked for per poll */
#define LAT_BUCKETS 14      /* upstream latency: 1 ms doubling to about 8 s */

enum { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* How a call to a tier ended, for the metrics. */
enum outcome {
  O_OK, O_NOT_FOUND, O_STATUS, O_BAD_ANSWER, O_CONNECT, O_RESET, O_TIMEOUT, O_PROTOCOL, O_TLS,
  O_UNCHECKED, O_BREAKER_OPEN, O__N
};
static const char *const outcome_names[O__N] = {
    "ok", "not_found", "status", "bad_answer", "connect", "reset", "timeout", "protocol", "tls",
    "unchecked", "breaker_open"};

struct waiter {
  cg_worker_t *w;
  cg_worker_fn done;
  void *arg;
  struct waiter *next;
};

/* An identifier being fetched (waiters wait), or one whose result is
 * remembered until until_ms: found nowhere (the not-found memory), or just
 * filled (so that requests arriving before the writer has committed the
 * fill do not fetch it again). */
enum { E_INFLIGHT, E_NOT_FOUND, E_FILLED };
struct entry {
  char ident[CG_IDENT_MAX + 1];
  int state;
  uint64_t until_ms;
  cg_upresult_t *result; /* E_FILLED: a reference */
  struct waiter *waiters;
  struct entry *fprev, *fnext; /* remembered: in the list of its kind, oldest first */
  UT_hash_handle hh;
};

struct tier {
  const cg_tier_t *cfg;
  int source;                 /* CG_SOURCE_… of what it fills */
  /* access id, token, purpose: built whole, swapped whole by a reload;
   * one replaced stays (in up->retired) until the end, as a call being
   * formed on a worker may still read it */
  _Atomic(char *) headers;
  /* breaker, under up->mu */
  int state;
  unsigned failures;
  uint64_t opened_ms;
  int trial;                  /* the half-open trial call is out */
  uint64_t eject_until[CG_TIER_ADDRS_MAX];
  unsigned rr;
  /* metrics */
  _Atomic uint64_t calls[O__N];
  _Atomic uint64_t lat[LAT_BUCKETS + 1];
  _Atomic uint64_t lat_sum_us;
  _Atomic uint64_t feed_changes[4]; /* revoked, replaced, skipped, refused */
  _Atomic uint64_t feed_polls, feed_failures;
  /* the change feed, worker 0's */
  char cursor[CG_IDENT_MAX + 1]; /* at most 64 bytes are accepted from a feed */
  unsigned losses_seen;          /* cg_writer_cursor_losses when the cursor was last loaded */
  int polling;
  int feed_addr;              /* the address polled now */
  uint64_t feed_ns;           /* when the poll went out */
  uv_timer_t feed_timer;
  int feed_timer_on;
};

struct cg_upstream {
  cg_server_t *srv;
  cg_config_t *cfg;   /* a private copy: the config the tiers came from */
  struct tier tiers[CG_TIERS_MAX];
  int ntiers;
  pthread_mutex_t mu;
  struct entry *table;
  /* Remembered entries of each kind share one lifetime, so each list is in
   * the order they expire. */
  struct entry *not_found, *filled;
  unsigned inflight, remembered;
  double budget;      /* retry tokens */
  uint64_t budget_ms;
  _Atomic uint64_t seq;
  _Atomic uint64_t coalesced, negative_hits, fetches, fills, retries, stale_served, refused;
  struct retired {
    struct retired *next;
    char *headers;
  } *retired;                    /* under mu */
  cg_upclient_t *clients[1024]; /* by worker id */
  struct fetch *owned[1024];     /* each worker's fetches in flight, by worker id */
  /* Each worker's fetches whose answer a verifier has (touched on its loop
   * only): one whose verdict never comes back (shutdown) is freed with up. */
  struct fetch *verifying[1024];
  cg_worker_t *feeder;
};

struct fetch {
  cg_upstream_t *up;
  cg_worker_t *w;
  struct fetch *prev, *next; /* the worker's fetches in flight (touched on its loop only) */
  struct fetch *vprev, *vnext; /* in up->verifying while a verifier has its answer */
  char ident[CG_IDENT_MAX + 1]; /* the table's key: an identifier, or "H<type>:<code>" */
  size_t len;
  int holder;          /* a list by holder, not a fetch by identifier */
  int holder_type;
  char code[19];
  cg_buf_t acc;        /* holders: what the tiers returned so far (seals.h's entries) */
  char type[22], issuer[19];
  int tier;            /* being asked now */
  int tried_on_tier;   /* calls made to it */
  int addr;
  int timed_out;       /* some tier timed out */
  int failed;          /* some tier failed (not a 404) */
  int done;            /* the waiters have their answer */
  int verifying;       /* a verifier has the answer */
  uint64_t call_ns;
  cg_upcall_t *call;
  uv_timer_t deadline;
  int timer_closed;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count(_Atomic uint64_t *c, uint64_t n) { atomic_fetch_add_explicit(c, n, memory_order_relaxed); }

void cg_upresult_release(cg_upresult_t *r) {
  if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
    free(r->rec);
    free(r);
  }
}

/* A result a worker will never take (its loop has ended): its reference. */
static void discard_result(void *p) { cg_upresult_release(p); }

/* ---- breakers, ejection, the retry budget (under up->mu) --------------------------- */

static int breaker_allow(cg_upstream_t *up, struct tier *t) {
  uint64_t now = now_ms();
  switch (t->state) {
  case BREAKER_CLOSED:
    return 1;
  case BREAKER_OPEN:
    if (now < t->opened_ms + up->cfg->up_breaker_open_ms)
      return 0;
    t->state = BREAKER_HALF_OPEN;
    t->trial = 1;
    return 1;
  default: /* half-open: one trial call at a time */
    if (t->trial)
      return 0;
    t->trial = 1;
    return 1;
  }
}

static void breaker_result(cg_upstream_t *up, struct tier *t, int ok) {
  pthread_mutex_lock(&up->mu);
  if (ok) {
    t->state = BREAKER_CLOSED;
    t->failures = 0;
    t->trial = 0;
  } else if (t->state == BREAKER_HALF_OPEN ||
             ++t->failures >= up->cfg->up_breaker_failures) {
    t->state = BREAKER_OPEN;
    t->opened_ms = now_ms();
    t->trial = 0;
  }
  pthread_mutex_unlock(&up->mu);
}

static int breaker_closed(cg_upstream_t *up, struct tier *t) {
  pthread_mutex_lock(&up->mu);
  int closed = t->state == BREAKER_CLOSED;
  pthread_mutex_unlock(&up->mu);
  return closed;
}

/* The next address in turn that is not ejected; all ejected, the one whose
 * ejection ends first (a tier is never left with nowhere to go). */
static int pick_address(cg_upstream_t *up, struct tier *t, int avoid) {
  uint64_t now = now_ms(), soonest = UINT64_MAX;
  int n = t->cfg->naddrs, best = 0;
  pthread_mutex_lock(&up->mu);
  for (int i = 0; i < n; i++) {
    int a = (int)((t->rr + (unsigned)i) % (unsigned)n);
    if (a == avoid && n > 1)
      continue;
    if (t->eject_until[a] <= now) {
      t->rr = (unsigned)a + 1;
      pthread_mutex_unlock(&up->mu);
      return a;
    }
    if (t->eject_until[a] < soonest)
      soonest = t->eject_until[a], best = a;
  }
  pthread_mutex_unlock(&up->mu);
  return best;
}

static void eject(cg_upstream_t *up, struct tier *t, int addr) {
  if (t->cfg->naddrs < 2)
    return;
  pthread_mutex_lock(&up->mu);
  t->eject_until[addr] = now_ms() + up->cfg->up_eject_ms;
  pthread_mutex_unlock(&up->mu);
}

/* Retries may add retry_budget percent to the calls made, plus three a
 * second, so that a failing platform is not hit twice as hard. */
static void budget_earn(cg_upstream_t *up) {
  uint64_t now = now_ms();
  pthread_mutex_lock(&up->mu);
  /* (now was read before the lock: another worker may have stored a later
   * time meanwhile, which must not read as 2^64 ms gone by.) */
  uint64_t gone = now > up->budget_ms ? now - up->budget_ms : 0;
  up->budget += up->cfg->up_retry_budget / 100.0 + (double)gone * 3 / 1000;
  if (up->budget > 100)
    up->budget = 100;
  if (now > up->budget_ms)
    up->budget_ms = now;
  pthread_mutex_unlock(&up->mu);
}

static int budget_take(cg_upstream_t *up) {
  int ok;
  pthread_mutex_lock(&up->mu);
  ok = up->budget >= 1;
  if (ok)
    up->budget -= 1;
  pthread_mutex_unlock(&up->mu);
  return ok;
}

/* ---- metrics helpers ----------------------------------------------------------------- */

/* outcome < 0: the latency only (the outcome is counted once judged). */
static void observe(struct tier *t, int outcome, uint64_t ns) {
  uint64_t us = ns / 1000;
  int b = 0;
  if (outcome >= 0)
    count(&t->calls[outcome], 1);
  while (b < LAT_BUCKETS && us > (1000ull << b))
    b++;
  count(&t->lat[b], 1);
  count(&t->lat_sum_us, us);
}

/* ---- finishing a fetch --------------------------------------------------------------- */

static void fetch_free(struct fetch *f) {
  cg_buf_free(&f->acc);
  free(f);
}

static void fetch_free_timer(uv_handle_t *h) {
  struct fetch *f = h->data;
  f->timer_closed = 1;
  if (!f->verifying)
    fetch_free(f);
}

/* Every waiter gets the result; the fetch itself goes once nothing of it
 * is outstanding (its verifier job may still be out). */
static void fetch_finish(struct fetch *f, int err, cg_fill_t *fill) {
  cg_upstream_t *up = f->up;
  struct entry *e;
  struct waiter *ws = NULL;
  cg_upresult_t *r;
  int n = 0;

  if (f->done)
    return;
  f->done = 1;
  if (f->prev)
    f->prev->next = f->next;
  else
    up->owned[f->w->id] = f->next;
  if (f->next)
    f->next->prev = f->prev;
  if (f->call != NULL) {
    cg_upcall_cancel(f->call);
    f->call = NULL;
  }
  r = calloc(1, sizeof *r);
  if (r == NULL) {
    fprintf(stderr, "certgw: out of memory answering an upstream fetch\n");
    abort(); /* the waiters would hang otherwise */
  }
  r->err = err;
  if (err == 0 && fill != NULL) {
    r->rec = fill->rec, r->len = fill->len;
    fill->rec = NULL;
  }
  pthread_mutex_lock(&up->mu);
  HASH_FIND_STR(up->table, f->ident, e);
  if (e != NULL) {
    ws = e->waiters;
    e->waiters = NULL;
    up->inflight--;
    if ((err == CG_ENOTFOUND && up->cfg->up_negative_ttl_ms > 0) || err == 0) {
      e->state = err == 0 ? E_FILLED : E_NOT_FOUND;
      e->until_ms = now_ms() + (err == 0 ? FILLED_MS : up->cfg->up_negative_ttl_ms);
      up->remembered++;
      if (err == 0)
        DL_APPEND2(up->filled, e, fprev, fnext);
      else
        DL_APPEND2(up->not_found, e, fprev, fnext);
    } else {
      HASH_DEL(up->table, e);
      free(e);
      e = NULL;
    }
  }
  for (struct waiter *x = ws; x != NULL; x = x->next)
    n++;
  int holders = n + (e != NULL && err == 0);
  atomic_init(&r->refs, holders);
  if (e != NULL && err == 0)
    e->result = r;
  pthread_mutex_unlock(&up->mu);

  while (ws != NULL) {
    struct waiter *next = ws->next;
    if (cg_worker_post(ws->w, ws->done, ws->arg, err, 0, r, discard_result) != 0) {
      fprintf(stderr, "certgw: out of memory answering an upstream fetch\n");
      abort();
    }
    free(ws);
    ws = next;
  }
  if (holders == 0) { /* nobody waited (they cannot have: the first did) */
    free(r->rec);
    free(r);
  }
  uv_timer_stop(&f->deadline);
  uv_close((uv_handle_t *)&f->deadline, fetch_free_timer);
}

/* ---- asking the tiers -------------------------------------------------------------------- */

static void next_tier(struct fetch *f);
static void attempt(struct fetch *f, int avoid);

int cg_upstream_entry(const uint8_t *p, size_t len, size_t *off, cg_upstream_entry_t *e) {
  uint16_t il;
  uint32_t rl;
  if (*off + 2 > len)
    return 0;
  memcpy(&il, p + *off, 2);
  if (*off + 2 + il + 4 > len)
    return 0;
  memcpy(&rl, p + *off + 2 + il, 4);
  if (*off + 2 + il + 4 + rl > len)
    return 0;
  e->ident = (const char *)p + *off + 2;
  e->ident_len = il;
  e->rec = p + *off + 2 + il + 4;
  e->rec_len = rl;
  e->whole = 2 + (size_t)il + 4 + rl;
  *off += e->whole;
  return 1;
}

/* Adds a tier's holder entries to what the fetch has, skipping identifiers
 * an earlier tier returned. */
static void append_new(struct fetch *f, const cg_fill_t *fill) {
  cg_upstream_entry_t e, o;
  for (size_t off = 0; cg_upstream_entry(fill->rec, fill->len, &off, &e);) {
    int dup = 0;
    for (size_t k = 0; !dup && cg_upstream_entry((uint8_t *)f->acc.base, f->acc.len, &k, &o);)
      dup = o.ident_len == e.ident_len && memcmp(o.ident, e.ident, e.ident_len) == 0;
    if (!dup)
      cg_buf_append(&f->acc, e.ident - 2, e.whole);
  }
}

static void on_filled(void *arg, int err, uint32_t unused, void *p) {
  struct fetch *f = arg;
  cg_fill_t *fill = p;
  struct tier *t = &f->up->tiers[f->tier];
  (void)unused;
  f->verifying = 0;
  DL_DELETE2(f->up->verifying[f->w->id], f, vprev, vnext);
  /* The tier answered; whether usefully decides its breaker, also when
   * the deadline passed meanwhile (a half-open trial must end). */
  breaker_result(f->up, t, err == 0);
  if (f->done) {
    cg_fill_free(fill);
    if (f->timer_closed)
      fetch_free(f);
    return;
  }
  if (f->holder && err == 0) {
    /* Every tier is asked for a holder; what each has is put together. */
    count(&t->calls[O_OK], 1);
    count(&f->up->fills, fill->changes[1]);
    append_new(f, fill);
    next_tier(f);
  } else if (err == 0) {
    count(&t->calls[O_OK], 1);
    count(&f->up->fills, 1);
    fetch_finish(f, 0, fill);
  } else {
    /* Not a certificate, another one, or a seal that fails: this tier's
     * answer is not used; the next one may have a good copy. */
    count(&t->calls[O_BAD_ANSWER], 1);
    fprintf(stderr, "certgw: upstream %s: refused its answer for %s: %s\n", t->cfg->name,
            f->ident, fill->why);
    f->failed = 1;
    next_tier(f);
  }
  cg_fill_free(fill);
}

/* A call that ended without a usable answer, as the metrics name it. */
static int failure_outcome(int kind) {
  return kind == CG_UP_OK        ? O_STATUS
         : kind == CG_UP_CONNECT ? O_CONNECT
         : kind == CG_UP_RESET   ? O_RESET
         : kind == CG_UP_TIMEOUT ? O_TIMEOUT
         : kind == CG_UP_TLS     ? O_TLS
                                 : O_PROTOCOL;
}

static void on_answer(void *arg, int kind, int status, const char *body, size_t len) {
  struct fetch *f = arg;
  cg_upstream_t *up = f->up;
  struct tier *t = &up->tiers[f->tier];
  uint64_t ns = now_ns() - f->call_ns;
  int outcome;

  f->call = NULL;
  if (kind == CG_UP_OK && status == 200) {
    cg_runtime_t *rt = atomic_load(&up->srv->rt);
    observe(t, -1, ns);
    if ((f->holder ? cg_seals_fill_holder(up->srv->seals, rt->trust, body, len, f->holder_type,
                                          f->code, t->source, f->w, on_filled, f)
                   : cg_seals_fill(up->srv->seals, rt->trust, body, len, f->ident, f->len,
                                   t->source, f->w, on_filled, f)) == 0) {
      f->verifying = 1;
      DL_APPEND2(up->verifying[f->w->id], f, vprev, vnext);
      return;
    }
    /* No room to check it: the answer is of no use, but the platform gave
     * it, so the tier counts as working (a half-open breaker's trial ends
     * closed): a local overload must not open the breaker of a healthy
     * platform. */
    count(&t->calls[O_UNCHECKED], 1);
    breaker_result(up, t, 1);
    f->failed = 1;
    next_tier(f);
    return;
  }
  if (kind == CG_UP_OK && status == 404) {
    observe(t, O_NOT_FOUND, ns);
    breaker_result(up, t, 1);
    next_tier(f);
    return;
  }
  outcome = failure_outcome(kind);
  observe(t, outcome, ns);
  f->failed = 1;
  f->timed_out |= kind == CG_UP_TIMEOUT;
  breaker_result(up, t, 0);
  if (kind == CG_UP_CONNECT || kind == CG_UP_RESET)
    eject(up, t, f->addr);
  /* One retry on another address of the same tier, if the budget allows
   * and the breaker is still closed (this failure may have opened it, or
   * been a half-open breaker's one trial). */
  if (f->tried_on_tier == 1 && t->cfg->naddrs > 1 && breaker_closed(up, t) && budget_take(up)) {
    count(&up->retries, 1);
    attempt(f, f->addr);
    return;
  }
  next_tier(f);
}

static void attempt(struct fetch *f, int avoid) {
  cg_upstream_t *up = f->up;
  struct tier *t = &up->tiers[f->tier];
  char target[CG_IDENT_MAX + 32], headers[1600];
  uint64_t left = uv_timer_get_due_in(&f->deadline);
  unsigned total = t->cfg->timeout_ms < left ? t->cfg->timeout_ms : left > 0 ? (unsigned)left : 1;

  f->addr = pick_address(up, t, avoid);
  f->tried_on_tier++;
  if (f->holder)
    snprintf(target, sizeof target, "/v1/holders/%s/certificates", f->code);
  else
    snprintf(target, sizeof target, "/v1/certificates/%s", f->ident);
  snprintf(headers, sizeof headers, "%sX-Request-Id: certgw-%d-%llu\r\n",
           atomic_load_explicit(&t->headers, memory_order_acquire), f->w->id,
           (unsigned long long)atomic_fetch_add(&up->seq, 1));
  f->call_ns = now_ns();
  f->call = cg_upclient_get(up->clients[f->w->id], f->tier, f->addr, target, headers,
                            t->cfg->connect_timeout_ms, total, on_answer, f);
  if (f->call == NULL) { /* no memory for a call: this tier is out of reach */
    /* Our shortage, not the platform's failure: it must not open a
     * healthy platform's breaker (as an answer we cannot check, below). */
    breaker_result(up, t, 1);
    f->failed = 1;
    next_tier(f);
  }
}

/* A holder fetch ends with what the tiers asked so far returned, if any:
 * returns 1 when it did. */
static int finish_with_gathered(struct fetch *f) {
  cg_fill_t all;
  if (!f->holder || f->acc.len == 0)
    return 0;
  all = (cg_fill_t){.rec = (uint8_t *)f->acc.base, .len = f->acc.len};
  f->acc.base = NULL, f->acc.len = 0, f->acc.cap = 0;
  fetch_finish(f, 0, &all);
  free(all.rec);
  return 1;
}

static void next_tier(struct fetch *f) {
  cg_upstream_t *up = f->up;
  if (f->done)
    return;
  while (++f->tier < up->ntiers) {
    struct tier *t = &up->tiers[f->tier];
    int ok;
    if (!f->holder && !cg_config_tier_covers(t->cfg, f->type, f->issuer))
      continue;
    pthread_mutex_lock(&up->mu);
    ok = breaker_allow(up, t);
    pthread_mutex_unlock(&up->mu);
    if (!ok) {
      count(&t->calls[O_BREAKER_OPEN], 1);
      f->failed = 1;
      continue;
    }
    f->tried_on_tier = 0;
    attempt(f, -1);
    return;
  }
  if (finish_with_gathered(f)) /* what some tiers had, even if another failed */
    return;
  fetch_finish(f, !f->failed ? CG_ENOTFOUND : f->timed_out ? CG_EUPTIMEOUT : CG_EUPSTREAM, NULL);
}

static void on_deadline(uv_timer_t *tm) {
  struct fetch *f = tm->data;
  if (f->call != NULL && f->tier < f->up->ntiers) {
    /* The call cut short counts as a timeout of its tier (a half-open
     * breaker's trial must end one way or the other). */
    struct tier *t = &f->up->tiers[f->tier];
    observe(t, O_TIMEOUT, now_ns() - f->call_ns);
    breaker_result(f->up, t, 0);
  }
  if (finish_with_gathered(f))
    return;
  fetch_finish(f, CG_EUPTIMEOUT, NULL);
}

static void fetch_start(cg_upstream_t *up, cg_worker_t *w, struct fetch *f, const char *ident,
                        size_t len) {
  f->up = up;
  f->w = w;
  memcpy(f->ident, ident, len);
  f->len = len;
  /* 1.2.156.3005.2.<type 21>.<issuer 18>.… (checked by the caller) */
  if (!f->holder) {
    memcpy(f->type, ident + 15, 21);
    memcpy(f->issuer, ident + 37, 18);
  }
  cg_buf_init(&f->acc, 64u << 20);
  f->tier = -1;
  f->next = up->owned[w->id];
  if (f->next)
    f->next->prev = f;
  up->owned[w->id] = f;
  uv_timer_init(&w->loop, &f->deadline);
  f->deadline.data = f;
  uv_timer_start(&f->deadline, on_deadline, up->cfg->up_deadline_ms, 0);
  count(&up->fetches, 1);
  budget_earn(up);
  next_tier(f);
}

/* Turns a remembered entry back into one in flight (del 0) or drops it. */
static void forget(cg_upstream_t *up, struct entry *e, int del) {
  if (e->state == E_FILLED)
    DL_DELETE2(up->filled, e, fprev, fnext);
  else
    DL_DELETE2(up->not_found, e, fprev, fnext);
  cg_upresult_release(e->result);
  e->result = NULL;
  e->state = E_INFLIGHT;
  up->remembered--;
  if (del) {
    HASH_DEL(up->table, e);
    free(e);
  }
}

/* Drops remembered entries whose time is up, oldest first, and beyond the
 * bound the oldest of the larger kind. */
static void forget_expired(cg_upstream_t *up) {
  uint64_t now = now_ms();
  while (up->filled != NULL && (up->filled->until_ms <= now || up->remembered > REMEMBER_MAX))
    forget(up, up->filled, 1);
  while (up->not_found != NULL &&
         (up->not_found->until_ms <= now || up->remembered > REMEMBER_MAX))
    forget(up, up->not_found, 1);
}

/* ---- wanting an identifier ------------------------------------------------------------------ */

/* The shared part of wanting an identifier or a holder: key is the table's
 * key; f, made before the lock in case this request is the one to fetch
 * (once a key is in the table, a fetch must follow), is used or freed. */
static int want(cg_upstream_t *up, cg_worker_t *w, const char *ident, size_t len, struct fetch *f,
                cg_worker_fn done, void *arg) {
  struct entry *e;
  struct waiter *x = calloc(1, sizeof *x);
  int start = 0;

  if (x == NULL) {
    free(f);
    return CG_ENOMEM;
  }
  x->w = w, x->done = done, x->arg = arg;
  pthread_mutex_lock(&up->mu);
  forget_expired(up);
  HASH_FIND(hh, up->table, ident, len, e);
  if (e != NULL && e->state != E_INFLIGHT && e->until_ms > now_ms()) {
    cg_upresult_t *r = e->result;
    if (r != NULL)
      atomic_fetch_add(&r->refs, 1);
    pthread_mutex_unlock(&up->mu);
    free(x);
    free(f);
    if (r == NULL) {
      count(&up->negative_hits, 1);
      return CG_ENOTFOUND;
    }
    /* Just filled: the same answer, on the next turn of the loop. */
    count(&up->coalesced, 1);
    if (cg_worker_post(w, done, arg, 0, 0, r, discard_result) != 0) {
      cg_upresult_release(r);
      return CG_ENOMEM;
    }
    return 0;
  }
  if (e != NULL && e->state != E_INFLIGHT) { /* remembered too long: ask again */
    forget(up, e, 0);
    up->inflight++;
    start = 1;
  } else if (e == NULL) {
    if (up->inflight >= INFLIGHT_MAX || (e = calloc(1, sizeof *e)) == NULL) {
      pthread_mutex_unlock(&up->mu);
      free(x);
      free(f);
      count(&up->refused, 1);
      return CG_EUNAVAIL;
    }
    memcpy(e->ident, ident, len);
    HASH_ADD_STR(up->table, ident, e);
    up->inflight++;
    start = 1;
  } else {
    count(&up->coalesced, 1);
  }
  x->next = e->waiters;
  e->waiters = x;
  pthread_mutex_unlock(&up->mu);
  if (start)
    fetch_start(up, w, f, ident, len);
  else
    free(f);
  return 0;
}

int cg_upstream_want(cg_upstream_t *up, cg_worker_t *w, const char *ident, size_t len,
                     cg_worker_fn done, void *arg) {
  struct fetch *f;
  if (len > CG_IDENT_MAX || len < 56)
    return CG_ENOTFOUND;
  if ((f = calloc(1, sizeof *f)) == NULL)
    return CG_ENOMEM;
  return want(up, w, ident, len, f, done, arg);
}

int cg_upstream_want_holder(cg_upstream_t *up, cg_worker_t *w, int holder_type, const char *code,
                            cg_worker_fn done, void *arg) {
  struct fetch *f;
  char key[32];
  int n;
  if (strlen(code) > 18)
    return CG_EHOLDER;
  if ((f = calloc(1, sizeof *f)) == NULL)
    return CG_ENOMEM;
  /* Not an identifier's form: the two kinds never share a key. */
  n = snprintf(key, sizeof key, "H%d:%s", holder_type, code);
  f->holder = 1;
  f->holder_type = holder_type;
  snprintf(f->code, sizeof f->code, "%s", code);
  return want(up, w, key, (size_t)n, f, done, arg);
}

void cg_upstream_count_stale(cg_upstream_t *up) { count(&up->stale_served, 1); }

/* ---- the change feed (worker 0) --------------------------------------------------------------------- */

static void poll_feed(struct tier *t, cg_upstream_t *up);
static void pct_encode(const char *s, char *out, size_t cap);

static void on_fed(void *arg, int err, uint32_t unused, void *p) {
  struct tier *t = arg;
  cg_fill_t *fill = p;
  (void)unused;
  t->polling = 0;
  int moved = 0;
  if (err == 0) {
    for (int i = 0; i < 4; i++)
      count(&t->feed_changes[i], fill->changes[i]);
    moved = strcmp(t->cursor, fill->ident) != 0;
    snprintf(t->cursor, sizeof t->cursor, "%s", fill->ident);
  } else {
    count(&t->feed_failures, 1);
  }
  /* More at once only when the cursor moved: a platform that says "more"
   * and gives the same cursor back would be polled in a tight loop. */
  int more = err == 0 && fill->reason && moved;
  cg_fill_free(fill);
  if (more)
    poll_feed(t, t->feed_timer.data);
}

static void on_feed_answer(void *arg, int kind, int status, const char *body, size_t len) {
  struct tier *t = arg;
  cg_upstream_t *up = t->feed_timer.data;
  char key[96];
  count(&t->feed_polls, 1);
  /* A poll is a call like a fetch: counted and timed with them. */
  observe(t, kind == CG_UP_OK && status == 200 ? O_OK : failure_outcome(kind),
          now_ns() - t->feed_ns);
  if (kind != CG_UP_OK || status != 200) {
    /* An address that refuses or resets is left out of polls as of fetches. */
    if (kind == CG_UP_CONNECT || kind == CG_UP_RESET)
      eject(up, t, t->feed_addr);
    count(&t->feed_failures, 1);
    t->polling = 0;
    return;
  }
  snprintf(key, sizeof key, "upstream.cursor.%s", t->cfg->name);
  if (cg_seals_feed(up->srv->seals, atomic_load(&up->srv->rt)->trust, body, len, t->source, key,
                    up->feeder, on_fed, t) != 0) {
    count(&t->feed_failures, 1);
    t->polling = 0;
  }
}

static void poll_feed(struct tier *t, cg_upstream_t *up) {
  char target[512], since[400], headers[1600];
  int addr;
  if (t->polling)
    return;
  addr = pick_address(up, t, -1);
  pct_encode(t->cursor, since, sizeof since); /* a cursor is opaque text */
  snprintf(target, sizeof target, "/v1/changes?since=%s&limit=%d", since, FEED_LIMIT);
  snprintf(headers, sizeof headers, "%sX-Request-Id: certgw-feed-%llu\r\n",
           atomic_load_explicit(&t->headers, memory_order_acquire),
           (unsigned long long)atomic_fetch_add(&up->seq, 1));
  t->polling = 1;
  t->feed_addr = addr;
  t->feed_ns = now_ns();
  if (cg_upclient_get(up->clients[up->feeder->id], (int)(t - up->tiers), addr, target, headers,
                      t->cfg->connect_timeout_ms, t->cfg->timeout_ms, on_feed_answer, t) == NULL)
    t->polling = 0;
}

/* The tier's cursor as the store has it (none: the one it has now stays). */
static void load_cursor(struct tier *t, cg_worker_t *w) {
  char key[96];
  cg_slice_t v;
  snprintf(key, sizeof key, "upstream.cursor.%s", t->cfg->name);
  if (cg_store_reader_begin(w->reader) == 0) {
    if (cg_store_get(w->reader, CG_DB_META, key, strlen(key), &v) == 0 && v.len > 0 &&
        v.len < sizeof t->cursor) {
      memcpy(t->cursor, v.base, v.len);
      t->cursor[v.len] = '\0';
    }
    cg_store_reader_end(w->reader);
  }
}

static void on_feed_timer(uv_timer_t *tm) {
  cg_upstream_t *up = tm->data;
  struct tier *t = (struct tier *)((char *)tm - offsetof(struct tier, feed_timer));
  /* After a write group failed, changes this poller went past may have been
   * lost with it, and the cursors stored no longer move: the next poll
   * starts again from the stored one (a change applied twice does no harm)
   * — once a failure, not at every tick — so that nothing lost stays lost
   * until a restart. */
  unsigned losses = cg_writer_cursor_losses(up->srv->writer);
  if (!t->polling && losses != t->losses_seen) {
    load_cursor(t, up->feeder);
    t->losses_seen = losses;
  }
  poll_feed(t, up);
}

/* ---- lifetime ------------------------------------------------------------------------------------------ */

/* RFC 3986 percent-encoding of everything but unreserved characters. */
static void pct_encode(const char *s, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < cap; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      out[o++] = (char)*p;
    } else {
      out[o++] = '%';
      out[o++] = hex[*p >> 4];
      out[o++] = hex[*p & 15];
    }
  }
  out[o] = '\0';
}

/* The headers every call to tier t of cfg carries, in a new string. */
static char *tier_headers(const cg_config_t *cfg, const cg_tier_t *t) {
  char purpose[800], *h = malloc(1400);
  pct_encode(cfg->up_purpose, purpose, sizeof purpose);
  if (h != NULL)
    snprintf(h, 1400,
             "X-Access-Id: %s\r\nX-Access-Token: %s\r\nX-Purpose: %s\r\nAccept: application/json\r\n",
             t->access_id, t->token, purpose);
  return h;
}

int cg_upstream_new(cg_upstream_t **out, cg_server_t *srv, const cg_config_t *cfg, cg_why_t *why) {
  cg_upstream_t *up = calloc(1, sizeof *up);
  if (up == NULL || (up->cfg = malloc(sizeof *cfg)) == NULL) {
    free(up);
    return cg_why_set(why, CG_ENOMEM, "out of memory");
  }
  memcpy(up->cfg, cfg, sizeof *cfg);
  up->srv = srv;
  pthread_mutex_init(&up->mu, NULL);
  up->ntiers = cfg->ntiers;
  up->budget = 10;
  up->budget_ms = now_ms();
  for (int i = 0; i < up->ntiers; i++) {
    struct tier *t = &up->tiers[i];
    char *h = tier_headers(cfg, &cfg->tiers[i]);
    t->cfg = &up->cfg->tiers[i];
    t->source = CG_SOURCE_CITY + i;
    atomic_init(&t->headers, h);
    snprintf(t->cursor, sizeof t->cursor, "0");
    if (h == NULL) {
      up->ntiers = i;
      cg_upstream_free(up);
      return cg_why_set(why, CG_ENOMEM, "out of memory");
    }
  }
  *out = up;
  return 0;
}

/* The same platforms at the same addresses, reached the same way. */
static int same_tiers(const cg_config_t *a, const cg_config_t *b) {
  if (a->ntiers != b->ntiers)
    return 0;
  for (int i = 0; i < a->ntiers; i++) {
    const cg_tier_t *x = &a->tiers[i], *y = &b->tiers[i];
    if (strcmp(x->name, y->name) != 0 || x->naddrs != y->naddrs ||
        strcmp(x->ca_file, y->ca_file) != 0 || strcmp(x->server_name, y->server_name) != 0)
      return 0;
    for (int k = 0; k < x->naddrs; k++)
      if (x->addrs[k].tls != y->addrs[k].tls || x->addrs[k].port != y->addrs[k].port ||
          strcmp(x->addrs[k].host, y->addrs[k].host) != 0)
        return 0;
  }
  return 1;
}

/* Whether the other [upstream] keys (those a reload does not take) agree. */
static int same_rest(const cg_config_t *a, const cg_config_t *b) {
  if (a->up_deadline_ms != b->up_deadline_ms || a->up_negative_ttl_ms != b->up_negative_ttl_ms ||
      a->up_refresh_s != b->up_refresh_s || a->up_retry_budget != b->up_retry_budget ||
      a->up_breaker_failures != b->up_breaker_failures ||
      a->up_breaker_open_ms != b->up_breaker_open_ms || a->up_eject_ms != b->up_eject_ms ||
      a->up_feed_interval_ms != b->up_feed_interval_ms || a->up_pool != b->up_pool)
    return 0;
  for (int i = 0; i < a->ntiers; i++) {
    cg_tier_t x = a->tiers[i], y = b->tiers[i];
    memset(x.access_id, 0, sizeof x.access_id), memset(y.access_id, 0, sizeof y.access_id);
    memset(x.token, 0, sizeof x.token), memset(y.token, 0, sizeof y.token);
    if (memcmp(&x, &y, sizeof x) != 0)
      return 0;
  }
  return 1;
}

int cg_upstream_reload(cg_upstream_t *up, const cg_config_t *cfg, cg_why_t *why) {
  char *fresh[CG_TIERS_MAX] = {0};
  struct retired *slot[CG_TIERS_MAX] = {0};
  int changed = 0;
  if (up == NULL)
    return cfg->ntiers == 0 ? 0 : cg_why_set(why, CG_ECONFIG, "upstream tiers were added");
  if (!same_tiers(up->cfg, cfg))
    return cg_why_set(why, CG_ECONFIG,
                      "the upstream tiers, their addresses or TLS settings changed");
  /* Everything allocated first: out of memory, nothing has changed. */
  for (int i = 0; i < up->ntiers; i++) {
    if ((slot[i] = malloc(sizeof *slot[i])) == NULL ||
        (fresh[i] = tier_headers(cfg, &cfg->tiers[i])) == NULL) {
      for (int k = 0; k <= i; k++)
        free(fresh[k]), free(slot[k]);
      return cg_why_set(why, CG_ENOMEM, "out of memory");
    }
  }
  pthread_mutex_lock(&up->mu);
  for (int i = 0; i < up->ntiers; i++) {
    struct tier *t = &up->tiers[i];
    char *old = atomic_load_explicit(&t->headers, memory_order_relaxed);
    if (strcmp(old, fresh[i]) == 0) {
      free(fresh[i]);
      free(slot[i]);
      continue;
    }
    atomic_store_explicit(&t->headers, fresh[i], memory_order_release);
    slot[i]->headers = old;
    slot[i]->next = up->retired;
    up->retired = slot[i];
    changed++;
  }
  pthread_mutex_unlock(&up->mu);
  if (!same_rest(up->cfg, cfg))
    cg_why_set(why, 0, "the other [upstream] keys (timeouts, breakers, types, areas, feed, "
                       "pool) take effect at the next start");
  return changed;
}

void cg_upstream_free(cg_upstream_t *up) {
  struct entry *e, *tmp;
  if (up == NULL)
    return;
  HASH_ITER(hh, up->table, e, tmp) {
    HASH_DEL(up->table, e);
    cg_upresult_release(e->result);
    while (e->waiters) {
      struct waiter *n = e->waiters->next;
      free(e->waiters);
      e->waiters = n;
    }
    free(e);
  }
  /* Verdicts that never came back (the verifiers stopped, or the worker's
   * loop had ended): every thread has stopped by now. */
  for (size_t i = 0; i < sizeof up->verifying / sizeof up->verifying[0]; i++) {
    struct fetch *f, *fnext;
    DL_FOREACH_SAFE2(up->verifying[i], f, fnext, vnext) {
      DL_DELETE2(up->verifying[i], f, vprev, vnext);
      fetch_free(f);
    }
  }
  while (up->retired) {
    struct retired *n = up->retired->next;
    free(up->retired->headers);
    free(up->retired);
    up->retired = n;
  }
  for (int i = 0; i < up->ntiers; i++)
    free(atomic_load(&up->tiers[i].headers));
  pthread_mutex_destroy(&up->mu);
  free(up->cfg);
  free(up);
}

int cg_upstream_tiers(const cg_upstream_t *up) { return up ? up->ntiers : 0; }
const cg_config_t *cg_upstream_config(const cg_upstream_t *up) { return up->cfg; }

int cg_upstream_worker_start(cg_upstream_t *up, cg_worker_t *w, cg_why_t *why) {
  int err;
  if (up == NULL || up->ntiers == 0)
    return 0;
  if (w->id < 0 || w->id >= (int)(sizeof up->clients / sizeof *up->clients))
    return CG_ECONFIG;
  if ((err = cg_upclient_new(&up->clients[w->id], &w->loop, up->cfg, why)) != 0)
    return err;
  if (w->id != 0 || up->cfg->up_feed_interval_ms == 0)
    return 0;
  /* Worker 0 polls the feeds, from the cursors the store keeps. */
  up->feeder = w;
  for (int i = 0; i < up->ntiers; i++) {
    struct tier *t = &up->tiers[i];
    if (!t->cfg->feed)
      continue;
    load_cursor(t, w);
    uv_timer_init(&w->loop, &t->feed_timer);
    t->feed_timer.data = up;
    t->feed_timer_on = 1;
    uv_timer_start(&t->feed_timer, on_feed_timer, 0, up->cfg->up_feed_interval_ms);
  }
  return 0;
}

void cg_upstream_worker_stop(cg_upstream_t *up, cg_worker_t *w) {
  if (up == NULL || up->ntiers == 0 || up->clients[w->id] == NULL)
    return;
  /* Requests on other workers may wait for this worker's fetches: they are
   * answered now, not left to the drain deadline. */
  while (up->owned[w->id] != NULL) {
    struct fetch *f = up->owned[w->id];
    if (f->call != NULL && f->tier >= 0 && f->tier < up->ntiers) {
      /* A call cut short by the stop may have been a half-open breaker's
       * trial, which would otherwise stay taken: workers still draining
       * could never try the tier again. */
      struct tier *t = &up->tiers[f->tier];
      pthread_mutex_lock(&up->mu);
      if (t->state == BREAKER_HALF_OPEN)
        t->trial = 0;
      pthread_mutex_unlock(&up->mu);
    }
    fetch_finish(f, CG_EUPSTREAM, NULL);
  }
  if (w == up->feeder)
    for (int i = 0; i < up->ntiers; i++)
      if (up->tiers[i].feed_timer_on && !uv_is_closing((uv_handle_t *)&up->tiers[i].feed_timer))
        uv_close((uv_handle_t *)&up->tiers[i].feed_timer, NULL);
  cg_upclient_close(up->clients[w->id]);
}

void cg_upstream_worker_free(cg_upstream_t *up, cg_worker_t *w) {
  if (up == NULL || up->ntiers == 0)
    return;
  cg_upclient_free(up->clients[w->id]);
  up->clients[w->id] = NULL;
}

/* ---- metrics ------------------------------------------------------------------------------------------- */

int cg_upstream_metrics(cg_upstream_t *up, cg_buf_t *out) {
  int err = 0;
  if (up == NULL || up->ntiers == 0)
    return 0;
#define P(...) (err = err ? err : cg_buf_printf(out, __VA_ARGS__))
  P("# HELP certgw_upstream_calls_total Calls to upstream platforms, by tier and outcome.\n"
    "# TYPE certgw_upstream_calls_total counter\n");
  for (int i = 0; i < up->ntiers; i++)
    for (int o = 0; o < O__N; o++)
      P("certgw_upstream_calls_total{tier=\"%s\",outcome=\"%s\"} %llu\n", up->tiers[i].cfg->name,
        outcome_names[o], (unsigned long long)atomic_load(&up->tiers[i].calls[o]));
  P("# HELP certgw_upstream_call_duration_seconds Time an upstream call took, by tier.\n"
    "# TYPE certgw_upstream_call_duration_seconds histogram\n");
  for (int i = 0; i < up->ntiers; i++) {
    struct tier *t = &up->tiers[i];
    uint64_t cum = 0;
    for (int b = 0; b <= LAT_BUCKETS; b++) {
      cum += atomic_load(&t->lat[b]);
      if (b < LAT_BUCKETS)
        P("certgw_upstream_call_duration_seconds_bucket{tier=\"%s\",le=\"%g\"} %llu\n",
          t->cfg->name, (double)(1u << b) / 1000, (unsigned long long)cum);
      else
        P("certgw_upstream_call_duration_seconds_bucket{tier=\"%s\",le=\"+Inf\"} %llu\n",
          t->cfg->name, (unsigned long long)cum);
    }
    P("certgw_upstream_call_duration_seconds_sum{tier=\"%s\"} %.6f\n"
      "certgw_upstream_call_duration_seconds_count{tier=\"%s\"} %llu\n",
      t->cfg->name, (double)atomic_load(&t->lat_sum_us) / 1e6, t->cfg->name,
      (unsigned long long)cum);
  }
  P("# HELP certgw_upstream_breaker_state Circuit breaker per tier: 0 closed, 1 open, 2 half-open.\n"
    "# TYPE certgw_upstream_breaker_state gauge\n");
  pthread_mutex_lock(&up->mu);
  for (int i = 0; i < up->ntiers; i++) {
    struct tier *t = &up->tiers[i];
    int st = t->state;
    /* An open breaker whose wait is over lets the next call through. */
    if (st == BREAKER_OPEN && now_ms() >= t->opened_ms + up->cfg->up_breaker_open_ms)
      st = BREAKER_HALF_OPEN;
    P("certgw_upstream_breaker_state{tier=\"%s\"} %d\n", t->cfg->name, st);
  }
  unsigned inflight = up->inflight, remembered = up->remembered;
  pthread_mutex_unlock(&up->mu);
  P("# HELP certgw_upstream_feed_changes_total Change feed entries, by tier and what was done.\n"
    "# TYPE certgw_upstream_feed_changes_total counter\n");
  static const char *const fc[4] = {"revoked", "replaced", "skipped", "refused"};
  for (int i = 0; i < up->ntiers; i++)
    for (int k = 0; k < 4; k++)
      P("certgw_upstream_feed_changes_total{tier=\"%s\",action=\"%s\"} %llu\n",
        up->tiers[i].cfg->name, fc[k],
        (unsigned long long)atomic_load(&up->tiers[i].feed_changes[k]));
  P("# HELP certgw_upstream_feed_polls_total Change feed polls, by tier and result.\n"
    "# TYPE certgw_upstream_feed_polls_total counter\n");
  for (int i = 0; i < up->ntiers; i++) {
    uint64_t polls = atomic_load(&up->tiers[i].feed_polls),
             fails = atomic_load(&up->tiers[i].feed_failures);
    P("certgw_upstream_feed_polls_total{tier=\"%s\",result=\"ok\"} %llu\n"
      "certgw_upstream_feed_polls_total{tier=\"%s\",result=\"failed\"} %llu\n",
      up->tiers[i].cfg->name, (unsigned long long)(polls > fails ? polls - fails : 0),
      up->tiers[i].cfg->name, (unsigned long long)fails);
  }
  static const struct {
    const char *name, *help;
    size_t off;
  } counters[] = {
      {"fetches", "Identifiers and holders fetched from upstream (one per miss, however many waited).",
       offsetof(cg_upstream_t, fetches)},
      {"coalesced", "Requests that took the result of a fetch another had started.",
       offsetof(cg_upstream_t, coalesced)},
      {"fills", "Certificates filled into the store from upstream.", offsetof(cg_upstream_t, fills)},
      {"retries", "Calls retried on another address.", offsetof(cg_upstream_t, retries)},
      {"negative_hits", "Requests answered 404 from the not-found memory.",
       offsetof(cg_upstream_t, negative_hits)},
      {"stale_served", "Stale certificates served because every tier failed.",
       offsetof(cg_upstream_t, stale_served)},
      {"refused", "Misses refused because too many fetches were in flight.",
       offsetof(cg_upstream_t, refused)},
  };
  for (size_t i = 0; i < sizeof counters / sizeof *counters; i++)
    P("# HELP certgw_upstream_%s_total %s\n# TYPE certgw_upstream_%s_total counter\n"
      "certgw_upstream_%s_total %llu\n",
      counters[i].name, counters[i].help, counters[i].name, counters[i].name,
      (unsigned long long)atomic_load((_Atomic uint64_t *)((char *)up + counters[i].off)));
  P("# HELP certgw_upstream_inflight Identifiers being fetched now.\n"
    "# TYPE certgw_upstream_inflight gauge\ncertgw_upstream_inflight %u\n", inflight);
  P("# HELP certgw_upstream_remembered Identifiers whose upstream result is remembered (not "
    "found, or just filled).\n# TYPE certgw_upstream_remembered gauge\n"
    "certgw_upstream_remembered %u\n", remembered);
#undef P
  return err;
}
