/* seal_cert.c — certificates the integration tests need that no data set
 * holds, sealed as an issuing agency would seal them.
 *
 *   seal_cert ambiguous
 *       prints an 18-character holder code that is valid both as a GB 11643
 *       citizen ID number and as a GB 32100 unified social credit code
 *   seal_cert reseal CERT.pem KEY.pem TYPE CODE < LINE
 *       reads one certificate (a JSON line, sealed or not), gives it a
 *       holder of type TYPE (111 or 001) and code CODE, seals its canonical
 *       body again with the agency's key and prints it as one JSON line
 *
 * Only core/ is used: the same checks, canonical body and seal as certctl.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cert.h"
#include "core/ident.h"
#include "core/seal.h"
#include "core/signer.h"

static int ambiguous(void) {
  /* Area codes whose first two digits also open a credit code (the
   * registering authority and the kind of body), birth dates, sequence
   * numbers: the first code both checks accept. */
  static const char *areas[] = {"110101", "110102", "120101", "130102", "510104",
                                "520102", "910101", "930102", "130101", "310101"};
  char c[19];
  for (size_t a = 0; a < sizeof areas / sizeof areas[0]; a++)
    for (int day = 1; day <= 28; day++)
      for (int seq = 0; seq < 1000; seq++)
        for (char check = '0'; check <= '9'; check++) {
          snprintf(c, sizeof c, "%s198001%02d%03d%c", areas[a], day, seq, check);
          if (cg_ident_citizen_validate(c, 18, NULL) == 0 &&
              cg_ident_uscc_validate(c, 18, NULL) == 0) {
            puts(c);
            return 0;
          }
        }
  fputs("seal_cert: no code valid as both found\n", stderr);
  return 1;
}

static int reseal(const char *cert, const char *key, const char *type, const char *code) {
  static char line[CG_CERT_LINE_MAX + 2];
  size_t len = fread(line, 1, sizeof line - 1, stdin);
  cg_signer_t *signer = NULL;
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_why_t why = {""};
  cg_buf_t body, sj;
  cJSON *o;
  int err;

  line[len] = '\0';
  if ((o = cJSON_Parse(line)) == NULL || !cJSON_IsObject(o)) {
    fputs("seal_cert: stdin is no JSON object\n", stderr);
    return 1;
  }
  cJSON_DeleteItemFromObjectCaseSensitive(o, "seal");
  cJSON_ReplaceItemInObjectCaseSensitive(o, "certificateHolderCode", cJSON_CreateString(code));
  cJSON_ReplaceItemInObjectCaseSensitive(o, "certificateHolderTypeCode", cJSON_CreateString(type));
  cJSON_DeleteItemFromObjectCaseSensitive(o, "certificateHolderTypeName");
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  cg_buf_init(&sj, 4096);
  if ((err = cg_cert_from_json(o, &body, &meta, NULL, &why)) != 0) {
    fprintf(stderr, "seal_cert: the certificate is refused: %s\n", why.text);
    return 1;
  }
  if ((err = cg_signer_load_files(&signer, cert, key)) != 0 ||
      (err = cg_seal_sign(signer, body.base, body.len, &seal)) != 0 ||
      (err = cg_cert_seal_json(&seal, &sj)) != 0) {
    fprintf(stderr, "seal_cert: cannot seal with %s: %s\n", key, cg_strerror(err));
    return 1;
  }
  /* The canonical body, the seal as its last member. */
  printf("%.*s,\"seal\":%.*s}\n", (int)body.len - 1, body.base, (int)sj.len, sj.base);
  cg_signer_free(signer);
  cg_buf_free(&body);
  cg_buf_free(&sj);
  cJSON_Delete(o);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "ambiguous") == 0)
    return ambiguous();
  if (argc == 6 && strcmp(argv[1], "reseal") == 0)
    return reseal(argv[2], argv[3], argv[4], argv[5]);
  fputs("usage: seal_cert ambiguous | seal_cert reseal CERT.pem KEY.pem TYPE CODE < LINE\n",
        stderr);
  return 2;
}
