/* test_config.c — unit tests of core/config.c.
 *
 * The documented example conf/certgw.conf must load to exactly what its
 * comments say; every mistake in a config file must be refused with
 * CG_ECONFIG and "FILE:LINE:" naming the offending line, never passed over
 * or misparsed. Each test writes its files to a fresh temp dir under
 * $CG_TEST_TMP (or /tmp) and removes it afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"

#ifndef CG_SOURCE_DIR
#error "tests/CMakeLists.txt defines CG_SOURCE_DIR, the source tree holding conf/"
#endif

#define EXAMPLE CG_SOURCE_DIR "/conf/certgw.conf"

/* ---- temp files ------------------------------------------------------------ */

typedef struct fixture {
  char dir[512];  /* the temp dir, removed by teardown */
  char path[600]; /* dir/certgw.conf: written by write_conf */
} fixture_t;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof *f);

  if (f == NULL || cg_test_mkdtemp("test_config", f->dir, sizeof f->dir) != 0)
    return -1;
  snprintf(f->path, sizeof f->path, "%s/certgw.conf", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  int rc = cg_test_rmtree(f->dir);
  free(f);
  return rc;
}

/* Writes text to f->path and returns that path. */
static const char *write_conf(fixture_t *f, const char *text) {
  FILE *fp = fopen(f->path, "w");
  if (fp == NULL)
    fail_msg("fopen %s: %s", f->path, strerror(errno));
  assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
  assert_int_equal(fclose(fp), 0);
  return f->path;
}

static cg_config_t *load_ok(const char *path) {
  cg_config_t *c = NULL;
  cg_why_t why = {{0}};
  int err = cg_config_load(&c, path, &why);
  if (err != 0)
    fail_msg("cg_config_load %s: %d (%s)", path, err, why.text);
  assert_non_null(c);
  return c;
}

/* Loads text and checks it is refused with CG_ECONFIG, why starting with
 * "PATH:line: " and containing hint (if not NULL). */
static void load_bad(fixture_t *f, const char *text, int line, const char *hint) {
  cg_config_t *c = (cg_config_t *)f; /* must be overwritten with NULL */
  cg_why_t why = {{0}};
  char prefix[700];
  int err;

  write_conf(f, text);
  err = cg_config_load(&c, f->path, &why);
  if (err != CG_ECONFIG)
    fail_msg("expected CG_ECONFIG for line %d, got %d (%s) for:\n%s", line, err, why.text, text);
  assert_null(c);
  snprintf(prefix, sizeof prefix, "%s:%d: ", f->path, line);
  if (strncmp(why.text, prefix, strlen(prefix)) != 0)
    fail_msg("why \"%s\" does not start with \"%s\"", why.text, prefix);
  if (hint != NULL && strstr(why.text, hint) == NULL)
    fail_msg("why \"%s\" does not mention \"%s\"", why.text, hint);
}

#define STORE "[store]\npath = data\n" /* the required key, two lines */

/* ---- the documented example ---------------------------------------------- */

