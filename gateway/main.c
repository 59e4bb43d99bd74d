/* certgw — the gateway (issue 3 turns this into the server). */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fputs("usage: certgw -c FILE [--check] [--workers N] [--listen ADDR:PORT]\n"
        "\n"
        "The serving gateway arrives with issue 3.\n",
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
