/* audit.c — certctl audit: who used a holder's certificates, when and why,
 * or what a venue did (docs/audit.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certctl.h"
#include "core/audit.h"
#include "core/ident.h"

struct show {
  cg_store_reader_t *r;
  int json, n;
  const char *venue;
  /* --holder: the records found through the index, so that the log's tail
   * (records whose index entries still wait) shows each once */
  uint8_t hk[CG_AUDIT_HOLDER_LEN];
  uint8_t (*seen)[CG_AUDIT_KEY_LEN];
  size_t nseen, capseen;
};

static int show_one(void *arg, const cg_audit_t *a);

/* A record of the log, shown if it is the venue's. */
static int venue_one(void *arg, const cg_audit_t *a) {
  struct show *x = arg;
  return strcmp(a->venue, x->venue) == 0 ? show_one(arg, a) : 0;
}

static int show_venue(void *arg, cg_slice_t key, cg_slice_t val) {
  (void)key;
  cg_audit_each(val.base, val.len, venue_one, arg); /* (a corrupt value: nothing shown) */
  return 0;
}

/* A record of a value found for the holder: shown if it is the holder's
 * (a block holds others' too). */
static int holder_one(void *arg, const cg_audit_t *a) {
  struct show *x = arg;
  return memcmp(a->holder, x->hk, CG_AUDIT_HOLDER_LEN) == 0 ? show_one(arg, a) : 0;
}

/* An index entry, the key of a value of the log: remembered, then its
 * records shown. */
static int show_indexed(void *arg, cg_slice_t key, cg_slice_t val) {
  struct show *x = arg;
  cg_slice_t rec;
  (void)key;
  if (val.len != CG_AUDIT_KEY_LEN)
    return 0;
  if (x->nseen == x->capseen) {
    size_t cap = x->capseen ? 2 * x->capseen : 256;
    void *p = realloc(x->seen, cap * sizeof *x->seen);
    if (p == NULL)
      return CG_ENOMEM;
    x->seen = p, x->capseen = cap;
  }
  memcpy(x->seen[x->nseen++], val.base, CG_AUDIT_KEY_LEN);
  if (cg_store_get(x->r, CG_DB_AUDIT, val.base, val.len, &rec) == 0)
    cg_audit_each(rec.base, rec.len, holder_one, x);
  return 0;
}

/* A value of the log's tail: its records shown if they are the holder's and
 * the index did not list it. */
static int show_tail(void *arg, cg_slice_t key, cg_slice_t val) {
  struct show *x = arg;
  if (key.len != CG_AUDIT_KEY_LEN)
    return 0;
  for (size_t i = 0; i < x->nseen; i++)
    if (memcmp(x->seen[i], key.base, CG_AUDIT_KEY_LEN) == 0)
      return 0;
  cg_audit_each(val.base, val.len, holder_one, x);
  return 0;
}

/* The oldest record a running (or stopped) certgw has not indexed yet: the
 * smallest of the marks its writer keeps in meta (gateway/writer.c). */
struct oldest {
  int found;
  uint8_t key[CG_AUDIT_KEY_LEN];
};

static int oldest_mark(void *arg, cg_slice_t key, cg_slice_t val) {
  static const char prefix[] = CG_AUDIT_MARK_PREFIX;
  struct oldest *o = arg;
  if (key.len < sizeof prefix - 1 || memcmp(key.base, prefix, sizeof prefix - 1) != 0)
    return 1;
  if (val.len == CG_AUDIT_KEY_LEN && (!o->found || memcmp(val.base, o->key, val.len) < 0)) {
    memcpy(o->key, val.base, val.len);
    o->found = 1;
  }
  return 0;
}

static int show_one(void *arg, const cg_audit_t *a) {
  struct show *x = arg;
  char when[32];
  time_t t;
  struct tm tm;

  x->n++;
  if (x->json) {
    cg_buf_t j;
    cg_buf_init(&j, 1 << 16);
    if (cg_audit_json(a, &j) == 0)
      printf("%.*s\n", (int)j.len, j.base);
    cg_buf_free(&j);
    return 0;
  }
  t = (time_t)(a->time_ms / 1000);
  gmtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  printf("%s.%03uZ  venue=%s  %s  status=%d  purpose=\"%s\"", when, (unsigned)(a->time_ms % 1000),
         a->venue, cg_audit_kind_name(a->kind), a->status, a->purpose);
  if (a->matter[0])
    printf("  matter=%s", a->matter);
  printf("  client=%s", a->client);
  for (int i = 0; i < a->nids; i++)
    printf("%s%s", i ? "," : "  certificates=", a->ids[i]);
  printf("\n");
  return 0;
}

