/*
 * status: judge and render a struct status_report (see status.h). No I/O.
 */
#include "status.h"

#include <stdlib.h>
#include <string.h>

struct status_report *status_report_new(const struct topology *topo)
{
	struct status_report *r = sky_calloc(1, sizeof(*r));
	const struct topo_node *root = topology_root(topo);

	r->cascade = sky_strdup(topo->cascade);
	r->root = root ? sky_strdup(root->name) : NULL;
	r->root_tick = -1;
	r->nodes = sky_calloc(topo->n_nodes + 1, sizeof(*r->nodes));
	r->n_nodes = topo->n_nodes;
	for (size_t i = 0; i < topo->n_nodes; i++) {
		struct status_node *n = &r->nodes[i];

		n->name = sky_strdup(topo->nodes[i].name);
		n->topo_role = topo->nodes[i].role;
		n->topo_provider =
		    topo->nodes[i].provider ? sky_strdup(topo->nodes[i].provider) : NULL;
		n->dead = topo->nodes[i].dead;
		status_node_clear_read(n);
	}
	return r;
}

void status_node_clear_read(struct status_node *n)
{
	char *name = n->name, *topo_provider = n->topo_provider;
	enum sky_role topo_role = n->topo_role;
	bool dead = n->dead;

	free(n->error);
	free(n->role);
	free(n->provider);
	free(n->worker_error);
	free(n->revision);
	free(n->last_tick_time);
	for (size_t k = 0; k < n->n_tables; k++) {
		free(n->tables[k].name);
		free(n->tables[k].state);
		free(n->tables[k].copy_error);
	}
	free(n->tables);
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->topo_provider = topo_provider;
	n->topo_role = topo_role;
	n->dead = dead;
	n->last_tick = -1;
	n->fenced = STATUS_UNKNOWN;
	n->worker_lock = STATUS_UNKNOWN;
	n->worker_seen_age_s = -1;
}

void status_report_free(struct status_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_nodes; i++) {
		status_node_clear_read(&r->nodes[i]);
		free(r->nodes[i].name);
		free(r->nodes[i].topo_provider);
	}
	free(r->nodes);
	free(r->cascade);
	free(r->root);
	free(r->root_tick_time);
	free(r->failover_state);
	free(r->failover_dead);
	free(r->failover_reason);
	free(r->failover_host);
	free(r->failover_at);
	free(r);
}

const struct status_node *status_report_node(const struct status_report *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->n_nodes; i++) {
		if (strcmp(r->nodes[i].name, name) == 0)
			return &r->nodes[i];
	}
	return NULL;
}

enum status_worker status_worker_judge(const struct status_node *n)
{
	if (!n->reachable || !n->created)
		return STATUS_WORKER_NONE;
	/* a worker holds its advisory lock as long as its session lives: a killed one is gone */
	if (n->worker_lock == STATUS_NO || n->worker_seen_age_s < 0)
		return STATUS_WORKER_DOWN;
	if (n->worker_seen_age_s > STATUS_WORKER_STALE_S)
		return n->worker_lock == STATUS_YES ? STATUS_WORKER_STALLED : STATUS_WORKER_DOWN;
	return STATUS_WORKER_UP;
}

const char *status_worker_name(enum status_worker w)
{
	switch (w) {
	case STATUS_WORKER_UP:
		return "up";
	case STATUS_WORKER_DOWN:
		return "down";
	case STATUS_WORKER_STALLED:
		return "stalled";
	case STATUS_WORKER_NONE:
		break;
	}
	return "none";
}

/* The node's provider as far as we know: its catalog's, else the topology's. */
static const char *node_provider(const struct status_node *n)
{
	if (n->reachable && n->created)
		return n->provider;
	return n->topo_provider;
}

/* The node's role as far as we know: its catalog's, else the topology's. */
static const char *node_role(const struct status_node *n)
{
	if (n->reachable && n->created && n->role)
		return n->role;
	return sky_role_name(n->topo_role);
}

int status_lag_behind_provider(double *secs, long long *ticks, const struct status_report *r,
                               const struct status_node *n)
{
	const struct status_node *p = status_report_node(r, node_provider(n));

	if (!p || !n->tick_known || !p->tick_known)
		return -1;
	*secs = n->lag_s > p->lag_s ? n->lag_s - p->lag_s : 0;
	*ticks = n->lag_ticks > p->lag_ticks ? n->lag_ticks - p->lag_ticks : 0;
	return 0;
}

