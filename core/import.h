/* import.h — loading certificates from JSON Lines into the store.
 *
 * One certificate per line, in the national field names, with its seal
 * (the format `certctl export` writes; docs/record.md). Parsing, checking
 * and encoding run on parser threads; the calling thread writes, in line
 * order, inside one write transaction: either every line is stored, or —
 * on the first bad line, or any failure — nothing is.
 */
#ifndef CG_IMPORT_H
#define CG_IMPORT_H

#include <stdint.h>

#include "core/error.h"
#include "core/seal.h"
#include "core/store.h"

struct cg_trust;

typedef void (*cg_import_progress_cb)(void *arg, uint64_t bytes_done, uint64_t bytes_total,
                                      uint64_t records);

typedef struct cg_import_opts {
  int threads;                    /* parser threads; 0: one per core */
  int source;                     /* CG_SOURCE_…; 0: CG_SOURCE_IMPORT */
  cg_import_progress_cb progress; /* called from the calling thread, may be NULL */
  void *progress_arg;
  /* Seals are verified on the parser threads against trust (both cores):
   * records are stored verified or invalid with the reason and the trust
   * generation. NULL stores them unchecked, for a later `certctl verify` or
   * certgw to check; an unchecked record is never served as genuine. */
  const struct cg_trust *trust;
  int refuse_bad_seals;           /* a bad seal fails the import like a bad line */
} cg_import_opts_t;

typedef struct cg_import_result {
  uint64_t lines;     /* lines read, blank ones included */
  uint64_t records;   /* certificates stored */
  uint64_t replaced;  /* of which replaced one already there */
  uint64_t bad_line;  /* 1-based line of the first bad record; 0 if none */
  uint64_t seals[CG_SEAL__REASONS]; /* verified ([CG_SEAL_OK]) and each failure */
  double load_seconds;   /* parsing and writing the records */
  double commit_seconds; /* filing the holder index, committing, syncing */
  cg_why_t why;       /* what was wrong with it, or with the import */
} cg_import_result_t;

/* Imports path ("-" reads standard input). Returns 0 when every line was
 * stored, else a CG_E… code with res->bad_line and res->why saying where and
 * why, and the store exactly as it was before. */
int cg_import_file(cg_store_t *s, const char *path, const cg_import_opts_t *o,
                   cg_import_result_t *res);

/* The same for a buffer in memory. */
int cg_import_buffer(cg_store_t *s, const char *data, size_t len, const cg_import_opts_t *o,
                     cg_import_result_t *res);

#endif
