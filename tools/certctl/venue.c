/* venue.c — certctl venue: add, list, disable, enable and rotate venues.
 *
 * A venue's key is shown once, when it is made (add, rotate); the store
 * keeps only its SHA-256 (core/venue.h), so a lost key is replaced, never
 * recovered. Changes go straight to the store: a running certgw sees them
 * when SIGHUP makes it rebuild its venue registry.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certctl.h"
#include "core/cert.h"
#include "core/ident.h"
#include "core/venue.h"

#define RATE_MAX 1000000u /* requests per second; more is surely a typo */

#define SYNOPSIS                                                                            \
  "usage: certctl venue add     (-c CONF | -d DATADIR) --id ID --name NAME --scope SCOPE\n"    \
  "                             [--credit-code CODE] [--rate N] [--json]\n"                    \
  "       certctl venue list    (-c CONF | -d DATADIR) [--json]\n"                             \
  "       certctl venue disable (-c CONF | -d DATADIR) --id ID\n"                              \
  "       certctl venue enable  (-c CONF | -d DATADIR) --id ID\n"                              \
  "       certctl venue rotate  (-c CONF | -d DATADIR) --id ID [--json]\n"

/* The synopsis after a usage error; all of it for --help. */
static const char usage_short[] = SYNOPSIS "`certctl venue --help` explains more.\n";
static const char usage_all[] =
    SYNOPSIS
    "\n"
    "Venues (社会用证单位) are the clients of certgw; each presents its key as\n"
    "`Authorization: Bearer KEY` and sees what its scope allows.\n"
    "\n"
    "  add      makes a venue and its key. ID is 1-64 of a-z, 0-9 and '-';\n"
    "           with -c, SCOPE must be a [scope NAME] of CONF (with -d it is not\n"
    "           checked, and certgw refuses a venue whose scope it lacks);\n"
    "           CODE is the venue's unified social credit code (18 characters);\n"
    "           N is its own limit in requests per second (default: the scope's).\n"
    "  list     shows every venue, never a key.\n"
    "  disable  refuses the venue's key (401) without forgetting the venue;\n"
    "  enable   accepts it again.\n"
    "  rotate   gives the venue a new key; the old one stops working.\n"
    "\n"
    "add and rotate print the key once, on the first line of standard output\n"
    "(or as {\"id\",\"key\",\"scope\"} with --json). It is not stored and cannot be\n"
    "shown again. A running certgw picks up every change on SIGHUP\n"
    "(kill -HUP <pid of certgw>); until then it goes on with the venues it had.\n"
    "\n"
    "Exit status: 0 done, 1 refused or failed (the reason on standard error),\n"
    "2 bad usage.\n";

static const char hup_note[] =
    "A running certgw picks this up on SIGHUP (kill -HUP <pid of certgw>).";

enum { OPT_ID = 1000, OPT_NAME, OPT_SCOPE, OPT_CREDIT, OPT_RATE, OPT_JSON, OPT_HELP };

/* Which options each command takes. */
enum { A_ID = 1, A_NAME = 2, A_SCOPE = 4, A_CREDIT = 8, A_RATE = 16, A_JSON = 32 };

struct args {
  ctl_target_t t;
  const char *id, *name, *scope, *credit;
  unsigned rate;
  int json;
  int given; /* A_… of the options given */
};

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
  va_list ap;
  fputs("certctl venue: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n", stderr);
  fputs(usage_short, stderr);
  return 2;
}

/* Parses argv (argv[0] is the command: "add", …) into a. Returns 0, or the
 * exit status after printing usage (0 for --help, 2 for bad usage). */
