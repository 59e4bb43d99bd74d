/* certgw — the gateway: main thread.
 *
 * Loads the config, opens the store, binds one SO_REUSEPORT socket per
 * worker and starts the workers; then it only handles signals. SIGTERM
 * drains (readiness 503 for drain_delay, listeners closed, in-flight
 * requests finished, exit 0 within drain_timeout); SIGHUP reloads config
 * and venues into a new snapshot, or keeps the old one if the new is bad.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "core/json.h"
#include "core/store.h"
#include "core/token.h"
#include "gateway/seals.h"
#include "gateway/upclient.h"
#include "gateway/upstream.h"
#include "gateway/writer.h"
#include "gateway/server.h"
#include "gateway/worker.h"

static cg_server_t srv = {.log_fd = -1};
static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t tick, drain_timer;
static uint64_t drain_deadline_ms;

static void usage(FILE *f) {
  fputs("usage: certgw -c FILE [--check] [--workers N] [--listen ADDR:PORT]\n"
        "\n"
        "  -c, --config FILE     the configuration (conf/certgw.conf explains every key)\n"
        "      --check           validate FILE (config, store, venues and their scopes)\n"
        "                        and exit 0, or print what is wrong and exit 1\n"
        "  -w, --workers N       worker threads (default: the config's, else one per core)\n"
        "  -l, --listen ADDR     HOST:PORT to listen on (default: the config's)\n"
        "  -h, --help            this text\n"
        "  -V, --version         the version\n"
        "\n"
        "Signals: SIGTERM (or SIGINT) drains and exits 0; SIGHUP reloads config and venues.\n",
        f);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  fputs("certgw: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* ---- runtime snapshots --------------------------------------------------------- */

struct scope_check {
  const cg_config_t *cfg;
  cg_why_t *why;
};

static int check_scope(void *arg, const cg_venue_t *v) {
  struct scope_check *x = arg;
  if (cg_config_scope(x->cfg, v->scope) == NULL)
    return cg_why_set(x->why, CG_ECONFIG, "venue %s names scope \"%s\", which %s does not define",
                      v->id, v->scope, x->cfg->path);
  return 0;
}

static void runtime_free(cg_runtime_t *rt) {
  if (rt == NULL)
    return;
  cg_venue_registry_free(rt->venues);
  cg_trust_free(rt->trust);
  cg_keyring_free(rt->keyring);
  cg_config_free(rt->cfg);
  free(rt);
}

/* [server] trusted_proxies: peers whose X-Forwarded-For names the client,
 * IP addresses written as the peer's address is (routes.c compares text). */
static int load_proxies(cg_runtime_t *rt, cg_why_t *why) {
  for (const char *p = rt->cfg->trusted_proxies; *p;) {
    size_t n = strcspn(p, ", ");
    char ip[64];
    unsigned char bin[16];
    if (n > 0) {
      if (rt->ntrusted == CG_TRUSTED_PROXIES_MAX)
        return cg_why_set(why, CG_ECONFIG, "%s: [server] trusted_proxies: more than %d",
                          rt->cfg->path, CG_TRUSTED_PROXIES_MAX);
      int family;
      snprintf(ip, sizeof ip, "%.*s", (int)(n < sizeof ip ? n : sizeof ip - 1), p);
      family = n >= sizeof ip                     ? 0
               : inet_pton(AF_INET, ip, bin) == 1  ? AF_INET
               : inet_pton(AF_INET6, ip, bin) == 1 ? AF_INET6
                                                   : 0;
      if (family == 0)
        return cg_why_set(why, CG_ECONFIG, "%s: [server] trusted_proxies: \"%.*s\" is not an IP address",
                          rt->cfg->path, (int)n, p);
      /* Kept as the peer's address is written (routes.c compares text):
       * 2001:DB8:0::1 is listed as 2001:db8::1. */
      inet_ntop(family, bin, rt->trusted_proxies[rt->ntrusted++], sizeof rt->trusted_proxies[0]);
    }
    p += n;
    p += strspn(p, ", ");
  }
  return 0;
}

