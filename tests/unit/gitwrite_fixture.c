/*
 * gitwrite_fixture: what test_gitwrite.c (commit, push) and test_gitwrite_pull.c (pull, the
 * fetch in the background) share, compiled into each: a temporary directory per test,
 * repositories made with libgit2 (a bare "remote" and its clone), and remotes that never answer.
 */
#define _XOPEN_SOURCE 700
#include "gitwrite_fixture.h"

#include <arpa/inet.h>
#include <check.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sky_mem.h"

char tmpdir[64];

char *tpath(const char *name)
{
	return sky_asprintf("%s/%s", tmpdir, name);
}

void setup(void)
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

void teardown(void)
{
	if (!getenv("SKY_TEST_KEEP")) /* keep the repositories to look at them with git */
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "kept %s\n", tmpdir);
	git_libgit2_shutdown();
}

void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

/* The file's bytes (caller frees). */
char *read_file(const char *path)
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
void commit_on(const char *dir, const char *content, char hex[41])
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
void repo_make(const char *name, bool bare, char hex[41])
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

/* The hex id refname points at in dir. */
static void refname_hex(const char *dir, const char *refname, char hex[41])
{
	git_repository *repo;
	git_oid id;

	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_reference_name_to_id(&id, repo, refname), 0);
	git_oid_tostr(hex, 41, &id);
	git_repository_free(repo);
}

/* The hex id refs/heads/main points at in dir. */
void ref_hex(const char *dir, char hex[41])
{
	refname_hex(dir, "refs/heads/main", hex);
}

/* The hex id refs/remotes/origin/main points at in dir. */
void tracking_hex(const char *dir, char hex[41])
{
	refname_hex(dir, "refs/remotes/origin/main", hex);
}

/* topology.yaml's bytes in commit hex of dir (caller frees). */
char *blob_at(const char *dir, const char *hex)
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
size_t status_count(const char *dir, unsigned int *flags)
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

/* Fetch refs/heads/main into refs/remotes/origin/main. */
void fetch(git_repository *repo, git_remote *origin)
{
	char *spec = "+refs/heads/main:refs/remotes/origin/main";
	git_strarray specs = {&spec, 1};

	(void)repo;
	ck_assert_int_eq(git_remote_fetch(origin, &specs, NULL, NULL), 0);
}

/* A bare "remote" and a clone of it with a work tree, both at base. */
void remote_and_clone(char base[41])
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

/*
 * A remote that never answers: a socket listening on 127.0.0.1 that nobody accepts from, so
 * the kernel completes the connection and no byte ever comes back (a server that accepts and
 * hangs). With syn_drop the accept queue is filled first (backlog 0, one connection waiting),
 * so that the kernel drops the next SYN: the connect itself stalls. *port gets its port; the
 * caller closes the returned descriptors (fds[0] the listener, fds[1] the filler or -1).
 */
void hole_open(int fds[2], int *port, bool syn_drop)
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

void hole_close(int fds[2])
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
char *listing(const char *dir)
{
	sky_buf_init(&listing_buf);
	ck_assert_int_eq(nftw(dir, listing_one, 16, FTW_PHYS), 0);
	return sky_buf_detach(&listing_buf);
}
