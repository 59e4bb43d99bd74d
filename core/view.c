/* view.c — rendering a certificate for a scope, and masking. */
#include "core/view.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/cert.h"

static const char hexdig[] = "0123456789abcdef";

int cg_view_type_allowed(const cg_scope_t *s, const char *type_code) {
  if (s->all_types)
    return 1;
  for (int i = 0; i < s->ntypes; i++)
    if (memcmp(s->types[i], type_code, 21) == 0)
      return 1;
  return 0;
}

int cg_view_is_full(const cg_scope_t *s) { return s->all_fields && s->nmask == 0; }

const char *cg_view_seal_status(const cg_record_t *rec, uint32_t gen) {
  if (gen == 0 || rec->trust_gen != gen)
    return "unchecked";
  switch (rec->seal_state) {
  case CG_SEAL_VERIFIED: return "verified";
  case CG_SEAL_INVALID: return "invalid";
  default: return "unchecked";
  }
}

/* ---- masking ------------------------------------------------------------- */

/* Length in bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t u8len(const char *s) {
  unsigned char c = (unsigned char)*s;
  return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

static size_t u8count(const char *s) {
  size_t n = 0;
  for (; *s; s += u8len(s))
    n++;
  return n;
}

/* Keeps `head` characters and `tail` characters, one '*' per character
 * between; a value too short to keep both keeps only the first character. */
static int keep_ends(const char *v, size_t head, size_t tail, cg_buf_t *out) {
  size_t n = u8count(v), i = 0, len = strlen(v);
  const char *p = v, *t;
  int err;
  if (n <= head + tail) {
    head = n > 1 ? 1 : 0;
    tail = 0;
  }
  for (; i < head; i++)
    p += u8len(p);
  for (t = p; i < n - tail; i++)
    t += u8len(t);
  /* head's bytes, a star for each character between, tail's bytes */
  if ((err = cg_buf_reserve(out, len + n)) != 0)
    return err;
  cg_buf_append(out, v, (size_t)(p - v));
  if (n - tail > head) { /* (an empty value: base may still be NULL) */
    memset(out->base + out->len, '*', n - tail - head);
    out->len += n - tail - head;
  }
  return cg_buf_append(out, t, len - (size_t)(t - v));
}

/* Which rules a field name calls for, in one pass over it: a phone number
 * ("…Phone", "mobile…"), a place ("…Address", "…Location", "birthPlace")
 * or a name ("…Name"). The first rule that applies, in that order, wins. */
enum { MASK_PHONE = 1, MASK_PLACE = 2, MASK_NAME = 4 };

static unsigned mask_kinds(const char *f) {
  unsigned k = 0;
  for (; *f; f++) {
    switch (*f) {
    case 'h': k |= strncmp(f, "hone", 4) == 0 ? MASK_PHONE : 0; break;
    case 'o':
      if (strncmp(f, "obile", 5) == 0)
        k |= MASK_PHONE;
      else if (strncmp(f, "ocation", 7) == 0)
        k |= MASK_PLACE;
      break;
    case 'd': k |= strncmp(f, "ddress", 6) == 0 ? MASK_PLACE : 0; break;
    case 'P': k |= strncmp(f, "Place", 5) == 0 ? MASK_PLACE : 0; break;
    case 'N': k |= strncmp(f, "Name", 4) == 0 ? MASK_NAME : 0; break;
    }
  }
  return k;
}

/* Masks value by the rules of kinds (mask_kinds). The rules count
 * characters by their lead bytes, so a value that is not UTF-8 (only a
 * corrupt record holds one: the canonical body is checked when written)
 * is refused rather than read past its end. */
static int mask_value(unsigned k, const char *value, cg_buf_t *out) {
  if (!cg_utf8_valid(value, strlen(value)))
    return CG_ERECORD;
  if (k & MASK_PHONE)
    return keep_ends(value, 3, 4, out);
  if (k & MASK_PLACE) {
    /* The first nine characters, then "****"; half of an address of
     * nine or fewer ("历下区泉城路1号" keeps four), or it would show whole. */
    size_t n = u8count(value), keep = n > 9 ? 9 : n / 2, i = 0;
    int err = 0;
    const char *p = value;
    for (; *p && i < keep && !err; p += u8len(p), i++)
      err = cg_buf_append(out, p, u8len(p));
    return err ? err : n > 0 ? cg_buf_puts(out, "****") : 0;
  }
  if (k & MASK_NAME)
    return keep_ends(value, 1, 0, out);
  /* ID numbers, credit codes, certificate numbers, anything else. */
  return keep_ends(value, 4, 4, out);
}

