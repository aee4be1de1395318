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
	struct sky_buf *b = &q->rows;

	sky_copy_field_append(b, ev->id);
	sky_buf_addch(b, '\t');
	sky_copy_field_append(b, ev->time);
	/* ev_owner: the provider's retry owner means nothing here */
	sky_buf_add(b, "\t\\N\t", 4);
	sky_copy_field_append(b, ev->retry);
	sky_buf_addch(b, '\t');
	sky_copy_field_append(b, ev->type);
	sky_buf_addch(b, '\t');
	sky_copy_field_append(b, ev->data);
	sky_buf_addch(b, '\t');
	sky_copy_field_append(b, ev->extra1);
	sky_buf_addch(b, '\t');
	sky_copy_field_append(b, ev->extra2);
	sky_buf_addch(b, '\t');
	sky_copy_field_append(b, ev->extra3);
	sky_buf_addch(b, '\t');
	sky_copy_field_append(b, ev->extra4);
	sky_buf_addch(b, '\n');
	q->n++;
}

void sky_qcopy_reset(struct sky_qcopy *q)
{
	sky_buf_reset(&q->rows);
	q->n = 0;
}
