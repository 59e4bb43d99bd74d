/* certbench — load generator for sizing a certgw deployment (issue 4).
 *
 * This file owns the command line, the progress line, and the reports (a
 * table on stdout, every figure in --json FILE). What is sent comes from
 * workload.c (demo.json rendered into requests), how it is sent and timed
 * from runner.c (libuv threads, llhttp), and percentiles from hist.c.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/hist.h"
#include "bench/runner.h"
#include "bench/workload.h"

#define TARGET_MAX 256

static volatile sig_atomic_t interrupted; /* ^C: stop, then report what was measured */

typedef struct options {
  const char *demo, *target, *json, *venue;
  cg_workload_opts_t work;
  int mix; /* the workload is a mix, not one kind */
  unsigned connections, pipeline, threads;
  double duration_s, rate;
  uint64_t requests, timeout_ms, seed;
  int quiet, dry_run;
} options_t;

static void usage(FILE *f) {
  fputs(
      "usage: certbench --demo DIR/demo.json [options]\n"
      "\n"
      "Load generator for sizing a certgw deployment: sends the certificates, holders\n"
      "and venue keys of a demo deployment (`certctl demo`) to a certgw, closed loop\n"
      "(a fixed number of requests outstanding) or open loop (a fixed request rate,\n"
      "latency counted from when each request was due), and reports throughput,\n"
      "latency percentiles, errors by kind and answers by status.\n"
      "\n"
      "target and workload:\n"
      "  --demo FILE            the deployment's demo.json (required)\n"
      "  --target HOST:PORT     where to send (default: demo.json \"listen\")\n"
      "  --workload KIND        fetch (GET /v1/certificates/ID), holder (GET\n"
      "                         /v1/holders/CODE/certificates), scan (POST /v1/scan\n"
      "                         with QR codes from `certctl mint`) or mix (default fetch)\n"
      "  --mix fetch=W,holder=W,scan=W\n"
      "                         shares of a mix (implies --workload mix;\n"
      "                         default fetch=80,holder=20)\n"
      "  --venue NAME           a scope (department, hotel) or a venue id (default\n"
      "                         department); its key goes in Authorization: Bearer\n"
      "  --zipf S               key popularity 1/rank^S over certificate types and\n"
      "                         holders (default: uniform over keys)\n"
      "  --miss F               share (0..1, or N%) of fetches for valid identifiers\n"
      "                         that are not in the store (default 0)\n"
      "  --id IDENT             fetch only this identifier\n"
      "  --ids FILE             fetch these identifiers (one a line, picked uniformly\n"
      "                         or by --zipf) instead of demo.json's sample of 100\n"
      "  --in-turn              fetch the identifiers in turn, each once before any\n"
      "                         twice (misses of an upstream-only --ids list)\n"
      "  --codes FILE           QR texts for scan, one a line, instead of minting\n"
      "  --certctl PATH         the certctl that mints QR codes (default: next to\n"
      "                         certbench)\n"
      "\n"
      "load:\n"
      "  -c, --connections N    connections (default 64)\n"
      "  --pipeline D           requests outstanding per connection (default 1)\n"
      "  -t, --threads N        threads, each with its own event loop (default 1)\n"
      "  -d, --duration T       run this long: 10, 10s, 500ms, 2m (default 10s)\n"
      "  -n, --requests N       or until N requests are answered (or lost)\n"
      "  -R, --rate R           open loop at R requests/s over all connections\n"
      "  --timeout MS           a request unanswered this long is a timeout (default 5000)\n"
      "  --seed N               random seed: the same seed picks the same keys (default 1)\n"
      "\n"
      "output:\n"
      "  --json FILE            write every figure as JSON\n"
      "  -q, --quiet            no progress line (each second, on stderr)\n"
      "  --dry-run              print the first requests it would send, send nothing\n"
      "  -h, --help             this text\n"
      "\n"
      "The table goes to stdout. Exit status: 0 when some request was answered,\n"
      "1 when none was or the run could not start, 2 for a bad command line.\n",
      f);
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "certbench: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs(" (certbench --help lists the options)\n", stderr);
  return 2;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end;
  unsigned long long v;
  errno = 0;
  if (s[0] == '-' || s[0] == '\0')
    return -1;
  v = strtoull(s, &end, 10);
  if (errno || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int parse_double(const char *s, double min, double max, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= min && v <= max))
    return -1;
  *out = v;
  return 0;
}

