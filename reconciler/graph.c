/*
 * graph: model and rendering of the cascade's picture (graph.h). No I/O.
 */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

void graph_build(struct graph *out, const struct topology *topo, const struct actual_state *state,
                 const long long *head_ticks)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->cascade = topo->cascade;
	out->n_nodes = topo->n_nodes;
	out->nodes = sky_calloc(topo->n_nodes ? topo->n_nodes : 1, sizeof(*out->nodes));
	for (i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *tn = &topo->nodes[i];
		const struct actual_node *an =
		    state && i < state->n_nodes ? &state->nodes[i] : NULL;
		struct graph_node *g = &out->nodes[i];

		g->name = tn->name;
		g->role = tn->role;
		g->provider = tn->provider;
		g->dead = tn->dead;
		g->paused = tn->paused;
		g->catalogs = state != NULL;
		g->reachable = an && an->reachable;
		g->head_tick = head_ticks ? head_ticks[i] : -1;
		g->last_tick = -1;
		if (g->reachable && an->created) {
			g->role = an->self.role;
			g->provider = an->self.provider;
			g->paused = g->paused || an->self.paused;
			g->dead = g->dead || an->self.fenced;
			g->last_tick = an->self.last_tick;
		}
	}
	/* a node that cannot be read: its provider's subscriber entry tells its position */
	for (i = 0; state && i < out->n_nodes; i++) {
		struct graph_node *g = &out->nodes[i];
		size_t p;

		if (g->last_tick >= 0 || !g->provider)
			continue;
		for (p = 0; p < out->n_nodes && p < state->n_nodes; p++) {
			const struct actual_subscriber *s;

			if (strcmp(out->nodes[p].name, g->provider) != 0 ||
			    !state->nodes[p].reachable)
				continue;
			s = actual_node_subscriber(&state->nodes[p], g->name);
			if (s && s->last_tick >= 0)
				g->last_tick = s->last_tick;
		}
	}
}

void graph_release(struct graph *g)
{
	free(g->nodes);
	memset(g, 0, sizeof(*g));
}

static const struct graph_node *find(const struct graph *g, const char *name)
{
	size_t i;

	for (i = 0; name && i < g->n_nodes; i++) {
		if (strcmp(g->nodes[i].name, name) == 0)
			return &g->nodes[i];
	}
	return NULL;
}

long long graph_edge_lag(const struct graph *g, size_t i)
{
	const struct graph_node *n = &g->nodes[i];
	const struct graph_node *p = find(g, n->provider);

	if (!p || p->head_tick < 0 || n->last_tick < 0)
		return -1;
	return p->head_tick > n->last_tick ? p->head_tick - n->last_tick : 0;
}

/* the node's label lines after its name: role, then marks */
static void label_lines(struct sky_buf *b, const struct graph_node *n, const char *newline)
{
	sky_buf_addf(b, "%s%s", newline, sky_role_name(n->role));
	if (n->dead)
		sky_buf_addf(b, "%sdead", newline);
	if (n->paused)
		sky_buf_addf(b, "%spaused", newline);
	if (n->catalogs && !n->reachable)
		sky_buf_addf(b, "%sunreachable", newline);
}

/* s inside a DOT double-quoted string */
static void dot_quote(struct sky_buf *b, const char *s)
{
	sky_buf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sky_buf_addch(b, '\\');
		if (*s == '\n')
			sky_buf_adds(b, "\\n");
		else
			sky_buf_addch(b, *s);
	}
	sky_buf_addch(b, '"');
}

static void render_dot(struct sky_buf *b, const struct graph *g)
{
	size_t i;

	sky_buf_adds(b, "digraph ");
	dot_quote(b, g->cascade);
	sky_buf_adds(b, " {\n\trankdir=TB;\n\tlabelloc=t;\n\tlabel=");
	{
		char *title = sky_asprintf("cascade %s", g->cascade);

		dot_quote(b, title);
		free(title);
	}
	sky_buf_adds(b, ";\n\tnode [style=filled, fontname=\"Helvetica\"];\n"
	                "\tedge [fontname=\"Helvetica\", fontsize=10];\n");
	for (i = 0; i < g->n_nodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		struct sky_buf label;
		const char *shape, *fill, *style;

		switch (n->role) {
		case SKY_ROLE_ROOT:
			shape = "doubleoctagon";
			fill = "#f4b183";
			break;
		case SKY_ROLE_BRANCH:
			shape = "box";
			fill = "#9dc3e6";
			break;
		default:
			shape = "ellipse";
			fill = "#c5e0b4";
			break;
		}
		style = "filled";
		if (n->dead) {
			fill = "#eeeeee";
			style = "filled,dashed";
		} else if (n->catalogs && !n->reachable) {
			style = "filled,dotted";
		} else if (n->paused) {
			fill = "#d9d9d9";
		}
		sky_buf_init(&label);
		sky_buf_adds(&label, n->name);
		label_lines(&label, n, "\n");
		sky_buf_adds(b, "\t");
		dot_quote(b, n->name);
		sky_buf_adds(b, " [label=");
		dot_quote(b, label.data);
		sky_buf_addf(b, ", shape=%s, style=\"%s\", fillcolor=\"%s\"%s];\n", shape, style,
		             fill, n->dead ? ", color=\"#c00000\", fontcolor=\"#c00000\"" : "");
		sky_buf_release(&label);
	}
	for (i = 0; i < g->n_nodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		long long lag = graph_edge_lag(g, i);

		if (!find(g, n->provider))
			continue;
		sky_buf_adds(b, "\t");
		dot_quote(b, n->provider);
		sky_buf_adds(b, " -> ");
		dot_quote(b, n->name);
		if (lag >= 0 && n->dead)
			sky_buf_addf(b, " [label=\"lag %lld tick%s\", style=dashed]", lag,
			             lag == 1 ? "" : "s");
		else if (lag >= 0)
			sky_buf_addf(b, " [label=\"lag %lld tick%s\"]", lag, lag == 1 ? "" : "s");
		else if (n->dead)
			sky_buf_adds(b, " [style=dashed]");
		sky_buf_adds(b, ";\n");
	}
	sky_buf_adds(b, "}\n");
}

