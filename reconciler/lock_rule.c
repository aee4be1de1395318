/*
 * lock_rule: the part of the lock (lock.h) that needs no node, in the plan engine so the unit
 * tests check it: how many nodes make a majority.
 */
#include "lock.h"

size_t lock_majority(size_t n_live)
{
	return n_live / 2 + 1;
}
