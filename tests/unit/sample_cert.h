/* sample_cert.h — the valid certificate the unit tests build on: an
 * identifier of type 11100000000013338W032 issued by 11220000013544541J
 * (right check character), a citizen holder with a valid ID number, and a
 * seal whose bytes are arbitrary (no test here verifies it). */
#ifndef CG_SAMPLE_CERT_H
#define CG_SAMPLE_CERT_H

#define IDENT "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
#define TYPE "11100000000013338W032"
#define ISSUER "11220000013544541J"
#define HOLDER "11010519491231002X"
/* base64 of the 70 bytes (3i+1) mod 256, i = 0..69 */
#define SIG_B64                                                                                    \
  "AQQHCg0QExYZHB8iJSgrLjE0Nzo9QENGSUxPUlVYW15hZGdqbXBzdnl8f4KFiIuOkZSXmp2go6"                     \
  "aprK+ytbi7vsHEx8rN0A"                                                                           \
  "=="
#define SIGNER_HEX "8684db073c905e23395a246d9101b38f83a75f897d32ec78208738a26418b95b"
#define SEAL_JSON                                                                                  \
  "{\"algorithm\":\"ES256\",\"signature\":\"" SIG_B64 "\",\"signer\":\"" SIGNER_HEX "\"}"

/* The members every sample starts with (status, seal, identifier, name,
 * type code, number), each followed by a comma. */
#define SAMPLE_HEAD                                                                                \
  "\"status\":\"valid\",\"seal\":" SEAL_JSON ","                                                   \
  "\"certificateIdentifier\":\"" IDENT "\","                                                       \
  "\"certificateName\":\"居住证\","                                                             \
  "\"certificateTypeCode\":\"" TYPE "\","                                                          \
  "\"certificateNumber\":\"京2024-0001\","

#endif
