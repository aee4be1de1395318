/*
 * admin_sql: facts about the pgq_set install script compiled into skyreconcile (sky_sql_install):
 * the catalog version it installs and a digest of it. Part of the plan engine (no I/O), so the
 * unit tests check them without a database.
 */
#ifndef SKY_ADMIN_SQL_H
#define SKY_ADMIN_SQL_H

#include "sky_error.h"

/*
 * The pgq_set version an install script installs: the highest step number NNN among the
 * numbered schema steps (`-- file: schema/NNN_name.sql`, as cmake/embed_sql.cmake marks
 * them), which is what pgq_set.version() reports after the script ran. *out is a new
 * string (caller frees with free()). -1 when the script has no numbered schema step.
 */
int admin_sql_version(char **out, const char *script, struct sky_error *err);

/*
 * A digest of the install script (64-bit FNV-1a, hex): tells one build's functions from
 * another's at the same catalog version. Not a security measure. Returns a new string.
 */
char *admin_sql_digest(const char *script);

#endif
