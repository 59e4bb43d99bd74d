/* verify.c — certctl verify: checks seals on every core, either each line of
 * a JSON Lines file (what export writes) or every record of the store, whose
 * verdicts it files back.
 *
 * The calling thread gathers a batch (lines, or records copied out of one
 * snapshot), a pool of threads checks it — one cg_seal_verifier each for the
 * whole run, so a signer's chain is judged once per thread and each seal
 * costs one signature check — and the calling thread reports or files the
 * verdicts. For the store, reading the next batch and filing the last one
 * overlap the checking of the current one; no snapshot is held meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certctl.h"
#include "core/cert.h"
#include "core/ident.h"
#include "core/json.h"
#include "core/record.h"
#include "core/trust.h"

#define BATCH_MAX 4096           /* records or lines per batch */
#define BATCH_BYTES (16u << 20)  /* canonical bodies copied per store batch */
#define THREADS_MAX 64
#define STEP 16                  /* items a thread takes from the batch at a time */
#define STDIN_MAX ((size_t)16 << 30)

/* A verdict beyond the seal reasons: the line is no certificate at all. */
#define UNREADABLE CG_SEAL__REASONS

struct item {
  /* a line of the file */
  const char *line;
  size_t line_len;
  uint64_t lineno;
  /* a record, copied out of its snapshot */
  uint64_t etag;
  size_t body_off;
  uint32_t body_len;
  uint32_t issued;
  uint8_t state_was, reason_was;
  uint32_t gen_was;
  cg_seal_t seal;
  /* both */
  char ident[CG_IDENT_MAX + 1];
  size_t ident_len;
  int reason;   /* CG_SEAL_… or UNREADABLE; -1 once it needs no filing */
  cg_why_t why; /* why a line is unreadable */
};

struct batch {
  struct item *items;
  size_t n;
  cg_buf_t bodies; /* store: the records' canonical bodies, end to end */
  uint64_t bytes_end; /* file: offset just past the batch's last line */
};

struct pool;

struct worker {
  struct pool *p;
  pthread_t th;
  cg_seal_verifier_t *ver;
  cg_json_arena_t *arena; /* file: cJSON's memory for one line at a time */
};

/* Threads wait for a new round; each round is one batch, whose items they
 * take STEP at a time; the last one to finish wakes the calling thread. */
struct pool {
  int file; /* items are lines to parse before their seal is checked */
  int nth;
  struct worker w[THREADS_MAX];
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  uint64_t round;
  int stop, busy;
  struct batch *b;
  _Atomic size_t next;
  _Atomic uint64_t checked; /* items finished, for the progress bar */
};

struct tally {
  uint64_t checked, by[CG_SEAL__REASONS + 1];
  uint64_t filed, unchanged, moved, corrupt;
  uint64_t skipped; /* --unchecked: records with a verdict already, not read */
};

/* ---- the pool ------------------------------------------------------------- */

static void check_line(struct worker *w, struct item *it, cg_buf_t *body) {
  cg_cert_meta_t meta;
  cg_seal_t seal;

  meta.identifier[0] = '\0';
  cg_buf_reset(body);
  if (cg_cert_parse(it->line, it->line_len, body, &meta, &seal, &it->why) != 0)
    it->reason = UNREADABLE;
  else
    it->reason = cg_seal_verify(w->ver, body->base, body->len, &seal, meta.issued);
  it->ident_len = strlen(meta.identifier);
  memcpy(it->ident, meta.identifier, it->ident_len + 1);
  if (w->arena != NULL)
    cg_json_arena_reset(w->arena);
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct pool *p = w->p;
  uint64_t seen = 0;
  cg_buf_t body;

  cg_buf_init(&body, CG_CERT_BODY_MAX);
  cg_json_arena_enter(w->arena);
  for (;;) {
    struct batch *b;
    size_t i, end;

    pthread_mutex_lock(&p->mu);
    while (p->round == seen && !p->stop)
      pthread_cond_wait(&p->go, &p->mu);
    if (p->stop) {
      pthread_mutex_unlock(&p->mu);
      break;
    }
    seen = p->round;
    b = p->b;
    pthread_mutex_unlock(&p->mu);

    while ((i = atomic_fetch_add(&p->next, STEP)) < b->n) {
      end = i + STEP < b->n ? i + STEP : b->n;
      atomic_fetch_add(&p->checked, end - i);
      for (; i < end; i++) {
        struct item *it = &b->items[i];
        if (p->file)
          check_line(w, it, &body);
        else
          it->reason = cg_seal_verify(w->ver, b->bodies.base + it->body_off, it->body_len,
                                      &it->seal, it->issued);
      }
    }
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0)
      pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->mu);
  }
  cg_json_arena_enter(NULL);
  cg_buf_free(&body);
  return NULL;
}