double status_table_eta(const struct status_table *t)
{
	double rate;

	if (t->copy_error || !t->state || strcmp(t->state, "copying") != 0)
		return -1;
	if (t->rows_copied <= 0 || t->rows_estimate <= t->rows_copied || t->copy_elapsed_s <= 0)
		return -1;
	rate = (double)t->rows_copied / t->copy_elapsed_s;
	return (double)(t->rows_estimate - t->rows_copied) / rate;
}

/* The copy's percentage, -1 when unknown; 100 at most (the estimate is the planner's). */
static long long table_percent(const struct status_table *t)
{
	if (t->rows_copied < 0 || t->rows_estimate <= 0)
		return -1;
	if (t->rows_copied >= t->rows_estimate)
		return 100;
	return (long long)((double)t->rows_copied * 100.0 / (double)t->rows_estimate);
}

/* "0.4 s", "12.3 s", "4m05s", "2h07m" */
static void duration_add(struct sky_buf *b, double s)
{
	long long whole;

	if (s < 60) {
		sky_buf_addf(b, "%.1f s", s);
		return;
	}
	whole = (long long)(s + 0.5);
	if (whole < 3600)
		sky_buf_addf(b, "%lldm%02llds", whole / 60, whole % 60);
	else
		sky_buf_addf(b, "%lldh%02lldm", whole / 3600, whole % 3600 / 60);
}

/* "down (last seen 12.3 s ago)" and the like, for a judged worker. */
static void worker_describe(struct sky_buf *b, const struct status_node *n, enum status_worker w)
{
	sky_buf_addf(b, "worker %s", status_worker_name(w));
	if (n->worker_seen_age_s < 0) {
		sky_buf_adds(b, " (never seen)");
		return;
	}
	sky_buf_adds(b, " (");
	if (w == STATUS_WORKER_DOWN && n->worker_lock == STATUS_NO)
		sky_buf_adds(b, "not connected, ");
	else if (w == STATUS_WORKER_STALLED)
		sky_buf_adds(b, "holds its lock, ");
	sky_buf_adds(b, w == STATUS_WORKER_UP ? "seen " : "last seen ");
	duration_add(b, n->worker_seen_age_s);
	sky_buf_adds(b, " ago)");
}

static bool table_in(const struct status_table *t, const char *state)
{
	return t->state && strcmp(t->state, state) == 0;
}

/* "public.a copying 45000/100000 rows (45%), ETA 12.0 s" and the like. */
static void table_describe(struct sky_buf *b, const struct status_table *t)
{
	long long pct = table_percent(t);
	double eta = status_table_eta(t);

	sky_buf_addf(b, "%s %s", t->name ? t->name : "(unnamed table)",
	             t->state ? t->state : "(no state)");
	if (t->copy_error) {
		sky_buf_addf(b, ": copy failed: %s", t->copy_error);
		return;
	}
	if (!table_in(t, "copying") || t->rows_copied < 0)
		return;
	if (pct >= 0)
		sky_buf_addf(b, " %lld/%lld rows (%lld%%)", t->rows_copied, t->rows_estimate, pct);
	else
		sky_buf_addf(b, " %lld rows", t->rows_copied);
	if (eta >= 0) {
		sky_buf_adds(b, ", ETA ");
		duration_add(b, eta);
	}
}

