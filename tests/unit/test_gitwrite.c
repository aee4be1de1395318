/*
 * test_gitwrite: committing a decision to git (reconciler/gitwrite.c) on repositories made in a
 * temporary directory with libgit2: a work tree (clean, or with a local edit), a bare one, the
 * compare-and-swap losing a race, and pushing to a bare "remote" (accepted, and rejected because
 * the remote moved); pulling from it (fast-forward, a local edit kept, a local branch ahead or
 * diverged left alone, the remote missing, a remote that never answers given up after the
 * timeout, for a fetch and for a push; the fetch in the background as watch runs it). Git is no
 * database: no server is needed.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <arpa/inet.h>
#include <git2.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gitwrite.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_time.h"

#define TOPO_A "cascade: app\nnodes:\n  db1: {role: root, dsn: \"host=h1\"}\n"
#define TOPO_B "cascade: app\nnodes:\n  db1: {role: root, dsn: \"host=h1\", dead: true}\n"
#define TOPO_C "cascade: app # someone else's edit\nnodes:\n  db1: {role: root, dsn: \"host=h1\"}\n"

static char tmpdir[64];

static char *tpath(const char *name)
{
	return sky_asprintf("%s/%s", tmpdir, name);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/sky_gitwrite_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	git_libgit2_init();
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	if (!getenv("SKY_TEST_KEEP")) /* keep the repositories to look at them with git */
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "kept %s\n", tmpdir);
	git_libgit2_shutdown();
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

/* The file's bytes (caller frees). */
static char *read_file(const char *path)
{
	struct sky_buf b;
	char chunk[512];
	size_t n;
	FILE *f = fopen(path, "rb");

	ck_assert_ptr_nonnull(f);
	sky_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sky_buf_add(&b, chunk, n);
	fclose(f);
	return sky_buf_detach(&b);
}

/*
 * Commit topology.yaml = content on refs/heads/main of the repository in dir (objects only,
 * the ref updated from its current value); *hex gets the commit's id.
 */
static void commit_on(const char *dir, const char *content, char hex[41])
{
	git_repository *repo;
	git_treebuilder *tb;
	git_signature *sig;
	git_commit *parent = NULL;
	git_tree *tree;
	git_oid blob, tree_id, id, pid;

	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	if (git_reference_name_to_id(&pid, repo, "refs/heads/main") == 0)
		ck_assert_int_eq(git_commit_lookup(&parent, repo, &pid), 0);
	ck_assert_int_eq(git_blob_create_from_buffer(&blob, repo, content, strlen(content)), 0);
	ck_assert_int_eq(git_treebuilder_new(&tb, repo, NULL), 0);
	ck_assert_int_eq(
	    git_treebuilder_insert(NULL, tb, "topology.yaml", &blob, GIT_FILEMODE_BLOB), 0);
	ck_assert_int_eq(git_treebuilder_insert(NULL, tb, "README", &blob, GIT_FILEMODE_BLOB), 0);
	ck_assert_int_eq(git_treebuilder_write(&tree_id, tb), 0);
	ck_assert_int_eq(git_tree_lookup(&tree, repo, &tree_id), 0);
	ck_assert_int_eq(git_signature_now(&sig, "A Person", "person@example.org"), 0);
	ck_assert_int_eq(git_commit_create(&id, repo, "refs/heads/main", sig, sig, NULL,
	                                   "a person's commit\n", tree, parent ? 1 : 0,
	                                   (const git_commit **)&parent),
	                 0);
	git_oid_tostr(hex, 41, &id);
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_commit_free(parent);
	git_repository_free(repo);
}

