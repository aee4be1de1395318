/*
 * topology_check: the check pass of the topology.yaml reader (topology_internal.h). What
 * involves several entries: one live root, providers that exist and can serve, renames, the
 * failover policy's node names, no provider cycles, tables that their provider has. Every
 * inconsistency is looked at; topo_note keeps the one that comes first in the file.
 */
#include "topology_internal.h"

#include <stdlib.h>
#include <string.h>

/* At most this many names in an "expected one of" list. */
#define TOPO_LIST_MAX 20

/* "db1, db2, ..." of the nodes that could be a provider for node `self` (or every node when
 * providers_only is false). Valid until the parse ends. */
static const char *node_list(struct topo_parse *p, bool providers_only, const char *self)
{
	struct sky_buf b;
	size_t shown = 0;

	sky_buf_init(&b);
	for (size_t i = 0; i < p->topo->n_nodes; i++) {
		const struct topo_node *n = &p->topo->nodes[i];

		if (providers_only && (n->role == SKY_ROLE_LEAF || strcmp(n->name, self) == 0))
			continue;
		if (shown == TOPO_LIST_MAX) {
			sky_buf_adds(&b, ", ...");
			break;
		}
		sky_buf_addf(&b, "%s%s", shown ? ", " : "", n->name);
		shown++;
	}
	if (!shown)
		sky_buf_adds(&b, "none");
	return topo_scratch_keep(p, sky_buf_detach(&b));
}

/* The provider of node i as an index, or -1 (root, none, unknown, itself). */
static long provider_index(const struct topology *topo, size_t i)
{
	const struct topo_node *n = &topo->nodes[i];
	long pi;

	if (n->role == SKY_ROLE_ROOT || !n->provider)
		return -1;
	pi = topo_node_index(topo, n->provider);
	return pi == (long)i ? -1 : pi;
}

static void check_nodes(struct topo_parse *p)
{
	struct topology *topo = p->topo;
	const struct topo_node *root = NULL;

	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *n = &topo->nodes[i];
		const struct node_marks *m = &p->node_marks[i];
		long pi;

		if (n->dead)
			continue; /* fenced: kept for its DSN, counted for nothing else */
		if (n->role == SKY_ROLE_ROOT) {
			if (root)
				topo_note(
				    p, m->role,
				    "second root node \"%s\" (node \"%s\" is already the root; "
				    "expected exactly one live root: mark the old one \"dead: "
				    "true\" "
				    "for a failover)",
				    n->name, root->name);
			else
				root = n;
			if (n->provider)
				topo_note(
				    p, m->provider_key,
				    "root node \"%s\" cannot have a provider (remove \"provider\" "
				    "or "
				    "change the role)",
				    n->name);
			continue;
		}
		if (!n->provider) {
			topo_note(
			    p, n->pos,
			    "missing required key \"provider\" in node \"%s\" (expected the name "
			    "of "
			    "a root or branch node: a %s needs a provider)",
			    n->name, sky_role_name(n->role));
			continue;
		}
		if (strcmp(n->provider, n->name) == 0) {
			topo_note(p, m->provider, "node \"%s\" cannot be its own provider",
			          n->name);
			continue;
		}
		pi = topo_node_index(topo, n->provider);
		if (pi < 0)
			topo_note(p, m->provider,
			          "unknown provider %s for node \"%s\" (expected one of: %s)",
			          topo_quote(p, n->provider), n->name, node_list(p, true, n->name));
		else if (topo->nodes[pi].role == SKY_ROLE_LEAF)
			topo_note(
			    p, m->provider,
			    "provider \"%s\" of node \"%s\" is a leaf (expected a root or branch "
			    "node)",
			    n->provider, n->name);
		else if (topo->nodes[pi].dead)
			topo_note(p, m->provider,
			          "provider \"%s\" of node \"%s\" is dead (expected a live root or "
			          "branch node: give \"%s\" another provider)",
			          n->provider, n->name, n->name);
	}
	if (!root)
		topo_note(p, p->nodes_key,
		          "no root node (expected exactly one node with role root)");
}

/*
 * renamed_from: the old name is not a node of the file (references use new names), not the
 * node's own name, and claimed by one node only.
 */
static void check_renames(struct topo_parse *p)
{
	struct topology *topo = p->topo;

	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *n = &topo->nodes[i];
		struct topo_pos pos = p->node_marks[i].renamed_from;

		if (!n->renamed_from)
			continue;
		if (strcmp(n->renamed_from, n->name) == 0) {
			topo_note(
			    p, pos,
			    "node \"%s\" cannot be renamed from itself (remove \"renamed_from\")",
			    n->name);
			continue;
		}
		if (topo_node_index(topo, n->renamed_from) >= 0) {
			topo_note(
			    p, pos,
			    "node \"%s\" is renamed from \"%s\", which is still a node of the "
			    "file (expected the old name, no longer in \"nodes\")",
			    n->name, n->renamed_from);
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			if (topo->nodes[k].renamed_from &&
			    strcmp(topo->nodes[k].renamed_from, n->renamed_from) == 0) {
				topo_note(
				    p, pos,
				    "node \"%s\" is renamed from \"%s\", which node \"%s\" is "
				    "already renamed from (expected one new name per old name)",
				    n->name, n->renamed_from, topo->nodes[k].name);
				break;
			}
		}
	}
}

