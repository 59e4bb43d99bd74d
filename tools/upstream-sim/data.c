/* data.c — the simulated platform's certificates and its change feed.
 *
 * Each certificate is kept as the JSON text it came in (a line of the data
 * file or a /_sim/put body), indexed by identifier and by holder code, and
 * served as that text: the seal signs a canonical body that certgw rebuilds
 * itself, so nothing here needs to re-serialise. The change feed is an
 * append-only array; change i has cursor i + 1, and cursor 0 is the start.
 * A rwlock guards it all: answers copy out under the read lock, /_sim/ put
 * and revoke change things under the write lock.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>
#include <utlist.h>

#include "core/cert.h"
#include "core/ident.h"
#include "core/json.h"
#include "sim.h"

typedef struct cert {
  char id[CG_IDENT_MAX + 1];
  char holder[sizeof ((cg_cert_meta_t *)0)->holder_code];
  char type[sizeof ((cg_cert_meta_t *)0)->type_code];
  char *text; /* owned */
  size_t len;
  uint64_t revoked; /* cursor of its "revoked" change, 0 while not revoked */
  size_t line;      /* line of the data file, 0 for a put */
  struct cert *prev, *next; /* the holder's certificates, in the order they came */
  UT_hash_handle hh;
} cert_t;

typedef struct holder {
  char code[sizeof ((cg_cert_meta_t *)0)->holder_code];
  cert_t *certs;
  UT_hash_handle hh;
} holder_t;

enum { OP_NEW, OP_UPDATED, OP_REVOKED };
static const char *const op_names[] = {"new", "updated", "revoked"};

typedef struct change {
  int op;
  char id[CG_IDENT_MAX + 1];
  char *text; /* owned: the certificate as it was then; NULL for "revoked" */
  size_t len;
} change_t;

struct sim_data {
  pthread_rwlock_t lock;
  cert_t *by_id;
  holder_t *by_holder;
  change_t *changes;
  size_t nchanges, cap;
};

/* ---- indexes ----------------------------------------------------------------- */

static holder_t *holder_get(sim_data_t *d, const char *code) {
  holder_t *h;
  HASH_FIND_STR(d->by_holder, code, h);
  if (h == NULL && (h = calloc(1, sizeof *h)) != NULL) {
    memcpy(h->code, code, strlen(code) + 1);
    HASH_ADD_STR(d->by_holder, code, h);
  }
  return h;
}

static void holder_unlink(sim_data_t *d, cert_t *c) {
  holder_t *h;
  HASH_FIND_STR(d->by_holder, c->holder, h);
  if (h != NULL)
    DL_DELETE(h->certs, c);
}

/* Adds or replaces by identifier; text becomes the certificate's (owned).
 * *was_new says which. Returns 0 or CG_ENOMEM (text not taken then). */
static int cert_set(sim_data_t *d, const cg_cert_meta_t *m, char *text, size_t len,
                    size_t line, cert_t **out, int *was_new) {
  holder_t *h = NULL;
  cert_t *c;

  HASH_FIND_STR(d->by_id, m->identifier, c);
  *was_new = c == NULL;
  /* A new certificate, or a put that gave one to another holder, goes to
   * the end of its holder's list; a replaced one keeps its place. */
  if ((c == NULL || strcmp(c->holder, m->holder_code) != 0) &&
      (h = holder_get(d, m->holder_code)) == NULL)
    return CG_ENOMEM;
  if (c == NULL) {
    if ((c = calloc(1, sizeof *c)) == NULL)
      return CG_ENOMEM;
    memcpy(c->id, m->identifier, strlen(m->identifier) + 1);
    HASH_ADD_STR(d->by_id, id, c);
  } else if (h != NULL) {
    holder_unlink(d, c);
  }
  if (h != NULL) {
    memcpy(c->holder, m->holder_code, sizeof c->holder);
    DL_APPEND(h->certs, c);
  }
  memcpy(c->type, m->type_code, sizeof c->type);
  free(c->text);
  c->text = text;
  c->len = len;
  c->line = line;
  *out = c;
  return 0;
}

/* Makes room for one more change, so that a put or revoke either happens
 * with its change or not at all. Returns 0 or CG_ENOMEM. */
static int change_reserve(sim_data_t *d) {
  if (d->nchanges == d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 64;
    change_t *p = realloc(d->changes, cap * sizeof *p);
    if (p == NULL)
      return CG_ENOMEM;
    d->changes = p;
    d->cap = cap;
  }
  return 0;
}

/* Appends a change (room reserved); text (may be NULL) becomes the
 * change's. Returns its cursor. */
static uint64_t change_add(sim_data_t *d, int op, const char *id, char *text, size_t len) {
  change_t *ch = &d->changes[d->nchanges];
  ch->op = op;
  memcpy(ch->id, id, strlen(id) + 1);
  ch->text = text;
  ch->len = len;
  return ++d->nchanges;
}

/* ---- loading ----------------------------------------------------------------- */