static void pool_stop(struct pool *p) {
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nth; i++) {
    pthread_join(p->w[i].th, NULL);
    cg_seal_verifier_free(p->w[i].ver);
    cg_json_arena_free(p->w[i].arena);
  }
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->go);
  pthread_mutex_destroy(&p->mu);
}

/* Starts nth threads verifying against trust. Returns 0 or CG_ENOMEM. */
static int pool_start(struct pool *p, const cg_trust_t *trust, int nth, int file) {
  memset(p, 0, sizeof *p);
  p->file = file;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->go, NULL);
  pthread_cond_init(&p->done, NULL);
  if (file)
    cg_json_init();
  for (; p->nth < nth; p->nth++) {
    struct worker *w = &p->w[p->nth];
    w->p = p;
    if (cg_seal_verifier_new(trust, &w->ver) != 0)
      break;
    /* Enough for the cJSON tree of the largest line accepted (as import). */
    if (file && (w->arena = cg_json_arena_new((size_t)16 * CG_CERT_LINE_MAX)) == NULL)
      break;
    if (pthread_create(&w->th, NULL, worker_main, w) != 0)
      break;
  }
  if (p->nth < nth) {
    struct worker *w = &p->w[p->nth];
    cg_seal_verifier_free(w->ver);
    cg_json_arena_free(w->arena);
    pool_stop(p);
    return CG_ENOMEM;
  }
  return 0;
}

static void pool_run(struct pool *p, struct batch *b) {
  pthread_mutex_lock(&p->mu);
  p->b = b;
  atomic_store(&p->next, 0);
  p->busy = p->nth;
  p->round++;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
}

/* Waits for the round to end, calling tick about ten times a second. */
static void pool_wait(struct pool *p, void (*tick)(void *), void *arg) {
  pthread_mutex_lock(&p->mu);
  while (p->busy > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->done, &p->mu, &ts);
    if (tick != NULL && p->busy > 0) {
      pthread_mutex_unlock(&p->mu);
      tick(arg);
      pthread_mutex_lock(&p->mu);
    }
  }
  pthread_mutex_unlock(&p->mu);
}

static int batch_init(struct batch *b) {
  memset(b, 0, sizeof *b);
  cg_buf_init(&b->bodies, BATCH_BYTES + CG_CERT_BODY_MAX);
  b->items = malloc(BATCH_MAX * sizeof *b->items);
  return b->items ? 0 : CG_ENOMEM;
}

static void batch_free(struct batch *b) {
  free(b->items);
  cg_buf_free(&b->bodies);
}

/* ---- the summary ------------------------------------------------------------ */

