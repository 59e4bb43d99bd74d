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

  /* [upstream] at its defaults; the tiers are commented out. */
  assert_string_equal(c->up_purpose, "certificate verification");
  assert_int_equal(c->up_deadline_ms, 3000);
  assert_int_equal(c->up_negative_ttl_ms, 30000);
  assert_int_equal(c->up_refresh_s, 86400);
  assert_int_equal(c->up_retry_budget, 20);
  assert_int_equal(c->up_breaker_failures, 5);
  assert_int_equal(c->up_breaker_open_ms, 5000);
  assert_int_equal(c->up_eject_ms, 10000);
  assert_int_equal(c->up_feed_interval_ms, 5000);
  assert_int_equal(c->up_pool, 8);
  assert_int_equal(c->ntiers, 0);
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
                                         "send_buffer = 16K\n"
                                         "proxy_protocol = yes\n"
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
  assert_true(c->send_buffer == 16384);
  assert_int_equal(c->proxy_protocol, 1);
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
  assert_true(c->send_buffer == 0); /* the kernel's */
  assert_int_equal(c->proxy_protocol, 0);
  assert_string_equal(c->store_path, "/srv/certgw/data"); /* absolute: kept */
  assert_true(c->map_size == 64ULL << 30);
  assert_int_equal(c->max_readers, 1024);
  assert_string_equal(c->trust_dir, "");
  assert_string_equal(c->keyring, "");
  assert_int_equal(c->token_max_ttl, 300);
  assert_int_equal(c->token_skew, 30);
  assert_int_equal(c->nscopes, 0);
  assert_null(cg_config_scope(c, "hotel"));
  /* No [upstream] section: its defaults, and no tier to ask. */
  assert_string_equal(c->up_purpose, "certificate verification");
  assert_int_equal(c->up_deadline_ms, 3000);
  assert_int_equal(c->up_negative_ttl_ms, 30000);
  assert_int_equal(c->up_refresh_s, 86400);
  assert_int_equal(c->up_retry_budget, 20);
  assert_int_equal(c->up_breaker_failures, 5);
  assert_int_equal(c->up_breaker_open_ms, 5000);
  assert_int_equal(c->up_eject_ms, 10000);
  assert_int_equal(c->up_feed_interval_ms, 5000);
  assert_int_equal(c->up_pool, 8);
  assert_int_equal(c->ntiers, 0);
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
  assert_int_equal(
      cg_config_load(&c, write_conf(f, STORE "[server]\nsend_buffer = 1000\n"), &why), CG_ECONFIG);
  assert_non_null(strstr(why.text, "send_buffer"));
  assert_int_equal(
      cg_config_load(&c, write_conf(f, STORE "[server]\nsend_buffer = 65M\n"), &why), CG_ECONFIG);
  assert_non_null(strstr(why.text, "send_buffer"));
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

/* ---- upstream platforms ------------------------------------------------------ */

/* Loads text, checks it is refused with CG_ECONFIG and why names the file
 * (no line: a missing url or ca_file is found after the whole file was
 * read) and contains hint. */
static void load_bad_tier(fixture_t *f, const char *text, const char *hint) {
  cg_config_t *c = (cg_config_t *)f;
  cg_why_t why = {{0}};
  char prefix[700];

  write_conf(f, text);
  if (cg_config_load(&c, f->path, &why) != CG_ECONFIG)
    fail_msg("expected CG_ECONFIG (%s) for:\n%s", why.text, text);
  assert_null(c);
  snprintf(prefix, sizeof prefix, "%s: ", f->path);
  if (strncmp(why.text, prefix, strlen(prefix)) != 0 || strstr(why.text, hint) == NULL)
    fail_msg("why \"%s\" does not start with \"%s\" or lacks \"%s\"", why.text, prefix, hint);
}

static void assert_addr(const struct cg_tier_addr *a, int tls, const char *host, unsigned port) {
  if (a->tls != tls || strcmp(a->host, host) != 0 || a->port != port)
    fail_msg("address %s://%s:%u, want %s://%s:%u", a->tls ? "https" : "http", a->host, a->port,
             tls ? "https" : "http", host, port);
}

