/*
 * gitbound: a libgit2 transfer with a deadline in a forked child, and the quarantine object
 * directory a fetch child writes into (see gitbound.h).
 *
 * Why a child and not a callback or a stream of our own: libgit2 1.5 calls its transfer
 * callbacks only when data arrives (checked: a fetch from a peer that accepts and never
 * answers calls none of them), and a registered socket stream would not reach ssh, whose
 * transport hands the socket's descriptor to libssh2 itself. A child bounds every transport.
 *
 * What a SIGKILLed fetch leaves when it writes into the repository itself (found by killing
 * one mid-transfer, libgit2 1.5.1): objects/pack/pack_git2_<hex> (the pack being received, up
 * to its full size), objects/pack/pack_git2_<hex>idx.lock (the index being written), a
 * pack-<sha>.idx without its .pack (the index is linked into place before the pack), a
 * truncated FETCH_HEAD (it is opened with O_TRUNC before FETCH_HEAD.lock is taken) and
 * FETCH_HEAD.lock. Hence the quarantine: the child writes no FETCH_HEAD and no ref, and its
 * objects go to a directory of its own that the parent removes whole.
 */
#include "gitbound.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sky_mem.h"
#include "sky_time.h"

#define QUARANTINE_PREFIX "tmp_skyreconcile_fetch_"

/* The child's side: run fn, send its result, never return. */
static void child_main(int fd, void (*fn)(struct gitbound_result *, void *), void *arg)
{
	static struct gitbound_result r; /* static: no large stack frame in the child */
	const char *p = (const char *)&r;
	size_t left = sizeof(r);

	/* a signal to the process group (a terminal's ^C, systemd's stop) ends the child too */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	memset(&r, 0, sizeof(r));
	fn(&r, arg);
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p += n;
		left -= (size_t)n;
	}
	_exit(0);
}

static void child_reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int gitbound_start(struct gitbound_child *out, void (*fn)(struct gitbound_result *, void *),
                   void *arg, int timeout_ms, const char *what, struct sky_error *err)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		sky_error_set(err, "could not %s: pipe: %s", what, strerror(errno));
		goto retryable;
	}
	pid = fork();
	if (pid < 0) {
		sky_error_set(err, "could not %s: fork: %s", what, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto retryable;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(fds[1], fn, arg);
	}
	close(fds[1]);
	/* the parent reads only what is there: gitbound_check never blocks */
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->fd = fds[0];
	out->timeout_ms = timeout_ms;
	out->deadline_ms = sky_now_ms() + timeout_ms;
	snprintf(out->what, sizeof(out->what), "%s", what);
	return 0;
retryable:
	if (err)
		err->retryable = true;
	return -1;
}

void gitbound_kill(struct gitbound_child *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->pid > 0) {
		kill(c->pid, SIGKILL); /* by its pid: it is ours and not reaped yet */
		child_reap(c->pid);
	}
	c->pid = 0;
}

int gitbound_check(struct gitbound_result *out, struct gitbound_child *c, struct sky_error *err)
{
	bool eof = false;

	if (c->pid <= 0) {
		sky_error_set(err, "could not %s: no process doing it", c->what);
		goto retryable;
	}
	while (c->got < sizeof(c->r)) {
		ssize_t n = read(c->fd, (char *)&c->r + c->got, sizeof(c->r) - c->got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* EAGAIN: nothing more yet; 0 or another error: no more ever */
			eof = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
			break;
		}
		c->got += (size_t)n;
	}
	if (c->got == sizeof(c->r)) {
		/* the whole answer: the child's next step is _exit */
		close(c->fd);
		c->fd = -1;
		child_reap(c->pid);
		c->pid = 0;
		c->r.message[sizeof(c->r.message) - 1] = '\0';
		c->r.note[sizeof(c->r.note) - 1] = '\0';
		c->r.oid[sizeof(c->r.oid) - 1] = '\0';
		*out = c->r;
		return 0;
	}
	if (eof) {
		gitbound_kill(c);
		sky_error_set(err, "could not %s: the process doing it ended without an answer",
		              c->what);
		goto retryable;
	}
	if (sky_now_ms() < c->deadline_ms)
		return GITBOUND_PENDING;
	gitbound_kill(c);
	sky_error_set(err, "could not %s: no answer within %g s (given up)", c->what,
	              c->timeout_ms / 1000.0);
retryable:
	if (err)
		err->retryable = true;
	return -1;
}

int gitbound_wait(struct gitbound_result *out, struct gitbound_child *c, struct sky_error *err)
{
	int rc;

	while ((rc = gitbound_check(out, c, err)) == GITBOUND_PENDING) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		long long left = c->deadline_ms - sky_now_ms();

		/* an error of poll itself (not EINTR) ends in the deadline's check all the same */
		if (left > 0)
			poll(&pfd, 1, (int)left);
	}
	return rc;
}

int gitbound_run(struct gitbound_result *out, void (*fn)(struct gitbound_result *, void *),
                 void *arg, int timeout_ms, const char *what, struct sky_error *err)
{
	struct gitbound_child c;

	if (gitbound_start(&c, fn, arg, timeout_ms, what, err) < 0)
		return -1;
	return gitbound_wait(out, &c, err);
}

