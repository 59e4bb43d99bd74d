/* store.c — the LMDB environment, its readers and its one write path.
 *
 * Invariants: the holder index holds (holder key, identifier) for exactly
 * the certificates in CG_DB_CERT; the meta database names the schema the
 * store was written with; no LMDB code or pointer leaves this file except
 * values inside a reader's snapshot, which die at cg_store_reader_end.
 */
#include "core/store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "core/cert.h"

static const char *const db_names[CG_DB__COUNT] = {
    [CG_DB_CERT] = "cert",     [CG_DB_HOLDER] = "holder", [CG_DB_SIGNER] = "signer",
    [CG_DB_VENUE] = "venue",   [CG_DB_MATTER] = "matter", [CG_DB_META] = "meta",
    [CG_DB_AUDIT] = "audit",   [CG_DB_AUDIT_HOLDER] = "audit_holder",
    [CG_DB_AUDIT_VENUE] = "audit_venue",
};

struct cg_store {
  MDB_env *env;
  MDB_dbi dbi[CG_DB__COUNT];
  int readonly;
  int group_commit; /* MDB_NOMETASYNC: the last commit's meta waits for a sync */
  /* When the last commit that wrote (and so synced the metas before its
   * own) ended, while its meta page waits for a sync; 0 when none waits.
   * The writer's: one thread commits (cg_store_sync_due). */
  uint64_t unsynced_ms;
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct cg_store_reader {
  cg_store_t *store;
  MDB_txn *txn; /* reset between snapshots, renewed by begin */
  int active;
  MDB_cursor *holders; /* on the holder index, renewed for each walk (none: NULL) */
};

/* A holder index entry whose put waits for the sorted pass at commit. */
struct pending {
  uint8_t key[CG_HOLDER_KEY_LEN];
  uint32_t off; /* identifier in writer->idents */
  uint16_t len;
};

struct cg_store_writer {
  cg_store_t *store;
  MDB_txn *txn;
  int bulk;
  int append;  /* certificates still arrive in key order after the last one */
  struct pending *pend;
  size_t npend, cappend;
  cg_buf_t idents;
  /* Index entries (cg_store_index_add) go through one cursor, which
   * remembers the last key it filed and that key's last value. */
  MDB_cursor *ix;
  /* Audit records (cg_store_put_last) go through one cursor too: kept at
   * the log's end, an append finds its place without a search. */
  MDB_cursor *log;
  int ix_db, ix_known;
  size_t ix_klen, ix_vlen;
  uint8_t ix_key[64], ix_last[64];
  /* Bulk: a thread that starts the writeback of what LMDB has spilled to
   * the data file every WRITEBACK_MS while the transaction runs, so that
   * loading and writing overlap instead of the commit's sync doing it all
   * at the end (docs/benchmarks.md, section c). */
  pthread_t flush_th;
  int flushing, flush_stop;
  pthread_mutex_t flush_mu;
  pthread_cond_t flush_cv;
};

#define WRITEBACK_MS 100

const char *cg_store_db_name(int db) {
  return db >= 0 && db < CG_DB__COUNT ? db_names[db] : "?";
}

static int xlate(int rc) {
  switch (rc) {
  case 0: return 0;
  case MDB_NOTFOUND: return CG_ENOTFOUND;
  case MDB_KEYEXIST: return CG_EEXIST;
  case MDB_MAP_FULL: return CG_EMAPFULL;
  case ENOMEM: return CG_ENOMEM;
  default: return CG_ESTORE;
  }
}

static MDB_val val(const void *p, size_t n) { return (MDB_val){.mv_size = n, .mv_data = (void *)p}; }

static void put_u64le(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_uint_le(const MDB_val *v) {
  uint64_t x = 0;
  const uint8_t *p = v->mv_data;
  for (size_t i = v->mv_size > 8 ? 8 : v->mv_size; i-- > 0;)
    x = x << 8 | p[i];
  return x;
}

/* ---- open / close -------------------------------------------------------- */

static int open_dbis(cg_store_t *s, cg_why_t *why) {
  MDB_txn *txn;
  MDB_val k, v;
  unsigned tflags = s->readonly ? MDB_RDONLY : 0;
  int rc;

  if ((rc = mdb_txn_begin(s->env, NULL, tflags, &txn)) != 0)
    return cg_why_set(why, xlate(rc), "cannot begin a transaction: %s", mdb_strerror(rc));
  for (int i = 0; i < CG_DB__COUNT; i++) {
    unsigned f = s->readonly ? 0 : MDB_CREATE;
    if (i == CG_DB_HOLDER || i == CG_DB_AUDIT_HOLDER || i == CG_DB_AUDIT_VENUE)
      f |= MDB_DUPSORT;
    if ((rc = mdb_dbi_open(txn, db_names[i], f, &s->dbi[i])) != 0) {
      mdb_txn_abort(txn);
      return cg_why_set(why, rc == MDB_NOTFOUND ? CG_ESCHEMA : xlate(rc),
                        "database \"%s\": %s", db_names[i],
                        rc == MDB_NOTFOUND ? "missing (not a certgw store?)" : mdb_strerror(rc));
    }
  }
  k = val("schema", 6);
  rc = mdb_get(txn, s->dbi[CG_DB_META], &k, &v);
  if (rc == MDB_NOTFOUND && !s->readonly) {
    uint8_t buf[8];
    put_u64le(buf, CG_STORE_SCHEMA);
    v = val(buf, 8);
    rc = mdb_put(txn, s->dbi[CG_DB_META], &k, &v, 0);
    if (rc == 0) {
      put_u64le(buf, (uint64_t)time(NULL));
      k = val("created", 7);
      v = val(buf, 8);
      rc = mdb_put(txn, s->dbi[CG_DB_META], &k, &v, 0);
    }
    if (rc == 0) {
      /* The key that turns holder codes into audit index keys (audit.h):
       * made once with the store, never leaves it. */
      uint8_t key[32];
      if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
        mdb_txn_abort(txn);
        return cg_why_set(why, CG_EIO, "no randomness for the audit key");
      }
      k = val("audit_key", 9);
      v = val(key, sizeof key);
      rc = mdb_put(txn, s->dbi[CG_DB_META], &k, &v, 0);
    }
  } else if (rc == 0 && get_uint_le(&v) != CG_STORE_SCHEMA) {
    unsigned long long found = (unsigned long long)get_uint_le(&v);
    mdb_txn_abort(txn);
    return cg_why_set(why, CG_ESCHEMA, "the store has schema %llu, this build reads %d", found,
                      CG_STORE_SCHEMA);
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return cg_why_set(why, rc == MDB_NOTFOUND ? CG_ESCHEMA : xlate(rc), "schema: %s",
                      rc == MDB_NOTFOUND ? "missing (not a certgw store?)" : mdb_strerror(rc));
  }
  /* mdb_dbi_open handles become visible to other transactions only once
   * this one commits, even a read-only one. */
  if ((rc = mdb_txn_commit(txn)) != 0)
    return cg_why_set(why, xlate(rc), "cannot commit: %s", mdb_strerror(rc));
  return 0;
}

int cg_store_open(cg_store_t **out, const cg_store_opts_t *o, cg_why_t *why) {
  cg_store_t *s;
  int rc, err, dead = 0;

  *out = NULL;
  if (o->path == NULL || o->path[0] == '\0')
    return cg_why_set(why, CG_ECONFIG, "no data directory given");
  if (!o->readonly && mkdir(o->path, 0750) != 0 && errno != EEXIST)
    return cg_why_set(why, CG_EIO, "cannot create %s: %s", o->path, strerror(errno));
  if ((s = calloc(1, sizeof *s)) == NULL)
    return CG_ENOMEM;
  s->readonly = o->readonly;
  s->group_commit = o->group_commit && !o->readonly;
  if ((rc = mdb_env_create(&s->env)) != 0) {
    free(s);
    return cg_why_set(why, xlate(rc), "mdb_env_create: %s", mdb_strerror(rc));
  }
  /* The map is set once, large and sparse, before any transaction: LMDB
   * does not check that no transaction is active when it is changed. */
  mdb_env_set_mapsize(s->env, o->map_size ? o->map_size : CG_STORE_MAP_DEFAULT);
  mdb_env_set_maxreaders(s->env, o->max_readers ? o->max_readers : CG_STORE_READERS_DEFAULT);
  mdb_env_set_maxdbs(s->env, CG_DB__COUNT + 4);
  /* MDB_NOTLS ties a reader slot to its txn object, not to the thread, so a
   * reused read txn per worker never trips over MDB_BAD_RSLOT. Random reads
   * over a large store gain nothing from read-ahead. */
  rc = mdb_env_open(s->env, o->path,
                    MDB_NOTLS | MDB_NORDAHEAD | (o->readonly ? MDB_RDONLY : 0) |
                        (o->group_commit && !o->readonly ? MDB_NOMETASYNC : 0),
                    0640);
  if (rc != 0) {
    err = cg_why_set(why, rc == ENOENT ? CG_EIO : xlate(rc), "cannot open store %s: %s", o->path,
                     mdb_strerror(rc));
    goto fail;
  }
  /* Slots of processes that died while reading would otherwise stay taken. */
  mdb_reader_check(s->env, &dead);
  if ((err = open_dbis(s, why)) != 0)
    goto fail;
  if (s->group_commit)
    mdb_env_sync(s->env, 1); /* what opening committed (a new store's schema) */
  *out = s;
  return 0;

fail:
  mdb_env_close(s->env);
  free(s);
  return err;
}

void cg_store_close(cg_store_t *s) {
  if (s == NULL)
    return;
  if (s->group_commit)
    mdb_env_sync(s->env, 1); /* the last commit's meta page (mdb_env_close does not) */
  mdb_env_close(s->env);
  free(s);
}

int cg_store_reader_check(cg_store_t *s) {
  int dead = 0, rc = mdb_reader_check(s->env, &dead);
  return rc ? xlate(rc) : dead;
}

/* ---- readers ------------------------------------------------------------- */

int cg_store_reader_open(cg_store_t *s, cg_store_reader_t **out) {
  cg_store_reader_t *r = calloc(1, sizeof *r);
  int rc;

  if (r == NULL)
    return CG_ENOMEM;
  r->store = s;
  if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn)) == MDB_READERS_FULL) {
    /* The table may be full of dead processes' slots. */
    cg_store_reader_check(s);
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
  }
  if (rc != 0) {
    free(r);
    return xlate(rc);
  }
  mdb_txn_reset(r->txn);
  *out = r;
  return 0;
}

