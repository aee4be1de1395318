/*
 * pgq_set_capture: the body of pgq_set.logutriga(), the capture trigger of replicated tables on
 * the root, when this library is installed (sql/functions/logutriga.sql; docs/pgq_set.md,
 * "Capture").
 *
 * It writes the events PgQ's own logutriga writes, byte for byte (tests/integration/
 * 32_capture_format.sh compares the two on every kind of column): ev_type "I:", "U:" or "D:"
 * followed by the primary key's columns, ev_data the row urlencoded (name=value&..., a NULL as
 * the bare name), ev_extra1 "schema.table". What it does not do is the path an event takes
 * into the queue: PgQ's trigger runs a query that calls the PL/pgSQL pgq.insert_event, which
 * calls pgq.insert_event_raw, which runs two more queries; this one runs one prepared INSERT
 * into the queue's current event table, with the same values (the next id of the queue's
 * sequence, now(), the transaction's txid), and the queue's lookup once per transaction
 * (looked_xact below). On the 2-core machine of docs/performance.md that is +7 – 9% on the
 * writer's throughput with four events a transaction, and applying the output settings itself
 * (below) +5% more; the lookup once per transaction takes ~2 µs off each later event.
 *
 * An UPDATE that changes the key, which PgQ's trigger refuses, is queued as the old row's delete
 * and the new row's insert, the events pgq_set.capture_key_change queues under PgQ's body. So
 * with this body a table needs one row trigger for all three operations, without the WHEN
 * clauses that send key changes elsewhere (pgq_set.capture_kinds). A key change of 100,000 rows
 * of a 10-column table: 1.7 s, against 59 s through capture_key_change's PL/pgSQL.
 *
 * Everything else goes to PgQ's trigger itself, called with the same arguments: TRUNCATE, a
 * trigger given more than the queue's name, a table without a primary key or with a column PgQ
 * reads as an event field (_pgq_ev_*), a key change of a key with INCLUDE columns (PgQ refuses
 * it), a queue that refuses inserts or limits them per transaction. PgQ's errors are PgQ's.
 *
 * The lookup and the INSERT run as the owner of pgq_set.logutriga (who installed pgq_set), as
 * pgq.insert_event does as its owner: the writing role needs no right on PgQ's tables. The
 * row's values are printed as the writing role, under the output settings (output_settings
 * below).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/bytea.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(pgq_set_logutriga);

/* What the events of one table need, kept until the table changes (relcache invalidation). */
struct rel_capture {
	Oid relid; /* hash key */
	bool valid;
	bool to_pgq; /* PgQ's trigger does this table's rows */
	bool plain;  /* only column types whose text needs no more than the five variables */
	char *key;   /* ev_type after the "X:": the primary key's columns, in key order */
	char *name;  /* ev_extra1: schema.table */
	int nkey;
	AttrNumber *keyatt;
	bool include; /* the key's index has INCLUDE columns */
};

static HTAB *rel_cache;

/* The INSERT of the queue's current event table; a new one when the queue rotates. */
static SPIPlanPtr queue_plan;
static SPIPlanPtr insert_plan;
static char *insert_table;
static char *insert_seq;

/*
 * The queue's row as the transaction's first event of it read it (queue_insert): the later
 * events of the transaction use it without reading the row again. PgQ reads the row for every
 * event; a transaction that keeps what it read is what PgQ sees of every writer under
 * REPEATABLE READ, which its rotation allows for (a writer whose first read saw the old
 * table was given its txid before the switch, and batches read that table until every such
 * writer is consumed: pgq.batch_event_tables, pgq.maint_rotate_tables_step1).
 */
static FullTransactionId looked_xact;
static char *looked_queue; /* TopMemoryContext; NULL: nothing kept */
static bool looked_ours;   /* false: PgQ's path takes this transaction's events of it */

/* PgQ's trigger, for everything this one hands over. */
static PGFunction pgq_logutriga;

/*
 * The output settings of the events (SKY_PG_VALUE_SETTINGS in common/sky_pg.h, the SET clauses
 * PgQ's body is declared with in sql/functions/logutriga.sql: keep the three lists equal).
 */
static const char *const output_settings[][2] = {
    {"datestyle", "ISO, YMD"}, {"intervalstyle", "postgres"}, {"extra_float_digits", "3"},
    {"bytea_output", "hex"},   {"timezone", "UTC"},           {"lc_monetary", "C"},
};