static void test_example(void **state) {
  cg_config_t *c = load_ok(EXAMPLE);
  const cg_scope_t *s;
  static const char *hotel_fields[] = {
      "certificateIdentifier",    "certificateName",          "certificateTypeCode",
      "certificateHolderName",    "certificateHolderCode",    "certificateHolderTypeCode",
      "certificateEffectiveDate", "certificateExpiringDate",  "status"};
  (void)state;

  assert_string_equal(c->path, EXAMPLE);
  assert_string_equal(c->listen, "127.0.0.1:8080");
  assert_int_equal(c->workers, 0);
  /* Relative paths are taken from the directory of the file. */
  assert_string_equal(c->store_path, CG_SOURCE_DIR "/conf/data");
  assert_true(c->map_size == 64ULL * 1024 * 1024 * 1024);
  assert_int_equal(c->max_readers, 1024);
  assert_string_equal(c->trust_dir, CG_SOURCE_DIR "/conf/trust");
  assert_string_equal(c->keyring, CG_SOURCE_DIR "/conf/keyring");
  assert_int_equal(c->token_max_ttl, 300);
  assert_int_equal(c->token_skew, 30);
  assert_int_equal(c->nscopes, 2);

  s = cg_config_scope(c, "hotel");
  assert_non_null(s);
  assert_string_equal(s->name, "hotel");
  assert_false(s->all_types);
  assert_int_equal(s->ntypes, 2);
  assert_string_equal(s->types[0], "11100000000019713D001");
  assert_string_equal(s->types[1], "11100000000019713D005"); /* the indented line */
  assert_false(s->all_fields);
  assert_int_equal(s->nfields, 9); /* three lines of them */
  for (int i = 0; i < 9; i++)
    assert_string_equal(s->fields[i], hotel_fields[i]);
  assert_int_equal(s->nmask, 2);
  assert_string_equal(s->mask[0], "certificateHolderName");
  assert_string_equal(s->mask[1], "certificateHolderCode");
  assert_int_equal(s->can_scan, 1);
  assert_int_equal(s->can_fetch, 0);
  assert_int_equal(s->can_list, 0);
  assert_int_equal(s->can_verify, 0);

  s = cg_config_scope(c, "department");
  assert_non_null(s);
  assert_string_equal(s->name, "department");
  assert_true(s->all_types);
  assert_int_equal(s->ntypes, 0);
  assert_true(s->all_fields);
  assert_int_equal(s->nfields, 0);
  assert_int_equal(s->nmask, 0);
  assert_int_equal(s->can_scan, 1);
  assert_int_equal(s->can_fetch, 1);
  assert_int_equal(s->can_list, 1);
  assert_int_equal(s->can_verify, 1);
  cg_config_free(c);
}

/* The example's values mostly equal the defaults; these do not, so they show
 * that each key is read into its own field. */
static void test_values(void **state) {
  fixture_t *f = *state;
  char want[700];
  cg_config_t *c = load_ok(write_conf(f, "; a comment\n"
                                         "[server]\n"
                                         "listen = 0.0.0.0:9443\n"
                                         "workers = 1024\n"
                                         "[store]\n"
                                         "path = db/certs\n"
                                         "map_size = 3T\n"
                                         "max_readers = 126\n"
                                         "[seal]\n"
                                         "trust_dir = /etc/certgw/trust\n"
                                         "[token]\n"
                                         "keyring = keys/ring\n"
                                         "max_ttl = 86400\n"
                                         "skew = 5\n"
                                         "[scope kiosk]\n"
                                         "scan = on\n"
                                         "fetch = true\n"
                                         "list = 1\n"
                                         "verify = off\n"));

  assert_string_equal(c->listen, "0.0.0.0:9443");
  assert_int_equal(c->workers, 1024);
  snprintf(want, sizeof want, "%s/db/certs", f->dir);
  assert_string_equal(c->store_path, want);
  assert_true(c->map_size == 3ULL << 40);
  assert_int_equal(c->max_readers, 126);
  assert_string_equal(c->trust_dir, "/etc/certgw/trust"); /* absolute: kept */
  snprintf(want, sizeof want, "%s/keys/ring", f->dir);
  assert_string_equal(c->keyring, want);
  assert_int_equal(c->token_max_ttl, 86400);
  assert_int_equal(c->token_skew, 5);
  assert_int_equal(c->nscopes, 1);
  assert_string_equal(c->scopes[0].name, "kiosk");
  assert_int_equal(c->scopes[0].can_scan, 1);
  assert_int_equal(c->scopes[0].can_fetch, 1);
  assert_int_equal(c->scopes[0].can_list, 1);
  assert_int_equal(c->scopes[0].can_verify, 0);
  /* A scope with no types or fields lines grants nothing to read. */
  assert_false(c->scopes[0].all_types);
  assert_false(c->scopes[0].all_fields);
  assert_int_equal(c->scopes[0].ntypes, 0);
  assert_int_equal(c->scopes[0].nfields, 0);
  cg_config_free(c);
}

static void test_defaults(void **state) {
  fixture_t *f = *state;
  cg_config_t *c = load_ok(write_conf(f, "[store]\npath = /srv/certgw/data\n"));

  assert_string_equal(c->path, f->path);
  assert_string_equal(c->listen, "127.0.0.1:8080");
  assert_int_equal(c->workers, 0);
  assert_string_equal(c->store_path, "/srv/certgw/data"); /* absolute: kept */
  assert_true(c->map_size == 64ULL << 30);
  assert_int_equal(c->max_readers, 1024);
  assert_string_equal(c->trust_dir, "");
  assert_string_equal(c->keyring, "");
  assert_int_equal(c->token_max_ttl, 300);
  assert_int_equal(c->token_skew, 30);
  assert_int_equal(c->nscopes, 0);
  assert_null(cg_config_scope(c, "hotel"));
  cg_config_free(c);
}

