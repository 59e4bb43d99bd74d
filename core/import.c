/* import.c — the import pipeline.
 *
 * The input is cut into chunks of whole lines. Parser threads take chunks in
 * order of position, turn each line into an encoded record and leave the
 * chunk in a ring slot; the calling thread takes chunks from the ring in
 * sequence and writes them. The ring bounds memory; line numbers are counted
 * by the writer, which sees chunks in order, so the first bad line reported
 * is the first in the file.
 */
#include "core/import.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cert.h"
#include "core/json.h"
#include "core/record.h"
#include "core/trust.h"

#define CHUNK_BYTES (256 * 1024)
#define RING 16
#define THREADS_MAX 64
#define STDIN_MAX ((size_t)16 << 30)

struct chunk {
  uint64_t seq;     /* which chunk this slot holds */
  int ready;        /* parsed, waiting for the writer */
  size_t end;       /* byte offset just past the chunk in the input */
  uint64_t lines;   /* lines in the chunk */
  uint64_t nrec;    /* records in out */
  uint64_t seals[CG_SEAL__REASONS];
  int err;          /* first failure, at line bad (0-based within the chunk) */
  uint64_t bad;
  cg_why_t why;
  cg_buf_t out;     /* packed: u16 ident_len, ident, u32 rec_len, rec */
};

struct job {
  const char *data;
  size_t len;
  int source;
  uint64_t now;
  const cg_trust_t *trust;
  int refuse_bad_seals;

  pthread_mutex_t mu;
  pthread_cond_t cv_ready; /* a chunk became ready */
  pthread_cond_t cv_free;  /* the writer freed a slot */
  size_t next_off;         /* where the next chunk starts */
  uint64_t next_seq;       /* sequence number of the next chunk to hand out */
  uint64_t consumed;       /* chunks the writer is done with */
  int stop;
  int failed;              /* a parser could not start: CG_E… */
  struct chunk ring[RING];
};

static int parse_line(struct job *j, const char *line, size_t len, struct chunk *c,
                      cg_buf_t *body, cg_seal_verifier_t *ver) {
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_record_t r;
  uint8_t index[CG_RECORD_INDEX_MAX];
  size_t ilen, mark;
  int err;

  cg_buf_reset(body);
  if ((err = cg_cert_parse(line, len, body, &meta, &seal, &c->why)) != 0)
    return err;
  memset(&r, 0, sizeof r);
  r.status = (uint8_t)(meta.revoked_later ? CG_CERT_REVOKED : meta.status);
  r.flags = meta.revoked_later && meta.status != CG_CERT_REVOKED ? CG_RECORD_REVOKED_LATER : 0;
  r.seal_state = CG_SEAL_UNCHECKED;
  r.source = (uint8_t)j->source;
  r.holder_type = (uint8_t)meta.holder_type;
  r.issued = meta.issued;
  r.effective = meta.effective;
  r.expiring = meta.expiring;
  r.fetched_at = j->now;
  if (ver != NULL) {
    int reason = cg_seal_verify(ver, body->base, body->len, &seal, meta.issued);
    c->seals[reason]++;
    if (reason != CG_SEAL_OK && j->refuse_bad_seals)
      return cg_why_set(&c->why, CG_EBADREQ, "the seal does not verify: %s",
                        cg_seal_reason_name(reason));
    r.seal_state = reason == CG_SEAL_OK ? CG_SEAL_VERIFIED : CG_SEAL_INVALID;
    r.seal_reason = (uint8_t)reason;
    r.trust_gen = cg_trust_generation(j->trust);
  }
  cg_record_holder_key(meta.holder_type, meta.holder_code, strlen(meta.holder_code),
                       r.holder_key);
  r.body = body->base;
  r.body_len = (uint32_t)body->len;
  r.seal_alg = (uint8_t)seal.alg;
  r.signer = seal.signer;
  r.sig = seal.sig;
  r.sig_len = seal.sig_len;
  cg_record_index_set(&r, &meta.index, index);

  ilen = strlen(meta.identifier);
  mark = c->out.len;
  uint8_t hdr[2] = {(uint8_t)ilen, (uint8_t)(ilen >> 8)};
  if ((err = cg_buf_append(&c->out, hdr, 2)) != 0 ||
      (err = cg_buf_append(&c->out, meta.identifier, ilen)) != 0 ||
      (err = cg_buf_append(&c->out, "\0\0\0\0", 4)) != 0)
    return err;
  size_t lenpos = c->out.len - 4, before = c->out.len;
  if ((err = cg_record_encode(&r, &c->out)) != 0) {
    c->out.len = mark;
    return cg_why_set(&c->why, err, "cannot encode the record");
  }
  uint32_t rl = (uint32_t)(c->out.len - before);
  memcpy(c->out.base + lenpos, &rl, 4);
  return 0;
}