static int summary(const struct tally *t, double seconds, int nth, int store, uint32_t gen) {
  uint64_t invalid = 0;

  for (int k = 1; k < CG_SEAL__REASONS; k++)
    invalid += t->by[k];
  uint64_t seals = t->checked - t->by[UNREADABLE];

  printf("checked %llu seals in %.2f s on %d thread%s: %.0f seals/s\n", (unsigned long long)seals,
         seconds, nth, nth == 1 ? "" : "s", seconds > 0 ? (double)seals / seconds : 0.0);
  printf("  verified    %llu\n", (unsigned long long)t->by[CG_SEAL_OK]);
  printf("  invalid     %llu", (unsigned long long)invalid);
  for (int k = 1, first = 1; k < CG_SEAL__REASONS; k++)
    if (t->by[k]) {
      printf("%s%s %llu", first ? ": " : ", ", cg_seal_reason_name(k),
             (unsigned long long)t->by[k]);
      first = 0;
    }
  printf("\n");
  if (!store)
    printf("  unreadable  %llu (lines that are no certificate)\n",
           (unsigned long long)t->by[UNREADABLE]);
  if (store) {
    printf("store: %llu verdicts filed under trust generation %08x, %llu were so already",
           (unsigned long long)t->filed, gen, (unsigned long long)t->unchanged);
    if (t->moved)
      printf(", %llu records replaced or deleted meanwhile (left as they are)",
             (unsigned long long)t->moved);
    printf("\n");
    if (t->skipped)
      printf("  skipped %llu records with a verdict under this generation already (--unchecked)\n",
             (unsigned long long)t->skipped);
    if (t->corrupt)
      printf("  CORRUPT RECORDS %llu (left as they are)\n", (unsigned long long)t->corrupt);
  }
  fflush(stdout);
  if (invalid || t->by[UNREADABLE] || t->corrupt) {
    if (invalid)
      fprintf(stderr, "certctl: %llu seal%s invalid%s\n", (unsigned long long)invalid,
              invalid == 1 ? " is" : "s are",
              store ? "; those certificates are not served as genuine" : "");
    if (t->by[UNREADABLE])
      fprintf(stderr, "certctl: %llu line%s no certificate\n",
              (unsigned long long)t->by[UNREADABLE], t->by[UNREADABLE] == 1 ? " is" : "s are");
    if (t->corrupt)
      fprintf(stderr, "certctl: %llu stored record%s corrupt\n", (unsigned long long)t->corrupt,
              t->corrupt == 1 ? " is" : "s are");
    return 1;
  }
  return 0;
}

/* ---- a file ------------------------------------------------------------------ */

struct file_tick {
  ctl_progress_t *prog;
  struct pool *p;
  struct batch *b;
  uint64_t from, len, before;
};

static void file_tick(void *arg) {
  struct file_tick *x = arg;
  uint64_t in = atomic_load(&x->p->checked) - x->before;
  uint64_t done = x->b->n ? x->from + (x->b->bytes_end - x->from) * (in > x->b->n ? x->b->n : in) /
                                          x->b->n
                          : x->from;
  ctl_progress_update(x->prog, done, x->len, x->before + in);
}

/* Maps path (or reads standard input). Returns 0 or CG_EIO after saying why. */
static int map_input(const char *path, char **data, size_t *len, cg_buf_t *in) {
  struct stat st;
  int fd;

  *data = NULL;
  *len = 0;
  if (strcmp(path, "-") == 0) {
    cg_buf_init(in, STDIN_MAX);
    for (;;) {
      ssize_t n;
      if (cg_buf_reserve(in, 1 << 20) != 0) {
        fprintf(stderr, "certctl: standard input: too large\n");
        return CG_EIO;
      }
      n = read(0, in->base + in->len, in->cap - in->len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        fprintf(stderr, "certctl: standard input: %s\n", strerror(errno));
        return CG_EIO;
      }
      if (n == 0)
        break;
      in->len += (size_t)n;
    }
    *data = in->base;
    *len = in->len;
    return 0;
  }
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
    fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return CG_EIO;
  }
  if (!S_ISREG(st.st_mode)) {
    fprintf(stderr, "certctl: %s: not a regular file\n", path);
    close(fd);
    return CG_EIO;
  }
  *len = (size_t)st.st_size;
  if (*len > 0) {
    *data = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (*data == MAP_FAILED) {
      fprintf(stderr, "certctl: %s: %s\n", path, strerror(errno));
      close(fd);
      *data = NULL;
      return CG_EIO;
    }
    madvise(*data, *len, MADV_SEQUENTIAL);
  }
  close(fd);
  return 0;
}