/* Apply them through the GUC machinery, as a function's SET clauses are (undone by pop). */
static int settings_push(void)
{
	int nest = NewGUCNestLevel();
	size_t i;

	for (i = 0; i < lengthof(output_settings); i++)
		(void)set_config_option(output_settings[i][0], output_settings[i][1], PGC_USERSET,
		                        PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

static void settings_pop(int nest)
{
	AtEOXact_GUC(true, nest);
}

/*
 * The types whose text depends on nothing but the variables behind datestyle, intervalstyle,
 * extra_float_digits, bytea_output and timezone (built-in output functions; money, which
 * follows lc_monetary, is not one), with their arrays. A table of such columns only is printed
 * with those variables set directly (plain_print): the GUC machinery a SET clause goes through
 * cost about 3.5% of the writer's throughput (docs/performance.md). Any other table goes
 * through settings_push.
 */
static bool plain_type(Oid t)
{
	Oid elem = get_element_type(t);

	if (OidIsValid(elem))
		t = elem;
	switch (t) {
	case BOOLOID:
	case INT2OID:
	case INT4OID:
	case INT8OID:
	case OIDOID:
	case FLOAT4OID:
	case FLOAT8OID:
	case NUMERICOID:
	case TEXTOID:
	case VARCHAROID:
	case BPCHAROID:
	case NAMEOID:
	case CHAROID:
	case DATEOID:
	case TIMEOID:
	case TIMETZOID:
	case TIMESTAMPOID:
	case TIMESTAMPTZOID:
	case INTERVALOID:
	case BYTEAOID:
	case JSONOID:
	case JSONBOID:
	case UUIDOID:
	case INETOID:
	case CIDROID:
	case MACADDROID:
	case INT4RANGEOID:
	case INT8RANGEOID:
	case NUMRANGEOID:
	case TSRANGEOID:
	case TSTZRANGEOID:
	case DATERANGEOID:
		return true;
	default:
		return false;
	}
}

static void rel_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	struct rel_capture *rc;

	if (rel_cache == NULL)
		return;
	if (OidIsValid(relid)) {
		rc = hash_search(rel_cache, &relid, HASH_FIND, NULL);
		if (rc)
			rc->valid = false;
		return;
	}
	hash_seq_init(&seq, rel_cache);
	while ((rc = hash_seq_search(&seq)) != NULL)
		rc->valid = false;
}

static void rel_fill(struct rel_capture *rc, Relation rel)
{
	TupleDesc desc = RelationGetDescr(rel);
	StringInfoData key;
	List *indexes;
	Relation pk;
	int i;

	if (rc->key)
		pfree(rc->key);
	if (rc->name)
		pfree(rc->name);
	if (rc->keyatt)
		pfree(rc->keyatt);
	rc->key = rc->name = NULL;
	rc->keyatt = NULL;
	rc->nkey = 0;
	rc->to_pgq = false;
	rc->valid = false; /* until filled: an error half way leaves it to be filled again */

	rc->plain = true;
	for (i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (strncmp(NameStr(att->attname), "_pgq_ev_", 8) == 0)
			rc->to_pgq = true;
		if (!plain_type(att->atttypid))
			rc->plain = false;
	}
	indexes = RelationGetIndexList(rel); /* sets rd_pkindex */
	list_free(indexes);
	if (rc->to_pgq || !OidIsValid(rel->rd_pkindex)) {
		rc->to_pgq = true;
		rc->valid = true;
		return;
	}

	/*
	 * Every column of the key's index, its INCLUDE columns too: PgQ's trigger lists those in
	 * ev_type as well (test 32). key_changed compares them too, so an UPDATE that changes one
	 * goes to PgQ's trigger, which refuses it as a key change, as it does under PgQ's body.
	 */
	pk = index_open(rel->rd_pkindex, AccessShareLock);
	rc->nkey = pk->rd_index->indnatts;
	rc->include = pk->rd_index->indnatts > pk->rd_index->indnkeyatts;
	rc->keyatt = MemoryContextAlloc(CacheMemoryContext, sizeof(AttrNumber) * rc->nkey);
	initStringInfo(&key);
	for (i = 0; i < rc->nkey; i++) {
		AttrNumber a = pk->rd_index->indkey.values[i];

		rc->keyatt[i] = a;
		if (i > 0)
			appendStringInfoChar(&key, ',');
		appendStringInfoString(&key, NameStr(TupleDescAttr(desc, a - 1)->attname));
	}
	index_close(pk, AccessShareLock);
	rc->key = MemoryContextStrdup(CacheMemoryContext, key.data);
	pfree(key.data);
	rc->name = MemoryContextStrdup(
	    CacheMemoryContext, psprintf("%s.%s", get_namespace_name(RelationGetNamespace(rel)),
	                                 RelationGetRelationName(rel)));
	rc->valid = true;
}

static struct rel_capture *rel_get(Relation rel)
{
	Oid relid = RelationGetRelid(rel);
	struct rel_capture *rc;
	bool found;

	if (rel_cache == NULL) {
		HASHCTL ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(struct rel_capture);
		ctl.hcxt = CacheMemoryContext;
		rel_cache = hash_create("pgq_set capture tables", 64, &ctl,
		                        HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(rel_invalidate, (Datum)0);
	}
	rc = hash_search(rel_cache, &relid, HASH_ENTER, &found);
	if (!found) {
		rc->key = rc->name = NULL;
		rc->keyatt = NULL;
		rc->valid = false;
	}
	if (!rc->valid)
		rel_fill(rc, rel);
	return rc;
}

/* Form-urlencoding as PgQ's: [0-9A-Za-z], '-', '.', '_' kept, space as '+', the rest %xx. */
static void urlencode(StringInfo s, const char *v)
{
	static const char hex[] = "0123456789abcdef";

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    c == '-' || c == '.' || c == '_') {
			appendStringInfoChar(s, (char)c);
		} else if (c == ' ') {
			appendStringInfoChar(s, '+');
		} else {
			appendStringInfoChar(s, '%');
			appendStringInfoChar(s, hex[c >> 4]);
			appendStringInfoChar(s, hex[c & 15]);
		}
	}
}

