/*
 * cmd_failover: `skyreconcile failover --to NODE --force --repo DIR`, the operator's override
 * of the failover policy (docs/operations.md, "Automatic failover: override").
 *
 * When the policy declined a failover (no candidate within failover.max_lag_ticks, only nodes
 * in failover.never, the anti-flap budget spent), an operator names the new root. This writes
 * the same edit the policy would have written for that choice (topology_edit_failover: the
 * dead root `dead: true`, NODE `role: root`, the dead root's other subscribers under NODE) and
 * commits it with a compare-and-swap on the ref (gitwrite_commit), with the trailer
 * `Skycascade-Failover: override` (not counted by the anti-flap budget). skyreconcile watch
 * applies the commit like any other; nothing is changed on the nodes here. Refused while the
 * root answers (moving role: root away from a live root is a switchover: an edit).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actual.h"
#include "catalog.h"
#include "cmd.h"
#include "gitwrite.h"
#include "lock.h"
#include "policy.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "source.h"
#include "topology_edit.h"

void cmd_failover_usage(FILE *out)
{
	fputs(
	    "usage: skyreconcile failover --to NODE --force --repo DIR [--ref REF] [--path PATH]\n"
	    "                             [--identity \"NAME <EMAIL>\"] [--push REMOTE]\n"
	    "                             [--lock-timeout SECONDS] [-v]\n"
	    "\n"
	    "The operator's override of the failover policy: commit the failover from the\n"
	    "file's root (which must not answer) to the branch NODE, whatever the policy\n"
	    "decided. skyreconcile watch then applies the commit.\n"
	    "\n"
	    "  --to NODE         the new root: a reachable branch that pulled from the root\n"
	    "  --force           required: this overrides the policy\n"
	    "  --repo DIR        the repository skyreconcile watch follows\n"
	    "  --ref REF         its branch (default HEAD)\n"
	    "  --path PATH       the file inside the repository (default topology.yaml)\n"
	    "  --identity \"NAME <EMAIL>\"\n"
	    "                    the commit's author (default \"skyreconcile "
	    "<skyreconcile@HOST>\")\n"
	    "  --push REMOTE     push the commit to REMOTE (never forced)\n"
	    "  --lock-timeout SECONDS\n"
	    "                    how long to wait for another skyreconcile (default 30)\n"
	    "  -v, --verbose     debug diagnostics on stderr\n",
	    out);
}

struct failover_opts {
	struct source_opts source;
	const char *to;
	bool force;
	char *author_name;
	char *author_email;
	const char *push;
	int lock_timeout_s;
};

/* 0 and *o filled, 1 for --help, -1 on a usage error. */
static int failover_opts_parse(struct failover_opts *o, int argc, char **argv)
{
	enum {
		OPT_FIRST_OWN_ = CMD_OPT_OWN - 1,
		OPT_TO,
		OPT_FORCE,
		OPT_IDENTITY,
		OPT_PUSH,
		OPT_LOCK
	};
	static const struct option longopts[] = {
	    CMD_SOURCE_LONGOPTS,
	    {"to", required_argument, NULL, OPT_TO},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"identity", required_argument, NULL, OPT_IDENTITY},
	    {"push", required_argument, NULL, OPT_PUSH},
	    {"lock-timeout", required_argument, NULL, OPT_LOCK},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->lock_timeout_s = 30;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TO:
			o->to = optarg;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_IDENTITY:
			if (cmd_identity_parse(&o->author_name, &o->author_email, optarg) < 0)
				return -1;
			break;
		case OPT_PUSH:
			o->push = optarg;
			break;
		case OPT_LOCK:
			if (cmd_seconds_parse(&o->lock_timeout_s, "--lock-timeout", optarg, 0) < 0)
				return -1;
			break;
		case 'v':
			sky_log_set_level(SKY_LOG_DEBUG);
			break;
		case 'h':
			cmd_failover_usage(stdout);
			return 1;
		default:
			if (cmd_source_opt(&o->source, c, optarg))
				break;
			return cmd_getopt_error(c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (cmd_source_check(&o->source) < 0)
		return -1;
	if (!o->to || !o->force || !o->source.repo) {
		fprintf(stderr, "error: failover needs --to NODE, --force and --repo DIR\n");
		return -1;
	}
	if (!o->author_name)
		cmd_identity_default(&o->author_name, &o->author_email);
	return 0;
}

static char *override_message(const struct policy_decision *d, const char *policy_reason)
{
	struct sky_buf b;
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	sky_buf_init(&b);
	sky_buf_addf(&b, "failover: %s is dead, %s is the new root (operator override)\n\n",
	             d->dead, d->chosen);
	sky_buf_addf(&b,
	             "skyreconcile failover --to %s --force on %s. The policy alone decided: "
	             "%s\n\nSurvivors (completed tick, ticks behind the last tick any survivor "
	             "saw, priority):\n",
	             d->chosen, host, policy_reason);
	for (const char *p = d->evidence; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		sky_buf_addf(&b, "  %.*s\n", (int)len, p);
		p = eol ? eol + 1 : NULL;
	}
	sky_buf_addf(&b, "\nChosen: %s\nLost: the ticks \"%s\" made after tick %lld.\n\n",
	             d->reason, d->dead, d->last_tick);
	sky_buf_addf(&b,
	             "Skycascade-Failover: override\nSkycascade-Dead: %s\nSkycascade-Root: %s\n",
	             d->dead, d->chosen);
	return sky_buf_detach(&b);
}

int cmd_failover(int argc, char **argv)
{
	struct failover_opts o;
	struct topology *topo = NULL;
	struct source_revision rev;
	struct reconcile_lock *lock = NULL;
	struct actual_state *actual = NULL;
	struct policy_decision *d = NULL;
	PGconn **conns = NULL;
	struct sky_error err;
	char *text = NULL, *label = NULL, *edited = NULL, *msg = NULL, *policy_reason = NULL;
	size_t len = 0;
	const struct topo_node *root;
	const struct actual_node *aroot;
	char oid[41];
	int ret = 1;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&rev, 0, sizeof(rev));
	sky_error_clear(&err);
	rc = failover_opts_parse(&o, argc, argv);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "try \"skyreconcile failover --help\"\n");
		ret = rc > 0 ? 0 : 1;
		goto out;
	}
	setenv("PGCONNECT_TIMEOUT", "10", 0);
	setenv("PGAPPNAME", "skyreconcile", 0);
	if (source_load_text(&topo, &rev, &text, &len, &label, &o.source, &err) < 0)
		goto fail;
	root = topology_root(topo);
	if (!root) {
		sky_error_set(&err, "the topology has no live root");
		goto fail;
	}
	if (lock_acquire(&lock, topo, o.lock_timeout_s * 1000, NULL, NULL, &err) < 0)
		goto fail;
	conns = sky_calloc(topo->n_nodes + 1, sizeof(*conns));
	if (catalog_state_read(&actual, conns, topo, &err) < 0)
		goto fail;
	aroot = actual_state_node(actual, root->name);
	if (aroot && aroot->reachable) {
		sky_error_set(
		    &err,
		    "the root \"%s\" answers: moving role: root away from a live root is a "
		    "switchover (an edit of the file), not a failover",
		    root->name);
		goto fail;
	}
	if (policy_decide(&d, topo, actual, root->name, &err) < 0)
		goto fail;
	policy_reason = sky_strdup(d->reason);
	if (policy_force(d, topo, actual, o.to, &err) < 0)
		goto fail;
	if (topology_edit_failover(&edited, label, text, len, d, &err) < 0)
		goto fail;
	msg = override_message(d, policy_reason);
	{
		struct gitwrite_req req = {
		    .repo_dir = o.source.repo,
		    .ref = o.source.ref,
		    .path = o.source.path,
		    .expected_oid = rev.id,
		    .content = edited,
		    .content_len = strlen(edited),
		    .author_name = o.author_name,
		    .author_email = o.author_email,
		    .message = msg,
		    .push_remote = o.push,
		};

		rc = gitwrite_commit(&req, oid, &err);
		if (rc == GITWRITE_RACE) {
			sky_error_set(&err, "the ref moved meanwhile (another commit): nothing "
			                    "committed; look at it and run again");
			goto fail;
		}
		if (rc != GITWRITE_OK)
			goto fail;
	}
	printf("committed %.7s: failover: %s is dead, %s is the new root (operator override)\n",
	       oid, d->dead, d->chosen);
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "error: %s\n", err.message);
out:
	if (conns && topo)
		catalog_conns_close(conns, topo->n_nodes);
	free(conns);
	actual_state_free(actual);
	policy_decision_free(d);
	lock_release(lock);
	topology_free(topo);
	source_revision_release(&rev);
	free(text);
	free(label);
	free(edited);
	free(msg);
	free(policy_reason);
	free(o.author_name);
	free(o.author_email);
	return ret;
}
