/* certctl.h — what the certctl subcommands share: option parsing of the
 * common -c/-d options, opening the store they name, and the progress bar. */
#ifndef CERTCTL_H
#define CERTCTL_H

#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "core/store.h"

/* Where a command finds the store: -c CONF (its [store] path) or -d DIR. */
typedef struct ctl_target {
  const char *config; /* -c */
  const char *data;   /* -d */
} ctl_target_t;

/* Opens the store named by t; prints what is wrong and returns NULL on
 * failure. *cfg receives the config when -c was given (else NULL). */
cg_store_t *ctl_open_store(const ctl_target_t *t, int readonly, cg_config_t **cfg);

/* A progress bar on stderr, drawn only when stderr is a terminal and at most
 * ten times a second. */
typedef struct ctl_progress {
  int tty;
  const char *what;
  double start, last;
} ctl_progress_t;

void ctl_progress_init(ctl_progress_t *p, const char *what);
void ctl_progress_update(ctl_progress_t *p, uint64_t done, uint64_t total, uint64_t items);
void ctl_progress_done(ctl_progress_t *p);
double ctl_now(void);

int ctl_demo(int argc, char **argv);
/* Writes DIR/upstream/tls/ for tests of HTTPS upstreams (demo_tls.c).
 * Returns 0 or a CG_E code, having said what failed on stderr. */
int ctl_demo_tls(const char *dir);
int ctl_import(int argc, char **argv);
int ctl_export(int argc, char **argv);
int ctl_stat(int argc, char **argv);
int ctl_audit(int argc, char **argv);
int ctl_venue(int argc, char **argv);
int ctl_verify(int argc, char **argv);
int ctl_trust(int argc, char **argv);
int ctl_mint(int argc, char **argv);

#endif