/* 10, 10s, 500ms, 2m, 1h. */
static int parse_duration(const char *s, double *out) {
  char *end;
  double v, unit = 1.0;
  errno = 0;
  v = strtod(s, &end);
  if (errno || end == s || !(v > 0.0))
    return -1;
  if (strcmp(end, "ms") == 0)
    unit = 0.001;
  else if (strcmp(end, "m") == 0)
    unit = 60.0;
  else if (strcmp(end, "h") == 0)
    unit = 3600.0;
  else if (*end != '\0' && strcmp(end, "s") != 0)
    return -1;
  *out = v * unit;
  return *out <= 30 * 86400.0 ? 0 : -1;
}

static int parse_mix(const char *s, unsigned weight[CG_WORK_KINDS]) {
  char buf[128], *save = NULL, *tok;
  if (strlen(s) >= sizeof buf)
    return -1;
  strcpy(buf, s);
  memset(weight, 0, CG_WORK_KINDS * sizeof weight[0]);
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    uint64_t v;
    int k;
    if (eq == NULL)
      return -1;
    *eq = '\0';
    for (k = 0; k < CG_WORK_KINDS && strcmp(tok, cg_work_kind_name(k)) != 0; k++)
      ;
    if (k == CG_WORK_KINDS || parse_u64(eq + 1, 0, 1000000, &v) != 0)
      return -1;
    weight[k] = (unsigned)v;
  }
  return 0;
}

/* The certctl installed next to this program, else the one on PATH. */
static const char *default_certctl(void) {
  static char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n > 0 && (size_t)n < sizeof path - 16) {
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash) {
      strcpy(slash + 1, "certctl");
      if (access(path, X_OK) == 0)
        return path;
    }
  }
  return "certctl";
}