/* A repository in tmpdir/name on branch main with one commit; a work tree is checked out. */
static void repo_make(const char *name, bool bare, char hex[41])
{
	char *dir = tpath(name);
	git_repository *repo;

	ck_assert_int_eq(git_repository_init(&repo, dir, bare), 0);
	ck_assert_int_eq(git_repository_set_head(repo, "refs/heads/main"), 0);
	git_repository_free(repo);
	commit_on(dir, TOPO_A, hex);
	if (!bare) {
		git_checkout_options o;

		git_checkout_options_init(&o, GIT_CHECKOUT_OPTIONS_VERSION);
		o.checkout_strategy = GIT_CHECKOUT_FORCE;
		ck_assert_int_eq(git_repository_open(&repo, dir), 0);
		ck_assert_int_eq(git_checkout_head(repo, &o), 0);
		git_repository_free(repo);
	}
	free(dir);
}

/* The hex id refs/heads/main points at in dir. */
static void ref_hex(const char *dir, char hex[41])
{
	git_repository *repo;
	git_oid id;

	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_reference_name_to_id(&id, repo, "refs/heads/main"), 0);
	git_oid_tostr(hex, 41, &id);
	git_repository_free(repo);
}

/* The hex id refs/remotes/origin/main points at in dir. */
static void tracking_hex(const char *dir, char hex[41])
{
	git_repository *repo;
	git_oid id;

	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_reference_name_to_id(&id, repo, "refs/remotes/origin/main"), 0);
	git_oid_tostr(hex, 41, &id);
	git_repository_free(repo);
}

/* topology.yaml's bytes in commit hex of dir (caller frees). */
static char *blob_at(const char *dir, const char *hex)
{
	git_repository *repo;
	git_commit *c;
	git_tree *t;
	git_tree_entry *e;
	git_blob *b;
	git_oid id;
	char *s;

	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_oid_fromstr(&id, hex), 0);
	ck_assert_int_eq(git_commit_lookup(&c, repo, &id), 0);
	ck_assert_int_eq(git_commit_tree(&t, c), 0);
	ck_assert_int_eq(git_tree_entry_bypath(&e, t, "topology.yaml"), 0);
	ck_assert_int_eq(git_blob_lookup(&b, repo, git_tree_entry_id(e)), 0);
	s = sky_strndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	git_repository_free(repo);
	return s;
}

/* How many paths git status shows in dir; *flags gets topology.yaml's status. */
static size_t status_count(const char *dir, unsigned int *flags)
{
	git_repository *repo;
	git_status_list *list;
	git_status_options o;
	size_t n;

	git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION);
	o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED;
	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_status_list_new(&list, repo, &o), 0);
	n = git_status_list_entrycount(list);
	ck_assert_int_eq(git_status_file(flags, repo, "topology.yaml"), 0);
	git_status_list_free(list);
	git_repository_free(repo);
	return n;
}

static struct gitwrite_req req_for(const char *dir, const char *expected, const char *content)
{
	return (struct gitwrite_req){
	    .repo_dir = dir,
	    .ref = NULL,
	    .path = "topology.yaml",
	    .expected_oid = expected,
	    .content = content,
	    .content_len = strlen(content),
	    .author_name = "skyreconcile",
	    .author_email = "skyreconcile@example.org",
	    .message = "failover: db1 is dead, db2 is the root\n\ndb2 branch tick 12: chosen\n",
	};
}

