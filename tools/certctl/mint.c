/* mint.c — certctl mint: a holder's QR code, as the holder's app platform
 * mints it (docs/qr-code.md). The text goes to standard output, one line;
 * on a terminal the code is also drawn in UTF-8 half blocks on standard
 * error, so a phone can scan it off the screen; --png writes it as an image.
 * The QR symbol is made once, by libqrencode, in alphanumeric mode (the
 * Base45 alphabet is exactly that mode's 45 characters), and libpng's
 * simplified API writes the PNG.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <png.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certctl.h"
#include "core/ident.h"
#include "core/token.h"

#define TTL_DEFAULT 300
#define QUIET_ZONE 4 /* modules of light margin that ISO/IEC 18004 asks for */
#define PNG_SCALE 8  /* pixels a module */

static const char usage_short[] =
    "usage: certctl mint -c CONF --holder CODE [--holder-type 111|001] [--types T1,T2]\n"
    "                    [--ttl SECONDS] [--png FILE]\n"
    "`certctl mint --help` explains more.\n";
static const char usage_all[] =
    "usage: certctl mint -c CONF --holder CODE [--holder-type 111|001] [--types T1,T2]\n"
    "                    [--ttl SECONDS] [--png FILE]\n"
    "\n"
    "Mints the QR code a holder shows (亮码) and a venue scans (POST /v1/scan),\n"
    "sealed under the mint key of CONF's [token] keyring, and prints its text on\n"
    "standard output, one line. On a terminal the code is drawn as well (on\n"
    "standard error), for a phone to scan off the screen.\n"
    "\n"
    "  --holder CODE       the holder's citizen ID number or unified social\n"
    "                      credit code (18 characters, check character included)\n"
    "  --holder-type T     111 (citizen) or 001 (organisation); by default a code\n"
    "                      that is a valid citizen ID number is a citizen's, else\n"
    "                      an organisation's\n"
    "  --types T1,T2       the certificate type codes (21 characters each, at most\n"
    "                      4) the holder shows; by default every type\n"
    "  --ttl SECONDS       lifetime, 1 to token.max_ttl (default 300, or\n"
    "                      token.max_ttl if less)\n"
    "  --png FILE          also write the QR code as a PNG image\n"
    "\n"
    "Exit status: 0 done, 1 refused or failed (the reason on standard error),\n"
    "2 bad usage.\n";

enum { OPT_HOLDER = 1000, OPT_HOLDER_TYPE, OPT_TYPES, OPT_TTL, OPT_PNG, OPT_HELP };

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
  va_list ap;
  fputs("certctl mint: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n", stderr);
  fputs(usage_short, stderr);
  return 2;
}

/* The holder type of --holder-type, or inferred from the code: a valid
 * citizen ID number is a citizen's. About one in 31 is a valid credit code
 * too (18 digits with a MOD 31 check character that happens to match);
 * --holder-type settles those. Returns CG_HOLDER_… or 0 after saying what
 * is wrong. */
static int holder_type_of(const char *code, const char *given) {
  cg_why_t citizen = {""}, org = {""};
  int type;

  if (given != NULL) {
    if ((type = cg_ident_holder_type(given, strlen(given))) < 0) {
      fprintf(stderr, "certctl mint: --holder-type is 111 or 001, not \"%s\"\n", given);
      return 0;
    }
    if (cg_ident_holder_validate(type, code, strlen(code), &citizen) != 0) {
      fprintf(stderr, "certctl mint: holder %s is not a valid %s: %s\n", code,
              type == CG_HOLDER_CITIZEN ? "citizen ID number" : "credit code", citizen.text);
      return 0;
    }
    return type;
  }
  if (cg_ident_citizen_validate(code, strlen(code), &citizen) == 0)
    return CG_HOLDER_CITIZEN;
  if (cg_ident_uscc_validate(code, strlen(code), &org) == 0)
    return CG_HOLDER_ORG;
  fprintf(stderr,
          "certctl mint: holder %s is neither a citizen ID number (%s) nor a credit code (%s)\n",
          code, citizen.text, org.text);
  return 0;
}