int cg_view_mask(const char *field, const char *value, cg_buf_t *out) {
  return mask_value(mask_kinds(field), value, out);
}

/* ---- a scope's lists ------------------------------------------------------ */

/* The bit of a name of len bytes ending in last, in a scope's bit sets. */
static uint64_t name_bit(size_t len, char last) {
  return 1ull << ((len * 7 + (unsigned char)last) & 63);
}

/* Adds entry e to top's bits, and to data's when it names a data field. */
static void add_bits(const char *e, uint64_t *top, uint64_t *data) {
  size_t len = strlen(e);
  if (len == 0)
    return;
  *top |= name_bit(len, e[len - 1]);
  if (len > 5 && memcmp(e, "data.", 5) == 0)
    *data |= name_bit(len - 5, e[len - 1]);
}

void cg_view_scope_prepare(cg_scope_t *s) {
  s->field_bits = s->mask_bits = s->data_field_bits = s->data_mask_bits = 0;
  for (int i = 0; i < s->nfields; i++)
    add_bits(s->fields[i], &s->field_bits, &s->data_field_bits);
  for (int i = 0; i < s->nmask; i++) {
    const char *e = s->mask[i];
    add_bits(e, &s->mask_bits, &s->data_mask_bits);
    /* (as put_masked names a data field: without "data.") */
    s->mask_rule[i] = (unsigned char)mask_kinds(strncmp(e, "data.", 5) == 0 ? e + 5 : e);
  }
  s->prepared = 1;
}

/* ---- rendering ---------------------------------------------------------- */

/* Which entry of list name[0..len) is (after `prefix`, which entries of data
 * fields carry: "data.address"): its index + 1, or 0 when none. bits, from
 * cg_view_scope_prepare (~0 when there are none), rules most names out at
 * once; then the length, the last byte (names share their first eleven
 * characters, "certificate…", and differ at the end, …Name, …Code) and the
 * whole. */
static int listed_n(const char (*list)[48], int n, uint64_t bits, const char *prefix,
                    const char *name, size_t len) {
  size_t plen = prefix[0] ? 5 : 0; /* "data." or "" */
  if (len == 0 || plen + len >= sizeof list[0] || !(bits & name_bit(len, name[len - 1])))
    return 0;
  for (int i = 0; i < n; i++) {
    const char *e = list[i] + plen;
    if (e[len] == '\0' && e[len - 1] == name[len - 1] && memcmp(e, name, len) == 0 &&
        memcmp(list[i], prefix, plen) == 0)
      return i + 1;
  }
  return 0;
}

/* The bits of a scope's list, or all of them for a scope not prepared. */
#define FIELD_BITS(s) ((s)->prepared ? (s)->field_bits : ~0ull)
#define MASK_BITS(s) ((s)->prepared ? (s)->mask_bits : ~0ull)
#define DATA_FIELD_BITS(s) ((s)->prepared ? (s)->data_field_bits : ~0ull)
#define DATA_MASK_BITS(s) ((s)->prepared ? (s)->data_mask_bits : ~0ull)

static int listed(const char (*list)[48], int n, const char *name) {
  return listed_n(list, n, ~0ull, "", name, strlen(name));
}

int cg_view_shows(const cg_scope_t *s, const char *field) {
  return s->all_fields || listed(s->fields, s->nfields, field);
}

/* "data.address" names a field of the data object. */
static int listed_in_data(const char (*list)[48], int n, const char *name) {
  return listed_n(list, n, ~0ull, "data.", name, strlen(name));
}

static int any_data_field(const char (*list)[48], int n) {
  for (int i = 0; i < n; i++)
    if (list[i][0] == 'd' && memcmp(list[i], "data.", 5) == 0)
      return 1;
  return 0;
}

