/*
 * watch_inotify: inotify on the topology file's directory or on a git directory's refs
 * (see watch_inotify.h).
 */
#include "watch_inotify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sky_log.h"
#include "sky_mem.h"

/* What events in one watched directory mean. */
enum watch_dir_kind {
	WATCH_DIR_FILE,   /* the topology file's directory: only `name` counts */
	WATCH_DIR_GITDIR, /* a git directory: HEAD and packed-refs count */
	WATCH_DIR_REFS,   /* refs/ or below: everything but *.lock counts; subdirectories added */
};

struct watch_dir {
	int wd;
	enum watch_dir_kind kind;
	char *path;
};

struct watch_inotify {
	int fd;
	struct watch_dir *dirs;
	size_t n_dirs;
	char *file_name; /* WATCH_DIR_FILE: the basename that counts */
};

static const uint32_t WATCH_MASK = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE |
                                   IN_MOVED_FROM | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

static int watch_add(struct watch_inotify *w, const char *path, enum watch_dir_kind kind,
                     struct sky_error *err)
{
	int wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR);

	if (wd < 0)
		return sky_error_set(err, "could not watch \"%s\": %s", path, strerror(errno));
	for (size_t i = 0; i < w->n_dirs; i++)
		if (w->dirs[i].wd == wd)
			return 0; /* the same directory twice (gitdir = commondir) */
	w->dirs = sky_realloc(w->dirs, (w->n_dirs + 1) * sizeof(*w->dirs));
	w->dirs[w->n_dirs].wd = wd;
	w->dirs[w->n_dirs].kind = kind;
	w->dirs[w->n_dirs].path = sky_strdup(path);
	w->n_dirs++;
	sky_debug("watching \"%s\"", path);
	return 0;
}

/* Watch path and every directory under it (refs/heads/feature/...). */
static int watch_add_tree(struct watch_inotify *w, const char *path, struct sky_error *err)
{
	DIR *d;
	struct dirent *e;
	int ret = 0;

	if (watch_add(w, path, WATCH_DIR_REFS, err) < 0)
		return -1;
	d = opendir(path);
	if (!d)
		return 0; /* removed meanwhile: its parent's event tells */
	while ((e = readdir(d)) != NULL) {
		char *sub;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		sub = sky_asprintf("%s/%s", path, e->d_name);
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && watch_add_tree(w, sub, err) < 0)
			ret = -1;
		free(sub);
		if (ret < 0)
			break;
	}
	closedir(d);
	return ret;
}

/* The git directory and the common directory of the repository at dir (libgit2). */
static int watch_git_dirs(char **gitdir, char **commondir, const char *dir, struct sky_error *err)
{
	git_repository *repo = NULL;
	const git_error *e;
	int ret = -1;

	git_libgit2_init();
	if (git_repository_open(&repo, dir) < 0) {
		e = git_error_last();
		sky_error_set(err, "could not open git repository \"%s\": %s", dir,
		              e && e->message ? e->message : "unknown error");
		goto out;
	}
	*gitdir = sky_strdup(git_repository_path(repo));
	*commondir = sky_strdup(git_repository_commondir(repo));
	ret = 0;
out:
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}

static void strip_slash(char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
}

int watch_inotify_open(struct watch_inotify **out, const struct source_opts *opts,
                       struct sky_error *err)
{
	struct watch_inotify *w = sky_calloc(1, sizeof(*w));
	char *gitdir = NULL;
	char *commondir = NULL;
	char *refs = NULL;
	char *copy = NULL;
	int ret = -1;

	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		sky_error_set(err, "inotify: %s", strerror(errno));
		goto out;
	}
	if (opts->repo) {
		if (watch_git_dirs(&gitdir, &commondir, opts->repo, err) < 0)
			goto out;
		strip_slash(gitdir);
		strip_slash(commondir);
		if (watch_add(w, gitdir, WATCH_DIR_GITDIR, err) < 0 ||
		    watch_add(w, commondir, WATCH_DIR_GITDIR, err) < 0)
			goto out;
		refs = sky_asprintf("%s/refs", commondir);
		if (watch_add_tree(w, refs, err) < 0)
			goto out;
	} else {
		const char *file = opts->file ? opts->file : SOURCE_DEFAULT_FILE;
		char *slash;

		copy = sky_strdup(file);
		slash = strrchr(copy, '/');
		if (slash) {
			w->file_name = sky_strdup(slash + 1);
			if (slash == copy)
				slash[1] = '\0';
			else
				*slash = '\0';
		} else {
			w->file_name = sky_strdup(copy);
			free(copy);
			copy = sky_strdup(".");
		}
		if (watch_add(w, copy, WATCH_DIR_FILE, err) < 0)
			goto out;
	}
	*out = w;
	w = NULL;
	ret = 0;
out:
	free(gitdir);
	free(commondir);
	free(refs);
	free(copy);
	watch_inotify_free(w);
	return ret;
}

int watch_inotify_fd(const struct watch_inotify *w)
{
	return w->fd;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Does ev (in directory d) count? Adds a watch for a new directory under refs/. */
static bool watch_event_counts(struct watch_inotify *w, const struct watch_dir *d,
                               const struct inotify_event *ev)
{
	const char *name = ev->len ? ev->name : "";

	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW))
		return true;
	switch (d->kind) {
	case WATCH_DIR_FILE:
		return strcmp(name, w->file_name) == 0;
	case WATCH_DIR_GITDIR:
		return strcmp(name, "HEAD") == 0 || strcmp(name, "packed-refs") == 0;
	case WATCH_DIR_REFS:
		if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
			char *sub = sky_asprintf("%s/%s", d->path, name);
			struct sky_error err;

			sky_error_clear(&err);
			if (watch_add_tree(w, sub, &err) < 0)
				sky_debug("%s", err.message);
			free(sub);
			return true;
		}
		return name[0] && !ends_with(name, ".lock");
	}
	return false;
}

int watch_inotify_drain(struct watch_inotify *w, struct sky_error *err)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return sky_error_set(err, "inotify: %s", strerror(errno));
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			const struct watch_dir *d = NULL;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				changed = 1;
				continue;
			}
			for (size_t i = 0; i < w->n_dirs; i++)
				if (w->dirs[i].wd == ev->wd)
					d = &w->dirs[i];
			if (!d)
				continue;
			/* copy: watch_event_counts may grow w->dirs */
			{
				struct watch_dir dcopy = *d;

				if (watch_event_counts(w, &dcopy, ev)) {
					sky_debug("change: %s/%s", dcopy.path,
					          ev->len ? ev->name : "");
					changed = 1;
				}
			}
		}
	}
	return changed;
}

void watch_inotify_free(struct watch_inotify *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i].path);
	free(w->dirs);
	free(w->file_name);
	free(w);
}