START_TEST(test_worktree_clean)
{
	char base[41], out[41], now[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;
	git_repository *repo;
	git_commit *c;
	git_oid id;

	repo_make("wt", false, base);
	r = req_for(dir, base, TOPO_B);
	r.ref = "main";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	ref_hex(dir, now);
	ck_assert_str_eq(now, out);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	/* author, committer, message and parent as asked */
	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	git_oid_fromstr(&id, out);
	ck_assert_int_eq(git_commit_lookup(&c, repo, &id), 0);
	ck_assert_str_eq(git_commit_author(c)->name, "skyreconcile");
	ck_assert_str_eq(git_commit_committer(c)->email, "skyreconcile@example.org");
	ck_assert_str_eq(git_commit_message(c), r.message);
	ck_assert_uint_eq(git_commit_parentcount(c), 1);
	ck_assert_int_eq(git_oid_streq(git_commit_parent_id(c, 0), base), 0);
	git_commit_free(c);
	git_repository_free(repo);
	/* the work tree followed: git status clean */
	ck_assert_uint_eq(status_count(dir, &flags), 0);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_worktree_local_edit_kept)
{
	static const char edit[] = TOPO_A "# a person's note, not committed\n";
	char base[41], out[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;

	repo_make("wt", false, base);
	write_file(file, edit);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	/* the person's file is untouched; the index follows the commit: only the work tree
	 * differs */
	s = read_file(file);
	ck_assert_str_eq(s, edit);
	free(s);
	ck_assert_uint_eq(status_count(dir, &flags), 1);
	ck_assert_uint_eq(flags, GIT_STATUS_WT_MODIFIED);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_worktree_autocrlf)
{
	/* core.autocrlf: the commit has LF (as the edit made it from the blob), the working file
	 * gets CR LF as git would check it out, and git status stays clean */
	char base[41], out[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	git_checkout_options co;
	git_repository *repo;
	git_config *cfg;
	unsigned int flags;

	repo_make("wt", false, base);
	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_repository_config(&cfg, repo), 0);
	ck_assert_int_eq(git_config_set_string(cfg, "core.autocrlf", "true"), 0);
	git_config_free(cfg);
	remove(file);
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	ck_assert_int_eq(git_checkout_head(repo, &co), 0);
	git_repository_free(repo);
	s = read_file(file);
	ck_assert_ptr_nonnull(strstr(s, "app\r\n"));
	free(s);

	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	s = read_file(file);
	ck_assert_str_eq(s, "cascade: app\r\nnodes:\r\n  db1: {role: root, dsn: \"host=h1\", dead: "
	                    "true}\r\n");
	free(s);
	ck_assert_uint_eq(status_count(dir, &flags), 0);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_bare_and_crlf)
{
	static const char crlf[] = "cascade: app\r\nnodes:\r\n  db1: {role: root, dead: true}\r\n";
	char base[41], out[41], now[41];
	char *dir = tpath("bare.git"), *s;
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("bare.git", true, base);
	r = req_for(dir, base, crlf);
	r.ref = "refs/heads/main";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	ref_hex(dir, now);
	ck_assert_str_eq(now, out);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, crlf); /* the bytes as given */
	free(s);
	free(dir);
}
END_TEST

START_TEST(test_cas_race)
{
	char base[41], other[41], out[41] = "", now[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("wt", false, base);
	/* someone commits between the decision (made from base) and the commit */
	commit_on(dir, TOPO_C, other);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	ck_assert_str_eq(out, "");
	ref_hex(dir, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_A); /* nothing written */
	free(s);
	free(file);
	free(dir);
}
END_TEST

static char moved_to[41];

/* The hook: someone commits in the window between the commit object and the ref update. */
static void move_ref(const char *repo_dir, const char *refname)
{
	ck_assert_str_eq(refname, "refs/heads/main");
	commit_on(repo_dir, TOPO_C, moved_to);
}

START_TEST(test_cas_race_in_window)
{
	char base[41], out[41] = "", now[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("wt", false, base);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	gitwrite_test_before_swap = move_ref;
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	gitwrite_test_before_swap = NULL;
	ck_assert_str_eq(out, "");
	ref_hex(dir, now);
	ck_assert_str_eq(now, moved_to); /* the other commit stays, ours is not on the ref */
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_A);
	free(s);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_worktree_staged_kept)
{
	static const char staged[] = TOPO_A "# staged by a person\n";
	char base[41], out[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	git_repository *repo;
	git_index *index;
	unsigned int flags;

	repo_make("wt", false, base);
	write_file(file, staged);
	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_repository_index(&index, repo), 0);
	ck_assert_int_eq(git_index_add_bypath(index, "topology.yaml"), 0);
	ck_assert_int_eq(git_index_write(index), 0);
	git_index_free(index);
	git_repository_free(repo);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	/* the staged content is neither lost nor overwritten: index and file as the person left
	 * them */
	s = read_file(file);
	ck_assert_str_eq(s, staged);
	free(s);
	ck_assert_uint_eq(status_count(dir, &flags), 1);
	ck_assert_uint_eq(flags, GIT_STATUS_INDEX_MODIFIED);
	free(file);
	free(dir);
}
END_TEST

/* Fetch refs/heads/main into refs/remotes/origin/main. */
static void fetch(git_repository *repo, git_remote *origin)
{
	char *spec = "+refs/heads/main:refs/remotes/origin/main";
	git_strarray specs = {&spec, 1};

	(void)repo;
	ck_assert_int_eq(git_remote_fetch(origin, &specs, NULL, NULL), 0);
}

/* A bare "remote" and a clone of it with a work tree, both at base. */
static void remote_and_clone(char base[41])
{
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	git_remote_create_options o;
	git_checkout_options co;
	git_reference *main;
	git_repository *repo;
	git_remote *origin;
	git_oid id;

	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	o.name = "origin";
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
	repo_make("remote.git", true, base);
	git_oid_fromstr(&id, base);
	/* not git_clone: libgit2 1.5 leaks in its url.*.insteadOf lookup (see gitwrite.c) */
	ck_assert_int_eq(git_repository_init(&repo, clone, false), 0);
	ck_assert_int_eq(git_repository_set_head(repo, "refs/heads/main"), 0);
	o.repository = repo;
	ck_assert_int_eq(git_remote_create_with_opts(&origin, remote, &o), 0);
	fetch(repo, origin);
	ck_assert_int_eq(git_reference_create(&main, repo, "refs/heads/main", &id, 0, NULL), 0);
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	ck_assert_int_eq(git_checkout_head(repo, &co), 0);
	git_reference_free(main);
	git_remote_free(origin);
	git_repository_free(repo);
	free(remote);
	free(clone);
}

START_TEST(test_push_ok)
{
	char base[41], out[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = "origin";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	ref_hex(remote, now);
	ck_assert_str_eq(now, out);
	ref_hex(clone, now);
	ck_assert_str_eq(now, out);
	ck_assert_uint_eq(status_count(clone, &flags), 0);
	/* origin/main follows, as after a git push */
	tracking_hex(clone, now);
	ck_assert_str_eq(now, out);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_push_rejected)
{
	char base[41], other[41], out[41] = "", now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *file = tpath("clone/topology.yaml"), *url, *s;
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	/* another watcher pushed first */
	commit_on(remote, TOPO_C, other);
	url = sky_asprintf("file://%s", remote);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = url;
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	ck_assert_str_eq(out, "");
	/* not forced: the remote keeps the other commit */
	ref_hex(remote, now);
	ck_assert_str_eq(now, other);
	/* the local commit is off the ref, which caught up with the remote to be re-read */
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_C);
	free(s);
	ck_assert_uint_eq(status_count(clone, &flags), 0);
	free(url);
	free(file);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_push_rejected_known)
{
	/* the remote's new commit was already fetched: libgit2 sees the push is no fast-forward */
	char base[41], other[41], out[41] = "", now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	struct gitwrite_req r;
	struct sky_error err;
	git_remote_create_options o;
	git_repository *repo;
	git_remote *origin;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	ck_assert_int_eq(git_repository_open(&repo, clone), 0);
	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = repo;
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
	ck_assert_int_eq(git_remote_create_with_opts(&origin, remote, &o), 0);
	fetch(repo, origin);
	git_remote_free(origin);
	git_repository_free(repo);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = "origin";
	r.ref = "HEAD";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	ref_hex(remote, now);
	ck_assert_str_eq(now, other);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_push_refused_rolls_back)
{
	/* the remote refuses the update for another reason (its ref is locked): an error, and
	 * the local ref goes back to where it was */
	char base[41], out[41] = "", now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *lockf = tpath("remote.git/refs/heads/main.lock"),
	     *file = tpath("clone/topology.yaml");
	char *s;
	struct gitwrite_req r;
	struct sky_error err;

	remote_and_clone(base);
	write_file(lockf, "");
	r = req_for(clone, base, TOPO_B);
	r.push_remote = "origin";
	sky_error_clear(&err);
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_msg(strstr(err.message, "push") != NULL, "%s", err.message);
	ref_hex(remote, now);
	ck_assert_str_eq(now, base);
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_A);
	free(s);
	free(file);
	free(lockf);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_bad_requests)
{
	char base[41], out[41];
	char *dir = tpath("wt");
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("wt", false, base);
	r = req_for(dir, "abc", TOPO_B);
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "not a full commit id"));
	r = req_for(dir, base, TOPO_B);
	r.ref = base; /* a commit id is not a ref */
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "is not a branch or reference"));
	r.ref = "refs/tags/nope";
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	r = req_for(dir, base, TOPO_A); /* no change */
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "nothing to commit"));
	r = req_for(dir, base, TOPO_B);
	r.push_remote = "https://user:secret@127.0.0.1:1/x.git";
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_null(strstr(err.message, "secret"));
	ref_hex(dir, out); /* a failed push leaves the ref where it was */
	ck_assert_str_eq(out, base);
	free(dir);
}
END_TEST