static void data_free(sim_data_t *d) {
  cert_t *c, *ct;
  holder_t *h, *ht;

  HASH_ITER(hh, d->by_id, c, ct) {
    HASH_DEL(d->by_id, c);
    free(c->text);
    free(c);
  }
  HASH_ITER(hh, d->by_holder, h, ht) {
    HASH_DEL(d->by_holder, h);
    free(h);
  }
  for (size_t i = 0; i < d->nchanges; i++)
    free(d->changes[i].text);
  free(d->changes);
  pthread_rwlock_destroy(&d->lock);
  free(d);
}

/* White space around a certificate's text is not part of it. */
static void trim(const char **s, size_t *len) {
  while (*len > 0 && isspace((unsigned char)**s))
    (*s)++, (*len)--;
  while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
    (*len)--;
}

static int load_line(sim_data_t *d, const char *line, size_t len, size_t lineno, cg_buf_t *body,
                     cg_why_t *why) {
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cert_t *c;
  char *text;
  int err, was_new;

  cg_buf_reset(body);
  why->text[0] = '\0';
  if ((err = cg_cert_parse(line, len, body, &meta, &seal, why)) != 0)
    return err;
  HASH_FIND_STR(d->by_id, meta.identifier, c);
  if (c != NULL)
    return cg_why_set(why, CG_EEXIST, "certificate %s is on line %zu already", meta.identifier,
                      c->line);
  if ((text = malloc(len + 1)) == NULL)
    return cg_why_set(why, CG_ENOMEM, "out of memory");
  memcpy(text, line, len);
  text[len] = '\0';
  if ((err = cert_set(d, &meta, text, len, lineno, &c, &was_new)) != 0) {
    free(text);
    return cg_why_set(why, err, "out of memory");
  }
  return 0;
}

int sim_data_load(const char *path, sim_data_t **out, size_t *line_at_fault, cg_why_t *why) {
  sim_data_t *d = calloc(1, sizeof *d);
  /* Enough for the cJSON tree of the largest line accepted (as certctl). */
  cg_json_arena_t *arena = cg_json_arena_new((size_t)16 * CG_CERT_LINE_MAX);
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  ssize_t n;
  cg_buf_t body;
  FILE *f;
  int err = 0;

  *line_at_fault = 0;
  if (d == NULL || arena == NULL) {
    free(d);
    cg_json_arena_free(arena);
    return cg_why_set(why, CG_ENOMEM, "out of memory");
  }
  pthread_rwlock_init(&d->lock, NULL);
  if ((f = fopen(path, "r")) == NULL) {
    cg_why_set(why, CG_EIO, "cannot open: %s", strerror(errno));
    data_free(d);
    cg_json_arena_free(arena);
    return CG_EIO;
  }
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  cg_json_arena_enter(arena);
  while ((n = getline(&line, &cap, f)) >= 0) {
    const char *s = line;
    size_t len = (size_t)n;

    lineno++;
    trim(&s, &len);
    if (len == 0)
      continue;
    err = load_line(d, s, len, lineno, &body, why);
    cg_json_arena_reset(arena);
    if (err != 0) {
      if (why->text[0] == '\0')
        cg_why_set(why, err, "%s", cg_strerror(err));
      *line_at_fault = lineno;
      break;
    }
  }
  if (err == 0 && ferror(f))
    err = cg_why_set(why, CG_EIO, "read error: %s", strerror(errno));
  cg_json_arena_enter(NULL);
  cg_json_arena_free(arena);
  cg_buf_free(&body);
  free(line);
  fclose(f);
  if (err != 0) {
    data_free(d);
    return err;
  }
  *out = d;
  return 0;
}

/* ---- answers ----------------------------------------------------------------- */

int sim_data_fetch(sim_data_t *d, const char *identifier, cg_buf_t *out) {
  cert_t *c;
  int err;

  pthread_rwlock_rdlock(&d->lock);
  HASH_FIND_STR(d->by_id, identifier, c);
  if (c == NULL)
    err = CG_ENOTFOUND;
  else if ((err = cg_buf_puts(out, "{\"certificate\":")) == 0 &&
           (err = cg_buf_append(out, c->text, c->len)) == 0)
    err = cg_buf_puts(out, c->revoked ? ",\"revoked\":true}" : "}");
  pthread_rwlock_unlock(&d->lock);
  return err;
}

int sim_data_holder(sim_data_t *d, const char *holder, const char *type, cg_buf_t *out) {
  holder_t *h;
  cert_t *c;
  int err, first = 1;

  pthread_rwlock_rdlock(&d->lock);
  HASH_FIND_STR(d->by_holder, holder, h);
  err = cg_buf_puts(out, "{\"certificates\":[");
  for (c = h ? h->certs : NULL; c != NULL && err == 0; c = c->next) {
    /* A list item has no place for "revoked": the platform no longer lists
     * what the issuer cancelled. */
    if (c->revoked || (type != NULL && strcmp(type, c->type) != 0))
      continue;
    if ((err = first ? 0 : cg_buf_putc(out, ',')) == 0)
      err = cg_buf_append(out, c->text, c->len);
    first = 0;
  }
  if (err == 0)
    err = cg_buf_puts(out, "]}");
  pthread_rwlock_unlock(&d->lock);
  return err;
}

