/* data.c — certctl import, export and stat. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#include "certctl.h"
#include "core/cert.h"
#include "core/ident.h"
#include "core/import.h"
#include "core/record.h"
#include "core/trust.h"

enum { OPT_THREADS = 1000, OPT_JSON, OPT_HELP, OPT_TRUST, OPT_NO_VERIFY, OPT_REFUSE };

static const struct option common_opts[] = {
    {"config", required_argument, NULL, 'c'}, {"data", required_argument, NULL, 'd'},
    {"output", required_argument, NULL, 'o'}, {"threads", required_argument, NULL, OPT_THREADS},
    {"json", no_argument, NULL, OPT_JSON},    {"help", no_argument, NULL, OPT_HELP},
    {"trust", required_argument, NULL, OPT_TRUST}, {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
    {"refuse-bad-seals", no_argument, NULL, OPT_REFUSE},
    {NULL, 0, NULL, 0},
};

struct args {
  ctl_target_t t;
  const char *output;
  int threads;
  int json;
  const char *trust;
  int no_verify, refuse;
};

/* Parses the options every data command shares; returns optind, or -1 after
 * printing usage (help: exit status 0 via *help). */
static int parse(int argc, char **argv, struct args *a, const char *usage, int *help) {
  int c;
  *help = 0;
  memset(a, 0, sizeof *a);
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:d:o:", common_opts, NULL)) != -1) {
    switch (c) {
    case 'c': a->t.config = optarg; break;
    case 'd': a->t.data = optarg; break;
    case 'o': a->output = optarg; break;
    case OPT_THREADS: a->threads = atoi(optarg) > 0 ? atoi(optarg) : 0; break;
    case OPT_JSON: a->json = 1; break;
    case OPT_TRUST: a->trust = optarg; break;
    case OPT_NO_VERIFY: a->no_verify = 1; break;
    case OPT_REFUSE: a->refuse = 1; break;
    case OPT_HELP: fputs(usage, stdout); *help = 1; return -1;
    default: fputs(usage, stderr); return -1;
    }
  }
  return optind;
}

/* ---- import ------------------------------------------------------------- */

static void import_progress(void *arg, uint64_t done, uint64_t total, uint64_t records) {
  ctl_progress_update(arg, done, total, records);
}

int ctl_import(int argc, char **argv) {
  static const char usage[] =
      "usage: certctl import (-c CONF | -d DATADIR [--trust DIR]) [--threads N]\n"
      "                      [--no-verify | --refuse-bad-seals] FILE|-\n"
      "\n"
      "Loads certificates, one JSON object a line in the national field names\n"
      "with their seals (what `certctl export` writes). Lines are checked in\n"
      "full; the first bad one is reported with its line number and nothing is\n"
      "stored. A certificate already in the store is replaced.\n"
      "\n"
      "Seals are verified on every core against the trust store (the config's\n"
      "[seal] trust_dir, or --trust DIR) and each record keeps the verdict.\n"
      "A bad seal is counted and stored as invalid (never served as genuine);\n"
      "--refuse-bad-seals fails the import instead. --no-verify stores seals\n"
      "unchecked, for `certctl verify` or certgw to check later.\n";
  struct args a;
  cg_import_opts_t o = {0};
  cg_import_result_t res;
  ctl_progress_t prog;
  cg_config_t *cfg = NULL;
  cg_trust_t *trust = NULL;
  cg_store_t *s;
  int help, i, err;
  double t0;

  if ((i = parse(argc, argv, &a, usage, &help)) < 0)
    return help ? 0 : 2;
  if (i != argc - 1 || (a.no_verify && a.refuse)) {
    fputs(usage, stderr);
    return 2;
  }
  if ((s = ctl_open_store(&a.t, 0, &cfg)) == NULL)
    return 1;
  if (!a.no_verify) {
    const char *dir = a.trust ? a.trust : cfg ? cfg->trust_dir : NULL;
    cg_why_t why = {""};
    if (dir == NULL || dir[0] == '\0') {
      fprintf(stderr, "certctl: no trust store to verify seals with: give -c CONF, --trust DIR "
                      "or --no-verify\n");
      cg_store_close(s);
      cg_config_free(cfg);
      return 2;
    }
    if (cg_trust_load(&trust, dir, s, &why) != 0) {
      fprintf(stderr, "certctl: %s\n", why.text);
      cg_store_close(s);
      cg_config_free(cfg);
      return 1;
    }
  }
  ctl_progress_init(&prog, "import");
  o.threads = a.threads;
  o.progress = import_progress;
  o.progress_arg = &prog;
  o.trust = trust;
  o.refuse_bad_seals = a.refuse;
  t0 = ctl_now();
  err = cg_import_file(s, argv[i], &o, &res);
  ctl_progress_done(&prog);
  cg_store_close(s);
  cg_trust_free(trust);
  cg_config_free(cfg);
  if (err != 0) {
    if (res.bad_line)
      fprintf(stderr, "certctl: %s:%llu: %s\n", argv[i], (unsigned long long)res.bad_line,
              res.why.text);
    else
      fprintf(stderr, "certctl: %s: %s\n", argv[i], res.why.text[0] ? res.why.text : cg_strerror(err));
    fprintf(stderr, "certctl: nothing was imported; the store is as it was\n");
    return 1;
  }
  double el = ctl_now() - t0;
  printf("imported %llu certificates (%llu replaced) from %llu lines in %.2f s (%.0f/s; "
         "load %.2f s, commit and sync %.2f s)\n",
         (unsigned long long)res.records, (unsigned long long)res.replaced,
         (unsigned long long)res.lines, el, el > 0 ? (double)res.records / el : 0.0,
         res.load_seconds, res.commit_seconds);
  if (trust == NULL) {
    printf("seals: not verified (--no-verify); they are stored unchecked\n");
  } else {
    uint64_t bad = 0;
    for (int k = 1; k < CG_SEAL__REASONS; k++)
      bad += res.seals[k];
    printf("seals: %llu verified, %llu invalid", (unsigned long long)res.seals[CG_SEAL_OK],
           (unsigned long long)bad);
    for (int k = 1; k < CG_SEAL__REASONS; k++)
      if (res.seals[k])
        printf(", %s %llu", cg_seal_reason_name(k), (unsigned long long)res.seals[k]);
    printf("\n");
  }
  return 0;
}

