/*
 * skyreconcile graph [-f FILE | --repo DIR [--ref REF] [--path PATH]] [--mermaid] [--offline]:
 * print the cascade as Graphviz DOT (or Mermaid) on stdout (graph.h draws it).
 *
 *   topology (source.c) ─► catalogs of every node (catalog.c; skipped with --offline)
 *                       ─► newest tick of every reachable node's queue
 *                       ─► graph_build ─► graph_render ─► stdout
 *
 * Reads only. An unreachable node is drawn as such; the picture is printed whatever the nodes
 * say (exit 0); 1 when the topology cannot be read or an option is wrong.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cmd.h"
#include "graph.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "source.h"

void cmd_graph_usage(FILE *out)
{
	fputs("usage: skyreconcile graph [-f FILE | --repo DIR [--ref REF] [--path PATH]]\n"
	      "                          [--mermaid] [--offline]\n"
	      "\n"
	      "Print the cascade as a Graphviz DOT graph (render it with `dot -Tsvg`): nodes by\n"
	      "role, dead, paused and unreachable nodes marked, edges provider -> subscriber\n"
	      "labelled with the subscriber's lag in ticks (from the nodes' catalogs).\n"
	      "\n"
	      "options:\n"
	      "  -f, --file FILE  the topology file (default topology.yaml)\n"
	      "      --repo DIR   read it from a commit of the git repository DIR\n"
	      "      --ref REF    the commit (default HEAD)\n"
	      "      --path PATH  the file inside the repository (default topology.yaml)\n"
	      "      --mermaid    print a Mermaid flowchart instead of DOT\n"
	      "      --offline    do not connect to the nodes: draw the file alone\n"
	      "  -v, --verbose    debug log on stderr\n"
	      "  -h, --help       show this help\n",
	      out);
}

int cmd_graph(int argc, char **argv)
{
	enum { OPT_FIRST_OWN_ = CMD_OPT_OWN - 1, OPT_MERMAID, OPT_OFFLINE };
	static const struct option longopts[] = {
	    CMD_SOURCE_LONGOPTS,
	    {"mermaid", no_argument, NULL, OPT_MERMAID},
	    {"offline", no_argument, NULL, OPT_OFFLINE},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct source_opts src;
	enum graph_format format = GRAPH_DOT;
	bool offline = false;
	struct topology *topo = NULL;
	struct actual_state *state = NULL;
	PGconn **conns = NULL;
	long long *heads = NULL;
	struct graph g;
	struct sky_buf out;
	struct sky_error err;
	int ret = 1;
	int c;
	size_t i;

	memset(&src, 0, sizeof(src));
	memset(&g, 0, sizeof(g));
	sky_buf_init(&out);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MERMAID:
			format = GRAPH_MERMAID;
			break;
		case OPT_OFFLINE:
			offline = true;
			break;
		case 'v':
			sky_log_set_level(SKY_LOG_DEBUG);
			break;
		case 'h':
			cmd_graph_usage(stdout);
			ret = 0;
			goto out;
		default:
			if (cmd_source_opt(&src, c, optarg))
				break;
			cmd_getopt_error(c, argv);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
		goto out;
	}
	if (cmd_source_check(&src) < 0)
		goto out;

	sky_error_clear(&err);
	if (source_topology_load(&topo, &src, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	if (!offline) {
		conns = sky_calloc(topo->n_nodes + 1, sizeof(*conns));
		heads = sky_calloc(topo->n_nodes + 1, sizeof(*heads));
		if (catalog_state_read(&state, conns, topo, &err) < 0) {
			/* the picture is still worth having: from the file alone */
			sky_warning("could not read the catalogs: %s; drawing the file alone",
			            err.message);
			state = NULL;
		}
		for (i = 0; i < topo->n_nodes; i++) {
			heads[i] = -1;
			if (state && state->nodes[i].reachable && conns[i] &&
			    catalog_head_tick_read(&heads[i], conns[i], topo->cascade, &err) < 0) {
				sky_debug("node \"%s\": %s", topo->nodes[i].name, err.message);
				heads[i] = -1;
			}
			if (state && !state->nodes[i].reachable)
				sky_warning("%s", state->nodes[i].error ? state->nodes[i].error
				                                        : "a node is unreachable");
		}
	}
	graph_build(&g, topo, state, heads);
	graph_render(&out, &g, format);
	if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "error: could not write the graph\n");
		goto out;
	}
	ret = 0;
out:
	graph_release(&g);
	sky_buf_release(&out);
	if (topo)
		catalog_conns_close(conns, topo->n_nodes);
	free(conns);
	free(heads);
	actual_state_free(state);
	topology_free(topo);
	return ret;
}