static void test_upstream_values(void **state) {
  fixture_t *f = *state;
  cg_config_t *c = load_ok(write_conf(f, STORE "[upstream]\n"
                                               "purpose = 无证明城市证照核验\n"
                                               "deadline = 2500\n"
                                               "negative_ttl = 0\n"
                                               "refresh = 3600\n"
                                               "retry_budget = 0\n"
                                               "breaker_failures = 3\n"
                                               "breaker_open = 1000\n"
                                               "eject = 20000\n"
                                               "feed_interval = 0\n"
                                               "pool = 0\n"));
  assert_string_equal(c->up_purpose, "无证明城市证照核验");
  assert_int_equal(c->up_deadline_ms, 2500);
  assert_int_equal(c->up_negative_ttl_ms, 0);
  assert_int_equal(c->up_refresh_s, 3600);
  assert_int_equal(c->up_retry_budget, 0);
  assert_int_equal(c->up_breaker_failures, 3);
  assert_int_equal(c->up_breaker_open_ms, 1000);
  assert_int_equal(c->up_eject_ms, 20000);
  assert_int_equal(c->up_feed_interval_ms, 0);
  assert_int_equal(c->up_pool, 0);
  assert_int_equal(c->ntiers, 0);
  cg_config_free(c);
}

/* Tiers keep the order of their sections; a section named twice is one
 * tier; url lists take http and https, default ports, IPv6 in brackets,
 * spaces around commas and continuation lines. */
static void test_upstream_tiers(void **state) {
  fixture_t *f = *state;
  char want[700];
  cg_config_t *c = load_ok(write_conf(f, STORE "[upstream province]\n"
                                               "url = https://platform.sd.example\n"
                                               "ca_file = tls/ca.pem\n"
                                               "[upstream city]\n"
                                               "url = http://127.0.0.1:9101 ,"
                                               "http://127.0.0.1:9102,\n"
                                               "    http://[::1]:9, https://[2001:db8::7]/,\n"
                                               "  http://city.example\n"
                                               "access_id = certgw\n"
                                               "token = s3cret token\n"
                                               "connect_timeout = 200\n"
                                               "timeout = 900\n"
                                               "ca_file = /etc/certgw/city-ca.pem\n"
                                               "server_name = city.example\n"
                                               "feed = no\n"
                                               "[upstream province]\n"
                                               "access_id = jn\n"));
  const cg_tier_t *t;

  assert_int_equal(c->ntiers, 2);
  t = &c->tiers[0];
  assert_string_equal(t->name, "province");
  assert_int_equal(t->naddrs, 1);
  assert_addr(&t->addrs[0], 1, "platform.sd.example", 443);
  snprintf(want, sizeof want, "%s/tls/ca.pem", f->dir);
  assert_string_equal(t->ca_file, want); /* relative: from the file's directory */
  assert_string_equal(t->access_id, "jn");  /* from the second [upstream province] */
  assert_string_equal(t->token, "");
  assert_string_equal(t->server_name, "");
  assert_int_equal(t->connect_timeout_ms, 500);
  assert_int_equal(t->timeout_ms, 1500);
  assert_int_equal(t->feed, 1);
  assert_int_equal(t->ntypes, 0);
  assert_int_equal(t->nareas, 0);

  t = &c->tiers[1];
  assert_string_equal(t->name, "city");
  assert_int_equal(t->naddrs, 5);
  assert_addr(&t->addrs[0], 0, "127.0.0.1", 9101);
  assert_addr(&t->addrs[1], 0, "127.0.0.1", 9102);
  assert_addr(&t->addrs[2], 0, "::1", 9);
  assert_addr(&t->addrs[3], 1, "2001:db8::7", 443);
  assert_addr(&t->addrs[4], 0, "city.example", 80);
  assert_string_equal(t->access_id, "certgw");
  assert_string_equal(t->token, "s3cret token");
  assert_int_equal(t->connect_timeout_ms, 200);
  assert_int_equal(t->timeout_ms, 900);
  assert_string_equal(t->ca_file, "/etc/certgw/city-ca.pem");
  assert_string_equal(t->server_name, "city.example");
  assert_int_equal(t->feed, 0);
  cg_config_free(c);
}