/* ---- export ------------------------------------------------------------- */

struct export_ctx {
  FILE *out;
  cg_buf_t line;
  uint64_t n;
  int err;
};

static int export_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct export_ctx *x = arg;
  cg_record_t r;
  cg_seal_t seal;
  int err;

  if ((err = cg_record_decode(val.base, val.len, &r)) != 0 || r.body_len < 2 ||
      r.body[r.body_len - 1] != '}') {
    fprintf(stderr, "certctl: %.*s: corrupt record\n", (int)key.len, key.base);
    return CG_ERECORD;
  }
  /* The body is canonical JSON; the seal goes in as one more member. */
  cg_buf_reset(&x->line);
  cg_record_seal(&r, &seal);
  if ((err = cg_buf_append(&x->line, r.body, r.body_len - 1)) != 0 ||
      (err = cg_buf_append(&x->line, ",\"seal\":", 8)) != 0 ||
      (err = cg_cert_seal_json(&seal, &x->line)) != 0)
    return err;
  /* Revoked by its issuer since it was sealed: said in the seal object,
   * which a seal does not sign (docs/record.md). */
  if (r.flags & CG_RECORD_REVOKED_LATER) {
    x->line.len--; /* the seal object's closing brace */
    if ((err = cg_buf_append(&x->line, ",\"revoked\":true}", 16)) != 0)
      return err;
  }
  if ((err = cg_buf_append(&x->line, "}\n", 2)) != 0)
    return err;
  if (fwrite(x->line.base, 1, x->line.len, x->out) != x->line.len)
    return CG_EIO;
  x->n++;
  return 0;
}

int ctl_export(int argc, char **argv) {
  static const char usage[] =
      "usage: certctl export (-c CONF | -d DATADIR) [-o FILE]\n"
      "\n"
      "Writes every certificate with its seal as JSON Lines, in identifier order,\n"
      "to FILE or standard output: the format `certctl import` reads.\n";
  struct args a;
  struct export_ctx x = {0};
  cg_store_reader_t *r = NULL;
  cg_store_t *s;
  int help, i, err;

  if ((i = parse(argc, argv, &a, usage, &help)) < 0)
    return help ? 0 : 2;
  if (i != argc) {
    fputs(usage, stderr);
    return 2;
  }
  if ((s = ctl_open_store(&a.t, 1, NULL)) == NULL)
    return 1;
  x.out = a.output ? fopen(a.output, "w") : stdout;
  if (x.out == NULL) {
    perror(a.output);
    cg_store_close(s);
    return 1;
  }
  cg_buf_init(&x.line, CG_CERT_LINE_MAX);
  if ((err = cg_store_reader_open(s, &r)) == 0 && (err = cg_store_reader_begin(r)) == 0) {
    err = cg_store_each(r, CG_DB_CERT, export_one, &x);
    cg_store_reader_end(r);
  }
  if (r)
    cg_store_reader_close(r);
  cg_buf_free(&x.line);
  if (fflush(x.out) != 0)
    err = err ? err : CG_EIO;
  if (a.output)
    fclose(x.out);
  cg_store_close(s);
  if (err) {
    fprintf(stderr, "certctl: export failed: %s\n", cg_strerror(err));
    return 1;
  }
  fprintf(stderr, "exported %llu certificates\n", (unsigned long long)x.n);
  return 0;
}