static int mask_item(cJSON *parent, cJSON *item, const char *name, cg_buf_t *tmp) {
  if (cJSON_IsNumber(item) || cJSON_IsObject(item) || cJSON_IsArray(item)) {
    /* Masked, not a string: nothing of it is shown (put_masked does the same). */
    cJSON *hidden = cJSON_CreateString("****");
    /* (By name: the replacement takes the member's name with it.) */
    if (hidden == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(parent, item->string, hidden)) {
      cJSON_Delete(hidden);
      return CG_ENOMEM;
    }
    return 0;
  }
  if (!cJSON_IsString(item))
    return 0; /* true, false, null: nothing personal */
  cg_buf_reset(tmp);
  int err = cg_view_mask(name, item->valuestring, tmp);
  if (err == 0)
    err = cg_buf_putc(tmp, '\0');
  if (err != 0)
    return err;
  return cJSON_SetValuestring(item, tmp->base) ? 0 : CG_ENOMEM;
}

static int append_seal(const cg_scope_t *s, const cg_record_t *rec, uint32_t gen, cg_buf_t *out) {
  const char *status = cg_view_seal_status(rec, gen);
  int full = cg_view_is_full(s), invalid = strcmp(status, "invalid") == 0;
  /* What is written below, at most: a reason name is under 32 bytes. */
  int err = cg_buf_reserve(out, 40 + (invalid ? 48 : 0) +
                                    (full ? 64 + rec->sig_len + 2 * CG_SEAL_FPR_LEN : 0));
  if (err)
    return err;
  /* (An object whose every member the scope hides opens with the seal.) */
  cg_buf_puts(out, out->base[out->len - 1] == '{' ? "\"seal\":{\"status\":\""
                                                  : ",\"seal\":{\"status\":\"");
  cg_buf_puts(out, status);
  cg_buf_putc(out, '"');
  if (invalid) {
    cg_buf_puts(out, ",\"reason\":\"");
    cg_buf_puts(out, cg_seal_reason_name(rec->seal_reason));
    cg_buf_putc(out, '"');
  }
  if (full) {
    const char *alg = cg_seal_alg_name((cg_seal_alg_t)rec->seal_alg);
    cg_buf_puts(out, ",\"algorithm\":\"");
    cg_buf_puts(out, alg ? alg : "");
    cg_buf_puts(out, "\",\"signature\":\"");
    cg_buf_append(out, rec->sig, rec->sig_len);
    cg_buf_puts(out, "\",\"signer\":\"");
    for (int i = 0; i < CG_SEAL_FPR_LEN; i++) {
      out->base[out->len++] = hexdig[rec->signer[i] >> 4];
      out->base[out->len++] = hexdig[rec->signer[i] & 15];
    }
    cg_buf_putc(out, '"');
  }
  return cg_buf_append(out, "}}", 2);
}

/* ---- views cut from the stored bytes ------------------------------------ */

/* One member of a stored canonical body, found through the member index:
 * the whole `"name":value`, the name (names are plain ASCII, never escaped)
 * and the value. */
struct member {
  const char *at, *name, *value;
  size_t len, name_len, value_len;
};

/* An object or array whose brackets close exactly at its end (brackets in
 * strings, and escaped quotes, passed over): an index entry pointing inside
 * a shown value cannot make one "value" of it and what follows. */
static int balanced(const char *v, size_t len) {
  int depth = 0, in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = v[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i == len - 1;
    }
  }
  return 0;
}

/* Whether v[0..len) can be one canonical value whole: a string without an
 * unescaped quote inside, an integer, a literal, or something bracketed.
 * An index that skipped a member, or pointed into a value, would make a
 * "value" of two members; this catches that for every member shown (one
 * hidden would at worst hide the next too). A string with an escaped quote
 * in it also fails, and its record takes the parsing path. */
static int value_ok(const char *v, size_t len) {
  if (len == 0)
    return 0;
  switch (v[0]) {
  case '"': return len >= 2 && v[len - 1] == '"' && memchr(v + 1, '"', len - 2) == NULL;
  case '{':
  case '[': return balanced(v, len);
  case 't': return len == 4 && memcmp(v, "true", 4) == 0;
  case 'f': return len == 5 && memcmp(v, "false", 5) == 0;
  case 'n': return len == 4 && memcmp(v, "null", 4) == 0;
  default:
    for (size_t i = v[0] == '-'; i < len; i++)
      if (v[i] < '0' || v[i] > '9')
        return 0;
    return len > (size_t)(v[0] == '-');
  }
}

/* The member at body offset off that ends where its ',' or the closing '}'
 * of its object is, at end. -1 when the bytes there are not one. */
