/*
 * queuecopy: COPY rows for the local queue's event table.
 */
#include "queuecopy.h"

#include <stdlib.h>

void sky_qcopy_init(struct sky_qcopy *q)
{
	sky_buf_init(&q->rows);
	q->n = 0;
	q->copy_sql = NULL;
}

void sky_qcopy_release(struct sky_qcopy *q)
{
	sky_buf_release(&q->rows);
	free(q->copy_sql);
	q->copy_sql = NULL;
	q->n = 0;
}

void sky_qcopy_set_table(struct sky_qcopy *q, const char *event_table)
{
	free(q->copy_sql);
	q->copy_sql = sky_asprintf("copy %s (ev_id, ev_time, ev_owner, ev_retry, ev_type, ev_data, "
	                           "ev_extra1, ev_extra2, ev_extra3, ev_extra4) from stdin",
	                           event_table);
}

void sky_qcopy_add(struct sky_qcopy *q, const struct sky_event *ev)
{
	/* ev_owner is NULL: the provider's retry owner means nothing here */
	const char *row[10] = {ev->id,   ev->time,   NULL,       ev->retry,  ev->type,
	                       ev->data, ev->extra1, ev->extra2, ev->extra3, ev->extra4};

	sky_copy_row_append(&q->rows, row, 10);
	q->n++;
}

void sky_qcopy_reset(struct sky_qcopy *q)
{
	sky_buf_reset(&q->rows);
	q->n = 0;
}