static int verify_file(const char *path, const cg_trust_t *trust, int nth, struct tally *t,
                       double *seconds) {
  struct pool p;
  struct batch b;
  ctl_progress_t prog;
  struct file_tick ft;
  cg_buf_t in = {0};
  char *data;
  size_t len, off = 0;
  uint64_t lineno = 0;
  double t0;
  int err;

  if ((err = map_input(path, &data, &len, &in)) != 0) {
    cg_buf_free(&in);
    return err;
  }
  if ((err = batch_init(&b)) != 0 || (err = pool_start(&p, trust, nth, 1)) != 0) {
    fprintf(stderr, "certctl: %s\n", cg_strerror(err));
    batch_free(&b);
    goto out;
  }
  ctl_progress_init(&prog, "verify");
  ft.prog = &prog;
  ft.p = &p;
  ft.b = &b;
  ft.len = len;
  t0 = ctl_now();
  while (off < len) {
    ft.from = off;
    ft.before = atomic_load(&p.checked);
    b.n = 0;
    while (b.n < BATCH_MAX && off < len) {
      const char *nl = memchr(data + off, '\n', len - off);
      size_t end = nl ? (size_t)(nl - data) : len, l = end - off;
      lineno++;
      if (l > 0 && data[off + l - 1] == '\r')
        l--;
      /* White space alone is a blank line, as import reads it. */
      size_t blank = 0;
      while (blank < l &&
             (data[off + blank] == ' ' || data[off + blank] == '\t' || data[off + blank] == '\r'))
        blank++;
      if (blank < l) {
        struct item *it = &b.items[b.n++];
        it->line = data + off;
        it->line_len = l;
        it->lineno = lineno;
      }
      off = nl ? end + 1 : len;
    }
    b.bytes_end = off;
    pool_run(&p, &b);
    pool_wait(&p, file_tick, &ft);
    for (size_t i = 0; i < b.n; i++) {
      const struct item *it = &b.items[i];
      t->checked++;
      t->by[it->reason]++;
      if (it->reason == CG_SEAL_OK)
        continue;
      if (prog.tty) /* the bad line goes above the bar */
        fputs("\r\033[K", stderr);
      if (it->reason == UNREADABLE)
        printf("%s:%llu: %s: not a certificate: %s\n", path, (unsigned long long)it->lineno,
               it->ident_len ? it->ident : "-", it->why.text);
      else
        printf("%s:%llu: %s: %s\n", path, (unsigned long long)it->lineno, it->ident,
               cg_seal_reason_name(it->reason));
      fflush(stdout);
    }
    ctl_progress_update(&prog, off, len, t->checked);
  }
  *seconds = ctl_now() - t0;
  ctl_progress_done(&prog);
  pool_stop(&p);
  batch_free(&b);
out:
  if (data != NULL && data != in.base)
    munmap(data, len);
  cg_buf_free(&in);
  return err;
}

/* ---- the store ------------------------------------------------------------------ */

struct scan {
  struct batch *b;
  char last[CG_IDENT_MAX + 2]; /* the last key taken, then a zero byte: where to go on */
  size_t last_len;
  int first;
  uint64_t corrupt;
  /* --unchecked: a record whose verdict was reached under this generation
   * is passed over, so that an interrupted run (or one after an import with
   * --no-verify) goes on where the verdicts stop instead of from the start. */
  int unchecked_only;
  uint32_t gen;
  uint64_t skipped;
};