static int parse_args(int argc, char **argv, options_t *o) {
  enum {
    O_DEMO = 256, O_TARGET, O_WORKLOAD, O_MIX, O_VENUE, O_PIPELINE, O_ZIPF, O_MISS, O_ID, O_IDS, O_IN_TURN, O_CODES,
    O_CERTCTL, O_JSON, O_TIMEOUT, O_SEED, O_DRY_RUN
  };
  static const struct option longs[] = {
      {"demo", required_argument, NULL, O_DEMO},
      {"target", required_argument, NULL, O_TARGET},
      {"workload", required_argument, NULL, O_WORKLOAD},
      {"mix", required_argument, NULL, O_MIX},
      {"venue", required_argument, NULL, O_VENUE},
      {"connections", required_argument, NULL, 'c'},
      {"pipeline", required_argument, NULL, O_PIPELINE},
      {"threads", required_argument, NULL, 't'},
      {"duration", required_argument, NULL, 'd'},
      {"requests", required_argument, NULL, 'n'},
      {"rate", required_argument, NULL, 'R'},
      {"zipf", required_argument, NULL, O_ZIPF},
      {"miss", required_argument, NULL, O_MISS},
      {"id", required_argument, NULL, O_ID},
      {"ids", required_argument, NULL, O_IDS},
      {"in-turn", no_argument, NULL, O_IN_TURN},
      {"codes", required_argument, NULL, O_CODES},
      {"certctl", required_argument, NULL, O_CERTCTL},
      {"json", required_argument, NULL, O_JSON},
      {"timeout", required_argument, NULL, O_TIMEOUT},
      {"seed", required_argument, NULL, O_SEED},
      {"quiet", no_argument, NULL, 'q'},
      {"dry-run", no_argument, NULL, O_DRY_RUN},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int opt, have_duration = 0, mix_set = 0;
  const char *workload = NULL;
  uint64_t v;

  memset(o, 0, sizeof *o);
  o->venue = "department";
  o->connections = 64;
  o->pipeline = 1;
  o->threads = 1;
  o->duration_s = 10.0;
  o->timeout_ms = 5000;
  o->seed = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":c:t:d:n:R:qh", longs, NULL)) != -1) {
    switch (opt) {
    case O_DEMO: o->demo = optarg; break;
    case O_TARGET: o->target = optarg; break;
    case O_WORKLOAD: workload = optarg; break;
    case O_MIX:
      if (parse_mix(optarg, o->work.weight) != 0)
        return bad("--mix wants kind=weight,… with kinds fetch, holder, scan: \"%s\"", optarg);
      mix_set = 1;
      break;
    case O_VENUE: o->venue = optarg; break;
    case 'c':
      if (parse_u64(optarg, 1, 100000, &v))
        return bad("-c wants 1..100000 connections, not \"%s\"", optarg);
      o->connections = (unsigned)v;
      break;
    case O_PIPELINE:
      if (parse_u64(optarg, 1, CG_RUN_PIPELINE_MAX, &v))
        return bad("--pipeline wants a depth of 1..1024, not \"%s\"", optarg);
      o->pipeline = (unsigned)v;
      break;
    case 't':
      if (parse_u64(optarg, 1, 256, &v))
        return bad("-t wants 1..256 threads, not \"%s\"", optarg);
      o->threads = (unsigned)v;
      break;
    case 'd':
      if (parse_duration(optarg, &o->duration_s))
        return bad("-d wants a duration such as 10, 10s, 500ms or 2m, not \"%s\"", optarg);
      have_duration = 1;
      break;
    case 'n':
      if (parse_u64(optarg, 1, UINT64_MAX / 2, &o->requests))
        return bad("-n wants a number of requests, not \"%s\"", optarg);
      break;
    case 'R':
      if (parse_double(optarg, 0.001, 1e9, &o->rate))
        return bad("--rate wants requests per second (> 0), not \"%s\"", optarg);
      break;
    case O_ZIPF:
      if (parse_double(optarg, 0.0, 10.0, &o->work.zipf))
        return bad("--zipf wants an exponent 0..10 (1 is classic Zipf), not \"%s\"", optarg);
      break;
    case O_MISS: {
      char buf[32];
      size_t n = strlen(optarg);
      double scale = 1.0;
      if (n == 0 || n >= sizeof buf)
        return bad("--miss wants a share such as 0.1 or 10%%, not \"%s\"", optarg);
      strcpy(buf, optarg);
      if (buf[n - 1] == '%')
        buf[n - 1] = '\0', scale = 0.01;
      if (parse_double(buf, 0.0, scale < 1.0 ? 100.0 : 1.0, &o->work.miss))
        return bad("--miss wants a share such as 0.1 or 10%%, not \"%s\"", optarg);
      o->work.miss *= scale;
      break;
    }
    case O_ID: o->work.id = optarg; break;
    case O_IDS: o->work.ids_file = optarg; break;
    case O_IN_TURN: o->work.in_turn = 1; break;
    case O_CODES: o->work.codes_file = optarg; break;
    case O_CERTCTL: o->work.certctl = optarg; break;
    case O_JSON: o->json = optarg; break;
    case O_TIMEOUT:
      if (parse_u64(optarg, 1, 3600000, &o->timeout_ms))
        return bad("--timeout wants milliseconds (1..3600000), not \"%s\"", optarg);
      break;
    case O_SEED:
      if (parse_u64(optarg, 0, UINT64_MAX, &o->seed))
        return bad("--seed wants a number, not \"%s\"", optarg);
      break;
    case 'q': o->quiet = 1; break;
    case O_DRY_RUN: o->dry_run = 1; break;
    case 'h': usage(stdout); exit(0);
    case ':': return bad("%s needs a value", argv[optind - 1]);
    default: return bad("unknown option \"%s\"", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return bad("unexpected argument \"%s\"", argv[optind]);
  if (o->demo == NULL)
    return bad("--demo DIR/demo.json is required: it names the keys and identifiers to send");
  if (have_duration && o->requests)
    return bad("give --duration or --requests, not both");
  if (mix_set || (workload && strcmp(workload, "mix") == 0)) {
    if (workload && strcmp(workload, "mix") != 0)
      return bad("--mix makes a mix: it does not go with --workload %s", workload);
    o->mix = 1;
    if (!mix_set) {
      o->work.weight[CG_WORK_FETCH] = 80;
      o->work.weight[CG_WORK_HOLDER] = 20;
    }
  } else {
    int k = 0;
    while (k < CG_WORK_KINDS && strcmp(workload ? workload : "fetch", cg_work_kind_name(k)) != 0)
      k++;
    if (k == CG_WORK_KINDS)
      return bad("--workload is one of fetch, holder, scan, mix, not \"%s\"", workload);
    o->work.weight[k] = 1;
  }
  if (o->work.id && !o->work.weight[CG_WORK_FETCH])
    return bad("--id fixes the identifier fetched: it needs a workload with fetches");
  if (o->work.ids_file && !o->work.weight[CG_WORK_FETCH])
    return bad("--ids lists the identifiers fetched: it needs a workload with fetches");
  if (o->work.ids_file && o->work.id)
    return bad("give --id or --ids, not both");
  if (o->threads > o->connections)
    o->threads = o->connections;
  if (o->work.certctl == NULL)
    o->work.certctl = default_certctl();
  o->work.venue = o->venue;
  o->work.seed = o->seed;
  return 0;
}

/* HOST:PORT or [V6]:PORT into addr; the name is resolved once, here. */
static int resolve(const char *target, struct sockaddr_storage *addr) {
  char host[TARGET_MAX];
  const char *colon = strrchr(target, ':'), *h = target;
  size_t hlen;
  struct addrinfo hints = {0}, *res;
  int rc;

  if (colon == NULL || colon[1] == '\0' || strlen(target) >= sizeof host) {
    fprintf(stderr, "certbench: the target \"%s\" is not HOST:PORT\n", target);
    return -1;
  }
  hlen = (size_t)(colon - target);
  if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
    h++, hlen -= 2;
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo(host, colon + 1, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "certbench: cannot resolve %s: %s\n", target, gai_strerror(rc));
    return -1;
  }
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return 0;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

/* ---- reports ------------------------------------------------------------------- */

static const double pcts[] = {50.0, 90.0, 99.0, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99_9"};

static void print_latency_row(const char *name, const cg_hist_t *h) {
  printf("  %-9s", name);
  for (size_t i = 0; i < 4; i++)
    printf(" %9.3f", (double)cg_hist_percentile(h, pcts[i]) / 1000.0);
  printf(" %9.3f %9.3f %9.3f\n", (double)h->max / 1000.0, cg_hist_mean(h) / 1000.0,
         cg_hist_stdev(h) / 1000.0);
}

static void mix_text(const options_t *o, char *buf, size_t len) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < CG_WORK_KINDS; i++) {
    if (o->work.weight[i] == 0)
      continue;
    int n = snprintf(buf + k, len - k, "%s%s=%u", k ? "," : "", cg_work_kind_name(i), o->work.weight[i]);
    if (n < 0 || (size_t)n >= len - k)
      break;
    k += (size_t)n;
  }
}

static const char *workload_name(const options_t *o) {
  if (o->mix)
    return "mix";
  for (int k = 0; k < CG_WORK_KINDS; k++)
    if (o->work.weight[k])
      return cg_work_kind_name(k);
  return "?";
}

static void print_table(const options_t *o, const cg_workload_t *w, const cg_run_stats_t *st) {
  cg_workload_info_t info;
  char mix[128];
  double el = st->elapsed_s > 0 ? st->elapsed_s : 1e-9;

  cg_workload_info(w, &info);
  mix_text(o, mix, sizeof mix);
  printf("certbench %s -> %s, venue %s (%s)\n", CG_VERSION, o->target, cg_workload_venue_id(w),
         cg_workload_venue_scope(w));
  printf("  workload  %s", workload_name(o));
  if (o->mix)
    printf(" %s", mix);
  if (info.keys[CG_WORK_FETCH])
    printf("; %zu identifier%s over %zu type%s, %.1f %% misses", info.keys[CG_WORK_FETCH],
           info.keys[CG_WORK_FETCH] == 1 ? "" : "s", info.types, info.types == 1 ? "" : "s",
           o->work.miss * 100.0);
  if (info.keys[CG_WORK_HOLDER])
    printf("; %zu holders", info.keys[CG_WORK_HOLDER]);
  if (info.keys[CG_WORK_SCAN])
    printf("; %zu QR codes", info.keys[CG_WORK_SCAN]);
  if (o->work.zipf > 0)
    printf("; Zipf s=%.2f\n", o->work.zipf);
  else
    printf("; uniform\n");
  printf("  load      %s, %u connections, pipeline %u, %u thread%s, ",
         o->rate > 0 ? "open loop" : "closed loop", o->connections, o->pipeline, o->threads,
         o->threads == 1 ? "" : "s");
  if (o->requests)
    printf("%llu requests\n", (unsigned long long)o->requests);
  else
    printf("%.1f s\n", o->duration_s);
  printf("\n");
  printf("  requests  %llu answered in %.2f s = %.1f req/s", (unsigned long long)st->answered, el,
         (double)st->answered / el);
  if (o->rate > 0)
    printf(" (asked for %.1f)", o->rate);
  printf("\n            %llu sent, %llu lost with their connection, %llu connections opened\n",
         (unsigned long long)st->sent, (unsigned long long)st->lost,
         (unsigned long long)st->connects);
  printf("  transfer  %.2f MB read, %.2f MB/s\n", (double)st->bytes_read / 1e6,
         (double)st->bytes_read / 1e6 / el);
  printf("\n  latency (ms)    p50       p90       p99     p99.9       max      mean     stdev\n");
  print_latency_row("all", &st->latency);
  if (o->mix)
    for (int k = 0; k < CG_WORK_KINDS; k++)
      if (o->work.weight[k])
        print_latency_row(cg_work_kind_name(k), &st->kind_latency[k]);
  if (o->rate > 0)
    print_latency_row("service", &st->service);
  if (o->rate > 0)
    printf("  (open loop: latency from each request's intended send time; service from the\n"
           "   actual send, as a closed-loop tool would report it)\n");
  if (st->latency.over)
    printf("  %llu answers took longer than 60 s and are counted as 60 s\n",
           (unsigned long long)st->latency.over);
  printf("\n  status   ");
  int any = 0;
  for (int s = 0; s < 600; s++)
    if (st->status[s]) {
      printf(" %s%d: %llu", any ? " " : "", s, (unsigned long long)st->status[s]);
      any = 1;
    }
  if (!any)
    printf(" none");
  if (st->unexpected)
    printf("   (%llu not as expected)", (unsigned long long)st->unexpected);
  printf("\n  errors   ");
  for (int k = 0; k < CG_RUN_ERRS; k++)
    printf(" %s %llu", cg_run_err_name(k), (unsigned long long)st->errors[k]);
  printf("\n");
  if (st->gave_up)
    printf("  stopped early: no connection to %s for %llu ms\n", o->target,
           (unsigned long long)o->timeout_ms);
  if (interrupted)
    printf("  stopped early: interrupted\n");
}

static cJSON *hist_json(const cg_hist_t *h) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "count", (double)h->count);
  for (size_t i = 0; i < 4; i++)
    cJSON_AddNumberToObject(j, pct_names[i], (double)cg_hist_percentile(h, pcts[i]));
  cJSON_AddNumberToObject(j, "max", (double)h->max);
  cJSON_AddNumberToObject(j, "min", h->count ? (double)h->min : 0.0);
  cJSON_AddNumberToObject(j, "mean", cg_hist_mean(h));
  cJSON_AddNumberToObject(j, "stdev", cg_hist_stdev(h));
  cJSON_AddNumberToObject(j, "over_60s", (double)h->over);
  return j;
}