static void parse_chunk(struct job *j, struct chunk *c, size_t off, cg_buf_t *body,
                        cg_json_arena_t *arena, cg_seal_verifier_t *ver) {
  const char *p = j->data + off, *end = j->data + c->end;

  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end;
    size_t len = (size_t)(eol - p);

    if (len > 0 && p[len - 1] == '\r')
      len--;
    /* A blank line — white space alone, as an editor may leave — is none. */
    size_t blank = 0;
    while (blank < len && (p[blank] == ' ' || p[blank] == '\t' || p[blank] == '\r'))
      blank++;
    if (blank < len) {
      int err = parse_line(j, p, len, c, body, ver);
      if (arena != NULL)
        cg_json_arena_reset(arena);
      if (err != 0) {
        c->err = err;
        c->bad = c->lines;
        c->lines++;
        return;
      }
      c->nrec++;
    }
    c->lines++;
    p = nl ? nl + 1 : end;
  }
}

static void *parser_main(void *arg) {
  struct job *j = arg;
  /* Enough for the cJSON tree of the largest line accepted. */
  cg_json_arena_t *arena = cg_json_arena_new((size_t)16 * CG_CERT_LINE_MAX);
  cg_seal_verifier_t *ver = NULL;
  cg_buf_t body;

  /* Each parser verifies with its own verifier: ECDSA contexts cache
   * tables and must not be shared between threads. */
  if (j->trust != NULL && cg_seal_verifier_new(j->trust, &ver) != 0) {
    /* The chunks this thread would have parsed never come: everyone stops,
     * the writer too, which waits for them in order. */
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    j->failed = CG_ENOMEM;
    pthread_cond_broadcast(&j->cv_ready);
    pthread_cond_broadcast(&j->cv_free);
    pthread_mutex_unlock(&j->mu);
    cg_json_arena_free(arena);
    return NULL;
  }
  cg_json_arena_enter(arena);
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  pthread_mutex_lock(&j->mu);
  for (;;) {
    uint64_t seq;
    size_t off, end;
    struct chunk *c;

    /* The next chunk's slot is free once the writer has consumed the chunk
     * RING before it. Another parser may take that chunk while this one
     * waits, so the sequence number is read only after the wait. */
    while (!j->stop && j->next_off < j->len && j->next_seq >= j->consumed + RING)
      pthread_cond_wait(&j->cv_free, &j->mu);
    if (j->stop || j->next_off >= j->len)
      break;
    seq = j->next_seq;
    off = j->next_off;
    end = off + CHUNK_BYTES < j->len ? off + CHUNK_BYTES : j->len;
    if (end < j->len) {
      const char *nl = memchr(j->data + end, '\n', j->len - end);
      end = nl ? (size_t)(nl - j->data) + 1 : j->len;
    }
    j->next_off = end;
    j->next_seq++;
    c = &j->ring[seq % RING];
    c->seq = seq;
    c->end = end;
    c->lines = c->nrec = c->bad = 0;
    memset(c->seals, 0, sizeof c->seals);
    c->err = 0;
    cg_buf_reset(&c->out);
    pthread_mutex_unlock(&j->mu);

    parse_chunk(j, c, off, &body, arena, ver);

    pthread_mutex_lock(&j->mu);
    c->ready = 1;
    pthread_cond_broadcast(&j->cv_ready);
  }
  pthread_mutex_unlock(&j->mu);
  cg_buf_free(&body);
  cg_json_arena_enter(NULL);
  cg_json_arena_free(arena);
  cg_seal_verifier_free(ver);
  return NULL;
}

static int write_chunk(cg_store_writer_t *w, struct chunk *c, cg_import_result_t *res) {
  const char *p = c->out.base, *end = c->out.base + c->out.len;

  while (p < end) {
    uint16_t ilen;
    uint32_t rlen;
    int replaced, err;

    memcpy(&ilen, p, 2);
    memcpy(&rlen, p + 2 + ilen, 4);
    err = cg_store_cert_put(w, p + 2, ilen, p + 2 + ilen + 4, rlen, &replaced);
    if (err != 0)
      return cg_why_set(&res->why, err, "cannot store %.*s: %s", (int)ilen, p + 2,
                        cg_strerror(err));
    res->records++;
    res->replaced += (uint64_t)replaced;
    p += 2 + ilen + 4 + rlen;
  }
  return 0;
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ncores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : (int)n;
}

