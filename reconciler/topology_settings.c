/*
 * topology_settings: the cascade-wide knobs of topology.yaml (topology_internal.h): the
 * "settings" section (parallel_copies, the root queue's ticker thresholds) and the "failover"
 * policy section.
 */
#include "topology_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- settings ---- */

static int settings_read_parallel_copies(struct topo_parse *p, void *obj,
                                         const struct topo_field *f)
{
	return topo_field_count(&p->topo->parallel_copies, p, f);
}

/*
 * A duration in seconds (an integer or a decimal number, at most 86400), as milliseconds:
 * > 0, or >= 0 with zero_ok.
 */
static int field_seconds(int *out, struct topo_parse *p, const struct topo_field *f, bool zero_ok)
{
	const char *s = topo_scalar_text(f->vnode);
	enum topo_kind k = topo_kind_of(f->vnode);
	double v;
	char *end;

	if ((k != KIND_INT && k != KIND_FLOAT) || (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')))
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno == ERANGE || v != v || v < 0 || (!zero_ok && v * 1000 < 1) || v > 86400)
		goto bad;
	*out = (int)(v * 1000 + 0.5);
	return 0;
bad:
	return topo_fail(p, topo_ynode_pos(f->vnode),
	                 "expected a number of seconds %s for \"%s\"%s, got %s",
	                 zero_ok ? "from 0 to 86400" : "from 0.001 to 86400", f->key, f->ctx,
	                 topo_describe(p, f->vnode, true));
}

static int settings_read_ticker_max_count(struct topo_parse *p, void *obj,
                                          const struct topo_field *f)
{
	(void)obj;
	return topo_field_count(&p->topo->ticker_max_count, p, f);
}

static int settings_read_ticker_max_lag(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	(void)obj;
	if (field_seconds(&p->topo->ticker_max_lag_ms, p, f, true) < 0)
		return -1;
	p->topo->has_ticker_max_lag = true;
	return 0;
}

static int settings_read_ticker_idle_period(struct topo_parse *p, void *obj,
                                            const struct topo_field *f)
{
	(void)obj;
	return field_seconds(&p->topo->ticker_idle_period_ms, p, f, false);
}

static const struct topo_key settings_keys[] = {
    {"parallel_copies", false, NULL, settings_read_parallel_copies},
    {"ticker_max_count", false, NULL, settings_read_ticker_max_count},
    {"ticker_max_lag", false, NULL, settings_read_ticker_max_lag},
    {"ticker_idle_period", false, NULL, settings_read_ticker_idle_period},
};

int topo_read_settings(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	if (f->vnode->type != YAML_MAPPING_NODE)
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "expected a mapping (keys: %s) for \"settings\", got %s",
		                 topo_key_list(p, settings_keys,
		                               sizeof(settings_keys) / sizeof(settings_keys[0])),
		                 topo_kind_name(topo_kind_of(f->vnode)));
	return topo_read_map(p, f->vnode, settings_keys,
	                     sizeof(settings_keys) / sizeof(settings_keys[0]), NULL, " in settings",
	                     topo_ynode_pos(f->vnode));
}

/* ---- failover policy ---- */

static int failover_read_mode(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	const char *s = topo_scalar_text(f->vnode);

	if (topo_kind_of(f->vnode) != KIND_STR ||
	    (strcmp(s, "manual") != 0 && strcmp(s, "automatic") != 0))
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "expected manual or automatic for \"mode\"%s, got %s", f->ctx,
		                 topo_describe(p, f->vnode, true));
	p->topo->failover.automatic = strcmp(s, "automatic") == 0;
	return 0;
}

static int failover_read_detect_after(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_count(&p->topo->failover.detect_after, p, f);
}

static int failover_read_witnesses(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_count(&p->topo->failover.witnesses, p, f);
}

static int failover_read_max_lag_ticks(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_count(&p->topo->failover.max_lag_ticks, p, f);
}