/* Adds each code of the comma-separated list; spaces around codes are
 * allowed. Returns 0 or -1 after saying what is wrong. */
static int add_types(cg_token_claims_t *c, const char *list) {
  const char *p = list;

  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    cg_why_t why = {""};

    while (len > 0 && *p == ' ')
      p++, len--;
    while (len > 0 && p[len - 1] == ' ')
      len--;
    if (len == 0) {
      fprintf(stderr, "certctl mint: --types: an empty type code in \"%s\"\n", list);
      return -1;
    }
    if (cg_token_claims_add_type(c, p, len, &why) != 0) {
      fprintf(stderr, "certctl mint: --types: \"%.*s\": %s\n", (int)len, p, why.text);
      return -1;
    }
    if (end == NULL)
      return 0;
    p = end + 1;
  }
}

/* The QR symbol of text: one alphanumeric-mode segment, error correction
 * level M (15 %), the smallest version that holds it. NULL on failure. */
static QRcode *qr_of(const char *text) {
  QRinput *in = QRinput_new2(0, QR_ECLEVEL_M);
  QRcode *qr = NULL;

  if (in != NULL && QRinput_append(in, QR_MODE_AN, (int)strlen(text),
                                   (const unsigned char *)text) == 0)
    qr = QRcode_encodeInput(in);
  QRinput_free(in);
  return qr;
}

/* 1 if module (x, y) is dark; the quiet zone around the symbol is light. */
static int dark(const QRcode *qr, int x, int y) {
  if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
    return 0;
  return qr->data[y * qr->width + x] & 1;
}

static int write_png(const QRcode *qr, const char *path) {
  int side = (qr->width + 2 * QUIET_ZONE) * PNG_SCALE, ok;
  png_image img;
  uint8_t *px = malloc((size_t)side * (size_t)side);

  if (px == NULL)
    return -1;
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      px[(size_t)y * (size_t)side + (size_t)x] =
          dark(qr, x / PNG_SCALE - QUIET_ZONE, y / PNG_SCALE - QUIET_ZONE) ? 0 : 255;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = (png_uint_32)side;
  img.height = (png_uint_32)side;
  img.format = PNG_FORMAT_GRAY;
  /* The image is a bearer token until it expires: readable by its owner
   * only, and not written through a symbolic link planted in its place. */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "wb") : NULL;
  if (f == NULL) {
    fprintf(stderr, "certctl mint: %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    free(px);
    return -1;
  }
  ok = png_image_write_to_stdio(&img, f, 0, px, side, NULL);
  if (!ok)
    fprintf(stderr, "certctl mint: %s: %s\n", path, img.message);
  if (fclose(f) != 0 && ok) {
    fprintf(stderr, "certctl mint: %s: %s\n", path, strerror(errno));
    ok = 0;
  }
  png_image_free(&img);
  free(px);
  return ok ? 0 : -1;
}

/* Draws the code with two modules a character cell: light modules as the
 * foreground (bright white) on a black background, whatever the terminal's
 * colours, which is how a phone needs to see them. */
static void draw(const QRcode *qr, FILE *f) {
  static const char *const cell[4] = {" ", "\u2580", "\u2584", "\u2588"}; /* ▀ ▄ █ */
  int lo = -QUIET_ZONE, hi = qr->width + QUIET_ZONE;

  for (int y = lo; y < hi; y += 2) {
    fputs("\033[40;97m", f);
    for (int x = lo; x < hi; x++) {
      int top = !dark(qr, x, y), bottom = y + 1 < hi && !dark(qr, x, y + 1);
      fputs(cell[top | bottom << 1], f);
    }
    fputs("\033[0m\n", f);
  }
}