/* A config path with no directory part resolves against ".". */
static void test_relative_config_path(void **state) {
  fixture_t *f = *state;
  char cwd[PATH_MAX];
  cg_config_t *c;

  write_conf(f, "[store]\npath = data\n[seal]\ntrust_dir = ../trust\n");
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(f->dir), 0);
  c = load_ok("certgw.conf");
  assert_int_equal(chdir(cwd), 0);
  assert_string_equal(c->store_path, "./data");
  assert_string_equal(c->trust_dir, "./../trust");
  cg_config_free(c);
}

/* Long lists continue on indented lines, also after a comment line, and with
 * or without a trailing comma on the line before. */
static void test_list_continuation(void **state) {
  fixture_t *f = *state;
  cg_config_t *c = load_ok(write_conf(f, STORE "[scope s]\n"
                                               "fields = a, b,\n"
                                               "  c\n"
                                               "\td , e\n"
                                               "# not part of the list\n"
                                               "   f,\n"
                                               "mask = a\n"));
  const cg_scope_t *s = cg_config_scope(c, "s");
  static const char *want[] = {"a", "b", "c", "d", "e", "f"};

  assert_non_null(s);
  assert_int_equal(s->nfields, 6);
  for (int i = 0; i < 6; i++)
    assert_string_equal(s->fields[i], want[i]);
  assert_int_equal(s->nmask, 1);
  assert_string_equal(s->mask[0], "a");
  cg_config_free(c);
}

/* Exactly CG_SCOPE_LIST_MAX entries fit; a line of 198 bytes before its
 * newline is read whole. */
static void test_limits_accepted(void **state) {
  fixture_t *f = *state;
  char text[4096], line[256];
  size_t n = 0;
  cg_config_t *c;
  const cg_scope_t *s;

  n += (size_t)snprintf(text + n, sizeof text - n, STORE "[scope s]\nfields = f00");
  for (int i = 1; i < CG_SCOPE_LIST_MAX; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, i % 10 == 0 ? ",\n    f%02d" : ", f%02d", i);
  /* "listen = " + 183 characters + ":65535" = 198 bytes. */
  memset(line, 'x', sizeof line);
  snprintf(text + n, sizeof text - n, "\n[server]\nlisten = %.183s:65535\n", line);

  c = load_ok(write_conf(f, text));
  s = cg_config_scope(c, "s");
  assert_non_null(s);
  assert_int_equal(s->nfields, CG_SCOPE_LIST_MAX);
  assert_string_equal(s->fields[0], "f00");
  assert_string_equal(s->fields[CG_SCOPE_LIST_MAX - 1], "f63");
  assert_int_equal(strlen(c->listen), 189);
  cg_config_free(c);
}

/* ---- errors ------------------------------------------------------------------ */

/* A single-value key given twice, or continued on an indented line (which
 * inih passes on as the same key again), is an error, not a silent overwrite. */
static void test_repeated_key(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[server]\nworkers = 2\nworkers = 4\n", 5, "twice");
  load_bad(f, STORE "[server]\nlisten = 127.0.0.1:8080\n  workers = 4\n", 5, "twice");
}

static void test_bad_values(void **state) {
  fixture_t *f = *state;
  cg_config_t *c = NULL;
  cg_why_t why = {""};
  assert_int_equal(cg_config_load(&c, write_conf(f, STORE "[server]\nlisten = nowhere\n"), &why),
                   CG_ECONFIG);
  assert_non_null(strstr(why.text, "HOST:PORT"));
  assert_int_equal(cg_config_load(&c, write_conf(f, STORE "max_readers = 0\n"), &why), CG_ECONFIG);
  assert_non_null(strstr(why.text, "max_readers"));
  assert_int_equal(cg_config_load(&c, write_conf(f, STORE "map_size = 4K\n"), &why), CG_ECONFIG);
  assert_non_null(strstr(why.text, "map_size"));
  assert_null(c);
}

