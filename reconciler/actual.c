/*
 * actual: the model of the actual state (actual.h): releasing it and borrowed lookups. Part of
 * the plan engine (no I/O); catalog.c fills the model from the nodes.
 */
#include "actual.h"

#include <stdlib.h>
#include <string.h>

void actual_node_clear(struct actual_node *node)
{
	if (!node)
		return;
	free(node->name);
	free(node->error);
	free(node->version);
	free(node->installer);
	free(node->capture_stale);
	free(node->self.name);
	free(node->self.role_text);
	free(node->self.provider);
	free(node->self.worker_error);
	for (size_t i = 0; i < node->n_members; i++) {
		free(node->members[i].name);
		free(node->members[i].location);
	}
	free(node->members);
	for (size_t i = 0; i < node->n_subscribers; i++)
		free(node->subscribers[i].name);
	free(node->subscribers);
	for (size_t i = 0; i < node->n_tables; i++) {
		free(node->tables[i].name);
		free(node->tables[i].state);
		free(node->tables[i].schema);
		free(node->tables[i].relname);
		free(node->tables[i].copy_error);
	}
	free(node->tables);
	for (size_t i = 0; i < node->n_sequences; i++)
		free(node->sequences[i]);
	free(node->sequences);
	for (size_t i = 0; i < node->n_checks; i++)
		free(node->checks[i].name);
	free(node->checks);
	free(node->witness.provider);
	free(node->failover.state);
	free(node->failover.dead);
	free(node->failover.reason);
	free(node->failover.evidence);
	free(node->failover.host);
	free(node->failover.decided_at);
	memset(node, 0, sizeof(*node));
}

void actual_state_free(struct actual_state *state)
{
	if (!state)
		return;
	for (size_t i = 0; i < state->n_nodes; i++)
		actual_node_clear(&state->nodes[i]);
	free(state->nodes);
	free(state);
}

const struct actual_node *actual_state_node(const struct actual_state *state, const char *name)
{
	for (size_t i = 0; state && i < state->n_nodes; i++) {
		if (state->nodes[i].name && strcmp(state->nodes[i].name, name) == 0)
			return &state->nodes[i];
	}
	return NULL;
}

const struct actual_member *actual_node_member(const struct actual_node *node, const char *name)
{
	for (size_t i = 0; node && i < node->n_members; i++) {
		if (node->members[i].name && strcmp(node->members[i].name, name) == 0)
			return &node->members[i];
	}
	return NULL;
}

const struct actual_table *actual_node_table(const struct actual_node *node, const char *name)
{
	for (size_t i = 0; node && i < node->n_tables; i++) {
		if (node->tables[i].name && strcmp(node->tables[i].name, name) == 0)
			return &node->tables[i];
	}
	return NULL;
}

const struct actual_subscriber *actual_node_subscriber(const struct actual_node *node,
                                                       const char *name)
{
	for (size_t i = 0; node && i < node->n_subscribers; i++) {
		if (node->subscribers[i].name && strcmp(node->subscribers[i].name, name) == 0)
			return &node->subscribers[i];
	}
	return NULL;
}
