/*
 * lock: one skyreconcile at a time per cascade (docs/reconciler.md, "Locking").
 *
 * The lock is a PostgreSQL session advisory lock, pg_try_advisory_lock(hashtext('skyreconcile'),
 * hashtext(cascade)), held on a majority of the topology's live nodes (more than half of the
 * nodes not marked dead): two processes can never both hold a majority, it needs no particular
 * node (it keeps working when the root is dead, which is when failover reconcilers may race),
 * and a process that dies loses its sessions and so its locks. The lock sessions are this
 * module's own connections, apart from the ones the apply uses.
 *
 * Where pgq_set 4 is installed the holder also records who it is (pgq_set.set_reconciler), so
 * a process that finds the lock taken can name the holder (host, pid, since).
 *
 * Test hook: with SKY_RECONCILE_LOCK_HOLD_MS=N in the environment the holder waits N ms right
 * after it took the lock, so tests can make two processes meet.
 */
#ifndef SKY_LOCK_H
#define SKY_LOCK_H

#include <signal.h>

#include "sky_error.h"
#include "topology.h"

struct reconcile_lock;

/*
 * Take the lock of topo's cascade, retrying for up to timeout_ms while another process holds
 * it (a "waiting" line goes to stderr once). Stops early when *stop becomes set (stop may be
 * NULL). On success *out is the held lock, released with lock_release. On failure -1 and err:
 * `cascade "app" is being reconciled by HOST pid N since T` when someone else held it until
 * the deadline, or why a majority of the live nodes could not be reached.
 * *waited_ms (waited_ms may be NULL) is set on success and on failure: how long it waited
 * because another process held the lock (from the first round it lost), 0 when it did not.
 */
int lock_acquire(struct reconcile_lock **out, const struct topology *topo, int timeout_ms,
                 const volatile sig_atomic_t *stop, long long *waited_ms, struct sky_error *err);

/* Release the lock (closes its sessions). l may be NULL. */
void lock_release(struct reconcile_lock *l);

/* How many nodes must be locked out of n_live live nodes: more than half. */
size_t lock_majority(size_t n_live);

#endif