/* Exactly CG_TIERS_MAX tiers of CG_TIER_ADDRS_MAX addresses each fit. */
static void test_upstream_limits_accepted(void **state) {
  fixture_t *f = *state;
  char text[4096];
  size_t n = 0;
  cg_config_t *c;

  n += (size_t)snprintf(text + n, sizeof text - n, STORE);
  for (int i = 0; i < CG_TIERS_MAX; i++) {
    n += (size_t)snprintf(text + n, sizeof text - n, "[upstream t-%d_x]\nurl = http://h:1", i);
    for (int j = 1; j < CG_TIER_ADDRS_MAX; j++)
      n += (size_t)snprintf(text + n, sizeof text - n, ",\n  http://h:%d", j + 1);
    n += (size_t)snprintf(text + n, sizeof text - n, "\n");
  }
  c = load_ok(write_conf(f, text));
  assert_int_equal(c->ntiers, CG_TIERS_MAX);
  for (int i = 0; i < CG_TIERS_MAX; i++) {
    char name[32];
    snprintf(name, sizeof name, "t-%d_x", i);
    assert_string_equal(c->tiers[i].name, name);
    assert_int_equal(c->tiers[i].naddrs, CG_TIER_ADDRS_MAX);
    assert_addr(&c->tiers[i].addrs[CG_TIER_ADDRS_MAX - 1], 0, "h", CG_TIER_ADDRS_MAX);
  }
  cg_config_free(c);
}

/* Lines 3 and 4, after STORE's two: a tier's next key is on line 5. */
#define CITY "[upstream city]\nurl = http://127.0.0.1:9101\n"

static void test_upstream_bad_url(void **state) {
  fixture_t *f = *state;
  static const char *bad[] = {
      "127.0.0.1:9101",         /* no scheme */
      "ftp://127.0.0.1:21",     "HTTP://127.0.0.1:80",  "http//127.0.0.1:80",
      "http://127.0.0.1:0",     "http://127.0.0.1:65536", "http://127.0.0.1:",
      "http://127.0.0.1:+80",   "http://127.0.0.1:8x",  "http://:80",
      "http://",                "https://[::1",         "http://[::1]9",
      "http://[]:80",           "http://h:80/v1",       "http://h:80/v1/certificates",
      "http://::1:9",           /* IPv6 only in brackets */
      "http://a b:80",          "http://h;x:80",
  };
  char text[512];

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(text, sizeof text, STORE "[upstream city]\nurl = %s\n", bad[i]);
    load_bad(f, text, 4, "is not http://HOST:PORT");
  }
  /* The bad one among good ones, on a continuation line. */
  load_bad(f, STORE "[upstream city]\nurl = http://a:1,\n  http://b:2, gopher://c:3\n", 5,
           "gopher://c:3");
}

static void test_upstream_bad_keys(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE CITY "colour = red\n", 5, "colour");
  /* A key of [upstream] is unknown in a tier, and the other way round. */
  load_bad(f, STORE CITY "deadline = 100\n", 5, "deadline");
  load_bad(f, STORE "[upstream]\nurl = http://127.0.0.1:9101\n", 4, "url");
  load_bad(f, STORE "[upstream]\npool = 8\n\nbogus = 1\n", 6, "bogus");
  load_bad(f, STORE CITY "connect_timeout = 0\n", 5, "connect_timeout");
  load_bad(f, STORE CITY "timeout = 600001\n", 5, "timeout");
  load_bad(f, STORE CITY "timeout = soon\n", 5, "timeout");
  load_bad(f, STORE CITY "feed = sometimes\n", 5, "feed");
  load_bad(f, STORE CITY "token = s3\tcret\n", 5, "control character");
  load_bad(f, STORE CITY "types = 11100000000019713D00\n", 5, "11100000000019713D00");
  load_bad(f, STORE CITY "types = *, 11100000000019713D001\n", 5, "types");
  load_bad(f, STORE CITY "areas = 37O1\n", 5, "37O1");
  load_bad(f, STORE CITY "areas = 37010212\n", 5, "areas"); /* longer than 7 */
  load_bad(f, STORE CITY "areas = 3701,,3702\n", 5, "areas");
  load_bad(f, STORE "[upstream]\ndeadline = 600001\n", 4, "deadline");
  load_bad(f, STORE "[upstream]\npool = 1025\n", 4, "pool");
  load_bad(f, STORE "[upstream]\nrefresh = 1h\n", 4, "refresh");
  load_bad(f, STORE "[upstream]\nretry_budget = 101\n", 4, "retry_budget");
  load_bad(f, STORE "[upstream]\npool = 8\npool = 9\n", 5, "twice");
  /* A tier's single values too: a second one is a mistake, not an override. */
  load_bad(f, STORE CITY "token = a\ntoken = b\n", 6, "twice");
  load_bad(f, STORE CITY "timeout = 100\ntimeout = 200\n", 6, "twice");
  load_bad(f, STORE CITY "access_id = a\n  b\n", 6, "twice");
  load_bad(f, STORE "[upstream city]\nurl = http://a:1,,http://b:2\n", 4, "empty entry");
}

