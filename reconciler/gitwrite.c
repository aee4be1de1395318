/*
 * gitwrite: commit a new topology.yaml with a compare-and-swap on the ref (see gitwrite.h).
 */
#include "gitwrite.h"

int gitwrite_commit(const struct gitwrite_req *req, char out_oid[41], struct sky_error *err)
{
	(void)req;
	(void)out_oid;
	sky_error_set(err, "gitwrite_commit: not implemented yet");
	return GITWRITE_ERROR;
}