START_TEST(test_pull_fast_forward)
{
	/* another clone pushed: the pull moves the ref, the work tree and origin/main */
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *file = tpath("clone/topology.yaml"), *s;
	struct gitwrite_pull_info info;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) ==
	                  GITWRITE_PULL_UP_TO_DATE,
	              "%s", err.message);
	ck_assert_str_eq(info.local, base);
	ck_assert_str_eq(info.refname, "refs/heads/main");
	commit_on(remote, TOPO_C, other);
	ck_assert_msg(gitwrite_pull(&info, clone, "main", "origin", 0, &err) ==
	                  GITWRITE_PULL_FORWARDED,
	              "%s", err.message);
	ck_assert_str_eq(info.local, other);
	ck_assert_str_eq(info.remote, other);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_C);
	free(s);
	ck_assert_uint_eq(status_count(clone, &flags), 0);
	/* and again: nothing to do */
	ck_assert_int_eq(gitwrite_pull(&info, clone, "HEAD", "origin", 0, &err),
	                 GITWRITE_PULL_UP_TO_DATE);
	free(file);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_local_edit_kept)
{
	/* an uncommitted edit in the clone: the ref follows the remote, the edit stays */
	static const char edit[] = TOPO_A "# a person's note, not committed\n";
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *file = tpath("clone/topology.yaml"), *s;
	struct gitwrite_pull_info info;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	write_file(file, edit);
	commit_on(remote, TOPO_C, other);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) ==
	                  GITWRITE_PULL_FORWARDED,
	              "%s", err.message);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, edit);
	free(s);
	ck_assert_uint_eq(status_count(clone, &flags), 1);
	ck_assert_uint_eq(flags, GIT_STATUS_WT_MODIFIED);
	free(file);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_ahead_and_diverged)
{
	/* a local commit not on the remote: never reset, never merged; reported */
	char base[41], mine[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	struct gitwrite_pull_info info;
	struct sky_error err;

	remote_and_clone(base);
	commit_on(clone, TOPO_B, mine);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) == GITWRITE_PULL_AHEAD,
	              "%s", err.message);
	ck_assert_str_eq(info.local, mine);
	ck_assert_str_eq(info.remote, base);
	commit_on(remote, TOPO_C, other);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) ==
	                  GITWRITE_PULL_DIVERGED,
	              "%s", err.message);
	ck_assert_str_eq(info.local, mine);
	ck_assert_str_eq(info.remote, other);
	ref_hex(clone, now);
	ck_assert_str_eq(now, mine);
	ref_hex(remote, now);
	ck_assert_str_eq(now, other);
	/* what the remote has is known (origin/main), the local branch is left alone */
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_remote_missing)
{
	/* the remote is gone for a while: a retryable error, nothing changed; then it is back */
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *gone = tpath("gone.git"), *clone = tpath("clone");
	struct gitwrite_pull_info info;
	struct sky_error err;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	ck_assert_int_eq(rename(remote, gone), 0);
	sky_error_clear(&err);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 0, &err), GITWRITE_PULL_ERROR);
	ck_assert_msg(strstr(err.message, "could not fetch") != NULL, "%s", err.message);
	ck_assert(err.retryable);
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	/* a URL's password is never shown */
	ck_assert_int_eq(
	    gitwrite_pull(&info, clone, NULL, "https://user:secret@127.0.0.1:1/x.git", 0, &err),
	    GITWRITE_PULL_ERROR);
	ck_assert_ptr_null(strstr(err.message, "secret"));
	ck_assert(err.retryable);
	/* back: the next pull catches up; a path names a remote too */
	ck_assert_int_eq(rename(gone, remote), 0);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 0, &err),
	                 GITWRITE_PULL_FORWARDED);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, clone, 0, &err),
	                 GITWRITE_PULL_UP_TO_DATE);
	/* not a branch: a permanent error */
	ck_assert_int_eq(gitwrite_pull(&info, clone, other, "origin", 0, &err),
	                 GITWRITE_PULL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "is not a branch or reference"));
	ck_assert(!err.retryable);
	free(gone);
	free(remote);
	free(clone);
}
END_TEST

