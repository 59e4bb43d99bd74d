/* certgw-upstream-sim — a city or provincial e-certificate platform, simulated.
 *
 * Serves the upstream protocol of docs/upstream.md from a JSON Lines data
 * set, with faults to order, for certgw's tests and benchmarks; one process
 * per platform. This file reads the options, loads the data, listens, and
 * accepts: each connection gets a thread of its own (http.c), which is
 * plenty for the few hundred connections a test or a benchmark opens.
 * SIGTERM and SIGINT end the process at once, hung connections and all.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/json.h"
#include "sim.h"

static void usage(FILE *f) {
  fputs(
      "usage: certgw-upstream-sim --name NAME --listen HOST:PORT --data FILE.jsonl [options]\n"
      "\n"
      "Simulates a city or provincial e-certificate platform (docs/upstream.md):\n"
      "GET /v1/certificates/ID, /v1/holders/CODE/certificates[?type=T] and\n"
      "/v1/changes?since=CURSOR[&limit=N], from sealed certificates in the\n"
      "`certctl export` format. Every call needs X-Purpose.\n"
      "\n"
      "  --name NAME           the platform's name, for its messages\n"
      "  --listen HOST:PORT    where to listen ([::1]:PORT for IPv6; port 0: any free one)\n"
      "  --data FILE.jsonl     the certificates, one JSON object with its seal a line\n"
      "  --access-id ID        require X-Access-Id: ID ...\n"
      "  --token T             ... and X-Access-Token: T (401 otherwise); give both or neither\n"
      "  --latency MS          delay every answer by MS milliseconds ...\n"
      "  --jitter MS           ... plus a uniform 0..MS\n"
      "  --error-rate P        answer a share P (0..1) of calls 500\n"
      "  --hang-rate P         never answer a share P of calls (the connection stays open)\n"
      "  --reset-rate P        reset the connection (RST) instead of answering a share P\n"
      "  --garbage-rate P      answer a share P 200 with a body that is not JSON\n"
      "  --slow-rate P         send the body of a share P of answers a few bytes at a time ...\n"
      "  --slow-ms MS          ... over MS milliseconds (default 1000)\n"
      "  --close-rate P        answer a share P without Content-Length, the body ended by\n"
      "                        closing the connection (as HTTP/1.0 servers may)\n"
      "  --tls-cert FILE       speak TLS with this certificate (PEM, chain after it) ...\n"
      "  --tls-key FILE        ... and this key (PEM)\n"
      "  -h, --help            this text\n"
      "\n"
      "Faults apply to the protocol's calls only, never to these:\n"
      "  GET  /_sim/stats      {\"requests\": {\"certificate\": N, \"holder\": N, \"changes\": N}}\n"
      "  GET  /_sim/faults     the fault settings, named as the options (error_rate, slow_ms)\n"
      "  POST /_sim/faults     change some: {\"error_rate\": 1, \"latency\": 300}\n"
      "  POST /_sim/revoke     {\"certificateIdentifier\": \"...\"}: a \"revoked\" change\n"
      "  POST /_sim/put        a certificate object: a \"new\" or \"updated\" change\n"
      "\n"
      "Prints \"certgw-upstream-sim NAME listening on HOST:PORT\" on stderr when\n"
      "ready; exits 0 on SIGTERM or SIGINT.\n",
      f);
}

enum { O_NAME = 256, O_LISTEN, O_DATA, O_ACCESS_ID, O_TOKEN, O_TLS_CERT, O_TLS_KEY, O_FAULT };

static const struct option options[] = {
    {"name", required_argument, NULL, O_NAME},
    {"listen", required_argument, NULL, O_LISTEN},
    {"data", required_argument, NULL, O_DATA},
    {"access-id", required_argument, NULL, O_ACCESS_ID},
    {"token", required_argument, NULL, O_TOKEN},
    {"tls-cert", required_argument, NULL, O_TLS_CERT},
    {"tls-key", required_argument, NULL, O_TLS_KEY},
    /* Every fault option is named as in POST /_sim/faults, "-" for "_". */
    {"latency", required_argument, NULL, O_FAULT},
    {"jitter", required_argument, NULL, O_FAULT},
    {"error-rate", required_argument, NULL, O_FAULT},
    {"hang-rate", required_argument, NULL, O_FAULT},
    {"reset-rate", required_argument, NULL, O_FAULT},
    {"garbage-rate", required_argument, NULL, O_FAULT},
    {"slow-rate", required_argument, NULL, O_FAULT},
    {"slow-ms", required_argument, NULL, O_FAULT},
    {"close-rate", required_argument, NULL, O_FAULT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int fault_option(sim_faults_t *f, const char *opt, const char *arg) {
  char name[32], *end;
  cg_why_t why;
  double v;

  snprintf(name, sizeof name, "%s", opt);
  for (char *p = name; *p; p++)
    if (*p == '-')
      *p = '_';
  errno = 0;
  v = strtod(arg, &end);
  if (end == arg || *end != '\0' || errno != 0) {
    fprintf(stderr, "certgw-upstream-sim: --%s: \"%s\" is not a number\n", opt, arg);
    return -1;
  }
  if (sim_faults_set(f, name, v, &why) != 0) {
    fprintf(stderr, "certgw-upstream-sim: --%s: %s\n", opt, why.text);
    return -1;
  }
  return 0;
}

/* Binds HOST:PORT (SO_REUSEADDR, so a restarted simulator gets its port
 * back at once) and listens. The caller has checked that spec has a colon
 * with a port after it. Returns the socket, or -1 with a message. */
static int listen_on(const char *spec, char *shown, size_t shown_cap) {
  char host[256];
  const char *colon = strrchr(spec, ':');
  struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res, *ai;
  size_t hlen;
  int fd = -1, rc, one = 1;

  if ((hlen = (size_t)(colon - spec)) >= sizeof host) {
    fprintf(stderr, "certgw-upstream-sim: --listen %s: the host name is too long\n", spec);
    return -1;
  }
  memcpy(host, spec, hlen);
  host[hlen] = '\0';
  if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') { /* [::1]:9101 */
    memmove(host, host + 1, hlen - 2);
    host[hlen - 2] = '\0';
  }
  if ((rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res)) != 0) {
    fprintf(stderr, "certgw-upstream-sim: --listen %s: %s\n", spec, gai_strerror(rc));
    return -1;
  }
  for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
      rc = errno;
      close(fd);
      fd = -1;
      errno = rc;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    fprintf(stderr, "certgw-upstream-sim: --listen %s: %s\n", spec, strerror(errno));
    return -1;
  }
  /* Port 0 asks for any free port: show the one the system chose. */
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char port[16];
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
      getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, port, sizeof port, NI_NUMERICSERV) != 0)
    snprintf(port, sizeof port, "%s", colon + 1);
  snprintf(shown, shown_cap, "%.*s:%s", (int)hlen, spec, port);
  return fd;
}

