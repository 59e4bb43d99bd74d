/* config.h — the certgw configuration file (conf/certgw.conf explains each key).
 *
 * An INI file read with inih. A cg_config_t is immutable once loaded: a
 * reload builds a new one and swaps the pointer, so readers never lock.
 * Relative paths are resolved against the directory of the config file.
 * Unknown sections and keys are errors, so a typo never passes silently.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CG_SCOPES_MAX 32
#define CG_SCOPE_NAME_MAX 32
#define CG_SCOPE_LIST_MAX 64

/* What a venue may see and do (see docs/config.md). */
typedef struct cg_scope {
  char name[CG_SCOPE_NAME_MAX];
  int all_types;                          /* types = * */
  char types[CG_SCOPE_LIST_MAX][22];      /* certificate type codes */
  int ntypes;
  int all_fields;                         /* fields = * */
  char fields[CG_SCOPE_LIST_MAX][48];     /* visible top-level fields */
  int nfields;
  char mask[CG_SCOPE_LIST_MAX][48];       /* fields shown masked */
  int nmask;
  int can_scan, can_fetch, can_list, can_verify;
  int diagnostics; /* see certificates whose seal fails, marked invalid */
  int single_use;  /* a QR code opens once per venue */
  unsigned rate;   /* requests a second per venue (0: no limit) */
  unsigned burst;  /* bucket size (0: rate) */
  /* Filled by cg_view_scope_prepare (loading a config calls it), for the
   * views: a bit per (name length, last byte) of each entry of fields and
   * mask, top-level and data.*, so that one test rules most member names
   * out; and each mask entry's rule. Left 0 the views do without them. */
  int prepared;
  uint64_t field_bits, mask_bits, data_field_bits, data_mask_bits;
  unsigned char mask_rule[CG_SCOPE_LIST_MAX];
} cg_scope_t;

#define CG_TIERS_MAX 4
#define CG_TIER_ADDRS_MAX 8

/* One upstream platform (docs/upstream.md): asked in section order. */
typedef struct cg_tier {
  char name[CG_SCOPE_NAME_MAX];     /* [upstream NAME] */
  struct cg_tier_addr {
    int tls;                        /* https:// */
    char host[128];
    unsigned port;
  } addrs[CG_TIER_ADDRS_MAX];
  int naddrs;
  char access_id[128];
  char token[256];
  unsigned connect_timeout_ms;
  unsigned timeout_ms;              /* one call, connect included */
  char ca_file[4096];               /* https: the platform's CA */
  char server_name[128];            /* https: the name checked; default the host */
  int all_types;
  char types[CG_SCOPE_LIST_MAX][22];
  int ntypes;
  int all_areas;
  char areas[CG_SCOPE_LIST_MAX][8]; /* issuer area code prefixes */
  int nareas;
  int feed;                         /* poll its change feed */
} cg_tier_t;

typedef struct cg_config {
  char path[4096];          /* the file it was read from */
  char listen[256];         /* server.listen, "HOST:PORT" */
  int workers;              /* server.workers; 0: one per core */
  unsigned header_timeout_ms;   /* server.header_timeout: whole request head */
  unsigned body_timeout_ms;     /* server.body_timeout: between body reads */
  unsigned idle_timeout_ms;     /* server.idle_timeout: keep-alive between requests */
  unsigned write_timeout_ms;    /* server.write_timeout: a write making no progress */
  unsigned drain_delay_ms;      /* server.drain_delay: /readyz 503 before closing */
  unsigned drain_timeout_ms;    /* server.drain_timeout: then everything closes */
  unsigned max_header_bytes;    /* server.max_header_bytes (431) */
  unsigned max_headers;         /* server.max_headers (431) */
  unsigned max_body_bytes;      /* server.max_body_bytes (413) */
  unsigned max_connections;     /* server.max_connections, per worker */
  uint64_t send_buffer;         /* server.send_buffer: SO_SNDBUF of a client socket; 0: kernel's */
  unsigned proxy_protocol;      /* server.proxy_protocol: connections open with a PROXY v1 line */
  char access_log[4096];        /* server.access_log: a path, or empty for off */
  unsigned access_log_sample;   /* server.access_log_sample: one request in N */
  char trusted_proxies[256];    /* server.trusted_proxies: IPs whose X-Forwarded-For counts */
  char store_path[4096];    /* store.path */
  uint64_t map_size;        /* store.map_size, bytes */
  unsigned max_readers;     /* store.max_readers */
  char trust_dir[4096];     /* seal.trust_dir */
  unsigned verifier_threads; /* seal.verifier_threads; 0: one per core */
  unsigned recheck;          /* seal.recheck: re-check stale verdicts in the background */
  char keyring[4096];       /* token.keyring */
  unsigned token_max_ttl;   /* token.max_ttl, seconds */
  unsigned token_skew;      /* token.skew, seconds of clock difference forgiven */
  cg_scope_t scopes[CG_SCOPES_MAX];
  int nscopes;
  /* [upstream]: see docs/upstream.md */
  char up_purpose[256];
  unsigned up_deadline_ms;
  unsigned up_negative_ttl_ms;
  unsigned up_refresh_s;
  unsigned up_retry_budget;   /* percent */
  unsigned up_breaker_failures;
  unsigned up_breaker_open_ms;
  unsigned up_eject_ms;
  unsigned up_feed_interval_ms;
  unsigned up_pool;
  cg_tier_t tiers[CG_TIERS_MAX];
  int ntiers;
} cg_config_t;

/* Reads path into a new config. Returns 0, or CG_ECONFIG / CG_EIO with
 * "file:line: what" in why. *out is the caller's: free it with cg_config_free. */
int cg_config_load(cg_config_t **out, const char *path, cg_why_t *why);
void cg_config_free(cg_config_t *c);

/* The scope called name, or NULL. */
const cg_scope_t *cg_config_scope(const cg_config_t *c, const char *name);

/* Does tier t cover an identifier of this type (21 characters) and issuer
 * credit code (18)? */
int cg_config_tier_covers(const cg_tier_t *t, const char *type_code, const char *issuer);

/* Parses "64G", "512M", "4096" into bytes. Returns 0 or CG_ECONFIG. */
int cg_config_size(const char *s, uint64_t *out);

#endif