size_t status_problems(struct sky_buf *out, const struct status_report *r)
{
	size_t count = 0;

	if (r && r->failover_state) {
		if (out)
			sky_buf_addf(
			    out,
			    "failover of \"%s\" %s (%s, by skyreconcile watch on %s at %s): "
			    "%s\n",
			    r->failover_dead ? r->failover_dead : "?",
			    strcmp(r->failover_state, "exhausted") == 0
			        ? "not made: anti-flap budget spent"
			        : "not made: no candidate",
			    r->failover_state, r->failover_host ? r->failover_host : "?",
			    r->failover_at ? r->failover_at : "?",
			    r->failover_reason ? r->failover_reason : "");
		count++;
	}

	for (size_t i = 0; r && i < r->n_nodes; i++) {
		const struct status_node *n = &r->nodes[i];
		enum status_worker w;

		if (n->dead)
			continue;
		if (!n->reachable) {
			if (out)
				sky_buf_addf(out, "%s: unreachable: %s\n", n->name,
				             n->error ? n->error : "not read");
			count++;
			continue;
		}
		if (n->worker_error) {
			if (out)
				sky_buf_addf(out, "%s: worker error: %s\n", n->name,
				             n->worker_error);
			count++;
		}
		w = status_worker_judge(n);
		if (w == STATUS_WORKER_DOWN || w == STATUS_WORKER_STALLED) {
			if (out) {
				sky_buf_addf(out, "%s: ", n->name);
				worker_describe(out, n, w);
				sky_buf_addch(out, '\n');
			}
			count++;
		}
		for (size_t k = 0; k < n->n_tables; k++) {
			if (!n->tables[k].copy_error)
				continue;
			if (out) {
				sky_buf_addf(out, "%s: ", n->name);
				table_describe(out, &n->tables[k]);
				sky_buf_addch(out, '\n');
			}
			count++;
		}
	}
	return count;
}