/*
 * A remote that never answers: a socket listening on 127.0.0.1 that nobody accepts from, so
 * the kernel completes the connection and no byte ever comes back (a server that accepts and
 * hangs). With syn_drop the accept queue is filled first (backlog 0, one connection waiting),
 * so that the kernel drops the next SYN: the connect itself stalls. *port gets its port; the
 * caller closes the returned descriptors (fds[0] the listener, fds[1] the filler or -1).
 */
static void hole_open(int fds[2], int *port, bool syn_drop)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	fds[1] = -1;
	ck_assert_int_ge(fds[0], 0);
	setsockopt(fds[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fds[0], (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fds[0], 0), 0);
	ck_assert_int_eq(getsockname(fds[0], (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	if (syn_drop) {
		struct timespec ts = {0, 100 * 1000000L};

		fds[1] = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(connect(fds[1], (struct sockaddr *)&a, sizeof(a)), 0);
		nanosleep(&ts, NULL);
	}
}

static void hole_close(int fds[2])
{
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

static struct sky_buf listing_buf;

static int listing_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	sky_buf_addf(&listing_buf, "%s %lld\n", path,
	             S_ISDIR(sb->st_mode) ? 0LL : (long long)sb->st_size);
	return 0;
}

/* Every path under dir with its size, sorted as nftw walks (the same tree lists the same). */
static char *listing(const char *dir)
{
	sky_buf_init(&listing_buf);
	ck_assert_int_eq(nftw(dir, listing_one, 16, FTW_PHYS), 0);
	return sky_buf_detach(&listing_buf);
}

START_TEST(test_pull_remote_hangs)
{
	/* git:// and http:// peers that accept and never answer, and one that drops the SYN: the
	 * fetch is given up after its timeout (retryable), and nothing in the repository moved */
	static const char *const schemes[] = {"git", "http", "git"};
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone"), *gitdir = tpath("clone/.git");
	struct gitwrite_pull_info info;
	struct sky_error err;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	for (int i = 0; i < 3; i++) {
		char *before = listing(gitdir), *after, *url;
		long long t0 = sky_now_ms(), took;
		int fds[2], port;

		hole_open(fds, &port, i == 2);
		url = sky_asprintf("%s://127.0.0.1:%d/x.git", schemes[i], port);
		sky_error_clear(&err);
		ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, url, 500, &err),
		                 GITWRITE_PULL_ERROR);
		took = sky_now_ms() - t0;
		ck_assert_msg(took >= 450 && took < 2500, "%s: given up after %lld ms", url, took);
		ck_assert_msg(strstr(err.message, "no answer within 0.5 s") != NULL, "%s",
		              err.message);
		ck_assert(err.retryable);
		after = listing(gitdir);
		ck_assert_str_eq(after, before);
		hole_close(fds);
		free(url);
		free(after);
		free(before);
	}
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	/* the remote answers again: the next pull catches up */
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 1000, &err),
	                 GITWRITE_PULL_FORWARDED);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	free(gitdir);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_stale_quarantine_removed)
{
	/* a watcher killed while fetching left its quarantine: the next fetch removes it; one of
	 * a process still alive (this one's parent) stays */
	char base[41], other[41];
	char *clone, *remote, *stale, *alive;
	struct gitwrite_pull_info info;
	struct sky_error err;
	struct stat st;
	pid_t pid = fork(); /* before anything is allocated: the child leaks nothing */

	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid); /* a pid nobody has now */
	clone = tpath("clone");
	remote = tpath("remote.git");
	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	stale = sky_asprintf("%s/.git/objects/tmp_skyreconcile_fetch_%ld_abcdef", clone, (long)pid);
	alive = sky_asprintf("%s/.git/objects/tmp_skyreconcile_fetch_%ld_abcdef", clone,
	                     (long)getppid());
	ck_assert_int_eq(mkdir(stale, 0700), 0);
	ck_assert_int_eq(mkdir(alive, 0700), 0);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 0, &err),
	                 GITWRITE_PULL_FORWARDED);
	ck_assert_int_ne(stat(stale, &st), 0);
	ck_assert_int_eq(stat(alive, &st), 0);
	free(alive);
	free(stale);
	free(remote);
	free(clone);
}
END_TEST

