/* certctl — the operator's and developer's tool: demo deployments, import
 * and export, store figures, venues, seal checks, the trust store and QR
 * codes. Each subcommand lives in its own file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "certctl.h"

static const struct {
  const char *name;
  int (*run)(int, char **);
  const char *summary;
} commands[] = {
    {"demo", ctl_demo, "create a self-contained demo deployment"},
    {"import", ctl_import, "load certificates from JSON Lines into the store"},
    {"export", ctl_export, "write the store's certificates as JSON Lines"},
    {"stat", ctl_stat, "summarise a store"},
    {"audit", ctl_audit, "list the audit records of a holder or a venue"},
    {"venue", ctl_venue, "add, list, disable, enable or rotate venues and their keys"},
    {"verify", ctl_verify, "check seals: of a JSON Lines file, or of the whole store"},
    {"trust", ctl_trust, "list the seal trust store, add to it, revoke a signer"},
    {"mint", ctl_mint, "mint a holder's QR code (text, terminal drawing, PNG)"},
};

static void usage(FILE *f) {
  fputs("usage: certctl COMMAND [options]\n\ncommands:\n", f);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fputs("\n"
        "  certctl demo DIR [--count N] [--port P] [--seed S] [--keep-source] [--no-verify]\n"
        "                   [--upstream-ports P1,P2]\n"
        "  certctl import (-c CONF | -d DATADIR [--trust DIR]) [--threads N] [--no-verify] FILE|-\n"
        "  certctl export (-c CONF | -d DATADIR) [-o FILE]\n"
        "  certctl stat   (-c CONF | -d DATADIR) [--json]\n"
        "  certctl audit  (-c CONF | -d DATADIR) (--holder CODE | --venue ID) [--json]\n"
        "  certctl venue  add|list|disable|enable|rotate (-c CONF | -d DATADIR) ...\n"
        "  certctl verify (-c CONF | -d DATADIR --trust DIR) [--threads N] [--unchecked | FILE|-]\n"
        "  certctl trust  list|add|revoke (-c CONF | --trust DIR) ...\n"
        "  certctl mint   -c CONF --holder CODE [--holder-type 111|001] [--types T1,T2]\n"
        "                 [--ttl SECONDS] [--png FILE]\n"
        "\n"
        "-c CONF names a certgw config file (its [store] path is used);\n"
        "-d DATADIR names a store directory directly.\n"
        "`certctl COMMAND --help` explains one command.\n",
        f);
}

double ctl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

cg_store_t *ctl_open_store(const ctl_target_t *t, int readonly, cg_config_t **cfg) {
  cg_store_opts_t o = {.readonly = readonly};
  cg_config_t *c = NULL;
  cg_store_t *s;
  cg_why_t why = {""};

  if (cfg)
    *cfg = NULL;
  if ((t->config == NULL) == (t->data == NULL)) {
    fprintf(stderr, "certctl: give either -c CONF or -d DATADIR\n");
    return NULL;
  }
  if (t->config) {
    if (cg_config_load(&c, t->config, &why) != 0) {
      fprintf(stderr, "certctl: %s\n", why.text);
      return NULL;
    }
    o.path = c->store_path;
    o.map_size = c->map_size;
    o.max_readers = c->max_readers;
  } else {
    o.path = t->data;
  }
  if (cg_store_open(&s, &o, &why) != 0) {
    fprintf(stderr, "certctl: %s\n", why.text);
    cg_config_free(c);
    return NULL;
  }
  if (cfg)
    *cfg = c;
  else
    cg_config_free(c);
  return s;
}

void ctl_progress_init(ctl_progress_t *p, const char *what) {
  p->tty = isatty(2);
  p->what = what;
  p->start = ctl_now();
  p->last = 0;
}

void ctl_progress_update(ctl_progress_t *p, uint64_t done, uint64_t total, uint64_t items) {
  double now = ctl_now(), el = now - p->start;
  int width = 30, fill;
  char bar[64];

  if (!p->tty || (now - p->last < 0.1 && done < total))
    return;
  p->last = now;
  fill = total ? (int)((double)done / (double)total * width) : width;
  if (fill > width)
    fill = width;
  memset(bar, '#', (size_t)fill);
  memset(bar + fill, '.', (size_t)(width - fill));
  bar[width] = '\0';
  fprintf(stderr, "\r%s [%s] %3d%%  %llu  %.0f/s ", p->what, bar,
          total ? (int)(100.0 * (double)done / (double)total) : 100, (unsigned long long)items,
          el > 0 ? (double)items / el : 0.0);
}

void ctl_progress_done(ctl_progress_t *p) {
  if (p->tty)
    fputs("\n", stderr);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "certctl: unknown command \"%s\"\n\n", argv[1]);
  usage(stderr);
  return 2;
}