static void test_unknown_section(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "\n[sever]\nlisten = 127.0.0.1:80\n", 5, "sever");
  load_bad(f, "[Store]\npath = data\n", 2, "Store");
  load_bad(f, STORE "[scope]\ntypes = *\n", 4, NULL);
}

static void test_unknown_key(void **state) {
  fixture_t *f = *state;
  load_bad(f, "[server]\nlisten = 127.0.0.1:80\nport = 8080\n" STORE, 3, "port");
  /* A known key in the wrong section is unknown there. */
  load_bad(f, STORE "map_size = 1G\nmax_ttl = 60\n", 4, "max_ttl");
  load_bad(f, STORE "[scope hotel]\nscan = yes\n\ncolour = red\n", 6, "colour");
  load_bad(f, STORE "[scope hotel]\nlisten = 127.0.0.1:80\n", 4, "listen");
}

static void test_bad_number(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[server]\nworkers = four\n", 4, "workers");
  load_bad(f, STORE "[server]\nworkers = -1\n", 4, "workers");
  load_bad(f, STORE "[server]\nworkers = 4x\n", 4, "workers");
  load_bad(f, STORE "[server]\nworkers = +4\n", 4, "workers");
  load_bad(f, STORE "[server]\nworkers =\n", 4, "workers");
  load_bad(f, STORE "[token]\n\nmax_ttl = 99999999999999999999999\n", 5, "max_ttl");
}

static void test_number_out_of_range(void **state) {
  fixture_t *f = *state;
  load_bad(f, "[server]\nworkers = 5000\n" STORE, 2, "5000");
  load_bad(f, "[server]\nworkers = 1025\n" STORE, 2, "1025");
  load_bad(f, STORE "[token]\nmax_ttl = 86401\n", 4, "max_ttl");
  load_bad(f, STORE "[token]\nskew = 3601\n", 4, "skew");
  /* Would wrap to 0 in an unsigned. */
  load_bad(f, STORE "max_readers = 4294967296\n", 3, "max_readers");
  load_bad(f, STORE "max_readers = 1048577\n", 3, "max_readers");
}

static void test_bad_size(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "map_size = 64Q\n", 3, "64Q");
  load_bad(f, STORE "map_size = 64 G\n", 3, "map_size");
  load_bad(f, STORE "map_size = 17179869184G\n", 3, "map_size");
}

static void test_bad_path(void **state) {
  fixture_t *f = *state;
  load_bad(f, "[store]\npath =\n", 2, "path");
}

static void test_bad_bool(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[scope hotel]\nscan = maybe\n", 4, "maybe");
  load_bad(f, STORE "[scope hotel]\nscan = yes\nverify = Yes\n", 5, "verify");
  load_bad(f, STORE "[scope hotel]\nfetch =\n", 4, "fetch");
}

static void test_bad_type_code(void **state) {
  fixture_t *f = *state;
  /* 20 and 22 characters. */
  load_bad(f, STORE "[scope hotel]\ntypes = 11100000000019713D00\n", 4, "11100000000019713D00");
  load_bad(f, STORE "[scope hotel]\ntypes = 11100000000019713D0011\n", 4, NULL);
  /* The wrong one on a continuation line is reported at that line. */
  load_bad(f, STORE "[scope hotel]\ntypes = 11100000000019713D001,\n  11100000000019713D00\n", 5,
           "11100000000019713D00");
}

static void test_star_mixed(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[scope s]\ntypes = *, 11100000000019713D001\n", 4, NULL);
  load_bad(f, STORE "[scope s]\ntypes = 11100000000019713D001, *\n", 4, NULL);
  load_bad(f, STORE "[scope s]\ntypes = 11100000000019713D001,\n    *\n", 5, NULL);
  load_bad(f, STORE "[scope s]\ntypes = *\n    11100000000019713D001\n", 5, NULL);
  load_bad(f, STORE "[scope s]\nfields = *\n    status\n", 5, NULL);
  load_bad(f, STORE "[scope s]\nfields = status,\n    *\n", 5, NULL);
  /* "*" means all only alone: within a list it is no field name either. */
  load_bad(f, STORE "[scope s]\nfields = *, status\n", 4, NULL);
  load_bad(f, STORE "[scope s]\nfields = status, *\n", 4, NULL);
  /* mask has no "all": a "*" there would mask nothing, silently. */
  load_bad(f, STORE "[scope s]\nmask = *\n", 4, "mask");
  load_bad(f, STORE "[scope s]\nmask = certificateHolderName,\n    *\n", 5, "mask");
}