void cg_store_reader_close(cg_store_reader_t *r) {
  if (r == NULL)
    return;
  if (r->holders != NULL)
    mdb_cursor_close(r->holders);
  mdb_txn_abort(r->txn);
  free(r);
}

int cg_store_reader_begin(cg_store_reader_t *r) {
  int rc;
  if (r->active)
    return 0;
  if ((rc = mdb_txn_renew(r->txn)) != 0)
    return xlate(rc);
  r->active = 1;
  return 0;
}

void cg_store_reader_end(cg_store_reader_t *r) {
  if (r->active) {
    mdb_txn_reset(r->txn);
    r->active = 0;
  }
}

int cg_store_get(cg_store_reader_t *r, int db, const void *key, size_t klen, cg_slice_t *out) {
  MDB_val k = val(key, klen), v;
  int rc;

  if (!r->active || db < 0 || db >= CG_DB__COUNT || klen == 0 || klen > 511)
    return klen == 0 || klen > 511 ? CG_ENOTFOUND : CG_ESTORE;
  if ((rc = mdb_get(r->txn, r->store->dbi[db], &k, &v)) != 0)
    return xlate(rc);
  out->base = v.mv_data;
  out->len = v.mv_size;
  return 0;
}

int cg_store_cert_get(cg_store_reader_t *r, const char *ident, size_t len, cg_record_t *rec) {
  cg_slice_t v;
  int err = cg_store_get(r, CG_DB_CERT, ident, len, &v);
  return err ? err : cg_record_decode(v.base, v.len, rec);
}