int ctl_audit(int argc, char **argv) {
  static const char usage[] =
      "usage: certctl audit (-c CONF | -d DATADIR) (--holder CODE [--holder-type 111|001] |\n"
      "                     --venue ID) [--json]\n"
      "\n"
      "Lists the audit records (用证记录) of a holder — every scan and fetch of their\n"
      "certificates: when, which venue, why, the result — or of a venue, one a line,\n"
      "oldest first. Holders are found by an HMAC of their code; the code itself is\n"
      "never stored.\n";
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'}, {"data", required_argument, NULL, 'd'},
      {"holder", required_argument, NULL, 'H'}, {"holder-type", required_argument, NULL, 'T'},
      {"venue", required_argument, NULL, 'v'},  {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
  };
  ctl_target_t t = {0};
  const char *holder = NULL, *venue = NULL, *htype = NULL;
  struct show x = {0};
  cg_store_t *s;
  cg_slice_t key;
  int c, err = 0;

  optind = 1;
  while ((c = getopt_long(argc, argv, "c:d:", opts, NULL)) != -1) {
    switch (c) {
    case 'c': t.config = optarg; break;
    case 'd': t.data = optarg; break;
    case 'H': holder = optarg; break;
    case 'T': htype = optarg; break;
    case 'v': venue = optarg; break;
    case 'j': x.json = 1; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind != argc || (holder == NULL) == (venue == NULL)) {
    fputs(usage, stderr);
    return 2;
  }
  int type = 0;
  if (holder != NULL) {
    cg_why_t why = {""};
    size_t n = strlen(holder);
    if (htype != NULL)
      type = cg_ident_holder_type(htype, strlen(htype));
    else
      type = cg_ident_citizen_validate(holder, n, NULL) == 0 ? CG_HOLDER_CITIZEN : CG_HOLDER_ORG;
    if (type < 0 || cg_ident_holder_validate(type, holder, n, &why) != 0) {
      fprintf(stderr, "certctl: %s: %s\n", holder, why.text[0] ? why.text : "not a holder code");
      return 1;
    }
  }
  if ((s = ctl_open_store(&t, 1, NULL)) == NULL)
    return 1;
  if ((err = cg_store_reader_open(s, &x.r)) == 0 && (err = cg_store_reader_begin(x.r)) == 0) {
    if (holder != NULL) {
      uint8_t hk[CG_AUDIT_HOLDER_LEN];
      if ((err = cg_store_get(x.r, CG_DB_META, "audit_key", 9, &key)) == 0 && key.len == 32) {
        struct oldest o = {0};
        cg_audit_holder_key((const uint8_t *)key.base, type, holder, strlen(holder), hk);
        memcpy(x.hk, hk, sizeof hk);
        err = cg_store_index_each(x.r, CG_DB_AUDIT_HOLDER, hk, sizeof hk, show_indexed, &x);
        /* certgw files index entries a second after their records: the
         * newest records, and any a crash left unindexed, are read from the
         * log from the oldest mark on. */
        if (err == 0)
          err = cg_store_each_from(x.r, CG_DB_META, CG_AUDIT_MARK_PREFIX,
                                   sizeof CG_AUDIT_MARK_PREFIX - 1, oldest_mark, &o);
        if (err >= 0 && o.found)
          err = cg_store_each_from(x.r, CG_DB_AUDIT, o.key, sizeof o.key, show_tail, &x);
        if (err > 0)
          err = 0;
      }
    } else {
      /* Older stores filed a venue index; new records are found by walking
       * the log, which is in time order. */
      x.venue = venue;
      err = cg_store_each(x.r, CG_DB_AUDIT, show_venue, &x);
    }
    cg_store_reader_end(x.r);
  }
  cg_store_reader_close(x.r);
  cg_store_close(s);
  free(x.seen);
  if (err != 0) {
    fprintf(stderr, "certctl: audit: %s\n", cg_strerror(err));
    return 1;
  }
  if (!x.json)
    fprintf(stderr, "%d audit records\n", x.n);
  return 0;
}