static void test_bad_list(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[scope s]\nfields = a,,b\n", 4, "fields");
  load_bad(f, STORE "[scope s]\nmask = , a\n", 4, "mask");
  /* fields hold names up to 47 characters. */
  load_bad(f, STORE "[scope s]\nfields = a, "
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
           4, "fields");
}

static void test_list_too_long(void **state) {
  fixture_t *f = *state;
  char text[4096];
  size_t n = 0;

  /* 65 entries, ten a line: the 65th is on the 7th line of the list. */
  n += (size_t)snprintf(text + n, sizeof text - n, STORE "[scope s]\nmask = m00");
  for (int i = 1; i <= CG_SCOPE_LIST_MAX; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, i % 10 == 0 ? ",\n    m%02d" : ", m%02d", i);
  snprintf(text + n, sizeof text - n, "\n");
  load_bad(f, text, 4 + 6, "mask");
}

/* Debian's inih reads at most 200 bytes a line (199 and the NUL); inih would
 * take the rest of a longer line for a line of its own, so the loader must
 * refuse the file. */
static void test_line_too_long(void **state) {
  fixture_t *f = *state;
  char text[2048], x[1024];

  memset(x, 'x', sizeof x);
  /* "listen = " + 190 = 199 bytes before the newline. */
  snprintf(text, sizeof text, STORE "[server]\nlisten = %.190s\n", x);
  load_bad(f, text, 4, "line");
  /* A long list line whose tail would otherwise pass as its own key line. */
  snprintf(text, sizeof text,
           STORE "[scope s]\nscan = no\nfields = %.180s, scan = yes\nfetch = no\n", x);
  load_bad(f, text, 5, "line");
  /* A long comment counts too, and so does a last line with no newline. */
  snprintf(text, sizeof text, STORE "# %.600s\n", x);
  load_bad(f, text, 3, "line");
  snprintf(text, sizeof text, STORE "[server]\nlisten = %.300s", x);
  load_bad(f, text, 4, "line");
}

static void test_not_a_line(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[server]\nlisten 127.0.0.1:80\n", 4, NULL);
  load_bad(f, STORE "[server\nlisten = 127.0.0.1:80\n", 3, NULL);
}

/* The first mistake is the one reported, also when inih found it: after a
 * broken section header the next key is not "unknown in [store]". */
static void test_first_error(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[server]\nworkers = 5000\nlisten\nbogus = 1\n", 4, "workers");
  load_bad(f, STORE "[server]\nlisten\nworkers = 5000\n", 4, NULL);
}

static void test_missing_store_path(void **state) {
  fixture_t *f = *state;
  cg_config_t *c = (cg_config_t *)f;
  cg_why_t why = {{0}};
  char prefix[700];

  write_conf(f, "[server]\nlisten = 127.0.0.1:80\n[store]\nmap_size = 1G\n");
  assert_int_equal(cg_config_load(&c, f->path, &why), CG_ECONFIG);
  assert_null(c);
  snprintf(prefix, sizeof prefix, "%s: ", f->path);
  assert_memory_equal(why.text, prefix, strlen(prefix));
  assert_non_null(strstr(why.text, "path"));

  c = (cg_config_t *)f;
  write_conf(f, "");
  assert_int_equal(cg_config_load(&c, f->path, NULL), CG_ECONFIG);
  assert_null(c);
}

static void test_missing_file(void **state) {
  fixture_t *f = *state;
  cg_config_t *c = (cg_config_t *)f;
  cg_why_t why = {{0}};
  char path[700];

  snprintf(path, sizeof path, "%s/absent.conf", f->dir);
  assert_int_equal(cg_config_load(&c, path, &why), CG_EIO);
  assert_null(c);
  assert_non_null(strstr(why.text, path));
  /* A directory is no file either. */
  assert_int_not_equal(cg_config_load(&c, f->dir, NULL), 0);
  assert_null(c);
}

/* ---- sizes and scopes -------------------------------------------------------- */

