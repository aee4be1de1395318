/* policy: the failover decision (see policy.h). No I/O. */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky_mem.h"

static bool tables_in_sync(const struct actual_node *an)
{
	for (size_t i = 0; i < an->n_tables; i++)
		if (an->tables[i].state && strcmp(an->tables[i].state, "ok") != 0)
			return false;
	return true;
}

/* The node's catalog, when it is reachable, created and pulls from `dead`. */
static const struct actual_node *survivor(const struct actual_state *actual, const char *name,
                                          const char *dead)
{
	const struct actual_node *an = actual_state_node(actual, name);

	if (!an || !an->reachable || !an->created || !an->self.provider ||
	    strcmp(an->self.provider, dead) != 0)
		return NULL;
	return an;
}

struct topology *policy_propose(const struct topology *topo, const char *dead, const char *chosen)
{
	struct topology *t = topology_clone(topo);

	for (size_t i = 0; i < t->n_nodes; i++) {
		struct topo_node *n = &t->nodes[i];

		if (strcmp(n->name, dead) == 0) {
			n->dead = true;
		} else if (strcmp(n->name, chosen) == 0) {
			n->role = SKY_ROLE_ROOT;
			free(n->provider);
			n->provider = NULL;
		} else if (n->provider && strcmp(n->provider, dead) == 0) {
			free(n->provider);
			n->provider = sky_strdup(chosen);
		}
	}
	return t;
}

int policy_decide(struct policy_decision **out, const struct topology *topo,
                  const struct actual_state *actual, const char *dead, struct sky_error *err)
{
	const struct topo_node *root = topology_root(topo);
	const struct topo_node *best = NULL;
	const struct actual_node *best_an = NULL;
	struct policy_decision *d;
	struct sky_buf ev;
	long long last = -1;
	size_t n_survivors = 0;

	if (!root || strcmp(root->name, dead) != 0)
		return sky_error_set(err, "node \"%s\" is not the root of the topology%s%s%s", dead,
		                     root ? " (the root is " : "", root ? root->name : "",
		                     root ? ")" : "");
	d = sky_calloc(1, sizeof(*d));
	d->dead = sky_strdup(dead);
	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct actual_node *an = survivor(actual, topo->nodes[i].name, dead);

		if (an && !topo->nodes[i].dead && an->self.last_tick > last)
			last = an->self.last_tick;
	}
	d->last_tick = last;
	sky_buf_init(&ev);
	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *tn = &topo->nodes[i];
		const struct actual_node *an = tn->dead ? NULL : survivor(actual, tn->name, dead);
		int prio = topology_failover_priority(topo, tn->name);
		const char *verdict = "candidate";

		if (!an)
			continue;
		n_survivors++;
		if (an->self.role != SKY_ROLE_BRANCH)
			verdict = "not a candidate: a leaf";
		else if (topology_failover_never(topo, tn->name))
			verdict = "not a candidate: failover.never";
		else if (!tables_in_sync(an))
			verdict = "not a candidate: tables still copying";
		else if (topo->failover.max_lag_ticks > 0 &&
		         last - an->self.last_tick > topo->failover.max_lag_ticks)
			verdict = "not a candidate: behind by more than failover.max_lag_ticks";
		sky_buf_addf(&ev, "%s %s tick %lld (%lld behind) priority %d: %s\n", tn->name,
		             sky_role_name(an->self.role), an->self.last_tick,
		             last - an->self.last_tick, prio, verdict);
		if (strcmp(verdict, "candidate") != 0)
			continue;
		if (!best || an->self.last_tick > best_an->self.last_tick ||
		    (an->self.last_tick == best_an->self.last_tick &&
		     prio > topology_failover_priority(topo, best->name))) {
			best = tn;
			best_an = an;
		}
	}
	d->evidence = sky_buf_detach(&ev);
	if (n_survivors == 0) {
		d->reason =
		    sky_asprintf("no reachable node pulls from \"%s\": nothing to promote", dead);
	} else if (!best) {
		d->reason =
		    sky_asprintf("no candidate: no surviving branch of \"%s\" qualifies "
		                 "(see each survivor's line); promote one by hand with an edit",
		                 dead);
	} else {
		d->chosen = sky_strdup(best->name);
		d->reason =
		    sky_asprintf("%s: the most advanced surviving branch (tick %lld of %lld), "
		                 "priority %d",
		                 best->name, best_an->self.last_tick, last,
		                 topology_failover_priority(topo, best->name));
		d->proposed = policy_propose(topo, dead, best->name);
	}
	*out = d;
	return 0;
}