/* failover: candidates and never name nodes of the file, and no node is both. */
static void check_failover(struct topo_parse *p)
{
	const struct topo_failover *fo = &p->topo->failover;

	for (size_t i = 0; i < fo->n_candidates; i++) {
		if (topo_node_index(p->topo, fo->candidates[i].node) < 0)
			topo_note(
			    p, fo->pos,
			    "unknown node \"%s\" in \"candidates\" in failover (expected one of: "
			    "%s)",
			    fo->candidates[i].node, node_list(p, false, NULL));
		for (size_t k = 0; k < fo->n_never; k++)
			if (strcmp(fo->never[k], fo->candidates[i].node) == 0)
				topo_note(
				    p, fo->pos,
				    "node \"%s\" is both in \"candidates\" and in \"never\" in "
				    "failover",
				    fo->never[k]);
	}
	for (size_t k = 0; k < fo->n_never; k++)
		if (topo_node_index(p->topo, fo->never[k]) < 0)
			topo_note(
			    p, fo->pos,
			    "unknown node \"%s\" in \"never\" in failover (expected one of: %s)",
			    fo->never[k], node_list(p, false, NULL));
}

/*
 * Follow providers from each node in file order; a walk that comes back to a node of the same
 * walk has found a cycle, reported at the cycle's first node in file order.
 */
static void check_cycles(struct topo_parse *p)
{
	struct topology *topo = p->topo;
	size_t n = topo->n_nodes;
	char *state = sky_calloc(n, 1); /* 0 new, 1 on the current walk, 2 done */
	long *walk = sky_calloc(n, sizeof(*walk));

	for (size_t start = 0; start < n; start++) {
		size_t len = 0, from;
		long j = (long)start;

		while (j >= 0 && state[j] == 0) {
			state[j] = 1;
			walk[len++] = j;
			j = provider_index(topo, (size_t)j);
		}
		if (j >= 0 && state[j] == 1) {
			struct sky_buf b;
			size_t first, cyc_len;

			for (from = 0; walk[from] != j; from++)
				;
			cyc_len = len - from;
			first = from;
			for (size_t k = from; k < len; k++)
				if (walk[k] < walk[first])
					first = k;
			sky_buf_init(&b);
			for (size_t k = 0; k <= cyc_len; k++)
				sky_buf_addf(
				    &b, "%s%s", k ? " -> " : "",
				    topo->nodes[walk[from + (first - from + k) % cyc_len]].name);
			topo_note(
			    p, p->node_marks[walk[first]].provider,
			    "provider cycle %s (expected a chain of providers that ends at the "
			    "root)",
			    b.data);
			sky_buf_release(&b);
		}
		for (size_t k = 0; k < len; k++)
			state[walk[k]] = 2;
	}
	free(state);
	free(walk);
}

static void check_tables(struct topo_parse *p)
{
	struct topology *topo = p->topo;

	for (size_t i = 0; i < topo->n_tables; i++) {
		const struct topo_table *t = &topo->tables[i];

		for (size_t k = 0; k < t->n_nodes; k++) {
			struct topo_pos pos = p->table_marks[i].nodes[k];
			long ni = topo_node_index(topo, t->nodes[k]), pi;

			if (ni < 0) {
				topo_note(
				    p, pos,
				    "unknown node %s in \"nodes\" of table %s (expected one of: "
				    "%s)",
				    topo_quote(p, t->nodes[k]), topo_quote(p, t->name),
				    node_list(p, false, NULL));
				continue;
			}
			pi = provider_index(topo, (size_t)ni);
			if (pi >= 0 && !topology_table_on_node(t, topo->nodes[pi].name))
				topo_note(
				    p, pos,
				    "table %s is on node \"%s\" but not on its provider \"%s\" (a "
				    "node "
				    "copies its tables from its provider: add \"%s\" to \"nodes\")",
				    topo_quote(p, t->name), t->nodes[k], topo->nodes[pi].name,
				    topo->nodes[pi].name);
		}
	}
}

int topo_check(struct topo_parse *p)
{
	check_nodes(p);
	check_renames(p);
	check_failover(p);
	check_cycles(p);
	check_tables(p);
	return p->found ? -1 : 0;
}