static void test_upstream_bad_name(void **state) {
  fixture_t *f = *state;
  load_bad(f, STORE "[upstream City]\nurl = http://127.0.0.1:9101\n", 4, "City");
  load_bad(f, STORE "[upstream a.b]\nurl = http://127.0.0.1:9101\n", 4, "a.b");
  load_bad(f, STORE "[upstream city platform]\nurl = http://127.0.0.1:9101\n", 4, NULL);
  load_bad(f, STORE "[upstream ]\nurl = http://127.0.0.1:9101\n", 4, "upstream name");
  /* 32 characters do not fit in a name. */
  load_bad(f, STORE "[upstream abcdefghijklmnopqrstuvwxyz012345]\nurl = http://h:1\n", 4, NULL);
  load_bad(f, STORE "[upstreams]\nurl = http://127.0.0.1:9101\n", 4, "upstreams");
}

static void test_upstream_too_many(void **state) {
  fixture_t *f = *state;
  char text[4096];
  size_t n = 0;

  /* The 9th address, on the 5th line of the list (2 a line). */
  n += (size_t)snprintf(text + n, sizeof text - n, STORE "[upstream city]\nurl = http://h:1");
  for (int j = 1; j <= CG_TIER_ADDRS_MAX; j++)
    n += (size_t)snprintf(text + n, sizeof text - n, j % 2 ? ", http://h:%d" : ",\n  http://h:%d",
                          j + 1);
  snprintf(text + n, sizeof text - n, "\n");
  load_bad(f, text, 4 + CG_TIER_ADDRS_MAX / 2, "addresses");

  /* The 5th tier, named at its first key. */
  n = 0;
  n += (size_t)snprintf(text + n, sizeof text - n, STORE);
  for (int i = 0; i <= CG_TIERS_MAX; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "[upstream t%d]\nurl = http://h:1\n", i);
  load_bad(f, text, 2 + 2 * CG_TIERS_MAX + 2, "tiers");
}

/* What only the whole section shows is refused after the file is read,
 * naming the tier. */
static void test_upstream_incomplete_tier(void **state) {
  fixture_t *f = *state;
  load_bad_tier(f, STORE "[upstream city]\naccess_id = certgw\n", "[upstream city] needs a url");
  load_bad_tier(f, STORE CITY "[upstream province]\nfeed = no\n",
                "[upstream province] needs a url");
  load_bad_tier(f, STORE "[upstream city]\nurl = http://a:1, https://b:2\n",
                "[upstream city] https needs ca_file");
  load_bad_tier(f, STORE CITY "connect_timeout = 2000\ntimeout = 1000\n",
                "connect_timeout exceeds timeout");
  load_bad_tier(f, STORE "[upstream]\ndeadline = 0\n", "deadline");
  load_bad_tier(f, STORE "[upstream]\nbreaker_failures = 0\n", "breaker_failures");
  /* ca_file may come after the url that needs it. */
  cg_config_free(load_ok(write_conf(f, STORE "[upstream city]\nurl = https://b:2\n"
                                             "ca_file = ca.pem\n")));
}

/* A tier covers a type when types is * or lists it, and an issuer when
 * areas is * or one is a prefix of its area: GB 32100 positions 3-8 of the
 * credit code, after the registering authority and organisation type. */