/* Walks dbi with cursor c (NULL: one opened and closed here). */
static int walk(MDB_txn *txn, MDB_dbi dbi, MDB_cursor *keep, const MDB_val *only,
                const MDB_val *from, cg_store_each_cb cb, void *arg) {
  MDB_cursor *c = keep;
  MDB_val k, v;
  int rc, ret = 0;
  MDB_cursor_op op;

  if (c == NULL && (rc = mdb_cursor_open(txn, dbi, &c)) != 0)
    return xlate(rc);
  if (only != NULL) {
    k = *only;
    op = MDB_SET_KEY;
  } else if (from != NULL) {
    k = *from;
    op = MDB_SET_RANGE;
  } else {
    op = MDB_FIRST;
  }
  while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
    ret = cb(arg, (cg_slice_t){k.mv_data, k.mv_size}, (cg_slice_t){v.mv_data, v.mv_size});
    if (ret != 0)
      break;
    op = only != NULL ? MDB_NEXT_DUP : MDB_NEXT;
  }
  if (c != keep)
    mdb_cursor_close(c);
  if (ret != 0)
    return ret;
  return rc == MDB_NOTFOUND ? 0 : xlate(rc);
}

int cg_store_each(cg_store_reader_t *r, int db, cg_store_each_cb cb, void *arg) {
  if (!r->active || db < 0 || db >= CG_DB__COUNT)
    return CG_ESTORE;
  return walk(r->txn, r->store->dbi[db], NULL, NULL, NULL, cb, arg);
}

