/* planfile: saved plans (see planfile.h). */
#include "planfile.h"

#include <stdlib.h>
#include <string.h>

#include "sky_mem.h"

static void add_field(struct sky_buf *b, const char *key, const char *value)
{
	sky_buf_addf(b, "%s=%s\x1f", key, value ? value : "\x1e");
}

char *planfile_state_digest(const struct actual_state *state)
{
	struct sky_buf b;
	unsigned long long h = 14695981039346656037ULL;
	char *out;

	sky_buf_init(&b);
	for (size_t i = 0; state && i < state->n_nodes; i++) {
		const struct actual_node *an = &state->nodes[i];

		add_field(&b, "node", an->name);
		add_field(&b, "reachable", an->reachable ? "t" : "f");
		if (!an->reachable)
			continue;
		add_field(&b, "pgq", an->has_pgq ? "t" : "f");
		add_field(&b, "version", an->version);
		add_field(&b, "installer", an->installer);
		add_field(&b, "capture", an->capture_stale);
		add_field(&b, "created", an->created ? "t" : "f");
		if (an->created) {
			add_field(&b, "name", an->self.name);
			add_field(&b, "role", an->self.role_text);
			add_field(&b, "provider", an->self.provider);
			add_field(&b, "paused", an->self.paused ? "t" : "f");
			add_field(&b, "fenced", an->self.fenced ? "t" : "f");
			sky_buf_addf(&b, "copies=%d\x1f", an->self.parallel_copies);
			sky_buf_addf(&b, "ticker=%d/%d/%d\x1f", an->self.ticker_max_count,
			             an->self.ticker_max_lag_ms, an->self.ticker_idle_period_ms);
		}
		/* member locations are DSNs: only whether they are there and dead */
		for (size_t k = 0; k < an->n_members; k++)
			sky_buf_addf(&b, "member=%s/%c\x1f", an->members[k].name,
			             an->members[k].dead ? 'd' : 'a');
		for (size_t k = 0; k < an->n_subscribers; k++)
			add_field(&b, "subscriber", an->subscribers[k].name);
		for (size_t k = 0; k < an->n_tables; k++)
			add_field(&b, "table", an->tables[k].name);
		for (size_t k = 0; k < an->n_sequences; k++)
			add_field(&b, "sequence", an->sequences[k]);
		for (size_t k = 0; k < an->n_checks; k++)
			sky_buf_addf(&b, "check=%s/%d%d%d%d%d\x1f", an->checks[k].name,
			             an->checks[k].exists, an->checks[k].partitioned,
			             an->checks[k].has_pk, an->checks[k].pk_deferrable,
			             an->checks[k].pk_include);
	}
	for (size_t i = 0; i < b.len; i++) {
		h ^= (unsigned char)b.data[i];
		h *= 1099511628211ULL;
	}
	out = sky_asprintf("%016llx", h);
	sky_buf_release(&b);
	return out;
}

json_t *planfile_build(const struct plan *plan, const struct source_opts *source,
                       const struct source_revision *rev, const struct actual_state *state)
{
	json_t *doc = json_object();
	json_t *src = json_object();
	json_t *p = plan_to_json(plan);
	char *digest = planfile_state_digest(state);

	json_object_set_new(doc, "skycascade_plan", json_integer(PLANFILE_FORMAT));
	json_object_set_new(doc, "cascade", json_string(plan->cascade));
	if (source->repo) {
		json_object_set_new(src, "repo", json_string(source->repo));
		json_object_set_new(src, "ref", json_string(source->ref ? source->ref : "HEAD"));
		if (source->path)
			json_object_set_new(src, "path", json_string(source->path));
	} else {
		json_object_set_new(src, "file",
		                    json_string(source->file ? source->file : "topology.yaml"));
	}
	json_object_set_new(doc, "source", src);
	json_object_set_new(doc, "revision", json_string(rev->id));
	json_object_set_new(doc, "state", json_string(digest));
	json_object_set_new(doc, "ops", json_incref(json_object_get(p, "ops")));
	json_object_set_new(doc, "summary", json_incref(json_object_get(p, "summary")));
	json_decref(p);
	free(digest);
	return doc;
}

int planfile_source(struct source_opts *out, const json_t *doc, struct sky_error *err)
{
	const json_t *src = json_object_get(doc, "source");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc) ||
	    json_integer_value(json_object_get(doc, "skycascade_plan")) != PLANFILE_FORMAT ||
	    !json_is_object(src) || !json_is_array(json_object_get(doc, "ops")))
		return sky_error_set(err, "not a saved plan of skycascade (format %d)",
		                     PLANFILE_FORMAT);
	out->file = json_string_value(json_object_get(src, "file"));
	out->repo = json_string_value(json_object_get(src, "repo"));
	out->ref = json_string_value(json_object_get(src, "ref"));
	out->path = json_string_value(json_object_get(src, "path"));
	if (!out->file && !out->repo)
		return sky_error_set(err, "the saved plan names no source (file or repo)");
	return 0;
}

int planfile_check(const json_t *doc, const struct plan *plan, const struct source_revision *rev,
                   const struct actual_state *state, struct sky_error *err)
{
	const char *saved_rev = json_string_value(json_object_get(doc, "revision"));
	const char *saved_state = json_string_value(json_object_get(doc, "state"));
	char *digest = planfile_state_digest(state);
	json_t *now = plan_to_json(plan);
	int ret = -1;

	if (!saved_rev || strcmp(saved_rev, rev->id) != 0) {
		sky_error_set(err,
		              "stale plan: it was made from revision %s, the topology is at %s now",
		              saved_rev ? saved_rev : "(none)", rev->id[0] ? rev->id : "(unknown)");
		goto out;
	}
	if (!saved_state || strcmp(saved_state, digest) != 0) {
		sky_error_set(err,
		              "stale plan: the cascade changed since the plan was made (state %s, "
		              "now %s): make a new plan",
		              saved_state ? saved_state : "(none)", digest);
		goto out;
	}
	if (plan->n_problems > 0 ||
	    !json_equal(json_object_get(doc, "ops"), json_object_get(now, "ops"))) {
		sky_error_set(err,
		              "stale plan: the plan made now differs from the saved one: make a "
		              "new plan");
		goto out;
	}
	ret = 0;
out:
	json_decref(now);
	free(digest);
	return ret;
}
