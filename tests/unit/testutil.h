/* testutil.h — what the unit tests share: a temp directory per test, made
 * under $CG_TEST_TMP (ctest sets it to build/tmp) or /tmp, and removed with
 * everything in it. Header-only; not a test itself. */
#ifndef CG_TESTUTIL_H
#define CG_TESTUTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int cg_test__rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(p);
}

/* Makes a new directory "<base>/<name>-XXXXXX" into out. Returns 0 or -1. */
static inline int cg_test_mkdtemp(const char *name, char *out, size_t cap) {
  const char *base = getenv("CG_TEST_TMP");
  if (base == NULL || base[0] == '\0')
    base = "/tmp";
  if (mkdir(base, 0750) != 0 && errno != EEXIST)
    return -1;
  if (snprintf(out, cap, "%s/%s-XXXXXX", base, name) >= (int)cap)
    return -1;
  return mkdtemp(out) != NULL ? 0 : -1;
}

/* Removes dir and everything below it. Returns 0 or -1. */
static inline int cg_test_rmtree(const char *dir) {
  return nftw(dir, cg_test__rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