int cg_store_each_from(cg_store_reader_t *r, int db, const void *from, size_t flen,
                       cg_store_each_cb cb, void *arg) {
  MDB_val f = val(from, flen);
  if (!r->active || db < 0 || db >= CG_DB__COUNT)
    return CG_ESTORE;
  return walk(r->txn, r->store->dbi[db], NULL, NULL, from != NULL && flen > 0 ? &f : NULL, cb,
              arg);
}

int cg_store_holder_each(cg_store_reader_t *r, const uint8_t key[CG_HOLDER_KEY_LEN],
                         cg_store_each_cb cb, void *arg) {
  MDB_val k = val(key, CG_HOLDER_KEY_LEN);
  MDB_dbi dbi;
  int rc;
  if (!r->active)
    return CG_ESTORE;
  /* One cursor for every walk of this reader (each scan makes one):
   * renewed onto the present snapshot, not allocated again. */
  dbi = r->store->dbi[CG_DB_HOLDER];
  rc = r->holders != NULL ? mdb_cursor_renew(r->txn, r->holders)
                          : mdb_cursor_open(r->txn, dbi, &r->holders);
  if (rc != 0)
    return xlate(rc);
  return walk(r->txn, dbi, r->holders, &k, NULL, cb, arg);
}

int cg_store_meta_u64(cg_store_reader_t *r, const char *key, uint64_t *out) {
  cg_slice_t v;
  int err = cg_store_get(r, CG_DB_META, key, strlen(key), &v);
  *out = 0;
  if (err == CG_ENOTFOUND)
    return 0;
  if (err)
    return err;
  *out = get_uint_le(&(MDB_val){.mv_size = v.len, .mv_data = (void *)v.base});
  return 0;
}

/* ---- the write path ------------------------------------------------------ */

static void writer_free(cg_store_writer_t *w);

/* Before the transaction ends (which would free them under us). */
static void cursors_close(cg_store_writer_t *w) {
  if (w->ix != NULL)
    mdb_cursor_close(w->ix);
  if (w->log != NULL)
    mdb_cursor_close(w->log);
  w->ix = w->log = NULL;
}

static void *flusher_main(void *arg) {
  cg_store_writer_t *w = arg;
  pthread_mutex_lock(&w->flush_mu);
  while (!w->flush_stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += WRITEBACK_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->flush_cv, &w->flush_mu, &ts);
    if (w->flush_stop)
      break;
    pthread_mutex_unlock(&w->flush_mu);
    cg_store_writeback(w->store); /* a failure only means less overlap */
    pthread_mutex_lock(&w->flush_mu);
  }
  pthread_mutex_unlock(&w->flush_mu);
  return NULL;
}

static void flusher_stop(cg_store_writer_t *w) {
  if (!w->flushing)
    return;
  pthread_mutex_lock(&w->flush_mu);
  w->flush_stop = 1;
  pthread_cond_signal(&w->flush_cv);
  pthread_mutex_unlock(&w->flush_mu);
  pthread_join(w->flush_th, NULL);
  w->flushing = 0;
}

int cg_store_write_begin(cg_store_t *s, int flags, cg_store_writer_t **out) {
  cg_store_writer_t *w;
  int rc;

  if (s->readonly)
    return CG_ESTORE;
  if ((w = calloc(1, sizeof *w)) == NULL)
    return CG_ENOMEM;
  w->store = s;
  w->bulk = (flags & CG_STORE_BULK) != 0;
  w->append = w->bulk;
  cg_buf_init(&w->idents, UINT32_MAX);
  pthread_mutex_init(&w->flush_mu, NULL);
  pthread_cond_init(&w->flush_cv, NULL);
  if ((rc = mdb_txn_begin(s->env, NULL, 0, &w->txn)) != 0) {
    writer_free(w);
    return xlate(rc);
  }
  if (w->bulk) {
    /* One sync at commit (cg_store_write_commit) instead of LMDB's own:
     * the same durability for a single large transaction, less waiting.
     * Set under the write lock, so no other writer commits meanwhile. */
    mdb_env_set_flags(s->env, MDB_NOSYNC, 1);
    w->flushing = pthread_create(&w->flush_th, NULL, flusher_main, w) == 0;
  }
  *out = w;
  return 0;
}