static int collect(void *arg, cg_slice_t key, cg_slice_t val) {
  struct scan *x = arg;
  struct batch *b = x->b;
  struct item *it;
  cg_record_t r;
  int err;

  /* The store refuses such keys; a walk that met one would not know where
   * to go on from it, so it is passed over. */
  if (key.len == 0 || key.len > CG_IDENT_MAX)
    return 0;
  memcpy(x->last, key.base, key.len);
  x->last_len = key.len;
  if (cg_record_decode(val.base, val.len, &r) != 0) {
    fprintf(stderr, "certctl: %.*s: corrupt record, left as it is\n", (int)key.len, key.base);
    x->corrupt++;
    return 0;
  }
  if (x->unchecked_only && r.seal_state != CG_SEAL_UNCHECKED && r.trust_gen == x->gen) {
    x->skipped++;
    return 0;
  }
  it = &b->items[b->n];
  it->body_off = b->bodies.len;
  if ((err = cg_buf_append(&b->bodies, r.body, r.body_len)) != 0)
    return err;
  b->n++;
  memcpy(it->ident, key.base, key.len);
  it->ident[key.len] = '\0';
  it->ident_len = key.len;
  it->etag = r.etag;
  it->body_len = r.body_len;
  it->issued = r.issued;
  it->state_was = r.seal_state;
  it->reason_was = r.seal_reason;
  it->gen_was = r.trust_gen;
  cg_record_seal(&r, &it->seal);
  return b->n == BATCH_MAX || b->bodies.len >= BATCH_BYTES ? 1 : 0;
}

/* Copies the next batch of records out of one snapshot. *more tells whether
 * the walk stopped on a full batch. Returns 0 or a CG_E… code. */
static int read_batch(cg_store_reader_t *rd, struct scan *x, struct batch *b, int *more) {
  int rc;

  b->n = 0;
  cg_buf_reset(&b->bodies);
  x->b = b;
  if ((rc = cg_store_reader_begin(rd)) != 0)
    return rc;
  rc = cg_store_each_from(rd, CG_DB_CERT, x->first ? NULL : x->last, x->first ? 0 : x->last_len,
                          collect, x);
  /* The records were copied: the snapshot can go. */
  cg_store_reader_end(rd);
  if (rc < 0)
    return rc;
  *more = rc == 1;
  x->first = 0;
  /* A key with a zero byte after it sorts right after the key. */
  x->last[x->last_len++] = '\0';
  return 0;
}

/* Files the batch's verdicts in one write transaction (none if nothing
 * changed). A record replaced or deleted since it was read keeps its own. */
static int file_batch(cg_store_t *s, struct batch *b, uint32_t gen, struct tally *t) {
  cg_store_writer_t *w;
  uint64_t filed = 0, moved = 0, unchanged = 0;
  int err;

  for (size_t i = 0; i < b->n; i++) {
    struct item *it = &b->items[i];
    t->checked++;
    t->by[it->reason]++;
    if (it->state_was == (it->reason == CG_SEAL_OK ? CG_SEAL_VERIFIED : CG_SEAL_INVALID) &&
        it->reason_was == it->reason && it->gen_was == gen) {
      it->reason = -1; /* nothing to write */
      unchanged++;
    }
  }
  t->unchanged += unchanged;
  if (unchanged == b->n)
    return 0;
  if ((err = cg_store_write_begin(s, 0, &w)) != 0)
    return err;
  for (size_t i = 0; i < b->n; i++) {
    const struct item *it = &b->items[i];
    if (it->reason < 0)
      continue;
    err = cg_store_cert_set_seal(w, it->ident, it->ident_len, it->etag,
                                 it->reason == CG_SEAL_OK ? CG_SEAL_VERIFIED : CG_SEAL_INVALID,
                                 it->reason, gen);
    if (err == CG_EEXIST || err == CG_ENOTFOUND) {
      moved++;
      continue;
    }
    if (err != 0) {
      cg_store_write_abort(w);
      return err;
    }
    filed++;
  }
  if ((err = cg_store_write_commit(w)) != 0)
    return err;
  t->filed += filed;
  t->moved += moved;
  return 0;
}

struct store_tick {
  ctl_progress_t *prog;
  struct pool *p;
  const struct scan *x; /* records passed over count as done */
  uint64_t total;
};

/* Runs on the calling thread, which alone moves x->skipped. */
static void store_tick(void *arg) {
  struct store_tick *st = arg;
  uint64_t n = atomic_load(&st->p->checked);
  ctl_progress_update(st->prog, n + st->x->skipped, st->total, n);
}

