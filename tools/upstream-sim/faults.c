/* faults.c — the simulator's fault settings by name, and the draws.
 *
 * One table maps the names used by the command line (--error-rate) and by
 * POST /_sim/faults (error_rate) to the fields of sim_faults_t, so both
 * check values alike. The generator is xorshift64*: each connection thread
 * owns a state, so drawing needs no lock.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim.h"

enum { RATE, MS };

static const struct {
  const char *name;
  int kind;
  size_t off;
} fields[] = {
    {"latency", MS, offsetof(sim_faults_t, latency_ms)},
    {"jitter", MS, offsetof(sim_faults_t, jitter_ms)},
    {"error_rate", RATE, offsetof(sim_faults_t, error_rate)},
    {"hang_rate", RATE, offsetof(sim_faults_t, hang_rate)},
    {"reset_rate", RATE, offsetof(sim_faults_t, reset_rate)},
    {"garbage_rate", RATE, offsetof(sim_faults_t, garbage_rate)},
    {"slow_rate", RATE, offsetof(sim_faults_t, slow_rate)},
    {"slow_ms", MS, offsetof(sim_faults_t, slow_ms)},
    {"close_rate", RATE, offsetof(sim_faults_t, close_rate)},
};

int sim_faults_set(sim_faults_t *f, const char *name, double v, cg_why_t *why) {
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    char *p = (char *)f + fields[i].off;
    if (strcmp(fields[i].name, name) != 0)
      continue;
    if (fields[i].kind == RATE) {
      if (!(v >= 0 && v <= 1)) /* also refuses NaN */
        return cg_why_set(why, CG_EBADREQ, "%s must be a probability from 0 to 1", name);
      memcpy(p, &v, sizeof v);
    } else {
      if (!(v >= 0 && v <= SIM_FAULT_MS_MAX) || v != floor(v))
        return cg_why_set(why, CG_EBADREQ, "%s must be whole milliseconds from 0 to %d", name,
                          SIM_FAULT_MS_MAX);
      unsigned ms = (unsigned)v;
      memcpy(p, &ms, sizeof ms);
    }
    return 0;
  }
  return cg_why_set(why, CG_EBADREQ, "unknown fault \"%.40s\"", name);
}

int sim_faults_json(const sim_faults_t *f, cg_buf_t *out) {
  int err = cg_buf_putc(out, '{');
  for (size_t i = 0; i < sizeof fields / sizeof *fields && err == 0; i++) {
    const char *p = (const char *)f + fields[i].off;
    const char *sep = i ? "," : "";
    if (fields[i].kind == RATE) {
      double v;
      memcpy(&v, p, sizeof v);
      err = cg_buf_printf(out, "%s\"%s\":%.17g", sep, fields[i].name, v);
    } else {
      unsigned v;
      memcpy(&v, p, sizeof v);
      err = cg_buf_printf(out, "%s\"%s\":%u", sep, fields[i].name, v);
    }
  }
  return err ? err : cg_buf_putc(out, '}');
}

/* ---- the generator --------------------------------------------------------- */

uint64_t sim_rng_seed(void) {
  static atomic_uint_fast64_t counter;
  struct timespec ts;
  uint64_t z;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  /* splitmix64 of the clock and a counter: two threads started within the
   * same nanosecond still get different states, and the state is never 0. */
  z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
      0x9E3779B97F4A7C15u * (atomic_fetch_add(&counter, 1) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  z ^= z >> 31;
  return z ? z : 1;
}

double sim_rng_next(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (double)((x * 0x2545F4914F6CDD1Du) >> 11) * 0x1.0p-53;
}

int sim_rng_hit(uint64_t *state, double p) {
  if (p <= 0)
    return 0;
  if (p >= 1)
    return 1;
  return sim_rng_next(state) < p;
}

void sim_sleep_ms(unsigned ms) {
  struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  while (nanosleep(&t, &t) != 0 && errno == EINTR)
    ;
}