/* Wait for job's answer as watch does (poll its pipe up to the deadline, then look). */
static int job_wait(struct gitwrite_pull_job *job, struct gitwrite_pull_info *info,
                    struct sky_error *err)
{
	int rc;

	while ((rc = gitwrite_pull_check(job, info, err)) == GITWRITE_PULL_PENDING) {
		struct pollfd pfd = {.fd = gitwrite_pull_job_fd(job), .events = POLLIN};
		long long left = gitwrite_pull_job_deadline(job) - sky_now_ms();

		poll(&pfd, 1, left > 0 ? (int)left : 0);
	}
	return rc;
}

START_TEST(test_pull_background)
{
	/* the fetch in the background: a look never waits for a remote that hangs; the job freed
	 * while in flight, or given up at its deadline, leaves nothing (no file, no child); the
	 * fast-forward starts from where the local ref is when the answer is used */
	char base[41], other[41], mine[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone"), *gitdir = tpath("clone/.git");
	char *before, *after, *url;
	struct gitwrite_pull_job *job = NULL;
	struct gitwrite_pull_info info;
	struct sky_error err;
	long long t0, took;
	int fds[2], port;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	hole_open(fds, &port, false);
	url = sky_asprintf("git://127.0.0.1:%d/x.git", port);
	before = listing(gitdir);
	sky_error_clear(&err);
	/* freed while it runs: the child killed and reaped, the quarantine removed */
	ck_assert_msg(gitwrite_pull_start(&job, clone, NULL, url, 5000, &err) == 0, "%s",
	              err.message);
	t0 = sky_now_ms();
	ck_assert_int_eq(gitwrite_pull_check(job, &info, &err), GITWRITE_PULL_PENDING);
	ck_assert_int_ge(gitwrite_pull_job_fd(job), 0);
	ck_assert_int_gt(gitwrite_pull_job_deadline(job), sky_now_ms() + 4000);
	gitwrite_pull_job_free(job);
	took = sky_now_ms() - t0;
	ck_assert_msg(took < 1000, "a look and a free took %lld ms", took);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1); /* no child left, not even a zombie */
	after = listing(gitdir);
	ck_assert_str_eq(after, before);
	free(after);
	/* given up at the deadline by the look after it */
	ck_assert_int_eq(gitwrite_pull_start(&job, clone, NULL, url, 500, &err), 0);
	t0 = sky_now_ms();
	ck_assert_int_eq(job_wait(job, &info, &err), GITWRITE_PULL_ERROR);
	took = sky_now_ms() - t0;
	ck_assert_msg(took >= 450 && took < 2500, "given up after %lld ms", took);
	ck_assert_msg(strstr(err.message, "no answer within 0.5 s") != NULL, "%s", err.message);
	ck_assert(err.retryable);
	ck_assert_str_eq(info.refname, "refs/heads/main");
	ck_assert_int_eq(gitwrite_pull_check(job, &info, &err), GITWRITE_PULL_ERROR); /* ended */
	gitwrite_pull_job_free(job);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	after = listing(gitdir);
	ck_assert_str_eq(after, before);
	free(after);
	/* not a branch: refused at the start, before any child */
	ck_assert_int_eq(gitwrite_pull_start(&job, clone, other, "origin", 0, &err), -1);
	ck_assert(!err.retryable);
	/* a local commit made while the fetch runs: the remote's commit is compared with it */
	ck_assert_int_eq(gitwrite_pull_start(&job, clone, NULL, "origin", 0, &err), 0);
	commit_on(clone, TOPO_B, mine);
	ck_assert_msg(job_wait(job, &info, &err) == GITWRITE_PULL_DIVERGED, "%s", err.message);
	ck_assert_str_eq(info.local, mine);
	ck_assert_str_eq(info.remote, other);
	gitwrite_pull_job_free(job);
	ref_hex(clone, now);
	ck_assert_str_eq(now, mine);
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	gitwrite_pull_job_free(NULL);
	hole_close(fds);
	free(before);
	free(url);
	free(gitdir);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_push_remote_hangs)
{
	/* the policy's push to a remote that never answers is given up: an error, and the
	 * commit is taken off the ref again */
	char base[41], out[41] = "", now[41];
	char *clone = tpath("clone"), *url;
	struct gitwrite_req r;
	struct sky_error err;
	long long t0, took;
	int fds[2], port;

	remote_and_clone(base);
	hole_open(fds, &port, false);
	url = sky_asprintf("git://127.0.0.1:%d/x", port);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = url;
	r.timeout_ms = 500;
	sky_error_clear(&err);
	t0 = sky_now_ms();
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	took = sky_now_ms() - t0;
	ck_assert_msg(took >= 450 && took < 2500, "given up after %lld ms", took);
	ck_assert_msg(strstr(err.message, "could not push") && strstr(err.message, "no answer"),
	              "%s", err.message);
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	hole_close(fds);
	free(url);
	free(clone);
}
END_TEST