int sim_data_changes(sim_data_t *d, uint64_t since, const char *since_text, size_t limit,
                     cg_buf_t *out) {
  size_t i, end;
  int err;

  pthread_rwlock_rdlock(&d->lock);
  err = cg_buf_puts(out, "{\"changes\":[");
  if (since >= d->nchanges) {
    /* Nothing after since: the poll starts there again. */
    if (err == 0)
      err = cg_buf_printf(out, "],\"cursor\":\"%s\",\"more\":false}", since_text);
    pthread_rwlock_unlock(&d->lock);
    return err;
  }
  end = d->nchanges - since > limit ? (size_t)since + limit : d->nchanges;
  for (i = (size_t)since; i < end && err == 0; i++) {
    const change_t *ch = &d->changes[i];
    err = cg_buf_printf(out, "%s{\"cursor\":\"%zu\",\"op\":\"%s\",", i > since ? "," : "", i + 1,
                        op_names[ch->op]);
    if (err == 0 && ch->text == NULL)
      err = cg_buf_printf(out, "\"certificateIdentifier\":\"%s\"}", ch->id);
    else if (err == 0 && (err = cg_buf_puts(out, "\"certificate\":")) == 0 &&
             (err = cg_buf_append(out, ch->text, ch->len)) == 0)
      err = cg_buf_putc(out, '}');
  }
  if (err == 0)
    err = cg_buf_printf(out, "],\"cursor\":\"%zu\",\"more\":%s}", end,
                        end < d->nchanges ? "true" : "false");
  pthread_rwlock_unlock(&d->lock);
  return err;
}

/* ---- changes ----------------------------------------------------------------- */

int sim_data_put(sim_data_t *d, const char *text, size_t len, cg_buf_t *out, cg_why_t *why) {
  cg_cert_meta_t meta;
  cg_seal_t seal;
  cg_buf_t body;
  cert_t *c;
  char *mine, *copy;
  uint64_t cursor;
  int err, was_new;

  trim(&text, &len);
  cg_buf_init(&body, CG_CERT_BODY_MAX);
  err = cg_cert_parse(text, len, &body, &meta, &seal, why);
  cg_buf_free(&body);
  if (err != 0)
    return err;
  /* One copy for the certificate, one for the change: a later put frees
   * the first while the feed still serves the second. */
  mine = malloc(len + 1);
  copy = malloc(len + 1);
  if (mine == NULL || copy == NULL) {
    free(mine);
    free(copy);
    return cg_why_set(why, CG_ENOMEM, "out of memory");
  }
  memcpy(mine, text, len);
  mine[len] = '\0';
  memcpy(copy, mine, len + 1);

  pthread_rwlock_wrlock(&d->lock);
  if ((err = change_reserve(d)) != 0 ||
      (err = cert_set(d, &meta, mine, len, 0, &c, &was_new)) != 0) {
    free(mine);
    free(copy);
  } else {
    cursor = change_add(d, was_new ? OP_NEW : OP_UPDATED, c->id, copy, len);
    err = cg_buf_printf(out, "{\"op\":\"%s\",\"cursor\":\"%" PRIu64 "\"}",
                        was_new ? "new" : "updated", cursor);
  }
  pthread_rwlock_unlock(&d->lock);
  return err ? cg_why_set(why, err, "%s", cg_strerror(err)) : 0;
}

int sim_data_revoke(sim_data_t *d, const char *identifier, cg_buf_t *out) {
  cert_t *c;
  int err = 0;
  cg_ident_t ident;

  pthread_rwlock_wrlock(&d->lock);
  HASH_FIND_STR(d->by_id, identifier, c);
  if (c == NULL && strlen(identifier) <= CG_IDENT_MAX &&
      cg_ident_parse(identifier, strlen(identifier), &ident, NULL) == 0) {
    /* One the platform does not serve (a gateway may hold it from an
     * import): the feed still announces its revocation. */
    uint64_t cursor = 0;
    if ((err = change_reserve(d)) == 0) {
      cursor = change_add(d, OP_REVOKED, identifier, NULL, 0);
      err = cg_buf_printf(out, "{\"op\":\"revoked\",\"cursor\":\"%" PRIu64 "\"}", cursor);
    }
    pthread_rwlock_unlock(&d->lock);
    return err;
  }
  if (c == NULL)
    err = CG_ENOTFOUND;
  else if (c->revoked == 0 && (err = change_reserve(d)) == 0)
    c->revoked = change_add(d, OP_REVOKED, c->id, NULL, 0);
  if (err == 0)
    err = cg_buf_printf(out, "{\"op\":\"revoked\",\"cursor\":\"%" PRIu64 "\"}", c->revoked);
  pthread_rwlock_unlock(&d->lock);
  return err;
}