/* Config and venues as one snapshot; every venue's scope must exist. */
static int load_runtime(const char *path, cg_store_t *store, cg_runtime_t **out, cg_why_t *why) {
  cg_runtime_t *rt = calloc(1, sizeof *rt);
  struct scope_check x = {NULL, why};
  int err;

  if (rt == NULL)
    return CG_ENOMEM;
  if ((err = cg_config_load(&rt->cfg, path, why)) != 0 ||
      (err = cg_venue_registry_load(store, &rt->venues, why)) != 0 ||
      (err = cg_trust_load(&rt->trust, rt->cfg->trust_dir, store, why)) != 0 ||
      (rt->cfg->keyring[0] != '\0' && (err = cg_keyring_load(&rt->keyring, rt->cfg->keyring, why)) != 0) ||
      (err = load_proxies(rt, why)) != 0)
    goto fail;
  rt->trust_gen = cg_trust_generation(rt->trust);
  x.cfg = rt->cfg;
  if ((err = cg_venue_registry_each(rt->venues, check_scope, &x)) != 0)
    goto fail;
  *out = rt;
  return 0;
fail:
  runtime_free(rt);
  return err;
}

static int open_store(const cg_config_t *c, int readonly, cg_store_t **out, cg_why_t *why) {
  cg_store_opts_t o = {.path = c->store_path, .map_size = c->map_size,
                       .max_readers = c->max_readers, .readonly = readonly,
                       .group_commit = 1};
  return cg_store_open(out, &o, why);
}

/* ---- signals ------------------------------------------------------------------------- */

static void wake_all(void) {
  for (int i = 0; i < srv.nworkers; i++)
    cg_worker_wake(srv.workers[i]);
}

static void on_drain_delay(uv_timer_t *t) {
  (void)t;
  say("drain: closing listeners, finishing in-flight requests");
  atomic_store(&srv.state, CG_STATE_STOPPING);
  wake_all();
}

static void on_term(uv_signal_t *s, int signum) {
  cg_runtime_t *rt = atomic_load(&srv.rt);
  (void)s;
  if (srv.state >= CG_STATE_DRAINING)
    return;
  say("%s: draining (readiness 503 for %u ms, then at most %u ms to finish)",
      signum == SIGINT ? "SIGINT" : "SIGTERM", rt->cfg->drain_delay_ms,
      rt->cfg->drain_timeout_ms);
  atomic_store(&srv.state, CG_STATE_DRAINING);
  drain_deadline_ms = uv_now(uv_default_loop()) + rt->cfg->drain_delay_ms +
                      rt->cfg->drain_timeout_ms;
  uv_timer_start(&drain_timer, on_drain_delay, rt->cfg->drain_delay_ms, 0);
}

/* Loads the configuration, venues and trust store again and puts them in
 * force (SIGHUP, or a CRL going stale: cause says which, for the log). */
static int reload(const char *cause) {
  cg_runtime_t *old = atomic_load(&srv.rt), *rt;
  cg_why_t why = {""};
  int err;

  if ((err = load_runtime(srv.config_path, srv.store, &rt, &why)) != 0) {
    say("%s: the new configuration is refused, the old one keeps serving: %s", cause, why.text);
    return err;
  }
  if (strcmp(rt->cfg->listen, old->cfg->listen) != 0 || rt->cfg->workers != old->cfg->workers ||
      strcmp(rt->cfg->store_path, old->cfg->store_path) != 0)
    say("%s: listen, workers and store path take effect at the next start", cause);
  {
    /* Of [upstream], the platforms' credentials (and the stated purpose)
     * are taken now; tiers, addresses, timeouts and breakers at the next
     * start. */
    cg_why_t uwhy = {""};
    int n = cg_upstream_reload(srv.upstream, rt->cfg, &uwhy);
    if (n < 0)
      say("%s: %s: they take effect at the next start (the credentials and purpose too)", cause,
          uwhy.text);
    else if (n > 0)
      say("%s: new credentials or purpose for %d upstream platform%s", cause, n, n == 1 ? "" : "s");
    if (n >= 0 && uwhy.text[0] != '\0')
      say("%s: %s", cause, uwhy.text);
  }
  rt->gen = old->gen + 1;
  rt->older = old;
  atomic_store_explicit(&srv.rt, rt, memory_order_release);
  atomic_store(&srv.trust_gen, rt->trust_gen);
  wake_all();
  if (rt->trust_gen != old->trust_gen)
    cg_seals_rescan(srv.seals);
  say("%s: configuration %u reloaded (%zu venues, trust generation %08x%s%s)", cause,
      (unsigned)rt->gen, cg_venue_registry_count(rt->venues), rt->trust_gen,
      rt->trust_gen == old->trust_gen ? ", unchanged" : "",
      cg_trust_stale(rt->trust) ? "; a CRL is out of force: its CA's seals fail as trust_stale"
                                : "");
  return 0;
}