/* ---- stat --------------------------------------------------------------- */

struct type_count {
  char code[22];
  char name[64];
  uint64_t n;
  UT_hash_handle hh;
};

struct stat_ctx {
  uint64_t total, by_status[4], by_seal[3], by_holder[3], by_alg[3], expired, body_bytes;
  uint32_t today;
  struct type_count *types;
  int err;
};

static void type_name(const cg_record_t *r, char *out, size_t cap) {
  cJSON *o = cJSON_ParseWithLength(r->body, r->body_len);
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "certificateName");
  snprintf(out, cap, "%s", cJSON_IsString(n) ? n->valuestring : "?");
  cJSON_Delete(o);
}

static int stat_one(void *arg, cg_slice_t key, cg_slice_t val) {
  struct stat_ctx *x = arg;
  struct type_count *t;
  cg_record_t r;
  cg_ident_t id;

  if (cg_record_decode(val.base, val.len, &r) != 0) {
    x->err++;
    return 0;
  }
  x->total++;
  x->by_status[r.status]++;
  x->by_seal[r.seal_state]++;
  x->by_holder[r.holder_type]++;
  x->by_alg[r.seal_alg]++;
  x->body_bytes += r.body_len;
  if (r.expiring && r.expiring < x->today)
    x->expired++;
  if (cg_ident_parse(key.base, key.len, &id, NULL) == 0) {
    HASH_FIND(hh, x->types, id.type_code, 21, t);
    if (t == NULL) {
      if ((t = calloc(1, sizeof *t)) == NULL)
        return CG_ENOMEM;
      memcpy(t->code, id.type_code, 21);
      type_name(&r, t->name, sizeof t->name);
      HASH_ADD(hh, x->types, code, 21, t);
    }
    t->n++;
  }
  return 0;
}

static int by_count(struct type_count *a, struct type_count *b) {
  return a->n < b->n ? 1 : a->n > b->n ? -1 : strcmp(a->code, b->code);
}