static void test_tier_covers(void **state) {
  fixture_t *f = *state;
  static const char *id_card = "11100000000019713D001", *licence = "11100000MB0143402J001",
                    *other = "11100000000013021X001";
  /* Issuers: 济南 (370102 and 370100), 山东省 (370000), 青岛 (370202), and
   * one whose first six characters read 3701 but whose area is 014400. */
  static const char *lixia = "113701020000001234", *jinan = "123701000000004321",
                    *province = "113700000000005678", *qingdao = "113702020000008765",
                    *decoy = "370144000000001111";
  cg_config_t *c = load_ok(write_conf(f, STORE "[upstream city]\n"
                                               "url = http://a:1\n"
                                               "types = 11100000000019713D001,\n"
                                               "    11100000MB0143402J001\n"
                                               "areas = 3701, 370000\n"
                                               "[upstream types]\n"
                                               "url = http://b:1\n"
                                               "types = 11100000000019713D001\n"
                                               "areas = *\n"
                                               "[upstream areas]\n"
                                               "url = http://c:1\n"
                                               "areas = 370202\n"
                                               "[upstream all]\n"
                                               "url = http://d:1\n"));
  const cg_tier_t *city = &c->tiers[0], *types = &c->tiers[1], *areas = &c->tiers[2],
                  *all = &c->tiers[3];

  assert_int_equal(c->ntiers, 4);
  assert_int_equal(city->ntypes, 2);
  assert_int_equal(city->nareas, 2);
  assert_true(cg_config_tier_covers(city, id_card, lixia));
  assert_true(cg_config_tier_covers(city, licence, jinan));
  assert_true(cg_config_tier_covers(city, id_card, province));
  assert_false(cg_config_tier_covers(city, id_card, qingdao));
  assert_false(cg_config_tier_covers(city, other, lixia));
  assert_false(cg_config_tier_covers(city, id_card, decoy));

  assert_true(types->all_areas);
  assert_true(cg_config_tier_covers(types, id_card, qingdao));
  assert_true(cg_config_tier_covers(types, id_card, decoy));
  assert_false(cg_config_tier_covers(types, licence, lixia));

  assert_true(cg_config_tier_covers(areas, other, qingdao));
  assert_true(cg_config_tier_covers(areas, licence, qingdao));
  assert_false(cg_config_tier_covers(areas, licence, lixia));
  assert_false(cg_config_tier_covers(areas, licence, province));

  /* Neither key given: everything. */
  assert_true(cg_config_tier_covers(all, id_card, lixia));
  assert_true(cg_config_tier_covers(all, other, qingdao));
  assert_true(cg_config_tier_covers(all, licence, decoy));
  cg_config_free(c);
}

/* The example's commented tiers, uncommented, load to what they say: the
 * manual's example is a working config. */
static void test_example_tiers(void **state) {
  fixture_t *f = *state;
  FILE *in = fopen(EXAMPLE, "r"), *out = fopen(f->path, "w");
  char line[512], want[700];
  int in_example = 0, uncommented = 0;
  cg_config_t *c;
  const cg_tier_t *t;

  assert_non_null(in);
  assert_non_null(out);
  while (fgets(line, sizeof line, in) != NULL) {
    if (strncmp(line, "# [upstream ", 12) == 0)
      in_example = 1;
    /* "# key = value" and "# [upstream NAME]" lines, not the prose. */
    if (in_example && strncmp(line, "# ", 2) == 0 &&
        (line[2] == '[' || strstr(line, " = ") != NULL)) {
      fputs(line + 2, out);
      uncommented++;
    } else {
      fputs(line, out);
    }
  }
  fclose(in);
  assert_int_equal(fclose(out), 0);
  assert_true(uncommented >= 10);

  c = load_ok(f->path);
  assert_int_equal(c->ntiers, 2);
  t = &c->tiers[0];
  assert_string_equal(t->name, "city");
  assert_int_equal(t->naddrs, 2);
  assert_addr(&t->addrs[0], 0, "127.0.0.1", 9101);
  assert_addr(&t->addrs[1], 0, "127.0.0.1", 9102);
  assert_string_equal(t->access_id, "certgw");
  assert_string_equal(t->token, "s3cret");
  assert_int_equal(t->connect_timeout_ms, 500);
  assert_int_equal(t->timeout_ms, 1500);
  assert_true(t->all_types);
  assert_int_equal(t->nareas, 1);
  assert_string_equal(t->areas[0], "3701");
  assert_int_equal(t->feed, 1);
  t = &c->tiers[1];
  assert_string_equal(t->name, "province");
  assert_addr(&t->addrs[0], 1, "10.0.0.7", 443);
  snprintf(want, sizeof want, "%s/tls/province-ca.pem", f->dir);
  assert_string_equal(t->ca_file, want);
  assert_string_equal(t->server_name, "platform.sd.example");
  cg_config_free(c);
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
      T(test_upstream_values),
      T(test_upstream_tiers),
      T(test_upstream_limits_accepted),
      T(test_upstream_bad_url),
      T(test_upstream_bad_keys),
      T(test_upstream_bad_name),
      T(test_upstream_too_many),
      T(test_upstream_incomplete_tier),
      T(test_tier_covers),
      T(test_example_tiers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