static int parse(int argc, char **argv, int allowed, int required, struct args *a, int *status) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},       {"data", required_argument, NULL, 'd'},
      {"id", required_argument, NULL, OPT_ID},        {"name", required_argument, NULL, OPT_NAME},
      {"scope", required_argument, NULL, OPT_SCOPE},  {"credit-code", required_argument, NULL, OPT_CREDIT},
      {"rate", required_argument, NULL, OPT_RATE},    {"json", no_argument, NULL, OPT_JSON},
      {"help", no_argument, NULL, OPT_HELP},          {NULL, 0, NULL, 0},
  };
  static const struct {
    int bit;
    const char *name;
  } names[] = {{A_ID, "--id"},          {A_NAME, "--name"}, {A_SCOPE, "--scope"},
               {A_CREDIT, "--credit-code"}, {A_RATE, "--rate"}, {A_JSON, "--json"}};
  int c;

  memset(a, 0, sizeof *a);
  *status = 0;
  optind = 1;
  opterr = 1;
  while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'c': a->t.config = optarg; break;
    case 'd': a->t.data = optarg; break;
    case OPT_ID: a->id = optarg; a->given |= A_ID; break;
    case OPT_NAME: a->name = optarg; a->given |= A_NAME; break;
    case OPT_SCOPE: a->scope = optarg; a->given |= A_SCOPE; break;
    case OPT_CREDIT: a->credit = optarg; a->given |= A_CREDIT; break;
    case OPT_RATE: {
      unsigned long n = strtoul(optarg, &end, 10);
      if (optarg[0] < '0' || optarg[0] > '9' || *end || n > RATE_MAX) {
        *status = bad_usage("--rate takes a number of requests per second (0 to 1000000, "
                            "0: the scope's default), not \"%s\"", optarg);
        return -1;
      }
      a->rate = (unsigned)n;
      a->given |= A_RATE;
      break;
    }
    case OPT_JSON: a->json = 1; a->given |= A_JSON; break;
    case 'h':
    case OPT_HELP: fputs(usage_all, stdout); return -1;
    default: fputs(usage_short, stderr); *status = 2; return -1;
    }
  }
  if (optind != argc) {
    *status = bad_usage("unexpected argument \"%s\"", argv[optind]);
    return -1;
  }
  if ((a->t.config == NULL) == (a->t.data == NULL)) {
    *status = bad_usage("%s", "give either -c CONF or -d DATADIR");
    return -1;
  }
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    if ((a->given & names[i].bit) && !(allowed & names[i].bit)) {
      char what[64];
      snprintf(what, sizeof what, "%s %s", argv[0], names[i].name);
      *status = bad_usage("\"%s\" is not an option of this command", what);
      return -1;
    }
    if ((required & names[i].bit) && !(a->given & names[i].bit)) {
      *status = bad_usage("%s is required", names[i].name);
      return -1;
    }
  }
  return 0;
}

/* ---- the store ------------------------------------------------------------- */

/* Opens the store a names. Venues belong to an existing store: a missing one
 * (a mistyped -d) is an error rather than a new, empty store. */
static cg_store_t *open_store(const struct args *a, int readonly, cg_config_t **cfg) {
  char path[4200];
  const char *dir = a->t.data;
  cg_config_t *c = NULL;
  cg_why_t why = {""};

  if (a->t.config != NULL) {
    if (cg_config_load(&c, a->t.config, &why) != 0) {
      fprintf(stderr, "certctl: %s\n", why.text);
      return NULL;
    }
    dir = c->store_path;
  }
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (access(path, F_OK) != 0) {
    fprintf(stderr, "certctl: %s holds no store (no data.mdb); venues go into an existing store\n",
            dir);
    cg_config_free(c);
    return NULL;
  }
  cg_config_free(c);
  return ctl_open_store(&a->t, readonly, cfg);
}

/* The venue with this id, read inside the write transaction. Returns 0,
 * CG_ENOTFOUND or another code, after saying what is wrong. */