int ctl_stat(int argc, char **argv) {
  static const char usage[] =
      "usage: certctl stat (-c CONF | -d DATADIR) [--json]\n"
      "\n"
      "Summarises a store: entries per database, map use, readers, and the\n"
      "certificates by status, seal state, holder type and certificate type.\n";
  struct args a;
  struct stat_ctx x = {0};
  struct type_count *t, *tmp;
  cg_store_stat_t st;
  cg_store_reader_t *r = NULL;
  cg_store_t *s;
  int help, i, err;
  time_t now = time(NULL);

  if ((i = parse(argc, argv, &a, usage, &help)) < 0)
    return help ? 0 : 2;
  if (i != argc) {
    fputs(usage, stderr);
    return 2;
  }
  if ((s = ctl_open_store(&a.t, 1, NULL)) == NULL)
    return 1;
  x.today = cg_record_today(now);
  if ((err = cg_store_stat(s, &st)) == 0 && (err = cg_store_reader_open(s, &r)) == 0 &&
      (err = cg_store_reader_begin(r)) == 0) {
    err = cg_store_each(r, CG_DB_CERT, stat_one, &x);
    cg_store_reader_end(r);
  }
  cg_store_reader_close(r);
  cg_store_close(s);
  if (err) {
    fprintf(stderr, "certctl: stat failed: %s\n", cg_strerror(err));
    return 1;
  }
  HASH_SORT(x.types, by_count);

  if (a.json) {
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "entries");
    for (int d = 0; d < CG_DB__COUNT; d++)
      cJSON_AddNumberToObject(e, cg_store_db_name(d), (double)st.entries[d]);
    cJSON_AddNumberToObject(o, "schema", st.schema);
    cJSON_AddNumberToObject(o, "trust_generation", st.trust_gen);
    cJSON_AddNumberToObject(o, "map_size", (double)st.map_size);
    cJSON_AddNumberToObject(o, "map_used", (double)st.map_used);
    cJSON_AddNumberToObject(o, "readers_used", st.readers_used);
    cJSON_AddNumberToObject(o, "readers_max", st.readers_max);
    cJSON *c = cJSON_AddObjectToObject(o, "certificates");
    cJSON_AddNumberToObject(c, "total", (double)x.total);
    cJSON_AddNumberToObject(c, "valid", (double)x.by_status[CG_CERT_VALID]);
    cJSON_AddNumberToObject(c, "suspended", (double)x.by_status[CG_CERT_SUSPENDED]);
    cJSON_AddNumberToObject(c, "revoked", (double)x.by_status[CG_CERT_REVOKED]);
    cJSON_AddNumberToObject(c, "expired", (double)x.expired);
    cJSON_AddNumberToObject(c, "seal_unchecked", (double)x.by_seal[CG_SEAL_UNCHECKED]);
    cJSON_AddNumberToObject(c, "seal_verified", (double)x.by_seal[CG_SEAL_VERIFIED]);
    cJSON_AddNumberToObject(c, "seal_invalid", (double)x.by_seal[CG_SEAL_INVALID]);
    cJSON_AddNumberToObject(c, "es256", (double)x.by_alg[CG_SEAL_ES256]);
    cJSON_AddNumberToObject(c, "rs256", (double)x.by_alg[CG_SEAL_RS256]);
    cJSON_AddNumberToObject(c, "citizen_holders", (double)x.by_holder[CG_HOLDER_CITIZEN]);
    cJSON_AddNumberToObject(c, "organisation_holders", (double)x.by_holder[CG_HOLDER_ORG]);
    cJSON_AddNumberToObject(c, "corrupt", (double)x.err);
    cJSON *ty = cJSON_AddArrayToObject(c, "types");
    HASH_ITER(hh, x.types, t, tmp) {
      cJSON *one = cJSON_CreateObject();
      cJSON_AddStringToObject(one, "code", t->code);
      cJSON_AddStringToObject(one, "name", t->name);
      cJSON_AddNumberToObject(one, "count", (double)t->n);
      cJSON_AddItemToArray(ty, one);
    }
    char *text = cJSON_Print(o);
    puts(text);
    cJSON_free(text);
    cJSON_Delete(o);
  } else {
    printf("store\n");
    printf("  schema            %u\n", st.schema);
    printf("  trust generation  %u\n", st.trust_gen);
    printf("  map               %.1f MiB used of %.1f GiB reserved (page %u B)\n",
           (double)st.map_used / (1 << 20), (double)st.map_size / (1 << 30), st.page_size);
    printf("  readers           %u of %u slots in use\n", st.readers_used, st.readers_max);
    printf("  entries          ");
    for (int d = 0; d < CG_DB__COUNT; d++)
      printf(" %s=%llu", cg_store_db_name(d), (unsigned long long)st.entries[d]);
    printf("\ncertificates        %llu (average body %.0f B)\n", (unsigned long long)x.total,
           x.total ? (double)x.body_bytes / (double)x.total : 0.0);
    printf("  status            valid %llu, suspended %llu, revoked %llu; past expiry %llu\n",
           (unsigned long long)x.by_status[CG_CERT_VALID],
           (unsigned long long)x.by_status[CG_CERT_SUSPENDED],
           (unsigned long long)x.by_status[CG_CERT_REVOKED], (unsigned long long)x.expired);
    printf("  seals             ES256 %llu, RS256 %llu; verified %llu, invalid %llu, "
           "not yet checked %llu\n",
           (unsigned long long)x.by_alg[CG_SEAL_ES256], (unsigned long long)x.by_alg[CG_SEAL_RS256],
           (unsigned long long)x.by_seal[CG_SEAL_VERIFIED],
           (unsigned long long)x.by_seal[CG_SEAL_INVALID],
           (unsigned long long)x.by_seal[CG_SEAL_UNCHECKED]);
    printf("  holders           citizens' %llu, organisations' %llu\n",
           (unsigned long long)x.by_holder[CG_HOLDER_CITIZEN],
           (unsigned long long)x.by_holder[CG_HOLDER_ORG]);
    if (x.err)
      printf("  CORRUPT RECORDS   %d\n", x.err);
    printf("types\n");
    HASH_ITER(hh, x.types, t, tmp) {
      printf("  %8llu  %s  %s\n", (unsigned long long)t->n, t->code, t->name);
    }
  }
  HASH_ITER(hh, x.types, t, tmp) {
    HASH_DEL(x.types, t);
    free(t);
  }
  return x.err ? 1 : 0;
}
