/* certgw-upstream-sim — the upstream platform simulator (issue 7).
 *
 * Until the upstream protocol lands (docs/upstream.md, issue 7) this program
 * only explains itself and refuses to run, so no test can mistake it for a
 * working platform.
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fputs("usage: certgw-upstream-sim --data FILE.jsonl --listen HOST:PORT [options]\n"
        "\n"
        "Simulates a city or provincial e-certificate platform for tests and\n"
        "benchmarks. Not implemented yet: it arrives with issue 7.\n",
        f);
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}