static void test_size(void **state) {
  static const struct {
    const char *s;
    int ok;
    uint64_t want;
  } cases[] = {
      {"0", 1, 0},
      {"4096", 1, 4096},
      {"1K", 1, 1024},
      {"1k", 1, 1024},
      {"2M", 1, 2ULL << 20},
      {"3G", 1, 3ULL << 30},
      {"64G", 1, 64ULL << 30},
      {"1T", 1, 1ULL << 40},
      {"18446744073709551615", 1, UINT64_MAX},
      {"17179869183G", 1, 17179869183ULL << 30}, /* the largest whole G */
      {"", 0, 0},
      {"G", 0, 0},
      {"1KB", 0, 0},
      {"1 K", 0, 0},
      {" 1", 0, 0},
      {"-1", 0, 0},
      {"+1", 0, 0},
      {"1.5G", 0, 0},
      {"0x10", 0, 0},
      {"64Q", 0, 0},
      {"18446744073709551616", 0, 0},
      {"17179869184G", 0, 0}, /* 2^64 */
      {"16777216T", 0, 0},    /* 2^64 */
  };
  (void)state;

  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint64_t got = 12345;
    int err = cg_config_size(cases[i].s, &got);
    if (cases[i].ok) {
      if (err != 0 || got != cases[i].want)
        fail_msg("\"%s\": err %d, %llu, want %llu", cases[i].s, err, (unsigned long long)got,
                 (unsigned long long)cases[i].want);
    } else {
      if (err != CG_ECONFIG)
        fail_msg("\"%s\": err %d, want CG_ECONFIG", cases[i].s, err);
      assert_true(got == 12345); /* left alone */
    }
  }
}

static void test_scope_lookup(void **state) {
  fixture_t *f = *state;
  cg_config_t *c = load_ok(write_conf(f, STORE "[scope hotel]\nscan = yes\n"
                                               "[scope bank]\nfetch = yes\n"
                                               "[scope hotel]\nverify = yes\n"));
  const cg_scope_t *s;
  (void)state;

  /* A section named twice is one scope. */
  assert_int_equal(c->nscopes, 2);
  s = cg_config_scope(c, "hotel");
  assert_non_null(s);
  assert_ptr_equal(s, &c->scopes[0]);
  assert_int_equal(s->can_scan, 1);
  assert_int_equal(s->can_verify, 1);
  assert_int_equal(s->can_fetch, 0);
  s = cg_config_scope(c, "bank");
  assert_non_null(s);
  assert_ptr_equal(s, &c->scopes[1]);
  assert_int_equal(s->can_fetch, 1);
  assert_int_equal(s->can_scan, 0);

  assert_null(cg_config_scope(c, "hote"));
  assert_null(cg_config_scope(c, "hotels"));
  assert_null(cg_config_scope(c, "Hotel"));
  assert_null(cg_config_scope(c, ""));
  cg_config_free(c);
}

static void test_scope_limits(void **state) {
  fixture_t *f = *state;
  char text[8192];
  size_t n = 0;

  /* A scope name of 32 characters does not fit. */
  load_bad(f, STORE "[scope abcdefghijklmnopqrstuvwxyz012345]\nscan = yes\n", 4, NULL);
  /* The 33rd scope is one too many. */
  n += (size_t)snprintf(text + n, sizeof text - n, STORE);
  for (int i = 0; i <= CG_SCOPES_MAX; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "[scope s%d]\nscan = yes\n", i);
  load_bad(f, text, 2 + 2 * CG_SCOPES_MAX + 2, "scopes");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example),
      T(test_values),
      T(test_defaults),
      T(test_relative_config_path),
      T(test_list_continuation),
      T(test_limits_accepted),
      T(test_repeated_key),
      T(test_bad_values),
      T(test_unknown_section),
      T(test_unknown_key),
      T(test_bad_number),
      T(test_number_out_of_range),
      T(test_bad_size),
      T(test_bad_path),
      T(test_bad_bool),
      T(test_bad_type_code),
      T(test_star_mixed),
      T(test_bad_list),
      T(test_list_too_long),
      T(test_line_too_long),
      T(test_not_a_line),
      T(test_first_error),
      T(test_missing_store_path),
      T(test_missing_file),
      cmocka_unit_test(test_size),
      T(test_scope_lookup),
      T(test_scope_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