static int write_json(const options_t *o, const cg_workload_t *w, const cg_run_stats_t *st) {
  cJSON *root = cJSON_CreateObject(), *x;
  cg_workload_info_t info;
  char key[16];
  double el = st->elapsed_s > 0 ? st->elapsed_s : 1e-9;
  FILE *f;
  char *text;

  cg_workload_info(w, &info);
  cJSON_AddStringToObject(root, "certbench", CG_VERSION);
  cJSON_AddStringToObject(root, "target", o->target);
  cJSON_AddStringToObject(root, "demo", o->demo);
  x = cJSON_AddObjectToObject(root, "venue");
  cJSON_AddStringToObject(x, "id", cg_workload_venue_id(w));
  cJSON_AddStringToObject(x, "scope", cg_workload_venue_scope(w));

  x = cJSON_AddObjectToObject(root, "workload");
  cJSON_AddStringToObject(x, "kind", workload_name(o));
  cJSON *mix = cJSON_AddObjectToObject(x, "mix");
  for (int k = 0; k < CG_WORK_KINDS; k++)
    if (o->work.weight[k])
      cJSON_AddNumberToObject(mix, cg_work_kind_name(k), o->work.weight[k]);
  if (o->work.zipf > 0)
    cJSON_AddNumberToObject(x, "zipf", o->work.zipf);
  else
    cJSON_AddNullToObject(x, "zipf");
  cJSON_AddNumberToObject(x, "miss", o->work.miss);
  if (o->work.id)
    cJSON_AddStringToObject(x, "id", o->work.id);
  if (o->work.ids_file)
    cJSON_AddStringToObject(x, "ids_file", o->work.ids_file);
  cJSON_AddNumberToObject(x, "identifiers", (double)info.keys[CG_WORK_FETCH]);
  cJSON_AddNumberToObject(x, "types", (double)info.types);
  cJSON_AddNumberToObject(x, "holders", (double)info.keys[CG_WORK_HOLDER]);
  cJSON_AddNumberToObject(x, "qr_codes", (double)info.keys[CG_WORK_SCAN]);
  cJSON_AddNumberToObject(x, "seed", (double)o->seed);
  cJSON_AddBoolToObject(x, "in_turn", o->work.in_turn);

  x = cJSON_AddObjectToObject(root, "load");
  cJSON_AddStringToObject(x, "mode", o->rate > 0 ? "open" : "closed");
  cJSON_AddNumberToObject(x, "connections", o->connections);
  cJSON_AddNumberToObject(x, "pipeline", o->pipeline);
  cJSON_AddNumberToObject(x, "threads", o->threads);
  if (o->requests)
    cJSON_AddNumberToObject(x, "requests", (double)o->requests);
  else
    cJSON_AddNumberToObject(x, "duration_s", o->duration_s);
  if (o->rate > 0)
    cJSON_AddNumberToObject(x, "rate", o->rate);
  cJSON_AddNumberToObject(x, "timeout_ms", (double)o->timeout_ms);

  cJSON_AddNumberToObject(root, "elapsed_s", st->elapsed_s);
  x = cJSON_AddObjectToObject(root, "requests");
  cJSON_AddNumberToObject(x, "sent", (double)st->sent);
  cJSON_AddNumberToObject(x, "answered", (double)st->answered);
  cJSON_AddNumberToObject(x, "lost", (double)st->lost);
  cJSON_AddNumberToObject(x, "unexpected_status", (double)st->unexpected);
  cJSON_AddNumberToObject(root, "throughput_rps", (double)st->answered / el);
  cJSON_AddNumberToObject(root, "bytes_read", (double)st->bytes_read);
  cJSON_AddNumberToObject(root, "bytes_read_per_s", (double)st->bytes_read / el);
  cJSON_AddNumberToObject(root, "connections_opened", (double)st->connects);
  cJSON_AddItemToObject(root, "latency_us", hist_json(&st->latency));
  cJSON_AddItemToObject(root, "service_us", hist_json(&st->service));
  x = cJSON_AddObjectToObject(root, "by_kind");
  for (int k = 0; k < CG_WORK_KINDS; k++) {
    if (!o->work.weight[k])
      continue;
    cJSON *kj = cJSON_AddObjectToObject(x, cg_work_kind_name(k));
    cJSON_AddNumberToObject(kj, "answered", (double)st->kind_answered[k]);
    cJSON_AddItemToObject(kj, "latency_us", hist_json(&st->kind_latency[k]));
  }
  x = cJSON_AddObjectToObject(root, "status");
  for (int s = 0; s < 600; s++)
    if (st->status[s]) {
      snprintf(key, sizeof key, "%d", s);
      cJSON_AddNumberToObject(x, s ? key : "other", (double)st->status[s]);
    }
  x = cJSON_AddObjectToObject(root, "errors");
  for (int k = 0; k < CG_RUN_ERRS; k++)
    cJSON_AddNumberToObject(x, cg_run_err_name(k), (double)st->errors[k]);
  cJSON_AddBoolToObject(root, "gave_up", st->gave_up);
  cJSON_AddBoolToObject(root, "interrupted", interrupted);

  text = cJSON_Print(root);
  cJSON_Delete(root);
  if (text == NULL || (f = fopen(o->json, "w")) == NULL) {
    fprintf(stderr, "certbench: cannot write %s: %s\n", o->json, text ? strerror(errno) : "out of memory");
    free(text);
    return -1;
  }
  fputs(text, f);
  fputc('\n', f);
  free(text);
  if (fclose(f) != 0) {
    fprintf(stderr, "certbench: cannot write %s: %s\n", o->json, strerror(errno));
    return -1;
  }
  return 0;
}