struct acceptor {
  sim_t *sim;
  int fd;
};

static void *accept_main(void *arg) {
  struct acceptor *ac = arg;
  for (;;) {
    int fd = accept4(ac->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
      sim_http_start(ac->sim, fd);
    else if (errno != EINTR && errno != ECONNABORTED)
      sim_sleep_ms(50); /* out of descriptors or memory: wait rather than spin */
  }
  return NULL;
}

int main(int argc, char **argv) {
  static sim_t sim; /* zeroed: no faults, counters at 0 */
  const char *listen_spec = NULL, *data_file = NULL, *cert_file = NULL, *key_file = NULL;
  static struct acceptor ac;
  char shown[300];
  cg_why_t why;
  size_t line;
  sigset_t stop;
  pthread_t t;
  int opt, idx, sig;

  sim.faults.slow_ms = 1000;
  pthread_mutex_init(&sim.faults_mu, NULL);
  while ((opt = getopt_long(argc, argv, "h", options, &idx)) != -1) {
    switch (opt) {
    case O_NAME: sim.name = optarg; break;
    case O_LISTEN: listen_spec = optarg; break;
    case O_DATA: data_file = optarg; break;
    case O_ACCESS_ID: sim.access_id = optarg; break;
    case O_TOKEN: sim.token = optarg; break;
    case O_TLS_CERT: cert_file = optarg; break;
    case O_TLS_KEY: key_file = optarg; break;
    case O_FAULT:
      if (fault_option(&sim.faults, options[idx].name, optarg) != 0)
        return 2;
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind < argc || sim.name == NULL || listen_spec == NULL || data_file == NULL) {
    fputs(optind < argc ? "certgw-upstream-sim: unexpected arguments\n"
                        : "certgw-upstream-sim: --name, --listen and --data are needed\n",
          stderr);
    usage(stderr);
    return 2;
  }
  if (strrchr(listen_spec, ':') == NULL || strrchr(listen_spec, ':')[1] == '\0') {
    fprintf(stderr, "certgw-upstream-sim: --listen wants HOST:PORT, not \"%s\"\n", listen_spec);
    return 2;
  }
  if ((sim.access_id == NULL) != (sim.token == NULL) || (cert_file == NULL) != (key_file == NULL)) {
    fputs("certgw-upstream-sim: --access-id goes with --token, --tls-cert with --tls-key\n",
          stderr);
    return 2;
  }

  cg_json_init();
  if (sim_data_load(data_file, &sim.data, &line, &why) != 0) {
    if (line > 0)
      fprintf(stderr, "certgw-upstream-sim %s: %s:%zu: %s\n", sim.name, data_file, line, why.text);
    else
      fprintf(stderr, "certgw-upstream-sim %s: %s: %s\n", sim.name, data_file, why.text);
    return 1;
  }
  if (cert_file != NULL && sim_tls_new(cert_file, key_file, &sim.tls, &why) != 0) {
    fprintf(stderr, "certgw-upstream-sim %s: %s\n", sim.name, why.text);
    return 1;
  }
  if ((ac.fd = listen_on(listen_spec, shown, sizeof shown)) < 0)
    return 1;
  ac.sim = &sim;

  /* Threads inherit the mask: only sigwait below sees these. A peer that
   * closes mid-write must not kill the process either. */
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (pthread_create(&t, NULL, accept_main, &ac) != 0) {
    fprintf(stderr, "certgw-upstream-sim %s: cannot start a thread\n", sim.name);
    return 1;
  }
  fprintf(stderr, "certgw-upstream-sim %s listening on %s\n", sim.name, shown);
  while (sigwait(&stop, &sig) != 0)
    ;
  /* Connections are not drained: a simulated platform may just vanish. */
  exit(0);
}