static void writer_free(cg_store_writer_t *w) {
  flusher_stop(w);
  pthread_cond_destroy(&w->flush_cv);
  pthread_mutex_destroy(&w->flush_mu);
  if (w->bulk && w->txn != NULL)
    mdb_env_set_flags(w->store->env, MDB_NOSYNC, 0);
  free(w->pend);
  cg_buf_free(&w->idents);
  free(w);
}

/* Orders pending entries as LMDB orders sorted duplicates: by key, then by
 * the identifier bytes, a shorter prefix first. */
static int pending_cmp(const void *a, const void *b, void *arg) {
  const struct pending *x = a, *y = b;
  const char *base = arg;
  int c = memcmp(x->key, y->key, CG_HOLDER_KEY_LEN);
  if (c)
    return c;
  c = memcmp(base + x->off, base + y->off, x->len < y->len ? x->len : y->len);
  return c ? c : (int)x->len - (int)y->len;
}

/* Files the pending holder entries in key order: appends where the index
 * allows (it was empty or they all sort after it), plain puts otherwise. */
static int flush_pending(cg_store_writer_t *w) {
  MDB_dbi dbi = w->store->dbi[CG_DB_HOLDER];
  int append = 1, rc;

  if (w->npend == 0)
    return 0;
  qsort_r(w->pend, w->npend, sizeof *w->pend, pending_cmp, w->idents.base);
  for (size_t i = 0; i < w->npend; i++) {
    MDB_val k = val(w->pend[i].key, CG_HOLDER_KEY_LEN);
    MDB_val v = val(w->idents.base + w->pend[i].off, w->pend[i].len);
    rc = append ? mdb_put(w->txn, dbi, &k, &v, MDB_APPENDDUP) : MDB_KEYEXIST;
    if (rc == MDB_KEYEXIST) {
      append = 0;
      rc = mdb_put(w->txn, dbi, &k, &v, MDB_NODUPDATA);
      if (rc == MDB_KEYEXIST)
        rc = 0;
    }
    if (rc != 0)
      return xlate(rc);
  }
  w->npend = 0;
  cg_buf_reset(&w->idents);
  return 0;
}

static int holder_add(cg_store_writer_t *w, const uint8_t *hk, const char *ident, size_t len) {
  if (w->bulk) {
    struct pending *p;
    int err;
    if (w->npend == w->cappend) {
      size_t cap = w->cappend ? w->cappend * 2 : 4096;
      if ((p = realloc(w->pend, cap * sizeof *p)) == NULL)
        return CG_ENOMEM;
      w->pend = p;
      w->cappend = cap;
    }
    /* Offsets are 32 bits: past 4 GiB of identifiers, file what waits. */
    if ((err = cg_buf_append(&w->idents, ident, len)) == CG_ETOOBIG) {
      if ((err = flush_pending(w)) != 0)
        return err;
      err = cg_buf_append(&w->idents, ident, len);
    }
    if (err != 0)
      return err;
    p = &w->pend[w->npend++];
    memcpy(p->key, hk, CG_HOLDER_KEY_LEN);
    p->off = (uint32_t)(w->idents.len - len);
    p->len = (uint16_t)len;
    return 0;
  }
  MDB_val k = val(hk, CG_HOLDER_KEY_LEN), v = val(ident, len);
  int rc = mdb_put(w->txn, w->store->dbi[CG_DB_HOLDER], &k, &v, MDB_NODUPDATA);
  return rc == MDB_KEYEXIST ? 0 : xlate(rc);
}

int cg_store_cert_put(cg_store_writer_t *w, const char *ident, size_t len, const void *rec,
                      size_t reclen, int *replaced) {
  MDB_dbi cert = w->store->dbi[CG_DB_CERT];
  MDB_val k = val(ident, len), v = val(rec, reclen), old;
  cg_record_t nr, orec;
  int rc, err;

  if (replaced)
    *replaced = 0;
  if (len == 0 || len > 511)
    return CG_EIDENT;
  if ((err = cg_record_decode(rec, reclen, &nr)) != 0)
    return err;
  if (w->append) {
    rc = mdb_put(w->txn, cert, &k, &v, MDB_APPEND);
    if (rc == 0)
      return holder_add(w, nr.holder_key, ident, len);
    if (rc != MDB_KEYEXIST)
      return xlate(rc);
    /* Out of order (or a repeat): from here on every put looks first. */
    w->append = 0;
  }
  rc = mdb_get(w->txn, cert, &k, &old);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return xlate(rc);
  void *copy = NULL;
  if (rc == 0) {
    if (replaced)
      *replaced = 1;
    if (cg_record_decode(old.mv_data, old.mv_size, &orec) == 0) {
      if (memcmp(orec.holder_key, nr.holder_key, CG_HOLDER_KEY_LEN) != 0) {
        MDB_val hk = val(orec.holder_key, CG_HOLDER_KEY_LEN), hv = val(ident, len);
        /* The old entry may still wait in the pending list. */
        if ((err = flush_pending(w)) != 0)
          return err;
        rc = mdb_del(w->txn, w->store->dbi[CG_DB_HOLDER], &hk, &hv);
        if (rc != 0 && rc != MDB_NOTFOUND)
          return xlate(rc);
      }
      /* A revocation by the issuer after sealing stays: a version that
       * does not know of it (an older file imported, a platform's answer)
       * does not serve the certificate again. */
      if ((orec.flags & CG_RECORD_REVOKED_LATER) && !(nr.flags & CG_RECORD_REVOKED_LATER)) {
        if ((copy = malloc(reclen)) == NULL)
          return CG_ENOMEM;
        memcpy(copy, rec, reclen);
        cg_record_set_revoked_later(copy, reclen);
        v = val(copy, reclen);
      }
    }
  }
  rc = mdb_put(w->txn, cert, &k, &v, 0);
  free(copy);
  if (rc != 0)
    return xlate(rc);
  return holder_add(w, nr.holder_key, ident, len);
}