static void on_hup(uv_signal_t *s, int signum) {
  (void)s, (void)signum;
  reload("SIGHUP");
}

/* When a CRL goes out of force (its nextUpdate passes) or comes into force,
 * the trust store is loaded again as on SIGHUP: the same files make another
 * generation, and every seal is judged again — failing closed (trust_stale)
 * under a CRL out of force, until a fresh one is put in place and certgw is
 * told (SIGHUP). A reload refused (a config half edited) is tried again
 * every RETRY_MS: the old generation must not go on vouching. */
#define RETRY_MS 5000
static void check_trust_fresh(const cg_runtime_t *rt) {
  static uint64_t retry_at;
  time_t until = cg_trust_fresh_until(rt->trust);
  uint64_t now = uv_now(uv_default_loop());
  if (until == 0 || time(NULL) <= until || now < retry_at)
    return; /* (past by a second, as the CRL checks count it: trust.c) */
  retry_at = reload("revocation data out of date") == 0 ? 0 : now + RETRY_MS;
}

/* Frees snapshots no worker can still be using, and ends the main loop
 * when every worker has finished (or forces them at the drain deadline). */
static void on_tick(uv_timer_t *t) {
  cg_runtime_t *rt = atomic_load(&srv.rt);
  uint64_t min_gen = rt->gen;
  int done = 0;
  (void)t;

  if (srv.state < CG_STATE_DRAINING) {
    check_trust_fresh(rt);
    rt = atomic_load(&srv.rt);
    min_gen = rt->gen;
  }
  for (int i = 0; i < srv.nworkers; i++) {
    uint64_t g = atomic_load(&srv.workers[i]->seen_gen);
    if (g < min_gen)
      min_gen = g;
    done += atomic_load(&srv.workers[i]->done);
  }
  if (rt->older != NULL && min_gen == rt->gen) {
    /* Reloads may come faster than ticks: free the whole chain, all of it
     * older than what every worker has taken (and than what the scanner
     * may be taking a reference from: seals.c). */
    pthread_mutex_lock(&srv.rt_free_mu);
    for (cg_runtime_t *o = rt->older, *next; o != NULL; o = next) {
      next = o->older;
      runtime_free(o);
    }
    rt->older = NULL;
    pthread_mutex_unlock(&srv.rt_free_mu);
  }
  if (srv.state >= CG_STATE_STOPPING) {
    if (done == srv.nworkers) {
      uv_stop(uv_default_loop());
    } else if (uv_now(uv_default_loop()) >= drain_deadline_ms) {
      for (int i = 0; i < srv.nworkers; i++)
        srv.workers[i]->force_close = 1;
      wake_all();
    }
  }
}