static int get_venue(cg_store_writer_t *w, const char *id, cg_venue_t *v) {
  cg_slice_t val;
  int err = cg_store_write_get(w, CG_DB_VENUE, id, strlen(id), &val);

  if (err == CG_ENOTFOUND) {
    fprintf(stderr, "certctl: there is no venue \"%s\" (`certctl venue list` shows them)\n", id);
    return err;
  }
  if (err == 0 && (err = cg_venue_decode(val.base, val.len, v)) != 0)
    fprintf(stderr, "certctl: venue %s: its record is corrupt\n", id);
  else if (err != 0)
    fprintf(stderr, "certctl: venue %s: %s\n", id, cg_strerror(err));
  return err;
}

/* Stores v under its id and commits; w is gone afterwards. */
static int put_and_commit(cg_store_writer_t *w, const cg_venue_t *v) {
  cg_buf_t buf;
  int err;

  cg_buf_init(&buf, 4096);
  if ((err = cg_venue_encode(v, &buf)) != 0 ||
      (err = cg_store_put(w, CG_DB_VENUE, v->id, strlen(v->id), buf.base, buf.len)) != 0) {
    cg_store_write_abort(w);
  } else {
    err = cg_store_write_commit(w);
  }
  cg_buf_free(&buf);
  if (err != 0)
    fprintf(stderr, "certctl: venue %s: cannot store it: %s (nothing was changed)\n", v->id,
            cg_strerror(err));
  return err;
}

/* Prints a new key: alone on the first line (or as JSON), then what the
 * operator must know. Returns the exit status. */
static int show_key(const struct args *a, const cg_venue_t *v, char key[CG_VENUE_KEY_LEN + 1],
                    const char *what) {
  int bad;

  if (a->json) {
    cJSON *o = cJSON_CreateObject();
    char *text;
    cJSON_AddStringToObject(o, "id", v->id);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "scope", v->scope);
    text = cJSON_PrintUnformatted(o);
    printf("%s\n", text ? text : "");
    if (text != NULL) {
      explicit_bzero(text, strlen(text));
      cJSON_free(text);
    }
    cJSON_Delete(o);
    fprintf(stderr, "certctl: %s; its key is not stored and cannot be shown again. %s\n", what,
            hup_note);
  } else {
    printf("%s\n"
           "%s.\n"
           "The key above is not stored (only its SHA-256 is) and cannot be shown again:\n"
           "give it to the venue now. %s\n",
           key, what, hup_note);
  }
  explicit_bzero(key, CG_VENUE_KEY_LEN + 1);
  bad = fflush(stdout) != 0 || ferror(stdout);
  if (bad) {
    fprintf(stderr, "certctl: the key of venue %s could not be written out; make a new one with "
                    "`certctl venue rotate --id %s`\n", v->id, v->id);
    return 1;
  }
  return 0;
}

/* ---- add ---------------------------------------------------------------------- */