int cg_store_cert_set_seal(cg_store_writer_t *w, const char *ident, size_t len, uint64_t etag,
                           int state, int reason, uint32_t gen) {
  MDB_dbi cert = w->store->dbi[CG_DB_CERT];
  MDB_val k = val(ident, len), v, nv;
  cg_record_t r;
  int rc, err;

  if ((rc = mdb_get(w->txn, cert, &k, &v)) != 0)
    return xlate(rc);
  if ((err = cg_record_decode(v.mv_data, v.mv_size, &r)) != 0)
    return err;
  if (r.etag != etag)
    return CG_EEXIST;
  /* Same size, three header fields changed: reserve the space and write
   * the patched copy straight into the new page. */
  nv.mv_size = v.mv_size;
  nv.mv_data = NULL;
  {
    uint8_t *copy = malloc(v.mv_size);
    if (copy == NULL)
      return CG_ENOMEM;
    memcpy(copy, v.mv_data, v.mv_size);
    copy[3] = (uint8_t)state;
    copy[4] = (uint8_t)reason;
    for (int i = 0; i < 4; i++)
      copy[8 + i] = (uint8_t)(gen >> (8 * i));
    nv.mv_data = copy;
    rc = mdb_put(w->txn, cert, &k, &nv, 0);
    free(copy);
  }
  return xlate(rc);
}

int cg_store_cert_revoke(cg_store_writer_t *w, const char *ident, size_t len) {
  MDB_dbi cert = w->store->dbi[CG_DB_CERT];
  MDB_val k = val(ident, len), v, nv;
  cg_record_t r;
  uint8_t *copy;
  int rc, err;

  if (len == 0 || len > 511) /* LMDB refuses such keys (MDB_BAD_VALSIZE) */
    return CG_EIDENT;
  if ((rc = mdb_get(w->txn, cert, &k, &v)) != 0)
    return xlate(rc);
  if ((err = cg_record_decode(v.mv_data, v.mv_size, &r)) != 0)
    return err;
  if (r.status == CG_CERT_REVOKED)
    return 0;
  if ((copy = malloc(v.mv_size)) == NULL)
    return CG_ENOMEM;
  memcpy(copy, v.mv_data, v.mv_size);
  copy[1] = CG_CERT_REVOKED;
  copy[7] |= CG_RECORD_REVOKED_LATER;
  nv.mv_size = v.mv_size;
  nv.mv_data = copy;
  rc = mdb_put(w->txn, cert, &k, &nv, 0);
  free(copy);
  return xlate(rc);
}

/* Audit keys grow with time, so a holder's new index entries sort after
 * those it has, and a batch comes sorted by holder: such an entry is
 * appended to the holder's values (MDB_APPENDDUP) instead of found a place
 * by a binary search down the holder's own tree, which for a holder with
 * many uses was most of the writer's work. Whether it sorts last is read
 * once per holder (its last value), then known from the entry before. */
