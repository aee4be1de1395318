/*
 * topology_nodes: the "nodes" section of topology.yaml (topology_internal.h): node names, the
 * node key table (role, dsn, provider, paused, parallel_copies, renamed_from, dead) and the
 * positions the check pass needs later (struct node_marks).
 */
#include "topology_internal.h"

#include <string.h>

static int node_read_role(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;

	if (topo_kind_of(f->vnode) != KIND_STR ||
	    sky_role_parse(&n->role, topo_scalar_text(f->vnode)) < 0)
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "expected root, branch or leaf for \"role\"%s, got %s", f->ctx,
		                 topo_describe(p, f->vnode, true));
	p->node_marks[n - p->topo->nodes].role = topo_ynode_pos(f->vnode);
	return 0;
}

static int node_read_dsn(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;
	const char *s;

	if (topo_field_string(&s, p, f) < 0)
		return -1;
	if (!s[0])
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "empty \"dsn\"%s (expected a libpq connection string)", f->ctx);
	/*
	 * The syntax is libpq's to judge, and the engine has no libpq: topology_dsn_check
	 * (topology_dsn.c) parses every dsn after the load and reports at dsn_pos.
	 */
	n->dsn = sky_strdup(s);
	n->dsn_pos = topo_ynode_pos(f->vnode);
	return 0;
}

static int node_read_provider(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;
	struct node_marks *m = &p->node_marks[n - p->topo->nodes];
	const char *s;

	if (topo_field_string(&s, p, f) < 0)
		return -1;
	n->provider = sky_strdup(s);
	m->provider_key = topo_ynode_pos(f->knode);
	m->provider = topo_ynode_pos(f->vnode);
	return 0;
}

static int node_read_renamed_from(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;
	const char *s;

	if (topo_field_string(&s, p, f) < 0)
		return -1;
	if (!topo_valid_name(s))
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "invalid node name %s for \"renamed_from\"%s (expected 1 to %d "
		                 "characters from [a-z0-9_])",
		                 topo_quote(p, s), f->ctx, TOPO_NAME_MAX);
	n->renamed_from = sky_strdup(s);
	p->node_marks[n - p->topo->nodes].renamed_from = topo_ynode_pos(f->vnode);
	return 0;
}

static int node_read_dead(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;

	p->node_marks[n - p->topo->nodes].dead = topo_ynode_pos(f->knode);
	return topo_field_bool(&n->dead, p, f);
}

static int node_read_paused(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_bool(&((struct topo_node *)obj)->paused, p, f);
}

static int node_read_parallel_copies(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_count(&((struct topo_node *)obj)->parallel_copies, p, f);
}

static const struct topo_key node_keys[] = {
    {"role", true, "root, branch or leaf", node_read_role},
    {"dsn", true, "a libpq connection string", node_read_dsn},
    {"provider", false, NULL, node_read_provider},
    {"paused", false, NULL, node_read_paused},
    {"parallel_copies", false, NULL, node_read_parallel_copies},
    {"renamed_from", false, NULL, node_read_renamed_from},
    {"dead", false, NULL, node_read_dead},
};

int topo_read_nodes(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topology *topo = p->topo;
	yaml_node_t *map = f->vnode;
	yaml_node_pair_t *pair;
	size_t count;

	p->nodes_key = topo_ynode_pos(f->knode);
	if (map->type != YAML_MAPPING_NODE)
		return topo_fail(p, topo_ynode_pos(map),
		                 "expected a mapping of node name to node for \"nodes\", got %s",
		                 topo_kind_name(topo_kind_of(map)));
	count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (count == 0)
		return topo_fail(p, topo_ynode_pos(map),
		                 "no nodes (expected at least the root node)");
	topo->nodes = sky_calloc(count, sizeof(*topo->nodes));
	p->node_marks = sky_calloc(count, sizeof(*p->node_marks));

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = topo_ynode(p, pair->key);
		yaml_node_t *v = topo_ynode(p, pair->value);
		struct topo_node *n;
		const char *name;
		char *ctx;

		if (k->type != YAML_SCALAR_NODE)
			return topo_fail(p, topo_ynode_pos(k),
			                 "expected a node name in \"nodes\", got %s",
			                 topo_kind_name(topo_kind_of(k)));
		name = topo_scalar_text(k);
		if (!topo_valid_name(name) || strlen(name) != k->data.scalar.length)
			return topo_fail(p, topo_ynode_pos(k),
			                 "invalid node name %s (expected 1 to %d characters from "
			                 "[a-z0-9_])",
			                 topo_quote(p, name), TOPO_NAME_MAX);
		for (size_t i = 0; i < topo->n_nodes; i++)
			if (strcmp(topo->nodes[i].name, name) == 0)
				return topo_fail(p, topo_ynode_pos(k),
				                 "duplicate node \"%s\" (first defined at %d:%d)",
				                 name, topo->nodes[i].pos.line,
				                 topo->nodes[i].pos.col);
		n = &topo->nodes[topo->n_nodes++];
		n->name = sky_strdup(name);
		n->pos = topo_ynode_pos(k);
		if (v->type != YAML_MAPPING_NODE)
			return topo_fail(
			    p, topo_ynode_pos(v),
			    "expected a mapping (keys: %s) for node \"%s\", got %s",
			    topo_key_list(p, node_keys, sizeof(node_keys) / sizeof(node_keys[0])),
			    name, topo_kind_name(topo_kind_of(v)));
		ctx = sky_asprintf(" in node \"%s\"", name);
		topo_scratch_keep(p, ctx);
		if (topo_read_map(p, v, node_keys, sizeof(node_keys) / sizeof(node_keys[0]), n, ctx,
		                  n->pos) < 0)
			return -1;
	}
	return 0;
}