static int verify_store(cg_store_t *s, const cg_trust_t *trust, int nth, int unchecked_only,
                        struct tally *t, double *seconds) {
  uint32_t gen = cg_trust_generation(trust);
  struct batch b[2];
  struct scan x = {.first = 1, .unchecked_only = unchecked_only, .gen = gen};
  struct pool p;
  ctl_progress_t prog;
  struct store_tick st;
  cg_store_stat_t ss;
  cg_store_reader_t *rd = NULL;
  int cur = 0, more = 0, err, err2 = 0;
  double t0;

  memset(b, 0, sizeof b);
  if ((err = batch_init(&b[0])) != 0 || (err = batch_init(&b[1])) != 0 ||
      (err = cg_store_stat(s, &ss)) != 0 || (err = cg_store_reader_open(s, &rd)) != 0) {
    fprintf(stderr, "certctl: cannot read the store: %s\n", cg_strerror(err));
    goto out;
  }
  if ((err = pool_start(&p, trust, nth, 0)) != 0) {
    fprintf(stderr, "certctl: cannot start the verifier threads: %s\n", cg_strerror(err));
    goto out;
  }
  ctl_progress_init(&prog, "verify");
  st.prog = &prog;
  st.p = &p;
  st.x = &x;
  st.total = ss.entries[CG_DB_CERT];
  t0 = ctl_now();
  if ((err = read_batch(rd, &x, &b[0], &more)) == 0 && b[0].n > 0)
    pool_run(&p, &b[0]);
  /* While the threads check batch cur, the next is read; while they check
   * that one, cur's verdicts are filed. */
  while (err == 0 && b[cur].n > 0) {
    struct batch *nb = &b[1 - cur];
    nb->n = 0;
    if (more)
      err = read_batch(rd, &x, nb, &more);
    pool_wait(&p, store_tick, &st);
    if (err == 0 && nb->n > 0)
      pool_run(&p, nb);
    if ((err2 = file_batch(s, &b[cur], gen, t)) != 0) {
      fprintf(stderr, "certctl: cannot file the verdicts: %s\n", cg_strerror(err2));
      pool_wait(&p, NULL, NULL);
      break;
    }
    store_tick(&st);
    cur = 1 - cur;
  }
  if (err != 0)
    fprintf(stderr, "certctl: cannot read the store: %s\n", cg_strerror(err));
  *seconds = ctl_now() - t0;
  t->corrupt = x.corrupt;
  t->skipped = x.skipped;
  ctl_progress_done(&prog);
  pool_stop(&p);
out:
  cg_store_reader_close(rd);
  batch_free(&b[0]);
  batch_free(&b[1]);
  return err ? err : err2;
}

/* ---- the command ------------------------------------------------------------------ */

static int ncores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : (int)n;
}

/* A store that must exist: a mistyped -d is not a new, empty store. */
static int store_exists(const ctl_target_t *t, cg_config_t *cfg) {
  char path[4200];
  const char *dir = cfg ? cfg->store_path : t->data;
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (access(path, F_OK) == 0)
    return 1;
  fprintf(stderr, "certctl: %s holds no store (no data.mdb)\n", dir);
  return 0;
}