int ctl_mint(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"holder", required_argument, NULL, OPT_HOLDER},
      {"holder-type", required_argument, NULL, OPT_HOLDER_TYPE},
      {"types", required_argument, NULL, OPT_TYPES},
      {"ttl", required_argument, NULL, OPT_TTL},
      {"png", required_argument, NULL, OPT_PNG},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  const char *conf = NULL, *holder = NULL, *holder_type = NULL, *types = NULL, *png = NULL;
  char text[CG_TOKEN_TEXT_MAX + 1];
  unsigned long ttl = 0;
  cg_config_t *cfg = NULL;
  cg_keyring_t *ring = NULL;
  cg_token_claims_t claims;
  cg_why_t why = {""};
  QRcode *qr = NULL;
  int c, status = 1, err;

  optind = 1;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'c': conf = optarg; break;
    case OPT_HOLDER: holder = optarg; break;
    case OPT_HOLDER_TYPE: holder_type = optarg; break;
    case OPT_TYPES: types = optarg; break;
    case OPT_PNG: png = optarg; break;
    case OPT_TTL:
      ttl = strtoul(optarg, &end, 10);
      if (optarg[0] < '0' || optarg[0] > '9' || *end || ttl < 1 || ttl > UINT16_MAX)
        return bad_usage("--ttl takes seconds, 1 to %u, not \"%s\"", UINT16_MAX, optarg);
      break;
    case 'h':
    case OPT_HELP: fputs(usage_all, stdout); return 0;
    default: fputs(usage_short, stderr); return 2;
    }
  }
  if (optind != argc)
    return bad_usage("unexpected argument \"%s\"", argv[optind]);
  if (conf == NULL || holder == NULL)
    return bad_usage("-c CONF and --holder CODE are needed");

  memset(&claims, 0, sizeof claims);
  if ((claims.holder_type = holder_type_of(holder, holder_type)) == 0)
    return 1;
  snprintf(claims.holder_code, sizeof claims.holder_code, "%s", holder);
  if (types != NULL && add_types(&claims, types) != 0)
    return 1;

  if ((err = cg_config_load(&cfg, conf, &why)) != 0) {
    fprintf(stderr, "certctl mint: %s\n", why.text);
    return 1;
  }
  if (cfg->token_max_ttl == 0) {
    fprintf(stderr, "certctl mint: token.max_ttl is 0 in %s: no code would open\n", conf);
    goto done;
  }
  if (ttl == 0)
    ttl = cfg->token_max_ttl < TTL_DEFAULT ? cfg->token_max_ttl : TTL_DEFAULT;
  if (ttl > cfg->token_max_ttl) {
    fprintf(stderr, "certctl mint: --ttl %lu is more than token.max_ttl (%u s) in %s\n", ttl,
            cfg->token_max_ttl, conf);
    goto done;
  }
  claims.lifetime = (uint16_t)ttl;
  if (cfg->keyring[0] == '\0') {
    fprintf(stderr, "certctl mint: %s names no [token] keyring\n", conf);
    goto done;
  }
  if ((err = cg_keyring_load(&ring, cfg->keyring, &why)) != 0) {
    fprintf(stderr, "certctl mint: %s\n", why.text);
    goto done;
  }
  if ((err = cg_token_mint(ring, &claims, (uint64_t)time(NULL), NULL, NULL, text, sizeof text,
                           &why)) != 0) {
    fprintf(stderr, "certctl mint: %s: %s\n", cg_strerror(err), why.text);
    goto done;
  }

  printf("%s\n", text);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    perror("certctl mint: standard output");
    goto done;
  }
  if (png != NULL || (isatty(1) && isatty(2))) {
    if ((qr = qr_of(text)) == NULL) {
      perror("certctl mint: QR encoding");
      goto done;
    }
    if (png != NULL && write_png(qr, png) != 0)
      goto done;
    if (isatty(1) && isatty(2)) {
      static const char *const asked[CG_TOKEN_TYPES_MAX + 1] = {"every type", "1 type",
                                                                "2 types", "3 types", "4 types"};
      time_t exp = (time_t)claims.issued_at + claims.lifetime;
      char when[32];
      struct tm tm;
      draw(qr, stderr);
      strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", localtime_r(&exp, &tm));
      fprintf(stderr, "QR version %d, %zu characters, key %u; %s; %s; expires %s\n",
              qr->version, strlen(text), claims.key_id,
              claims.holder_type == CG_HOLDER_CITIZEN ? "citizen" : "organisation",
              asked[claims.ntypes], when);
    }
  }
  status = 0;
done:
  QRcode_free(qr);
  cg_keyring_free(ring);
  cg_config_free(cfg);
  return status;
}