static Suite *gitwrite_suite(void)
{
	Suite *s = suite_create("gitwrite");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_worktree_clean);
	tcase_add_test(tc, test_worktree_local_edit_kept);
	tcase_add_test(tc, test_worktree_autocrlf);
	tcase_add_test(tc, test_bare_and_crlf);
	tcase_add_test(tc, test_cas_race);
	tcase_add_test(tc, test_cas_race_in_window);
	tcase_add_test(tc, test_worktree_staged_kept);
	tcase_add_test(tc, test_push_ok);
	tcase_add_test(tc, test_push_rejected);
	tcase_add_test(tc, test_push_rejected_known);
	tcase_add_test(tc, test_push_refused_rolls_back);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_pull_fast_forward);
	tcase_add_test(tc, test_pull_local_edit_kept);
	tcase_add_test(tc, test_pull_ahead_and_diverged);
	tcase_add_test(tc, test_pull_remote_missing);
	tcase_add_test(tc, test_pull_remote_hangs);
	tcase_add_test(tc, test_pull_stale_quarantine_removed);
	tcase_add_test(tc, test_pull_background);
	tcase_add_test(tc, test_push_remote_hangs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gitwrite_suite());
	int failed;

	sky_log_set_level(getenv("SKY_TEST_VERBOSE") ? SKY_LOG_DEBUG : SKY_LOG_WARNING);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