static int member(const cg_record_t *rec, size_t off, size_t end, struct member *m) {
  const char *b = rec->body, *q;
  if (end >= rec->body_len || end < off + 4 || (b[end] != ',' && b[end] != '}'))
    return -1;
  /* A name: plain (no escape), not empty, followed by ':'. */
  if ((q = memchr(b + off + 1, '"', end - off - 1)) == NULL || q == b + off + 1 ||
      (size_t)(q - b) + 2 >= end || q[1] != ':' ||
      memchr(b + off + 1, '\\', (size_t)(q - b) - off - 1))
    return -1;
  m->at = b + off;
  m->len = end - off;
  m->name = b + off + 1;
  m->name_len = (size_t)(q - m->name);
  m->value = q + 2;
  m->value_len = (size_t)(b + end - m->value);
  return 0;
}

/* Appends m, its value masked. 1 when it must take the parsing path: a
 * string with an escape in it, or too long for the copy here. */
static int put_masked(const struct member *m, int rule, cg_buf_t *out) {
  char name[72], value[512];
  size_t vlen;
  int err;
  if (m->value[0] != '"') {
    /* Not a string: a number, object or array masked is not shown at all,
     * "****" in its place (as on the parsing path); true, false and null
     * carry nothing personal. */
    if (m->value[0] == 't' || m->value[0] == 'f' || m->value[0] == 'n')
      return cg_buf_append(out, m->at, m->len);
    if ((err = cg_buf_append(out, m->at, m->name_len + 3)) != 0)
      return err;
    return cg_buf_puts(out, "\"****\"");
  }
  /* (A string: member() checked its quotes.) */
  if ((vlen = m->value_len - 2) >= sizeof value || m->name_len >= sizeof name ||
      memchr(m->value + 1, '\\', vlen) != NULL)
    return 1;
  memcpy(name, m->name, m->name_len);
  name[m->name_len] = '\0';
  memcpy(value, m->value + 1, vlen);
  value[vlen] = '\0';
  /* What remains of a string without escapes needs none: copied as it is. */
  if ((err = cg_buf_append(out, m->at, m->name_len + 3)) != 0 ||
      (err = cg_buf_putc(out, '"')) != 0 ||
      (err = mask_value(rule >= 0 ? (unsigned)rule : mask_kinds(name), value, out)) != 0)
    return err;
  return cg_buf_putc(out, '"');
}

static int put_member(const cg_scope_t *s, const struct member *m, int data, int *first,
                      cg_buf_t *out) {
  const char *prefix = data ? "data." : "";
  int err;
  if (!value_ok(m->value, m->value_len))
    return 1;
  if (!*first && (err = cg_buf_putc(out, ',')) != 0)
    return err;
  *first = 0;
  int k = listed_n(s->mask, s->nmask, data ? DATA_MASK_BITS(s) : MASK_BITS(s), prefix, m->name,
                   m->name_len);
  if (k > 0)
    return put_masked(m, s->prepared ? s->mask_rule[k - 1] : -1, out);
  return cg_buf_append(out, m->at, m->len);
}

/* The view written from the record's member index: the members the scope
 * keeps copied from the stored bytes, in their (sorted) order, masked ones
 * rewritten, no parse. The same bytes as the parsing path (tests compare
 * the two); 1 when this record must take that path instead. */