static int failover_read_max_failovers(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_count(&p->topo->failover.max_failovers, p, f);
}

static int failover_read_window(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_count(&p->topo->failover.window, p, f);
}

/* candidates: {node: priority, ...} */
static int failover_read_candidates(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_failover *fo = &p->topo->failover;
	yaml_node_t *map = f->vnode;
	yaml_node_pair_t *pair;
	size_t count;

	if (map->type != YAML_MAPPING_NODE)
		return topo_fail(
		    p, topo_ynode_pos(map),
		    "expected a mapping of node name to priority for \"candidates\"%s, got %s",
		    f->ctx, topo_kind_name(topo_kind_of(map)));
	count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	fo->candidates = sky_calloc(count + 1, sizeof(*fo->candidates));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = topo_ynode(p, pair->key);
		struct topo_field vf = {.key = "candidates",
		                        .knode = k,
		                        .vnode = topo_ynode(p, pair->value),
		                        .ctx = f->ctx};
		struct topo_candidate *c;

		if (k->type != YAML_SCALAR_NODE || !topo_valid_name(topo_scalar_text(k)))
			return topo_fail(p, topo_ynode_pos(k),
			                 "expected a node name in \"candidates\"%s, got %s", f->ctx,
			                 topo_describe(p, k, true));
		for (size_t i = 0; i < fo->n_candidates; i++)
			if (strcmp(fo->candidates[i].node, topo_scalar_text(k)) == 0)
				return topo_fail(p, topo_ynode_pos(k),
				                 "duplicate node \"%s\" in \"candidates\"%s",
				                 topo_scalar_text(k), f->ctx);
		c = &fo->candidates[fo->n_candidates];
		if (topo_field_count(&c->priority, p, &vf) < 0)
			return -1;
		c->node = sky_strdup(topo_scalar_text(k));
		fo->n_candidates++;
	}
	return 0;
}

static int failover_read_never(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_failover *fo = &p->topo->failover;
	yaml_node_t *seq = f->vnode;
	size_t count;

	if (seq->type != YAML_SEQUENCE_NODE)
		return topo_fail(p, topo_ynode_pos(seq),
		                 "expected a list of node names for \"never\"%s, got %s", f->ctx,
		                 topo_kind_name(topo_kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	fo->never = sky_calloc(count + 1, sizeof(*fo->never));
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = topo_ynode(p, *it);

		if (topo_kind_of(v) != KIND_STR || !topo_valid_name(topo_scalar_text(v)))
			return topo_fail(p, topo_ynode_pos(v),
			                 "expected a node name in \"never\"%s, got %s", f->ctx,
			                 topo_describe(p, v, true));
		fo->never[fo->n_never++] = sky_strdup(topo_scalar_text(v));
	}
	return 0;
}

static const struct topo_key failover_keys[] = {
    {"mode", false, NULL, failover_read_mode},
    {"detect_after", false, NULL, failover_read_detect_after},
    {"witnesses", false, NULL, failover_read_witnesses},
    {"candidates", false, NULL, failover_read_candidates},
    {"never", false, NULL, failover_read_never},
    {"max_lag_ticks", false, NULL, failover_read_max_lag_ticks},
    {"max_failovers", false, NULL, failover_read_max_failovers},
    {"window", false, NULL, failover_read_window},
};

int topo_read_failover(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	p->topo->failover.present = true;
	p->topo->failover.pos = topo_ynode_pos(f->knode);
	if (f->vnode->type != YAML_MAPPING_NODE)
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "expected a mapping (keys: %s) for \"failover\", got %s",
		                 topo_key_list(p, failover_keys,
		                               sizeof(failover_keys) / sizeof(failover_keys[0])),
		                 topo_kind_name(topo_kind_of(f->vnode)));
	return topo_read_map(p, f->vnode, failover_keys,
	                     sizeof(failover_keys) / sizeof(failover_keys[0]), NULL, " in failover",
	                     topo_ynode_pos(f->vnode));
}