static char *row_urlencode(HeapTuple row, TupleDesc desc)
{
	StringInfoData s;
	int i;
	bool first = true;

	initStringInfo(&s);
	for (i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		char *v;

		if (att->attisdropped)
			continue;
		if (!first)
			appendStringInfoChar(&s, '&');
		first = false;
		urlencode(&s, NameStr(att->attname));
		v = SPI_getvalue(row, desc, i + 1);
		if (v != NULL) {
			appendStringInfoChar(&s, '=');
			urlencode(&s, v);
			pfree(v);
		}
	}
	return s.data;
}

/* The row printed with the five variables set directly, restored whatever happens. */
static char *plain_print(HeapTuple row, TupleDesc desc)
{
	static pg_tz *utc;
	int date_style = DateStyle, date_order = DateOrder, interval_style = IntervalStyle;
	int float_digits = extra_float_digits, bytea_out = bytea_output;
	pg_tz *tz = session_timezone;
	char *out = NULL;

	if (utc == NULL) {
		utc = pg_tzset("UTC");
		if (utc == NULL)
			elog(ERROR, "pgq_set capture: time zone \"UTC\" not found");
	}
	PG_TRY();
	{
		DateStyle = USE_ISO_DATES;
		DateOrder = DATEORDER_YMD;
		IntervalStyle = INTSTYLE_POSTGRES;
		extra_float_digits = 3;
		bytea_output = BYTEA_OUTPUT_HEX;
		session_timezone = utc;
		out = row_urlencode(row, desc);
	}
	PG_FINALLY();
	{
		DateStyle = date_style;
		DateOrder = date_order;
		IntervalStyle = interval_style;
		extra_float_digits = float_digits;
		bytea_output = bytea_out;
		session_timezone = tz;
	}
	PG_END_TRY();
	return out;
}

/* Does the UPDATE change the key (binary compare; PgQ's trigger judges the rest)? */
static bool key_changed(struct rel_capture *rc, TupleDesc desc, HeapTuple o, HeapTuple n)
{
	int i;

	for (i = 0; i < rc->nkey; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, rc->keyatt[i] - 1);
		bool onull, nnull;
		Datum ov = heap_getattr(o, rc->keyatt[i], desc, &onull);
		Datum nv = heap_getattr(n, rc->keyatt[i], desc, &nnull);

		if (onull || nnull || !datumIsEqual(ov, nv, att->attbyval, att->attlen))
			return true;
	}
	return false;
}

