/*
 * failover_history: the anti-flap budget of the failover policy (docs/topology.md, "Failover
 * policy"), counted from git: every automatic failover is a commit of skyreconcile watch
 * whose message carries the trailer FAILOVER_TRAILER, so the count survives restarts and is
 * the same for every watcher of the repository.
 */
#ifndef SKY_FAILOVER_HISTORY_H
#define SKY_FAILOVER_HISTORY_H

#include "sky_error.h"
#include "source.h"

#define FAILOVER_TRAILER_KEY "Skycascade-Failover"
#define FAILOVER_TRAILER FAILOVER_TRAILER_KEY ": automatic"

/*
 * How many commits reachable from opts' ref (first parents) were made less than window_s
 * seconds ago (by committer time) and carry FAILOVER_TRAILER as a line of their message.
 * opts must name a repository. 0 and *out set, or -1 and err.
 */
int failover_history_count(int *out, const struct source_opts *opts, int window_s,
                           struct sky_error *err);

#endif