/* The first requests the first connection would send, as they go on the wire
 * but with bare line feeds: what to check before a run, and where scripts
 * find the key and path to give another tool. */
static void dry_run(const options_t *o, const cg_workload_t *w) {
  cg_rng_t r;
  cg_rng_seed(&r, o->seed, 0);
  printf("# certbench -> %s, venue %s (%s)\n", o->target, cg_workload_venue_id(w),
         cg_workload_venue_scope(w));
  for (int i = 0; i < 3; i++) {
    const cg_work_req_t *q = cg_workload_pick(w, &r);
    printf("\n# %s, expecting %d\n", cg_work_kind_name(q->kind), q->expect);
    for (size_t k = 0; k < q->len; k++)
      if (q->base[k] != '\r')
        putchar(q->base[k]);
    if (q->len > 0 && q->base[q->len - 1] != '\n')
      putchar('\n');
  }
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  options_t o;
  cg_workload_t *w;
  cg_run_opts_t ro;
  cg_run_t *run;
  cg_run_stats_t *st;
  char err[1024];
  int rc = parse_args(argc, argv, &o);
  struct sigaction sa;

  if (rc != 0)
    return rc;
  if (cg_workload_open(o.demo, &w, err, sizeof err) != 0) {
    fprintf(stderr, "certbench: %s\n", err);
    return 1;
  }
  if (o.target == NULL)
    o.target = cg_workload_listen(w);
  o.work.host = o.target;
  memset(&ro, 0, sizeof ro);
  if (resolve(o.target, &ro.addr) != 0) {
    cg_workload_free(w);
    return 1;
  }
  if (cg_workload_render(w, &o.work, err, sizeof err) != 0) {
    fprintf(stderr, "certbench: %s\n", err);
    cg_workload_free(w);
    return 1;
  }
  if (o.dry_run) {
    dry_run(&o, w);
    cg_workload_free(w);
    return 0;
  }
  ro.work = w;
  ro.connections = o.connections;
  ro.pipeline = o.pipeline;
  ro.threads = o.threads;
  ro.duration_s = o.duration_s;
  ro.requests = o.requests;
  ro.rate = o.rate;
  ro.timeout_ms = o.timeout_ms;
  ro.seed = o.seed;

  signal(SIGPIPE, SIG_IGN);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND; /* a second ^C ends certbench at once */
  sigaction(SIGINT, &sa, NULL);

  run = cg_run_start(&ro, err, sizeof err);
  if (run == NULL) {
    fprintf(stderr, "certbench: %s\n", err);
    cg_workload_free(w);
    return 1;
  }
  double start = mono_s(), next = start + 1.0, prev_t = start;
  uint64_t prev = 0, answered, errors;
  while (cg_run_poll(run, &answered, &errors)) {
    struct timespec nap = {0, 20 * 1000000};
    if (interrupted)
      cg_run_stop(run);
    nanosleep(&nap, NULL);
    double now = mono_s();
    if (now >= next) {
      cg_run_poll(run, &answered, &errors);
      if (!o.quiet)
        fprintf(stderr, "certbench: %4.0f s  %12llu answered  %10.0f req/s  %llu errors\n",
                next - start, (unsigned long long)answered,
                (double)(answered - prev) / (now - prev_t), (unsigned long long)errors);
      prev = answered;
      prev_t = now;
      next += 1.0;
    }
  }
  st = malloc(sizeof *st);
  if (st == NULL) {
    fprintf(stderr, "certbench: out of memory\n");
    return 1;
  }
  cg_run_finish(run, st);
  print_table(&o, w, st);
  fflush(stdout);
  rc = st->answered > 0 ? 0 : 1;
  if (o.json && write_json(&o, w, st) != 0)
    rc = 1;
  if (st->answered == 0)
    fprintf(stderr, "certbench: no request was answered\n");
  free(st);
  cg_workload_free(w);
  return rc;
}