static Oid function_owner(Oid fn)
{
	HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	Oid owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fn);
	owner = ((Form_pg_proc)GETSTRUCT(tup))->proowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Keep what the lookup found for the rest of transaction xact; returns ours. */
static bool remember(const char *queue, FullTransactionId xact, bool ours)
{
	if (looked_queue != NULL) {
		pfree(looked_queue);
		looked_queue = NULL;
	}
	if (FullTransactionIdIsValid(xact)) {
		looked_queue = MemoryContextStrdup(TopMemoryContext, queue);
		looked_xact = xact;
		looked_ours = ours;
	}
	return ours;
}

/*
 * Read the queue's row and prepare insert_plan for its current table; returns false when PgQ's
 * path must take the event (no such queue, inserts refused or limited per transaction).
 */
static bool queue_lookup(const char *queue, FullTransactionId xact)
{
	Oid qtypes[1] = {TEXTOID};
	Oid itypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum qargs[1];
	HeapTuple q;
	TupleDesc qd;
	char *pfx, *cur, *table, *seq;
	bool isnull;
	int rc;

	/*
	 * Both statements run as the function's owner, so every function and operator in them is
	 * named with its schema: the writing session's search_path must not find its own.
	 */
	if (queue_plan == NULL) {
		SPIPlanPtr p =
		    SPI_prepare("select queue_data_pfx, queue_cur_table, queue_event_seq,"
		                " queue_disable_insert, queue_per_tx_limit is not null"
		                " from pgq.queue where queue_name operator(pg_catalog.=) $1",
		                1, qtypes);

		if (p == NULL)
			elog(ERROR, "pgq_set capture: preparing the queue lookup failed: %s",
			     SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		queue_plan = p;
	}
	qargs[0] = CStringGetTextDatum(queue);
	rc = SPI_execute_plan(queue_plan, qargs, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pgq_set capture: the queue lookup failed: %s",
		     SPI_result_code_string(rc));
	if (SPI_processed != 1)
		return remember(queue, xact, false);
	q = SPI_tuptable->vals[0];
	qd = SPI_tuptable->tupdesc;
	if (DatumGetBool(heap_getattr(q, 4, qd, &isnull)) || isnull ||
	    DatumGetBool(heap_getattr(q, 5, qd, &isnull)))
		return remember(queue, xact, false);
	pfx = SPI_getvalue(q, qd, 1);
	cur = SPI_getvalue(q, qd, 2);
	seq = SPI_getvalue(q, qd, 3);
	if (pfx == NULL || cur == NULL || seq == NULL)
		return remember(queue, xact, false);
	table = psprintf("%s_%s", pfx, cur);

	if (insert_plan == NULL || strcmp(table, insert_table) != 0 ||
	    strcmp(seq, insert_seq) != 0) {
		SPIPlanPtr p;

		if (insert_plan != NULL) {
			SPI_freeplan(insert_plan);
			insert_plan = NULL;
			pfree(insert_table);
			pfree(insert_seq);
		}
		/* both names are PgQ's own, written by pgq.create_queue; one plan at a time (a
		 * session writing to two queues in turn plans again at each change: right, slower)
		 */
		p = SPI_prepare(
		    psprintf(
		        "insert into %s (ev_id, ev_time, ev_txid, ev_owner, ev_retry,"
		        " ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3, ev_extra4)"
		        " values (pg_catalog.nextval(%s::pg_catalog.regclass), pg_catalog.now(),"
		        " pg_catalog.txid_current(), null, null,"
		        " $1, $2, $3, null, null, null)",
		        table, quote_literal_cstr(seq)),
		    3, itypes);
		if (p == NULL)
			elog(ERROR, "pgq_set capture: preparing the insert into %s failed: %s",
			     table, SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		insert_plan = p;
		insert_table = MemoryContextStrdup(TopMemoryContext, table);
		insert_seq = MemoryContextStrdup(TopMemoryContext, seq);
	}
	return remember(queue, xact, true);
}

/*
 * Insert the event, connected to SPI, as the function's owner. Returns false, having inserted
 * nothing, when PgQ's own path must do it (no such queue, inserts refused or limited).
 */
static bool queue_insert(const char *queue, const char *ev_type, const char *ev_data,
                         const char *extra1)
{
	Datum iargs[3];
	int rc;
	FullTransactionId xact = GetTopFullTransactionIdIfAny();

	if (looked_queue != NULL && FullTransactionIdIsValid(xact) &&
	    FullTransactionIdEquals(xact, looked_xact) && strcmp(queue, looked_queue) == 0) {
		if (!looked_ours)
			return false;
	} else if (!queue_lookup(queue, xact)) {
		return false;
	}
	iargs[0] = CStringGetTextDatum(ev_type);
	iargs[1] = CStringGetTextDatum(ev_data);
	iargs[2] = CStringGetTextDatum(extra1);
	rc = SPI_execute_plan(insert_plan, iargs, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "pgq_set capture: the insert into %s failed: %s", insert_table,
		     SPI_result_code_string(rc));
	return true;
}

/* PgQ's trigger, under the output settings (our function has no SET clauses). */
static Datum to_pgq(FunctionCallInfo fcinfo)
{
	int nest;
	Datum d;

	if (pgq_logutriga == NULL)
		pgq_logutriga = (PGFunction)load_external_function("$libdir/pgq_triggers",
		                                                   "pgq_logutriga", true, NULL);
	nest = settings_push();
	d = pgq_logutriga(fcinfo);
	settings_pop(nest);
	return d;
}

/*
 * Queue one event of op ('I', 'U' or 'D') with row's values. Returns false, having queued
 * nothing, when PgQ's own path must do it (queue_insert).
 */
static bool queue_row(FunctionCallInfo fcinfo, struct rel_capture *rc, TupleDesc desc, char op,
                      HeapTuple row)
{
	TriggerData *td = (TriggerData *)fcinfo->context;
	char *ev_type, *ev_data;
	Oid save_user;
	int save_sec;
	bool done;

	ev_type = psprintf("%c:%s", op, rc->key);
	if (rc->plain) {
		ev_data = plain_print(row, desc);
	} else {
		int nest = settings_push();

		ev_data = row_urlencode(row, desc);
		settings_pop(nest);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgq_set capture: SPI_connect failed");
	/* restored by the (sub)transaction's abort when an error leaves early */
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(function_owner(fcinfo->flinfo->fn_oid),
	                       save_sec | SECURITY_LOCAL_USERID_CHANGE);
	done = queue_insert(td->tg_trigger->tgargs[0], ev_type, ev_data, rc->name);
	SetUserIdAndSecContext(save_user, save_sec);
	SPI_finish();
	pfree(ev_type);
	pfree(ev_data);
	return done;
}

Datum pgq_set_logutriga(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *)fcinfo->context;
	TupleDesc desc;
	struct rel_capture *rc;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("pgq_set.logutriga() must be called as a trigger")));
	/* statement-level calls (TRUNCATE is one) and other trigger shapes are PgQ's */
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
	    td->tg_trigger->tgnargs != 1)
		return to_pgq(fcinfo);

	desc = RelationGetDescr(td->tg_relation);
	rc = rel_get(td->tg_relation);
	if (rc->to_pgq)
		return to_pgq(fcinfo);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event)) {
		if (!queue_row(fcinfo, rc, desc, 'I', td->tg_trigtuple))
			return to_pgq(fcinfo);
	} else if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
		if (!queue_row(fcinfo, rc, desc, 'D', td->tg_trigtuple))
			return to_pgq(fcinfo);
	} else if (!key_changed(rc, desc, td->tg_trigtuple, td->tg_newtuple)) {
		if (!queue_row(fcinfo, rc, desc, 'U', td->tg_newtuple))
			return to_pgq(fcinfo);
	} else {
		/*
		 * The key changed: the old row's delete and the new row's insert, as
		 * pgq_set.capture_key_change queues them under PgQ's body (a subscriber applies
		 * the last event of each key). A key with INCLUDE columns (which add_table
		 * refuses) goes to PgQ's trigger, which refuses the update, as under its body.
		 */
		if (rc->include || !queue_row(fcinfo, rc, desc, 'D', td->tg_trigtuple))
			return to_pgq(fcinfo);
		if (!queue_row(fcinfo, rc, desc, 'I', td->tg_newtuple))
			elog(ERROR,
			     "pgq_set capture: queue \"%s\" took the delete of a key change but "
			     "not its insert",
			     td->tg_trigger->tgargs[0]);
	}
	return PointerGetDatum(NULL);
}