static int render_indexed(const cg_scope_t *s, const cg_record_t *rec, const cg_cert_index_t *ix,
                          cg_buf_t *out) {
  int first = 1, err;
  int want_data = s->all_fields || listed(s->fields, s->nfields, "data") ||
                  any_data_field(s->fields, s->nfields);
  struct member m;

  if ((err = cg_buf_putc(out, '{')) != 0)
    return err;
  for (int i = 0; i < ix->ntop; i++) {
    size_t end = i + 1 < ix->ntop ? (size_t)ix->top[i + 1] - 1 : rec->body_len - 1;
    if (member(rec, ix->top[i], end, &m) != 0)
      return 1;
    if (m.name_len == 4 && memcmp(m.name, "data", 4) == 0) {
      int whole = s->all_fields || listed(s->fields, s->nfields, "data"), dfirst = 1;
      size_t vstart = (size_t)(m.value - rec->body);
      /* (An index without data members must mean an empty object.) */
      if (m.value[0] != '{' || rec->body[end - 1] != '}' || (ix->ndata == 0 && m.value_len != 2))
        return 1;
      if (!want_data)
        continue;
      if ((!first && (err = cg_buf_putc(out, ',')) != 0) ||
          (err = cg_buf_append(out, m.at, m.name_len + 3)) != 0 ||
          (err = cg_buf_putc(out, '{')) != 0)
        return err;
      first = 0;
      for (int j = 0; j < ix->ndata; j++) {
        size_t dend = j + 1 < ix->ndata ? (size_t)ix->data[j + 1] - 1 : end - 1;
        struct member d;
        if ((j == 0 ? ix->data[0] != vstart + 1 : ix->data[j] <= vstart) || dend >= end ||
            member(rec, ix->data[j], dend, &d) != 0)
          return 1;
        if (!whole &&
            !listed_n(s->fields, s->nfields, DATA_FIELD_BITS(s), "data.", d.name, d.name_len))
          continue;
        if ((err = put_member(s, &d, 1, &dfirst, out)) != 0)
          return err;
      }
      if ((err = cg_buf_putc(out, '}')) != 0)
        return err;
      continue;
    }
    if (!s->all_fields && !listed_n(s->fields, s->nfields, FIELD_BITS(s), "", m.name, m.name_len))
      continue;
    if ((err = put_member(s, &m, 0, &first, out)) != 0)
      return err;
  }
  return 0;
}

static int render(const cg_scope_t *s, const cg_record_t *rec, uint32_t gen, cg_buf_t *out) {
  size_t start = out->len;
  cg_cert_index_t ix;
  cJSON *o, *c, *next;
  cg_buf_t tmp;
  int err = 0;

  if (rec->body_len < 2 || rec->body[rec->body_len - 1] != '}')
    return CG_ERECORD;
  if (cg_view_is_full(s)) {
    /* The stored body is already the canonical JSON of every field. */
    if ((err = cg_buf_append(out, rec->body, rec->body_len - 1)) != 0)
      return err;
    return append_seal(s, rec, gen, out);
  }
  if (cg_record_index_get(rec, &ix) == 0) {
    if ((err = render_indexed(s, rec, &ix, out)) == 0)
      return append_seal(s, rec, gen, out);
    out->len = start;
    if (err != 1)
      return err;
    err = 0; /* the parsing path, then */
  }
  if ((o = cJSON_ParseWithLength(rec->body, rec->body_len)) == NULL)
    return CG_ERECORD;
  if (!cJSON_IsObject(o)) { /* "[1]}": parsed up to the "]" */
    cJSON_Delete(o);
    return CG_ERECORD;
  }
  /* A masked value is at most four bytes longer than the value (an
   * address's "****"), and a value is inside the body. */
  cg_buf_init(&tmp, CG_CERT_BODY_MAX + 8);
  for (c = o->child; c != NULL && !err; c = next) {
    next = c->next;
    const char *k = c->string;
    if (strcmp(k, "data") == 0 && cJSON_IsObject(c)) {
      int whole = s->all_fields || listed(s->fields, s->nfields, "data");
      if (!whole && !any_data_field(s->fields, s->nfields)) {
        cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
        continue;
      }
      cJSON *d, *dn;
      for (d = c->child; d != NULL && !err; d = dn) {
        dn = d->next;
        if (!whole && !listed_in_data(s->fields, s->nfields, d->string))
          cJSON_Delete(cJSON_DetachItemViaPointer(c, d)); /* by pointer: no second search */
        else if (listed_in_data(s->mask, s->nmask, d->string))
          err = mask_item(c, d, d->string, &tmp);
      }
      continue;
    }
    if (!s->all_fields && !listed(s->fields, s->nfields, k))
      cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
    else if (listed(s->mask, s->nmask, k))
      err = mask_item(o, c, k, &tmp);
  }
  cg_buf_free(&tmp);
  if (!err)
    err = cg_cert_canonical(o, out, NULL);
  cJSON_Delete(o);
  if (err) {
    out->len = start;
    return err == CG_EBADREQ ? CG_ERECORD : err;
  }
  out->len--; /* the closing brace: the seal member follows */
  return append_seal(s, rec, gen, out);
}

int cg_view_render(const cg_scope_t *s, const cg_record_t *rec, uint32_t gen, cg_buf_t *out) {
  size_t start = out->len;
  int err = render(s, rec, gen, out);
  if (err != 0)
    out->len = start; /* nothing half written */
  return err;
}