static int venue_add(int argc, char **argv) {
  struct args a;
  cg_venue_t v = {0};
  char key[CG_VENUE_KEY_LEN + 1], what[160];
  cg_config_t *cfg = NULL;
  cg_store_writer_t *w;
  cg_store_t *s;
  cg_slice_t old;
  cg_why_t why = {""};
  int status, err;

  if (parse(argc, argv, A_ID | A_NAME | A_SCOPE | A_CREDIT | A_RATE | A_JSON,
            A_ID | A_NAME | A_SCOPE, &a, &status) != 0)
    return status;
  /* Everything that can be checked without the store, first. */
  if (!cg_venue_id_valid(a.id)) {
    fprintf(stderr, "certctl: \"%s\" is not a venue id: 1 to %d characters of a-z, 0-9 and '-'\n",
            a.id, CG_VENUE_ID_MAX);
    return 1;
  }
  if (a.name[0] == '\0' || strlen(a.name) >= sizeof v.name ||
      !cg_utf8_valid(a.name, strlen(a.name))) {
    fprintf(stderr, "certctl: the name must be 1 to %zu bytes of UTF-8\n", sizeof v.name - 1);
    return 1;
  }
  for (const char *p = a.name; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      fprintf(stderr, "certctl: the name must not hold control characters\n");
      return 1;
    }
  if (a.scope[0] == '\0' || strlen(a.scope) >= sizeof v.scope) {
    fprintf(stderr, "certctl: \"%s\" is not a scope name (1 to %zu bytes)\n", a.scope,
            sizeof v.scope - 1);
    return 1;
  }
  if (a.credit != NULL && cg_ident_uscc_validate(a.credit, strlen(a.credit), &why) != 0) {
    fprintf(stderr, "certctl: \"%s\" is not a unified social credit code: %s\n", a.credit,
            why.text);
    return 1;
  }

  if ((s = open_store(&a, 0, &cfg)) == NULL)
    return 1;
  if (cfg != NULL && cg_config_scope(cfg, a.scope) == NULL) {
    fprintf(stderr, "certctl: %s defines no [scope %s]", cfg->path, a.scope);
    for (int i = 0; i < cfg->nscopes; i++)
      fprintf(stderr, "%s%s", i ? ", " : "; its scopes are ", cfg->scopes[i].name);
    fputs("\n", stderr);
    cg_config_free(cfg);
    cg_store_close(s);
    return 1;
  }
  cg_config_free(cfg);

  snprintf(v.id, sizeof v.id, "%s", a.id);
  snprintf(v.name, sizeof v.name, "%s", a.name);
  snprintf(v.scope, sizeof v.scope, "%s", a.scope);
  snprintf(v.credit_code, sizeof v.credit_code, "%s", a.credit ? a.credit : "");
  v.rate = a.rate;
  v.created = (uint64_t)time(NULL);

  if ((err = cg_store_write_begin(s, 0, &w)) != 0) {
    fprintf(stderr, "certctl: cannot write to the store: %s\n", cg_strerror(err));
    cg_store_close(s);
    return 1;
  }
  /* The check and the put share one write transaction, so two certctl runs
   * cannot both add the same id. */
  err = cg_store_write_get(w, CG_DB_VENUE, v.id, strlen(v.id), &old);
  if (err != CG_ENOTFOUND) {
    if (err == 0)
      err = CG_EEXIST;
    if (err == CG_EEXIST)
      fprintf(stderr, "certctl: venue \"%s\" exists already (%s); nothing was changed. "
                      "`certctl venue rotate --id %s` gives it a new key\n", v.id,
              cg_err_name(err), v.id);
    else
      fprintf(stderr, "certctl: cannot read the store: %s\n", cg_strerror(err));
    cg_store_write_abort(w);
    cg_store_close(s);
    return 1;
  }
  if ((err = cg_venue_key_new(&v, key)) != 0) {
    fprintf(stderr, "certctl: cannot make a key: %s\n", cg_strerror(err));
    cg_store_write_abort(w);
    cg_store_close(s);
    return 1;
  }
  err = put_and_commit(w, &v);
  cg_store_close(s);
  if (err != 0) {
    explicit_bzero(key, sizeof key);
    return 1;
  }
  snprintf(what, sizeof what, "Venue %s added with scope %s", v.id, v.scope);
  return show_key(&a, &v, key, what);
}

/* ---- list --------------------------------------------------------------------- */

struct list_ctx {
  cg_venue_t *v;
  size_t n, cap;
  int corrupt;
};

static int list_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct list_ctx *x = arg;
  if (x->n == x->cap) {
    size_t cap = x->cap ? 2 * x->cap : 64;
    cg_venue_t *nv = realloc(x->v, cap * sizeof *nv);
    if (nv == NULL)
      return CG_ENOMEM;
    x->v = nv;
    x->cap = cap;
  }
  if (cg_venue_decode(val.base, val.len, &x->v[x->n]) != 0) {
    fprintf(stderr, "certctl: venue %.*s: its record is corrupt\n", (int)key.len, key.base);
    x->corrupt++;
    return 0;
  }
  /* The hash stays in the store: nothing below has any use for it. */
  memset(x->v[x->n].key_hash, 0, sizeof x->v[x->n].key_hash);
  x->n++;
  return 0;
}