int ctl_verify(int argc, char **argv) {
  static const char usage[] =
      "usage: certctl verify (-c CONF | -d DATADIR --trust DIR) [--threads N]\n"
      "                      [--unchecked | FILE|-]\n"
      "       certctl verify --trust DIR [--threads N] FILE|-\n"
      "\n"
      "Checks electronic seals against the trust store (the config's [seal]\n"
      "trust_dir, or --trust DIR, plus the signer certificates the store holds)\n"
      "on N threads (default: one per core).\n"
      "\n"
      "With FILE, each line of it (JSON Lines, as `certctl export` writes) is\n"
      "parsed and its seal checked; nothing is printed for a good line and one\n"
      "line, FILE:LINE: IDENTIFIER: REASON, for a bad one. The store is not\n"
      "changed.\n"
      "\n"
      "Without FILE, every record of the store is checked and its verdict filed\n"
      "back under the trust store's generation: what certgw serves as verified\n"
      "from then on, without checking again. A running certgw may go on serving\n"
      "meanwhile. With --unchecked only the records without a verdict under\n"
      "that generation are checked (after an import with --no-verify, or to go\n"
      "on after an interrupted run: each batch's verdicts are filed as it ends).\n"
      "\n"
      "A summary follows: seals checked, verified, invalid by reason, seconds,\n"
      "seals per second. Exit status: 0 every seal verified, 1 a seal is\n"
      "invalid (or a line is no certificate, or something failed), 2 bad usage.\n";
  enum { OPT_TRUST = 1000, OPT_THREADS, OPT_UNCHECKED, OPT_HELP };
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"data", required_argument, NULL, 'd'},
      {"trust", required_argument, NULL, OPT_TRUST},
      {"threads", required_argument, NULL, OPT_THREADS},
      {"unchecked", no_argument, NULL, OPT_UNCHECKED},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  ctl_target_t tg = {0};
  const char *trust_dir = NULL, *file = NULL;
  cg_config_t *cfg = NULL;
  cg_store_t *s = NULL;
  cg_trust_t *trust = NULL;
  struct tally t = {0};
  cg_why_t why = {""};
  double seconds = 0;
  int c, nth = ncores(), unchecked_only = 0, status = 1, err;

  optind = 1;
  while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'c': tg.config = optarg; break;
    case 'd': tg.data = optarg; break;
    case OPT_TRUST: trust_dir = optarg; break;
    case OPT_THREADS: {
      long n = strtol(optarg, &end, 10);
      if (*end || n < 1 || n > THREADS_MAX) {
        fprintf(stderr, "certctl verify: --threads takes 1 to %d, not \"%s\"\n", THREADS_MAX,
                optarg);
        return 2;
      }
      nth = (int)n;
      break;
    }
    case OPT_UNCHECKED: unchecked_only = 1; break;
    case 'h':
    case OPT_HELP: fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind < argc)
    file = argv[optind++];
  if (optind != argc || (tg.config && tg.data)) {
    fputs(usage, stderr);
    return 2;
  }
  if (file != NULL && unchecked_only) {
    fprintf(stderr, "certctl verify: --unchecked is for a store; a FILE has no verdicts\n");
    return 2;
  }
  if (file == NULL && !tg.config && !tg.data) {
    fprintf(stderr,
            "certctl verify: give -c CONF or -d DATADIR (the store to verify), or a FILE\n");
    fputs(usage, stderr);
    return 2;
  }
  if (tg.config && cg_config_load(&cfg, tg.config, &why) != 0) {
    fprintf(stderr, "certctl: %s\n", why.text);
    return 1;
  }
  if (trust_dir == NULL)
    trust_dir = cfg && cfg->trust_dir[0] ? cfg->trust_dir : NULL;
  if (trust_dir == NULL) {
    fprintf(stderr, "certctl verify: no trust store: give --trust DIR, or -c CONF whose [seal] "
                    "sets trust_dir\n");
    cg_config_free(cfg);
    return 2;
  }
  /* The store's signers count too; a file alone is checked read-only. */
  if ((tg.config || tg.data) &&
      (!store_exists(&tg, cfg) || (s = ctl_open_store(&tg, file != NULL, NULL)) == NULL))
    goto done;
  if (cg_trust_load(&trust, trust_dir, s, &why) != 0) {
    fprintf(stderr, "certctl: %s\n", why.text);
    goto done;
  }
  err = file ? verify_file(file, trust, nth, &t, &seconds)
             : verify_store(s, trust, nth, unchecked_only, &t, &seconds);
  if (err == 0)
    status = summary(&t, seconds, nth, file == NULL, cg_trust_generation(trust));

done:
  cg_trust_free(trust);
  cg_store_close(s);
  cg_config_free(cfg);
  return status;
}
