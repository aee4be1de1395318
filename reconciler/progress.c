/*
 * progress: status lines and JSON for tables not in sync and workers' errors (see
 * progress.h). No I/O.
 */
#include "progress.h"

#include <string.h>

bool progress_table_syncing(const struct actual_table *t)
{
	return !t->state || strcmp(t->state, "ok") != 0;
}

/* " 45000/100000 rows (45%)", " 45000 rows" or nothing, for a table being copied. */
static void rows_describe(struct sky_buf *out, const struct actual_table *t)
{
	long long pct;

	if (t->rows_copied < 0)
		return;
	if (t->rows_estimate <= 0) {
		sky_buf_addf(out, " %lld rows", t->rows_copied);
		return;
	}
	/* the estimate is the planner's: a copy may run past it */
	pct = t->rows_copied >= t->rows_estimate
	          ? 100
	          : (long long)((double)t->rows_copied * 100.0 / (double)t->rows_estimate);
	sky_buf_addf(out, " %lld/%lld rows (%lld%%)", t->rows_copied, t->rows_estimate, pct);
}

void progress_table_describe(struct sky_buf *out, const char *node, const struct actual_table *t)
{
	sky_buf_addf(out, "%s: %s %s", node, t->name ? t->name : "(unnamed table)",
	             t->state ? t->state : "(no state)");
	if (t->copy_error) {
		/* the row counts are those of the failed attempt: leave them out */
		sky_buf_addf(out, " (last attempt failed: %s)", t->copy_error);
		return;
	}
	if (t->state && strcmp(t->state, "copying") == 0)
		rows_describe(out, t);
}

size_t progress_lines(struct sky_buf *out, const struct actual_state *state)
{
	size_t n = 0;

	for (size_t i = 0; state && i < state->n_nodes; i++) {
		const struct actual_node *an = &state->nodes[i];

		if (!an->reachable)
			continue;
		if (an->created && an->self.worker_error) {
			sky_buf_addf(out, "  %s: worker error: %s\n", an->name,
			             an->self.worker_error);
			n++;
		}
		for (size_t k = 0; k < an->n_tables; k++) {
			if (!progress_table_syncing(&an->tables[k]))
				continue;
			sky_buf_adds(out, "  ");
			progress_table_describe(out, an->name, &an->tables[k]);
			sky_buf_addch(out, '\n');
			n++;
		}
	}
	return n;
}

static json_t *count_or_null(long long v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *progress_to_json(const struct actual_state *state)
{
	json_t *nodes = json_array();

	for (size_t i = 0; state && i < state->n_nodes; i++) {
		const struct actual_node *an = &state->nodes[i];
		json_t *node = json_object();
		json_t *tables = json_array();

		json_object_set_new(node, "node", json_string(an->name));
		json_object_set_new(node, "reachable", json_boolean(an->reachable));
		json_object_set_new(node, "worker_error",
		                    string_or_null(an->created ? an->self.worker_error : NULL));
		for (size_t k = 0; an->reachable && k < an->n_tables; k++) {
			const struct actual_table *t = &an->tables[k];
			json_t *o = json_object();

			json_object_set_new(o, "table", string_or_null(t->name));
			json_object_set_new(o, "state", string_or_null(t->state));
			json_object_set_new(o, "rows_copied", count_or_null(t->rows_copied));
			json_object_set_new(o, "rows_estimate", count_or_null(t->rows_estimate));
			json_object_set_new(o, "copy_error", string_or_null(t->copy_error));
			json_array_append_new(tables, o);
		}
		json_object_set_new(node, "tables", tables);
		json_array_append_new(nodes, node);
	}
	return nodes;
}