static void utc(uint64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (t == 0 || gmtime_r(&tt, &tm) == NULL)
    snprintf(out, 32, "-");
  else
    strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static int venue_list(int argc, char **argv) {
  struct args a;
  struct list_ctx x = {0};
  cg_config_t *cfg = NULL;
  cg_store_reader_t *r = NULL;
  cg_store_t *s;
  int status, err;

  if (parse(argc, argv, A_JSON, 0, &a, &status) != 0)
    return status;
  if ((s = open_store(&a, 1, &cfg)) == NULL)
    return 1;
  if ((err = cg_store_reader_open(s, &r)) == 0 && (err = cg_store_reader_begin(r)) == 0) {
    err = cg_store_each(r, CG_DB_VENUE, list_one, &x);
    cg_store_reader_end(r);
  }
  cg_store_reader_close(r);
  cg_store_close(s);
  if (err != 0) {
    fprintf(stderr, "certctl: cannot read the venues: %s\n", cg_strerror(err));
    cg_config_free(cfg);
    free(x.v);
    return 1;
  }

  if (a.json) {
    cJSON *arr = cJSON_CreateArray();
    char *text;
    for (size_t i = 0; i < x.n; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "id", x.v[i].id);
      cJSON_AddStringToObject(o, "name", x.v[i].name);
      cJSON_AddStringToObject(o, "creditCode", x.v[i].credit_code);
      cJSON_AddStringToObject(o, "scope", x.v[i].scope);
      cJSON_AddNumberToObject(o, "rate", x.v[i].rate);
      cJSON_AddBoolToObject(o, "disabled", x.v[i].disabled);
      cJSON_AddNumberToObject(o, "created", (double)x.v[i].created);
      cJSON_AddItemToArray(arr, o);
    }
    text = cJSON_Print(arr);
    puts(text ? text : "[]");
    cJSON_free(text);
    cJSON_Delete(arr);
  } else if (x.n == 0) {
    printf("no venues (`certctl venue add` makes one)\n");
  } else {
    int wid = 2, wscope = 5;
    for (size_t i = 0; i < x.n; i++) {
      int l = (int)strlen(x.v[i].id), ls = (int)strlen(x.v[i].scope);
      wid = l > wid ? l : wid;
      wscope = ls > wscope ? ls : wscope;
    }
    /* The name last: its CJK characters would throw any column after it. */
    printf("%-*s  %-*s  %-8s  %-7s  %-20s  %-18s  %s\n", wid, "ID", wscope, "SCOPE", "STATE",
           "RATE", "CREATED (UTC)", "CREDIT CODE", "NAME");
    for (size_t i = 0; i < x.n; i++) {
      const cg_venue_t *v = &x.v[i];
      char created[32], rate[16];
      utc(v->created, created);
      if (v->rate)
        snprintf(rate, sizeof rate, "%u/s", v->rate);
      else
        snprintf(rate, sizeof rate, "scope");
      printf("%-*s  %-*s  %-8s  %-7s  %-20s  %-18s  %s\n", wid, v->id, wscope, v->scope,
             v->disabled ? "disabled" : "enabled", rate, created,
             v->credit_code[0] ? v->credit_code : "-", v->name);
    }
  }
  /* certgw refuses a configuration that leaves a venue without its scope. */
  for (size_t i = 0; cfg != NULL && i < x.n; i++)
    if (cg_config_scope(cfg, x.v[i].scope) == NULL) {
      fprintf(stderr, "certctl: warning: venue %s names scope \"%s\", which %s does not define; "
                      "certgw will refuse to start or reload\n", x.v[i].id, x.v[i].scope,
              cfg->path);
    }
  cg_config_free(cfg);
  free(x.v);
  return x.corrupt ? 1 : 0;
}

/* ---- disable, enable, rotate -------------------------------------------------------- */

