/* store_speed.c — the import's writer alone: how fast the store takes
 * already-encoded records, with no parsing in front of it.
 *
 *   store-speed SRC_DATADIR DST_DATADIR [N]
 *
 * Copies the first N records (default: all) of the store in SRC_DATADIR
 * into memory, then writes them into a new store in DST_DATADIR (which
 * must not hold one) the way `certctl import` does: one bulk write
 * transaction (appends while the identifiers come sorted, the holder index
 * filed in one sorted pass, spilled pages written back as it goes), one
 * commit and sync. Prints the time of the puts, of the commit
 * and the rate over both: the ceiling of an import on this machine for
 * these records, whatever the parser (docs/benchmarks.md, section c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/store.h"

struct copy {
  cg_buf_t data; /* packed: u16 ident_len, ident, u32 rec_len, rec */
  uint64_t n, max;
};

static int take(void *arg, cg_slice_t key, cg_slice_t val) {
  struct copy *c = arg;
  uint16_t klen = (uint16_t)key.len;
  uint32_t vlen = (uint32_t)val.len;
  int err;

  if ((err = cg_buf_append(&c->data, &klen, 2)) != 0 ||
      (err = cg_buf_append(&c->data, key.base, key.len)) != 0 ||
      (err = cg_buf_append(&c->data, &vlen, 4)) != 0 ||
      (err = cg_buf_append(&c->data, val.base, val.len)) != 0)
    return err;
  return ++c->n == c->max ? 1 : 0;
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  struct copy c = {.max = UINT64_MAX};
  cg_store_t *src = NULL, *dst = NULL;
  cg_store_reader_t *rd = NULL;
  cg_store_writer_t *w = NULL;
  cg_why_t why = {""};
  char path[4200];
  struct stat st;
  double t0, t1, t2;
  int err;

  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: store-speed SRC_DATADIR DST_DATADIR [N]\n");
    return 2;
  }
  if (argc == 4 && (c.max = strtoull(argv[3], NULL, 10)) == 0) {
    fprintf(stderr, "store-speed: N must be a positive number\n");
    return 2;
  }
  snprintf(path, sizeof path, "%s/data.mdb", argv[2]);
  if (stat(path, &st) == 0) {
    fprintf(stderr, "store-speed: %s holds a store already\n", argv[2]);
    return 2;
  }

  cg_buf_init(&c.data, (size_t)64 << 30);
  if ((err = cg_store_open(&src, &(cg_store_opts_t){.path = argv[1], .readonly = 1}, &why)) !=
      0) {
    fprintf(stderr, "store-speed: %s\n", why.text);
    return 1;
  }
  if ((err = cg_store_reader_open(src, &rd)) != 0 || (err = cg_store_reader_begin(rd)) != 0 ||
      (err = cg_store_each(rd, CG_DB_CERT, take, &c)) < 0) {
    fprintf(stderr, "store-speed: cannot read %s: %s\n", argv[1], cg_strerror(err));
    return 1;
  }
  cg_store_reader_end(rd);
  cg_store_reader_close(rd);
  cg_store_close(src);

  if ((err = cg_store_open(&dst, &(cg_store_opts_t){.path = argv[2]}, &why)) != 0) {
    fprintf(stderr, "store-speed: %s\n", why.text);
    return 1;
  }
  t0 = mono();
  if ((err = cg_store_write_begin(dst, CG_STORE_BULK, &w)) != 0) {
    fprintf(stderr, "store-speed: cannot start writing: %s\n", cg_strerror(err));
    return 1;
  }
  for (const char *p = c.data.base, *end = p + c.data.len; p < end;) {
    uint16_t klen;
    uint32_t vlen;
    memcpy(&klen, p, 2);
    memcpy(&vlen, p + 2 + klen, 4);
    if ((err = cg_store_cert_put(w, p + 2, klen, p + 2 + klen + 4, vlen, NULL)) != 0) {
      fprintf(stderr, "store-speed: cannot store %.*s: %s\n", (int)klen, p + 2,
              cg_strerror(err));
      return 1;
    }
    p += 2 + klen + 4 + vlen;
  }
  t1 = mono();
  if ((err = cg_store_write_commit(w)) != 0) {
    fprintf(stderr, "store-speed: cannot commit: %s\n", cg_strerror(err));
    return 1;
  }
  t2 = mono();
  cg_store_close(dst);

  printf("stored %llu records (%.0f bytes each on average) in %.2f s: puts %.2f s, commit and "
         "sync %.2f s: %.0f records/s\n",
         (unsigned long long)c.n, c.n ? (double)(c.data.len - 6 * c.n) / (double)c.n : 0.0,
         t2 - t0, t1 - t0, t2 - t1, (double)c.n / (t2 - t0));
  cg_buf_free(&c.data);
  return 0;
}
