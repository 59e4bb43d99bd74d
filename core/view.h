/* view.h — what a venue sees of a certificate (its scope applied).
 *
 * A view is the certificate object with only the fields the venue's scope
 * allows, personal data masked where the scope says (a hotel sees
 * 1101**********002X, not the ID number), and a `seal` member saying what
 * certgw knows of the seal; full scopes also get the seal fields needed to
 * check it again. See docs/api.md.
 */
#ifndef CG_VIEW_H
#define CG_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/record.h"

/* 1 if the scope may read certificates of this 21-character type code. */
int cg_view_type_allowed(const cg_scope_t *scope, const char *type_code);

/* 1 if the scope sees certificates in full (every field, nothing masked). */
int cg_view_is_full(const cg_scope_t *scope);

/* Whether the scope shows the top-level field (all fields, or listed). */
int cg_view_shows(const cg_scope_t *scope, const char *field);

/* Appends the view of rec for scope to out; trust_gen is the generation of
 * the trust store in force (0: none loaded). Returns 0, CG_ERECORD (a body
 * that is not a JSON object, or a masked value that is not UTF-8: only a
 * corrupt record has either) or CG_ETOOBIG / CG_ENOMEM. */
int cg_view_render(const cg_scope_t *scope, const cg_record_t *rec, uint32_t trust_gen,
                   cg_buf_t *out);

/* The seal status of a record under the trust store of generation gen:
 * "verified" or "invalid" only when it was checked under that very trust
 * store, else "unchecked" — a verdict reached under other anchors or CRLs
 * says nothing about the present ones. */
const char *cg_view_seal_status(const cg_record_t *rec, uint32_t gen);

/* Masks one value in place of field name (rules by kind: ID numbers and
 * codes keep their first and last four characters, names their first
 * character, addresses their first nine characters, phone numbers their
 * first three and last four). Appends the masked text, as a JSON string
 * body without quotes, to out. Returns 0, CG_ERECORD for a value that is
 * not UTF-8 (nothing appended), or CG_ETOOBIG / CG_ENOMEM. */
int cg_view_mask(const char *field, const char *value, cg_buf_t *out);

/* Works out what the views look up in scope's lists (see cg_scope_t), once
 * the lists are complete. A scope changed afterwards must be prepared again. */
void cg_view_scope_prepare(cg_scope_t *scope);

#endif