/* Mermaid ids: a prefix keeps node names clear of its keywords ("end", "graph") */
static void mermaid_id(struct sky_buf *b, const char *name)
{
	sky_buf_adds(b, "n_");
	for (; *name; name++)
		sky_buf_addch(b, (*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9')
		                     ? *name
		                     : '_');
}

/* s inside a Mermaid "..." label: quotes and markup characters as entity codes */
static void mermaid_text(struct sky_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"')
			sky_buf_adds(b, "#quot;");
		else if (*s == '<')
			sky_buf_adds(b, "#lt;");
		else if (*s == '>')
			sky_buf_adds(b, "#gt;");
		else if (*s == '#')
			sky_buf_adds(b, "#35;");
		else if (*s == '\n')
			sky_buf_adds(b, "<br/>");
		else
			sky_buf_addch(b, *s);
	}
}

static void render_mermaid(struct sky_buf *b, const struct graph *g)
{
	size_t i;
	bool any_dead = false, any_paused = false, any_unreachable = false;

	sky_buf_adds(b, "---\ntitle: cascade ");
	mermaid_text(b, g->cascade);
	sky_buf_adds(b, "\n---\nflowchart TB\n");
	for (i = 0; i < g->n_nodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		struct sky_buf label;
		const char *open, *close;

		switch (n->role) {
		case SKY_ROLE_ROOT:
			open = "{{\"";
			close = "\"}}";
			break;
		case SKY_ROLE_BRANCH:
			open = "[\"";
			close = "\"]";
			break;
		default:
			open = "([\"";
			close = "\"])";
			break;
		}
		sky_buf_init(&label);
		sky_buf_adds(&label, n->name);
		label_lines(&label, n, "\n");
		sky_buf_adds(b, "\t");
		mermaid_id(b, n->name);
		sky_buf_adds(b, open);
		mermaid_text(b, label.data);
		sky_buf_addf(b, "%s\n", close);
		sky_buf_release(&label);
	}
	for (i = 0; i < g->n_nodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		long long lag = graph_edge_lag(g, i);

		if (!find(g, n->provider))
			continue;
		sky_buf_adds(b, "\t");
		mermaid_id(b, n->provider);
		sky_buf_adds(b, n->dead ? " -.->" : " -->");
		if (lag >= 0)
			sky_buf_addf(b, "|\"lag %lld tick%s\"|", lag, lag == 1 ? "" : "s");
		sky_buf_adds(b, " ");
		mermaid_id(b, n->name);
		sky_buf_adds(b, "\n");
	}
	for (i = 0; i < g->n_nodes; i++) {
		const struct graph_node *n = &g->nodes[i];
		const char *cls = n->dead                        ? "dead"
		                  : n->catalogs && !n->reachable ? "unreachable"
		                  : n->paused                    ? "paused"
		                                                 : NULL;

		if (!cls)
			continue;
		any_dead = any_dead || n->dead;
		any_unreachable = any_unreachable || (!n->dead && n->catalogs && !n->reachable);
		any_paused =
		    any_paused || (!n->dead && !(n->catalogs && !n->reachable) && n->paused);
		sky_buf_adds(b, "\tclass ");
		mermaid_id(b, n->name);
		sky_buf_addf(b, " %s\n", cls);
	}
	if (any_dead)
		sky_buf_adds(b,
		             "\tclassDef dead stroke:#c00000,stroke-dasharray:5 5,color:#c00000\n");
	if (any_unreachable)
		sky_buf_adds(b, "\tclassDef unreachable stroke-dasharray:2 2\n");
	if (any_paused)
		sky_buf_adds(b, "\tclassDef paused fill:#d9d9d9\n");
}

void graph_render(struct sky_buf *out, const struct graph *g, enum graph_format format)
{
	if (format == GRAPH_MERMAID)
		render_mermaid(out, g);
	else
		render_dot(out, g);
}