/* ---- start ---------------------------------------------------------------------------- */

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      say("cannot raise the open-files limit: %s", strerror(errno));
  }
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'k'},
      {"workers", required_argument, NULL, 'w'}, {"listen", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  const char *listen = NULL;
  int check = 0, workers = -1, c, err;
  cg_runtime_t *rt;
  cg_why_t why = {""};
  cg_config_t *cfg;

  while ((c = getopt_long(argc, argv, "c:w:l:hV", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'c': srv.config_path = optarg; break;
    case 'k': check = 1; break;
    case 'w':
      workers = (int)strtol(optarg, &end, 10);
      if (*end || workers < 1 || workers > 256) {
        say("--workers takes a number from 1 to 256");
        return 2;
      }
      break;
    case 'l': listen = optarg; break;
    case 'h': usage(stdout); return 0;
    case 'V': printf("certgw %s\n", CG_VERSION); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (srv.config_path == NULL || optind != argc) {
    usage(stderr);
    return 2;
  }
  cg_json_init();

  /* The config first, alone, so that --check names its errors exactly. */
  if ((err = cg_config_load(&cfg, srv.config_path, &why)) != 0) {
    say("%s", why.text);
    return 1;
  }
  /* Read-write: seal verdicts are written back by the writer thread. */
  err = open_store(cfg, check, &srv.store, &why);
  cg_config_free(cfg);
  if (err != 0) {
    say("%s", why.text);
    return 1;
  }
  if ((err = load_runtime(srv.config_path, srv.store, &rt, &why)) != 0) {
    say("%s", why.text);
    return 1;
  }
  rt->gen = 1;
  if (check) {
    /* The tiers' names must resolve and their CA files parse. */
    uv_loop_t loop;
    cg_upclient_t *cl = NULL;
    uv_loop_init(&loop);
    err = cg_upclient_new(&cl, &loop, rt->cfg, &why);
    cg_upclient_free(cl);
    uv_loop_close(&loop);
    if (err != 0) {
      say("%s", why.text);
      return 1;
    }
    printf("certgw: %s is valid (%zu venues, %d scopes)\n", srv.config_path,
           cg_venue_registry_count(rt->venues), rt->cfg->nscopes);
    runtime_free(rt);
    cg_store_close(srv.store);
    return 0;
  }
  atomic_store(&srv.rt, rt);
  atomic_store(&srv.trust_gen, rt->trust_gen);
  pthread_mutex_init(&srv.rt_free_mu, NULL);
  {
    cg_store_reader_t *rd = NULL;
    cg_slice_t v;
    if (cg_store_reader_open(srv.store, &rd) == 0 && cg_store_reader_begin(rd) == 0) {
      if (cg_store_get(rd, CG_DB_META, "audit_key", 9, &v) == 0 && v.len == 32)
        memcpy(srv.audit_key, v.base, 32);
      cg_store_reader_end(rd);
    }
    cg_store_reader_close(rd);
  }

  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  snprintf(srv.listen, sizeof srv.listen, "%s", listen ? listen : rt->cfg->listen);
  srv.nworkers = workers > 0 ? workers : rt->cfg->workers > 0 ? rt->cfg->workers
                                                             : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (srv.nworkers < 1)
    srv.nworkers = 1;
  if (rt->cfg->access_log[0] != '\0' &&
      (srv.log_fd = open(rt->cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
    say("access log %s: %s (logging off)", rt->cfg->access_log, strerror(errno));
  srv.started_ms = uv_hrtime() / 1000000;
  if ((err = cg_writer_start(&srv.writer, srv.store, srv.audit_key, srv.nworkers)) != 0) {
    say("cannot start the writer: %s", cg_strerror(err));
    return 1;
  }
  if ((err = cg_seals_start(&srv.seals, &srv, (int)rt->cfg->verifier_threads,
                            (int)rt->cfg->recheck)) != 0) {
    say("cannot start the seal verifiers: %s", cg_strerror(err));
    return 1;
  }
  if ((err = cg_upstream_new(&srv.upstream, &srv, rt->cfg, &why)) != 0) {
    say("cannot set up the upstream platforms: %s", why.text);
    return 1;
  }
  srv.workers = calloc((size_t)srv.nworkers, sizeof *srv.workers);
  for (int i = 0; i < srv.nworkers; i++) {
    int fd = cg_worker_listen_socket(srv.listen, &why);
    if (fd < 0) {
      say("%s", why.text);
      return 1;
    }
    srv.workers[i] = calloc(1, sizeof **srv.workers);
    if ((err = cg_worker_start(srv.workers[i], &srv, i, fd)) != 0) {
      say("cannot start worker %d: %s", i, cg_strerror(err));
      return 1;
    }
  }

  uv_signal_init(uv_default_loop(), &sig_term);
  uv_signal_start(&sig_term, on_term, SIGTERM);
  uv_signal_init(uv_default_loop(), &sig_int);
  uv_signal_start(&sig_int, on_term, SIGINT);
  uv_signal_init(uv_default_loop(), &sig_hup);
  uv_signal_start(&sig_hup, on_hup, SIGHUP);
  uv_timer_init(uv_default_loop(), &drain_timer);
  uv_timer_init(uv_default_loop(), &tick);
  uv_timer_start(&tick, on_tick, 50, 50);

  atomic_store(&srv.state, CG_STATE_SERVING);
  say("serving on %s with %d workers (%zu venues, store %s)", srv.listen, srv.nworkers,
      cg_venue_registry_count(rt->venues), rt->cfg->store_path);
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);

  for (int i = 0; i < srv.nworkers; i++)
    pthread_join(srv.workers[i]->thread, NULL);
  cg_seals_stop(srv.seals);
  cg_writer_stop(srv.writer); /* files every verdict and audit record handed over */
  cg_upstream_free(srv.upstream);
  say("drained, exiting");
  return 0;
}