/* Opens the store and the write transaction, and reads the venue --id names.
 * Returns 0, or the exit status after saying what is wrong. */
static int begin_change(const struct args *a, cg_store_t **s, cg_store_writer_t **w,
                        cg_venue_t *v) {
  int err;

  if (!cg_venue_id_valid(a->id)) {
    fprintf(stderr, "certctl: \"%s\" is not a venue id: 1 to %d characters of a-z, 0-9 and '-'\n",
            a->id, CG_VENUE_ID_MAX);
    return 1;
  }
  if ((*s = open_store(a, 0, NULL)) == NULL)
    return 1;
  if ((err = cg_store_write_begin(*s, 0, w)) != 0) {
    fprintf(stderr, "certctl: cannot write to the store: %s\n", cg_strerror(err));
    cg_store_close(*s);
    return 1;
  }
  if (get_venue(*w, a->id, v) != 0) {
    cg_store_write_abort(*w);
    cg_store_close(*s);
    return 1;
  }
  return 0;
}

static int set_disabled(int argc, char **argv, int disabled) {
  struct args a;
  cg_store_writer_t *w;
  cg_store_t *s;
  cg_venue_t v;
  int status, err;

  if (parse(argc, argv, A_ID, A_ID, &a, &status) != 0)
    return status;
  if ((status = begin_change(&a, &s, &w, &v)) != 0)
    return status;
  if (v.disabled == disabled) {
    cg_store_write_abort(w);
    cg_store_close(s);
    printf("venue %s is already %s; nothing changed\n", v.id, disabled ? "disabled" : "enabled");
    return 0;
  }
  v.disabled = disabled;
  err = put_and_commit(w, &v);
  cg_store_close(s);
  if (err != 0)
    return 1;
  if (disabled)
    printf("venue %s disabled: its key will be refused (401). %s\n", v.id, hup_note);
  else
    printf("venue %s enabled: its key will be accepted again. %s\n", v.id, hup_note);
  return 0;
}

static int venue_disable(int argc, char **argv) { return set_disabled(argc, argv, 1); }
static int venue_enable(int argc, char **argv) { return set_disabled(argc, argv, 0); }

static int venue_rotate(int argc, char **argv) {
  struct args a;
  cg_store_writer_t *w;
  cg_store_t *s;
  cg_venue_t v;
  char key[CG_VENUE_KEY_LEN + 1], what[200];
  int status, err;

  if (parse(argc, argv, A_ID | A_JSON, A_ID, &a, &status) != 0)
    return status;
  if ((status = begin_change(&a, &s, &w, &v)) != 0)
    return status;
  if ((err = cg_venue_key_new(&v, key)) != 0) {
    fprintf(stderr, "certctl: cannot make a key: %s\n", cg_strerror(err));
    cg_store_write_abort(w);
    cg_store_close(s);
    return 1;
  }
  err = put_and_commit(w, &v);
  cg_store_close(s);
  if (err != 0) {
    explicit_bzero(key, sizeof key);
    return 1;
  }
  snprintf(what, sizeof what, "Venue %s has a new key; the old one stops working when certgw "
                              "reloads%s", v.id, v.disabled ? " (the venue is still disabled)" : "");
  return show_key(&a, &v, key, what);
}

/* ---- dispatch ----------------------------------------------------------------------- */

int ctl_venue(int argc, char **argv) {
  static const struct {
    const char *name;
    int (*run)(int, char **);
  } cmds[] = {
      {"add", venue_add},         {"list", venue_list},     {"disable", venue_disable},
      {"enable", venue_enable},   {"rotate", venue_rotate},
  };

  if (argc < 2) {
    fputs(usage_short, stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(usage_all, stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
    if (!strcmp(argv[1], cmds[i].name))
      return cmds[i].run(argc - 1, argv + 1);
  fprintf(stderr, "certctl venue: unknown command \"%s\"\n", argv[1]);
  fputs(usage_short, stderr);
  return 2;
}