int policy_force(struct policy_decision *d, const struct topology *topo,
                 const struct actual_state *actual, const char *node, struct sky_error *err)
{
	const struct topo_node *tn = topology_node(topo, node);
	const struct actual_node *an = tn && !tn->dead ? survivor(actual, node, d->dead) : NULL;

	if (!an)
		return sky_error_set(err,
		                     "node \"%s\" is not a reachable node that pulls from \"%s\"",
		                     node, d->dead);
	if (an->self.role != SKY_ROLE_BRANCH)
		return sky_error_set(err, "node \"%s\" is a %s: only a branch can become the root",
		                     node, sky_role_name(an->self.role));
	free(d->chosen);
	free(d->reason);
	topology_free(d->proposed);
	d->chosen = sky_strdup(node);
	d->reason = sky_asprintf("%s: chosen by an operator's override (tick %lld of %lld)", node,
	                         an->self.last_tick, d->last_tick);
	d->proposed = policy_propose(topo, d->dead, node);
	return 0;
}

void policy_decision_free(struct policy_decision *d)
{
	if (!d)
		return;
	free(d->dead);
	free(d->chosen);
	free(d->reason);
	free(d->evidence);
	topology_free(d->proposed);
	free(d);
}

static void age_text(char *buf, size_t size, double age)
{
	if (age < 0)
		snprintf(buf, size, "never");
	else
		snprintf(buf, size, "%.1f s ago", age);
}

size_t policy_witnesses(struct sky_buf *views, const struct topology *topo,
                        const struct actual_state *actual, const char *dead)
{
	size_t n = 0;

	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *tn = &topo->nodes[i];
		const struct actual_node *an = actual_state_node(actual, tn->name);
		const struct actual_witness *w = an ? &an->witness : NULL;
		char contact[32], progress[32];
		const char *verdict;
		bool direct;

		if (tn->dead || strcmp(tn->name, dead) == 0)
			continue;
		if (!an || !an->reachable || !an->created) {
			if (views)
				sky_buf_addf(views,
				             "%s: node unreachable or not created: no view\n",
				             tn->name);
			continue;
		}
		if (!w->present || !w->provider) {
			if (views)
				sky_buf_addf(views, "%s: no report from its worker\n", tn->name);
			continue;
		}
		direct = strcmp(w->provider, dead) == 0;
		age_text(contact, sizeof(contact), w->contact_age);
		age_text(progress, sizeof(progress), w->progress_age);
		if (w->heartbeat_age < 0 || w->heartbeat_age >= POLICY_WITNESS_FRESH_S)
			verdict = "not counted: its worker's heartbeat is stale";
		else if (!direct)
			verdict = "not counted: not a direct subscriber of the root";
		else if (w->contact_age >= 0 && w->contact_age < topo->failover.detect_after)
			verdict = "sees it alive";
		else {
			verdict = "sees it dead";
			n++;
		}
		if (views)
			sky_buf_addf(views,
			             "%s pulls from %s: last contact %s, last new tick %lld %s, "
			             "heartbeat %.1f s ago: %s\n",
			             tn->name, w->provider, contact, w->provider_tick, progress,
			             w->heartbeat_age, verdict);
	}
	return n;
}