int cg_store_index_add(cg_store_writer_t *w, int db, const void *key, size_t klen,
                       const void *v, size_t vlen) {
  MDB_val k = val(key, klen), d = val(v, vlen), fk, last;
  MDB_dbi dbi;
  unsigned flags = MDB_NODUPDATA;
  int rc, c = -1, fresh = 0;

  if (db != CG_DB_AUDIT_HOLDER && db != CG_DB_AUDIT_VENUE)
    return CG_EINTERNAL;
  dbi = w->store->dbi[db];
  if (klen > sizeof w->ix_key || vlen > sizeof w->ix_last) {
    w->ix_known = 0; /* (this value may now be the key's last) */
    rc = mdb_put(w->txn, dbi, &k, &d, MDB_NODUPDATA);
    return rc == MDB_KEYEXIST ? 0 : xlate(rc);
  }
  if (w->ix != NULL && w->ix_db != db) {
    mdb_cursor_close(w->ix);
    w->ix = NULL;
  }
  if (w->ix == NULL) {
    if ((rc = mdb_cursor_open(w->txn, dbi, &w->ix)) != 0)
      return xlate(rc);
    w->ix_db = db;
    w->ix_known = 0;
  }
  if (!w->ix_known || klen != w->ix_klen || memcmp(key, w->ix_key, klen) != 0) {
    w->ix_known = 0;
    fk = k;
    rc = mdb_cursor_get(w->ix, &fk, &last, MDB_SET_KEY);
    if (rc == 0)
      rc = mdb_cursor_get(w->ix, &fk, &last, MDB_LAST_DUP);
    if (rc == 0 && last.mv_size <= sizeof w->ix_last) {
      memcpy(w->ix_key, key, klen);
      w->ix_klen = klen;
      memcpy(w->ix_last, last.mv_data, last.mv_size);
      w->ix_vlen = last.mv_size;
      w->ix_known = 1;
    } else if (rc == MDB_NOTFOUND) {
      fresh = 1;
    } else if (rc != 0) {
      return xlate(rc);
    }
  }
  if (w->ix_known) {
    last = val(w->ix_last, w->ix_vlen);
    if ((c = mdb_dcmp(w->txn, dbi, &d, &last)) == 0)
      return 0; /* filed already */
    if (c > 0)
      flags |= MDB_APPENDDUP;
  }
  rc = mdb_cursor_put(w->ix, &k, &d, flags);
  if (rc == MDB_KEYEXIST)
    return 0;
  if (rc != 0) {
    w->ix_known = 0;
    return xlate(rc);
  }
  if (c > 0 || fresh) { /* the key's last value now, or its first */
    memcpy(w->ix_key, key, klen);
    w->ix_klen = klen;
    memcpy(w->ix_last, v, vlen);
    w->ix_vlen = vlen;
    w->ix_known = 1;
  }
  return 0;
}

int cg_store_index_each(cg_store_reader_t *r, int db, const void *key, size_t klen,
                        cg_store_each_cb cb, void *arg) {
  MDB_val k = val(key, klen);
  if (!r->active || (db != CG_DB_AUDIT_HOLDER && db != CG_DB_AUDIT_VENUE))
    return CG_ESTORE;
  return walk(r->txn, r->store->dbi[db], NULL, &k, NULL, cb, arg);
}

int cg_store_put(cg_store_writer_t *w, int db, const void *key, size_t klen, const void *v,
                 size_t vlen) {
  MDB_val k = val(key, klen), d = val(v, vlen);
  if (db == CG_DB_CERT || db == CG_DB_HOLDER || db == CG_DB_AUDIT_HOLDER ||
      db == CG_DB_AUDIT_VENUE || db < 0 || db >= CG_DB__COUNT)
    return CG_EINTERNAL;
  return xlate(mdb_put(w->txn, w->store->dbi[db], &k, &d, 0));
}

int cg_store_put_last(cg_store_writer_t *w, int db, const void *key, size_t klen, const void *v,
                      size_t vlen) {
  MDB_val k = val(key, klen), d = val(v, vlen);
  int rc;
  if (db != CG_DB_AUDIT)
    return cg_store_put(w, db, key, klen, v, vlen);
  if (w->log == NULL && (rc = mdb_cursor_open(w->txn, w->store->dbi[db], &w->log)) != 0)
    return xlate(rc);
  rc = mdb_cursor_put(w->log, &k, &d, MDB_APPEND);
  if (rc == MDB_KEYEXIST) { /* not after the last key: a clock stepped back, another process */
    /* A put in its place, never over a record filed before; the cursor
     * starts afresh at the end next time. */
    mdb_cursor_close(w->log);
    w->log = NULL;
    rc = mdb_put(w->txn, w->store->dbi[db], &k, &d, MDB_NOOVERWRITE);
  }
  return xlate(rc);
}

