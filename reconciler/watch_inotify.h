/*
 * watch_inotify: tell the watch loop that the desired state may have changed (Linux inotify).
 *
 * For `-f FILE` the file's directory is watched (editors replace files by renaming a new one
 * over them) and only events naming the file count. For `--repo DIR` the git directory is
 * watched (found with libgit2, so a bare repository or a linked worktree work too): HEAD and
 * packed-refs in it (and in the common directory of a worktree), and every directory under
 * refs/ (new subdirectories are added as they appear); lock files (*.lock) do not count.
 * The working tree and the index are never watched: only commits matter.
 *
 * An event is only a hint: the loop reads the revision again and reconciles when it moved.
 */
#ifndef SKY_WATCH_INOTIFY_H
#define SKY_WATCH_INOTIFY_H

#include "sky_error.h"
#include "source.h"

struct watch_inotify;

/* Start watching what opts reads from. *out is freed with watch_inotify_free. */
int watch_inotify_open(struct watch_inotify **out, const struct source_opts *opts,
                       struct sky_error *err);

/* The descriptor to poll for POLLIN. */
int watch_inotify_fd(const struct watch_inotify *w);

/*
 * Read the pending events (never blocks). 1 when one of them may change the revision, 0 when
 * none does, -1 with err on a read failure.
 */
int watch_inotify_drain(struct watch_inotify *w, struct sky_error *err);

void watch_inotify_free(struct watch_inotify *w);

#endif