int cg_import_buffer(cg_store_t *s, const char *data, size_t len, const cg_import_opts_t *o,
                     cg_import_result_t *res) {
  static const cg_import_opts_t defaults;
  pthread_t th[THREADS_MAX];
  cg_store_writer_t *w = NULL;
  struct job *j;
  int nth, started = 0, err = 0;
  double t0 = mono(), t1;

  if (o == NULL)
    o = &defaults;
  memset(res, 0, sizeof *res);
  nth = o->threads > 0 ? (o->threads > THREADS_MAX ? THREADS_MAX : o->threads) : ncores();
  if ((j = calloc(1, sizeof *j)) == NULL)
    return CG_ENOMEM;
  j->data = data;
  j->len = len;
  j->source = o->source ? o->source : CG_SOURCE_IMPORT;
  j->now = (uint64_t)time(NULL);
  j->trust = o->trust;
  j->refuse_bad_seals = o->refuse_bad_seals;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv_ready, NULL);
  pthread_cond_init(&j->cv_free, NULL);
  for (int i = 0; i < RING; i++)
    cg_buf_init(&j->ring[i].out, (size_t)64 << 20);

  if ((err = cg_store_write_begin(s, CG_STORE_BULK, &w)) != 0) {
    cg_why_set(&res->why, err, "cannot start writing: %s", cg_strerror(err));
    goto done;
  }
  for (; started < nth; started++)
    if (pthread_create(&th[started], NULL, parser_main, j) != 0)
      break;
  if (started == 0) {
    err = cg_why_set(&res->why, CG_ENOMEM, "cannot start a parser thread");
    goto done;
  }

  for (uint64_t seq = 0;; seq++) {
    struct chunk *c = &j->ring[seq % RING];

    pthread_mutex_lock(&j->mu);
    while (!(c->ready && c->seq == seq) && !(j->next_off >= j->len && seq >= j->next_seq) &&
           !j->failed)
      pthread_cond_wait(&j->cv_ready, &j->mu);
    if (j->failed) {
      pthread_mutex_unlock(&j->mu);
      err = cg_why_set(&res->why, j->failed, "cannot start a seal verifier: %s",
                       cg_strerror(j->failed));
      break;
    }
    if (!(c->ready && c->seq == seq)) { /* past the last chunk */
      pthread_mutex_unlock(&j->mu);
      break;
    }
    pthread_mutex_unlock(&j->mu);

    if (c->err != 0) {
      err = c->err;
      res->bad_line = res->lines + c->bad + 1;
      res->why = c->why;
    } else {
      err = write_chunk(w, c, res);
    }
    res->lines += c->lines;
    for (int k = 0; k < CG_SEAL__REASONS; k++)
      res->seals[k] += c->seals[k];
    if (err != 0)
      break;
    if (o->progress)
      o->progress(o->progress_arg, c->end, len, res->records);

    pthread_mutex_lock(&j->mu);
    c->ready = 0;
    j->consumed = seq + 1;
    pthread_cond_broadcast(&j->cv_free);
    pthread_mutex_unlock(&j->mu);
  }

done:
  pthread_mutex_lock(&j->mu);
  j->stop = 1;
  pthread_cond_broadcast(&j->cv_free);
  pthread_mutex_unlock(&j->mu);
  for (int i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  t1 = mono();
  res->load_seconds = t1 - t0;
  if (w != NULL) {
    if (err == 0) {
      if ((err = cg_store_write_commit(w)) != 0)
        cg_why_set(&res->why, err, "cannot commit: %s", cg_strerror(err));
      res->commit_seconds = mono() - t1;
    } else {
      cg_store_write_abort(w);
    }
  }
  if (err != 0) {
    res->records = res->replaced = 0;
    memset(res->seals, 0, sizeof res->seals);
  }
  for (int i = 0; i < RING; i++)
    cg_buf_free(&j->ring[i].out);
  pthread_cond_destroy(&j->cv_free);
  pthread_cond_destroy(&j->cv_ready);
  pthread_mutex_destroy(&j->mu);
  free(j);
  return err;
}

int cg_import_file(cg_store_t *s, const char *path, const cg_import_opts_t *o,
                   cg_import_result_t *res) {
  struct stat st;
  char *data;
  size_t len = 0;
  int err, fd;

  memset(res, 0, sizeof *res);
  if (strcmp(path, "-") == 0) {
    cg_buf_t in;
    cg_buf_init(&in, STDIN_MAX);
    for (;;) {
      if ((err = cg_buf_reserve(&in, 1 << 20)) != 0) {
        cg_buf_free(&in);
        return cg_why_set(&res->why, err, "standard input: %s", cg_strerror(err));
      }
      ssize_t n = read(0, in.base + in.len, in.cap - in.len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        cg_buf_free(&in);
        return cg_why_set(&res->why, CG_EIO, "standard input: %s", strerror(errno));
      }
      if (n == 0)
        break;
      in.len += (size_t)n;
    }
    err = cg_import_buffer(s, in.base, in.len, o, res);
    cg_buf_free(&in);
    return err;
  }
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return cg_why_set(&res->why, CG_EIO, "%s: %s", path, strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cg_why_set(&res->why, CG_EIO, "%s: not a regular file", path);
  }
  len = (size_t)st.st_size;
  if (len == 0) {
    close(fd);
    return cg_import_buffer(s, "", 0, o, res);
  }
  data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED)
    return cg_why_set(&res->why, CG_EIO, "%s: %s", path, strerror(errno));
  madvise(data, len, MADV_SEQUENTIAL);
  err = cg_import_buffer(s, data, len, o, res);
  munmap(data, len);
  return err;
}