int cg_store_del(cg_store_writer_t *w, int db, const void *key, size_t klen) {
  MDB_val k = val(key, klen);
  if (db == CG_DB_CERT || db == CG_DB_HOLDER || db < 0 || db >= CG_DB__COUNT)
    return CG_EINTERNAL;
  if (w->ix != NULL && db == w->ix_db)
    w->ix_known = 0; /* the last value remembered may be gone */
  return xlate(mdb_del(w->txn, w->store->dbi[db], &k, NULL));
}

int cg_store_write_get(cg_store_writer_t *w, int db, const void *key, size_t klen,
                       cg_slice_t *out) {
  MDB_val k = val(key, klen), v;
  int rc;
  if (db < 0 || db >= CG_DB__COUNT)
    return CG_EINTERNAL;
  if ((rc = mdb_get(w->txn, w->store->dbi[db], &k, &v)) != 0)
    return xlate(rc);
  out->base = v.mv_data;
  out->len = v.mv_size;
  return 0;
}

int cg_store_write_commit(cg_store_writer_t *w) {
  MDB_envinfo info;
  size_t id;
  int err, rc;

  flusher_stop(w); /* the commit writes and syncs the rest itself */
  err = flush_pending(w);
  if (err != 0) {
    cursors_close(w);
    mdb_txn_abort(w->txn);
    writer_free(w);
    return err;
  }
  cursors_close(w);
  id = mdb_txn_id(w->txn);
  /* A failed commit frees the txn itself: aborting it again would be a
   * use after free. */
  rc = mdb_txn_commit(w->txn);
  /* A commit that wrote synced its pages and the metas before its own
   * (LMDB skips one that changed nothing): from now its own meta waits. */
  if (rc == 0 && w->store->group_commit && mdb_env_info(w->store->env, &info) == 0 &&
      info.me_last_txnid == id) {
    uint64_t now = mono_ms();
    w->store->unsynced_ms = now ? now : 1;
  }
  if (rc == 0 && w->bulk)
    rc = mdb_env_sync(w->store->env, 1);
  writer_free(w);
  return xlate(rc);
}

int cg_store_sync(cg_store_t *s) {
  int rc = mdb_env_sync(s->env, 1);
  if (rc == 0)
    s->unsynced_ms = 0;
  return xlate(rc);
}

int cg_store_sync_due(cg_store_t *s, uint64_t after_ms) {
  int err;
  if (s->unsynced_ms == 0 || mono_ms() - s->unsynced_ms < after_ms)
    return 0;
  err = cg_store_sync(s);
  return err ? err : 1;
}

int cg_store_writeback(cg_store_t *s) {
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(s->env, &fd) != 0)
    return CG_EIO;
  /* Pages not yet written are left alone; pages written are queued for the
   * disk; nothing is waited for. (The kernel would otherwise start only at
   * its dirty limit, gigabytes here, or after 30 s.) */
  return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : CG_EIO;
}

void cg_store_write_abort(cg_store_writer_t *w) {
  if (w == NULL)
    return;
  cursors_close(w);
  mdb_txn_abort(w->txn);
  writer_free(w);
}

/* ---- figures --------------------------------------------------------------- */

int cg_store_stat(cg_store_t *s, cg_store_stat_t *out) {
  MDB_envinfo info;
  MDB_stat st;
  MDB_txn *txn;
  MDB_val k, v;
  int rc;

  memset(out, 0, sizeof *out);
  if ((rc = mdb_env_info(s->env, &info)) != 0 || (rc = mdb_env_stat(s->env, &st)) != 0)
    return xlate(rc);
  out->map_size = info.me_mapsize;
  out->page_size = st.ms_psize;
  out->map_used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
  out->readers_max = info.me_maxreaders;
  out->readers_used = info.me_numreaders;
  if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
    return xlate(rc);
  for (int i = 0; i < CG_DB__COUNT; i++) {
    if ((rc = mdb_stat(txn, s->dbi[i], &st)) != 0)
      break;
    out->entries[i] = st.ms_entries;
  }
  k = val("schema", 6);
  if (rc == 0 && mdb_get(txn, s->dbi[CG_DB_META], &k, &v) == 0)
    out->schema = (uint32_t)get_uint_le(&v);
  k = val("trust_gen", 9);
  if (rc == 0 && mdb_get(txn, s->dbi[CG_DB_META], &k, &v) == 0)
    out->trust_gen = (uint32_t)get_uint_le(&v);
  k = val("created", 7);
  if (rc == 0 && mdb_get(txn, s->dbi[CG_DB_META], &k, &v) == 0)
    out->created = get_uint_le(&v);
  mdb_txn_abort(txn);
  return xlate(rc);
}