/* Index of the node called name, or -1. */
static long node_index(const struct status_report *r, const char *name)
{
	for (size_t i = 0; name && i < r->n_nodes; i++) {
		if (strcmp(r->nodes[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

static void tree_visit(size_t *order, int *depth, size_t *n_out, bool *placed,
                       const struct status_report *r, size_t i, int d)
{
	placed[i] = true;
	order[*n_out] = i;
	depth[(*n_out)++] = d;
	for (size_t k = 0; k < r->n_nodes; k++) {
		/* dead nodes are not part of the live tree: they come last, on their own */
		if (!placed[k] && !r->nodes[k].dead &&
		    node_index(r, node_provider(&r->nodes[k])) == (long)i)
			tree_visit(order, depth, n_out, placed, r, k, d + 1);
	}
}

void status_tree_order(size_t *order, int *depth, const struct status_report *r)
{
	bool *placed = sky_calloc(r->n_nodes + 1, sizeof(*placed));
	size_t n_out = 0;

	/*
	 * Tops, in passes: live nodes without a provider (roots), live nodes whose provider is
	 * unknown, dead nodes; then whatever is left (providers in a cycle). A node's subtree
	 * follows it at once.
	 */
	for (int pass = 0; pass < 4; pass++) {
		for (size_t i = 0; i < r->n_nodes; i++) {
			const struct status_node *n = &r->nodes[i];
			const char *p = node_provider(n);
			bool top;

			if (placed[i])
				continue;
			switch (pass) {
			case 0:
				top = !n->dead && !p;
				break;
			case 1:
				top = !n->dead && node_index(r, p) < 0;
				break;
			case 2:
				top = n->dead;
				break;
			default:
				top = true;
				break;
			}
			if (top)
				tree_visit(order, depth, &n_out, placed, r, i, 0);
		}
	}
	free(placed);
}

static void indent_add(struct sky_buf *b, int n)
{
	for (int i = 0; i < n; i++)
		sky_buf_addch(b, ' ');
}

/* "tick 1230 at 2024-... UTC, behind the root: 1.2 s, 4 ticks; behind db2: 0.3 s, 1 tick" */
static void tick_describe(struct sky_buf *b, const struct status_report *r,
                          const struct status_node *n, bool is_root)
{
	double psecs;
	long long pticks;
	const char *p = node_provider(n);

	if (is_root) {
		if (r->root_tick >= 0)
			sky_buf_addf(b, "newest tick %lld at %s", r->root_tick,
			             r->root_tick_time ? r->root_tick_time : "?");
		else
			sky_buf_adds(b, "newest tick unknown");
		return;
	}
	if (n->last_tick < 0) {
		sky_buf_adds(b, "no tick yet");
		return;
	}
	sky_buf_addf(b, "tick %lld", n->last_tick);
	if (!n->tick_known) {
		sky_buf_adds(b, r->root_tick >= 0 ? " (not on the root: lag unknown)"
		                                  : " (lag unknown: the root was not read)");
		return;
	}
	sky_buf_addf(b, " at %s, behind the root: ", n->last_tick_time);
	duration_add(b, n->lag_s);
	sky_buf_addf(b, ", %lld tick%s", n->lag_ticks, n->lag_ticks == 1 ? "" : "s");
	if (p && r->root && strcmp(p, r->root) != 0 &&
	    status_lag_behind_provider(&psecs, &pticks, r, n) == 0) {
		sky_buf_addf(b, "; behind %s: ", p);
		duration_add(b, psecs);
		sky_buf_addf(b, ", %lld tick%s", pticks, pticks == 1 ? "" : "s");
	}
}

static void tables_describe(struct sky_buf *b, const struct status_node *n, int ind)
{
	size_t ok = 0, copying = 0, catching = 0, pending = 0, errors = 0, other = 0;

	for (size_t k = 0; k < n->n_tables; k++) {
		const struct status_table *t = &n->tables[k];

		if (t->copy_error)
			errors++;
		if (table_in(t, "ok"))
			ok++;
		else if (table_in(t, "copying"))
			copying++;
		else if (table_in(t, "catching-up"))
			catching++;
		else if (table_in(t, "pending"))
			pending++;
		else
			other++;
	}
	indent_add(b, ind);
	if (n->n_tables == 0) {
		sky_buf_adds(b, "tables: none\n");
		return;
	}
	sky_buf_addf(b, "tables: %zu ok", ok);
	if (copying)
		sky_buf_addf(b, ", %zu copying", copying);
	if (catching)
		sky_buf_addf(b, ", %zu catching-up", catching);
	if (pending)
		sky_buf_addf(b, ", %zu pending", pending);
	if (other)
		sky_buf_addf(b, ", %zu in another state", other);
	if (errors)
		sky_buf_addf(b, ", %zu copy error%s", errors, errors == 1 ? "" : "s");
	sky_buf_addch(b, '\n');
	for (size_t k = 0; k < n->n_tables; k++) {
		if (table_in(&n->tables[k], "ok"))
			continue;
		indent_add(b, ind + 2);
		table_describe(b, &n->tables[k]);
		sky_buf_addch(b, '\n');
	}
}

static void node_render_text(struct sky_buf *b, const struct status_report *r,
                             const struct status_node *n, int depth)
{
	int ind = 2 * depth + 4;
	const char *p = node_provider(n);
	bool is_root = r->root && strcmp(n->name, r->root) == 0;
	enum status_worker w;

	indent_add(b, 2 * depth);
	sky_buf_addf(b, "%s (%s", n->name, node_role(n));
	if (p)
		sky_buf_addf(b, ", provider %s", p);
	if (n->dead)
		sky_buf_adds(b, ", dead");
	if (n->fenced == STATUS_YES)
		sky_buf_adds(b, ", fenced");
	sky_buf_adds(b, ")\n");
	if (!n->reachable) {
		indent_add(b, ind);
		sky_buf_addf(b, "unreachable: %s%s\n", n->error ? n->error : "not read",
		             n->dead ? " (dead: expected)" : "");
		return;
	}
	if (!n->created) {
		indent_add(b, ind);
		if (n->has_pgq_set)
			sky_buf_addf(b, "not created in cascade \"%s\"\n", r->cascade);
		else
			sky_buf_adds(b, "pgq_set not installed\n");
		return;
	}
	indent_add(b, ind);
	tick_describe(b, r, n, is_root);
	sky_buf_addch(b, '\n');
	if (n->paused) {
		indent_add(b, ind);
		sky_buf_addf(b, "paused (%s)\n",
		             n->paused_ack ? "acknowledged" : "not acknowledged yet");
	}
	w = status_worker_judge(n);
	indent_add(b, ind);
	worker_describe(b, n, w);
	if (n->dead && w != STATUS_WORKER_UP)
		sky_buf_adds(b, " (dead: expected)");
	sky_buf_addch(b, '\n');
	if (n->worker_error) {
		indent_add(b, ind);
		sky_buf_addf(b, "worker error: %s\n", n->worker_error);
	}
	if (n->revision) {
		indent_add(b, ind);
		sky_buf_addf(b, "revision: %s\n", n->revision);
	}
	tables_describe(b, n, ind);
}

void status_render_text(struct sky_buf *out, const struct status_report *r)
{
	size_t *order = sky_calloc(r->n_nodes + 1, sizeof(*order));
	int *depth = sky_calloc(r->n_nodes + 1, sizeof(*depth));
	struct sky_buf problems;
	size_t n_problems, n_live = 0;

	sky_buf_addf(out, "Cascade \"%s\": root %s", r->cascade, r->root ? r->root : "(none)");
	if (r->root_tick >= 0)
		sky_buf_addf(out, ", newest tick %lld at %s", r->root_tick,
		             r->root_tick_time ? r->root_tick_time : "?");
	sky_buf_adds(out, "\n\n");
	status_tree_order(order, depth, r);
	for (size_t i = 0; i < r->n_nodes; i++)
		node_render_text(out, r, &r->nodes[order[i]], depth[i]);

	sky_buf_init(&problems);
	n_problems = status_problems(&problems, r);
	for (size_t i = 0; i < r->n_nodes; i++)
		n_live += !r->nodes[i].dead;
	if (n_problems == 0) {
		sky_buf_addf(out, "\nAll %zu live node%s fine.\n", n_live, n_live == 1 ? "" : "s");
	} else {
		const char *line = problems.data;

		sky_buf_addf(out, "\n%zu problem%s:\n", n_problems, n_problems == 1 ? "" : "s");
		while (*line) {
			const char *nl = strchr(line, '\n');

			sky_buf_adds(out, "  ");
			sky_buf_add(out, line, (size_t)(nl - line) + 1);
			line = nl + 1;
		}
	}
	sky_buf_release(&problems);
	free(order);
	free(depth);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *count_or_null(long long v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

/* seconds rounded to milliseconds, null when unknown (negative) */
static json_t *secs_or_null(double v)
{
	return v < 0 ? json_null() : json_real((double)(long long)(v * 1000.0 + 0.5) / 1000.0);
}

static json_t *tri_json(enum status_tri t)
{
	return t == STATUS_UNKNOWN ? json_null() : json_boolean(t == STATUS_YES);
}

static json_t *lag_json(double secs, long long ticks, bool known)
{
	json_t *o = json_object();

	json_object_set_new(o, "seconds", known ? secs_or_null(secs) : json_null());
	json_object_set_new(o, "ticks", known ? count_or_null(ticks) : json_null());
	return o;
}

static json_t *tables_json(const struct status_node *n)
{
	json_t *o = json_object();
	json_t *list = json_array();
	json_int_t counts[5] = {0, 0, 0, 0, 0}; /* ok copying catching-up pending errors */

	for (size_t k = 0; k < n->n_tables; k++) {
		const struct status_table *t = &n->tables[k];
		json_t *j = json_object();
		long long pct = table_percent(t);

		counts[0] += table_in(t, "ok");
		counts[1] += table_in(t, "copying");
		counts[2] += table_in(t, "catching-up");
		counts[3] += table_in(t, "pending");
		counts[4] += t->copy_error != NULL;
		json_object_set_new(j, "table", str_or_null(t->name));
		json_object_set_new(j, "state", str_or_null(t->state));
		json_object_set_new(j, "rows_copied", count_or_null(t->rows_copied));
		json_object_set_new(j, "rows_estimate", count_or_null(t->rows_estimate));
		json_object_set_new(j, "percent",
		                    table_in(t, "copying") && !t->copy_error ? count_or_null(pct)
		                                                             : json_null());
		json_object_set_new(j, "eta_seconds", secs_or_null(status_table_eta(t)));
		json_object_set_new(j, "copy_error", str_or_null(t->copy_error));
		json_array_append_new(list, j);
	}
	json_object_set_new(o, "ok", json_integer(counts[0]));
	json_object_set_new(o, "copying", json_integer(counts[1]));
	json_object_set_new(o, "catching_up", json_integer(counts[2]));
	json_object_set_new(o, "pending", json_integer(counts[3]));
	json_object_set_new(o, "copy_errors", json_integer(counts[4]));
	json_object_set_new(o, "list", list);
	return o;
}

static json_t *node_json(const struct status_report *r, const struct status_node *n, int depth)
{
	json_t *o = json_object();
	json_t *lag = json_object();
	json_t *worker = json_object();
	bool is_root = r->root && strcmp(n->name, r->root) == 0;
	bool read = n->reachable && n->created;
	double psecs = 0;
	long long pticks = 0;
	bool pknown;
	enum status_worker w = status_worker_judge(n);

	json_object_set_new(o, "node", json_string(n->name));
	json_object_set_new(o, "depth", json_integer(depth));
	json_object_set_new(o, "role", json_string(node_role(n)));
	json_object_set_new(o, "provider", str_or_null(node_provider(n)));
	json_object_set_new(o, "topology_role", json_string(sky_role_name(n->topo_role)));
	json_object_set_new(o, "topology_provider", str_or_null(n->topo_provider));
	json_object_set_new(o, "dead", json_boolean(n->dead));
	json_object_set_new(o, "reachable", json_boolean(n->reachable));
	json_object_set_new(o, "error", str_or_null(n->error));
	json_object_set_new(o, "created", json_boolean(n->reachable && n->created));
	json_object_set_new(o, "fenced", n->reachable ? tri_json(n->fenced) : json_null());
	if (is_root && read) {
		json_object_set_new(o, "last_tick", count_or_null(r->root_tick));
		json_object_set_new(o, "last_tick_time", str_or_null(r->root_tick_time));
	} else {
		json_object_set_new(o, "last_tick",
		                    read ? count_or_null(n->last_tick) : json_null());
		json_object_set_new(o, "last_tick_time",
		                    n->tick_known ? json_string(n->last_tick_time) : json_null());
	}
	pknown = read && status_lag_behind_provider(&psecs, &pticks, r, n) == 0;
	json_object_set_new(lag, "root", lag_json(n->lag_s, n->lag_ticks, read && n->tick_known));
	json_object_set_new(lag, "provider", lag_json(psecs, pticks, pknown));
	json_object_set_new(o, "lag", lag);
	json_object_set_new(o, "paused", read ? json_boolean(n->paused) : json_null());
	json_object_set_new(o, "paused_ack", read ? json_boolean(n->paused_ack) : json_null());
	json_object_set_new(worker, "state", json_string(status_worker_name(w)));
	json_object_set_new(worker, "seen_seconds_ago",
	                    read ? secs_or_null(n->worker_seen_age_s) : json_null());
	json_object_set_new(worker, "error", str_or_null(n->worker_error));
	json_object_set_new(o, "worker", worker);
	json_object_set_new(o, "revision", str_or_null(n->revision));
	json_object_set_new(o, "tables", n->reachable ? tables_json(n) : json_null());
	return o;
}

json_t *status_render_json(const struct status_report *r)
{
	size_t *order = sky_calloc(r->n_nodes + 1, sizeof(*order));
	int *depth = sky_calloc(r->n_nodes + 1, sizeof(*depth));
	json_t *doc = json_object();
	json_t *root = json_object();
	json_t *nodes = json_array();
	json_t *problems = json_array();
	struct sky_buf b;
	size_t n_problems;

	sky_buf_init(&b);
	n_problems = status_problems(&b, r);
	for (char *line = b.data; *line;) {
		char *nl = strchr(line, '\n');

		*nl = '\0';
		json_array_append_new(problems, json_string(line));
		line = nl + 1;
	}
	sky_buf_release(&b);
	json_object_set_new(doc, "cascade", json_string(r->cascade));
	json_object_set_new(root, "node", str_or_null(r->root));
	json_object_set_new(root, "tick", count_or_null(r->root_tick));
	json_object_set_new(root, "tick_time", str_or_null(r->root_tick_time));
	json_object_set_new(doc, "root", root);
	if (r->failover_state) {
		json_t *f = json_object();

		json_object_set_new(f, "state", json_string(r->failover_state));
		json_object_set_new(f, "dead", str_or_null(r->failover_dead));
		json_object_set_new(f, "reason", str_or_null(r->failover_reason));
		json_object_set_new(f, "host", str_or_null(r->failover_host));
		json_object_set_new(f, "decided_at", str_or_null(r->failover_at));
		json_object_set_new(doc, "failover", f);
	} else {
		json_object_set_new(doc, "failover", json_null());
	}
	json_object_set_new(doc, "ok", json_boolean(n_problems == 0));
	json_object_set_new(doc, "problems", problems);
	status_tree_order(order, depth, r);
	for (size_t i = 0; i < r->n_nodes; i++)
		json_array_append_new(nodes, node_json(r, &r->nodes[order[i]], depth[i]));
	json_object_set_new(doc, "nodes", nodes);
	free(order);
	free(depth);
	return doc;
}
