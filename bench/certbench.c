/* certbench — load generator and comparison harness (issue 4).
 *
 * Until issue 4 lands this program only explains itself and refuses to run.
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
  fputs("usage: certbench --target HOST:PORT --demo DIR/demo.json [options]\n"
        "\n"
        "Closed- and open-loop load generator for certgw. Not implemented yet:\n"
        "it arrives with issue 4.\n",
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
