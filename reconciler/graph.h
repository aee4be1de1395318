/*
 * graph: the cascade as a picture, Graphviz DOT or Mermaid (`skyreconcile graph`,
 * docs/operations.md). No I/O: the topology and, when they could be read, the nodes' catalogs
 * in; text out. cmd_graph.c reads the sources and prints.
 *
 * What is drawn: one node per topology node, its role (DOT: shape and colour; Mermaid: shape),
 * dead (fenced) and paused marked, a node whose catalog could not be read marked unreachable;
 * one edge provider -> subscriber, labelled "lag N ticks" when both the provider's newest tick
 * and the subscriber's position are known. Role, provider, paused and dead come from a
 * reachable node's catalog when it has them (mid-failover they may differ from the file), from
 * the file otherwise.
 */
#ifndef SKY_GRAPH_H
#define SKY_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "actual.h"
#include "sky_mem.h"
#include "topology.h"

enum graph_format { GRAPH_DOT, GRAPH_MERMAID };

struct graph_node {
	const char *name; /* borrowed from the topology */
	enum sky_role role;
	const char *provider; /* NULL: none (root); borrowed */
	bool dead;
	bool paused;
	bool catalogs;       /* the catalogs were asked for (false: drawn from the file alone) */
	bool reachable;      /* with catalogs: the node's catalog was read */
	long long head_tick; /* the newest tick in the node's queue; -1 unknown */
	long long last_tick; /* the tick the node has applied up to; -1 unknown */
};

/* Borrows from the topology and the state: valid while both are. Release with graph_release. */
struct graph {
	const char *cascade;
	struct graph_node *nodes; /* in topology order */
	size_t n_nodes;
};

/*
 * Build the picture's model from topo and, when state is not NULL, the catalogs (state->nodes
 * in topology order, as catalog_state_read makes it). head_ticks (may be NULL) has one entry per
 * topology node: the newest tick of its queue, -1 when unknown.
 */
void graph_build(struct graph *out, const struct topology *topo, const struct actual_state *state,
                 const long long *head_ticks);
void graph_release(struct graph *g);

/* The lag in ticks of the edge into node i (its provider's head minus its position); -1. */
long long graph_edge_lag(const struct graph *g, size_t i);

/* Append g to out in the given format (a complete document, newline-terminated). */
void graph_render(struct sky_buf *out, const struct graph *g, enum graph_format format);

#endif