/* repo's object directory ("<commondir>objects"). Caller frees. */
static char *objects_dir(git_repository *repo)
{
	return sky_asprintf("%sobjects", git_repository_commondir(repo));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void gitbound_quarantine_remove(const char *dir)
{
	if (dir)
		nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Quarantines of processes that are gone (a watcher killed while fetching). */
static void remove_stale(const char *objects)
{
	DIR *d = opendir(objects);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (strncmp(e->d_name, QUARANTINE_PREFIX, strlen(QUARANTINE_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(QUARANTINE_PREFIX), &end, 10);
		if (*end != '_' || pid <= 0 || pid == (long)getpid() ||
		    !(kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			continue;
		{
			char *path = sky_asprintf("%s/%s", objects, e->d_name);

			gitbound_quarantine_remove(path);
			free(path);
		}
	}
	closedir(d);
}

int gitbound_quarantine_make(char **out, git_repository *repo, struct sky_error *err)
{
	char *objects = objects_dir(repo);
	char *dir = sky_asprintf("%s/" QUARANTINE_PREFIX "%ld_XXXXXX", objects, (long)getpid());
	char *pack = NULL;
	int ret = -1;

	remove_stale(objects);
	if (!mkdtemp(dir)) {
		sky_error_set(err, "could not make a directory in \"%s\": %s", objects,
		              strerror(errno));
		goto out;
	}
	pack = sky_asprintf("%s/pack", dir);
	if (mkdir(pack, 0777) < 0) {
		sky_error_set(err, "could not make \"%s\": %s", pack, strerror(errno));
		gitbound_quarantine_remove(dir);
		goto out;
	}
	*out = dir;
	dir = NULL;
	ret = 0;
out:
	free(pack);
	free(dir);
	free(objects);
	return ret;
}

int gitbound_quarantine_use(git_repository *repo, const char *dir)
{
	git_odb *odb = NULL;
	git_odb_backend *pack = NULL, *loose = NULL;
	char *objects = objects_dir(repo);
	int ret = -1;

	if (git_odb_new(&odb) < 0 || git_odb_backend_pack(&pack, dir) < 0 ||
	    git_odb_add_backend(odb, pack, 2) < 0)
		goto out;
	pack = NULL;
	if (git_odb_backend_loose(&loose, dir, -1, 0, 0, 0) < 0 ||
	    git_odb_add_backend(odb, loose, 1) < 0)
		goto out;
	loose = NULL;
	/* an alternate is read, never written (git_odb_write_pack skips it) */
	if (git_odb_add_disk_alternate(odb, objects) < 0)
		goto out;
	git_repository_set_odb(repo, odb);
	ret = 0;
out:
	if (pack)
		pack->free(pack);
	if (loose)
		loose->free(loose);
	git_odb_free(odb);
	free(objects);
	return ret;
}

/* Move the entries of from/ into to/ (made if missing): those not ending in .idx first. */
static int move_dir(const char *from, const char *to, struct sky_error *err)
{
	int ret = 0;

	if (mkdir(to, 0777) < 0 && errno != EEXIST)
		return sky_error_set(err, "could not make \"%s\": %s", to, strerror(errno));
	for (int pass = 0; pass < 2 && ret == 0; pass++) {
		DIR *d = opendir(from);
		struct dirent *e;

		if (!d)
			return sky_error_set(err, "could not read \"%s\": %s", from,
			                     strerror(errno));
		while (ret == 0 && (e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);
			bool idx = len > 4 && strcmp(e->d_name + len - 4, ".idx") == 0;
			char *src, *dst;

			if (e->d_name[0] == '.' || idx != (pass == 1))
				continue;
			src = sky_asprintf("%s/%s", from, e->d_name);
			dst = sky_asprintf("%s/%s", to, e->d_name);
			if (rename(src, dst) < 0)
				ret = sky_error_set(err, "could not move \"%s\" to \"%s\": %s", src,
				                    dst, strerror(errno));
			free(src);
			free(dst);
		}
		closedir(d);
	}
	return ret;
}

int gitbound_quarantine_migrate(git_repository *repo, const char *dir, struct sky_error *err)
{
	char *objects = objects_dir(repo);
	git_odb *odb = NULL;
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = -1;

	if (!d) {
		sky_error_set(err, "could not read \"%s\": %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
	/* loose objects (00..ff) and packs (pack/) */
	while (ret == 0 && (e = readdir(d)) != NULL) {
		char *from, *to;

		if (e->d_name[0] == '.')
			continue;
		from = sky_asprintf("%s/%s", dir, e->d_name);
		to = sky_asprintf("%s/%s", objects, e->d_name);
		ret = move_dir(from, to, err);
		free(from);
		free(to);
	}
	closedir(d);
	if (ret == 0 && git_repository_odb(&odb, repo) == 0)
		git_odb_refresh(odb);
out:
	git_odb_free(odb);
	free(objects);
	return ret;
}
