-- pgq_set catalog, version 1. Runs once: guarded by pgq_set.schema_version.
do $body$
begin
	if to_regclass('pgq_set.schema_version') is null then
		create schema if not exists pgq_set;
		create table pgq_set.schema_version (
			version      integer primary key,
			installed_at timestamptz not null default now()
		);
	end if;
	if exists (select 1 from pgq_set.schema_version where version = 1) then
		return;
	end if;

	-- this node, once per cascade: identity, role and the state of its worker
	create table pgq_set.node (
		cascade          text primary key,
		node_name        text not null,
		node_role        text not null check (node_role in ('root', 'branch', 'leaf')),
		provider_node    text,
		last_tick        bigint,
		paused           boolean not null default false,
		paused_ack       boolean not null default false,
		worker_error     text,
		error_time       timestamptz,
		worker_seen      timestamptz,
		global_watermark bigint,
		created_at       timestamptz not null default now(),
		check ((node_role = 'root') = (provider_node is null))
	);

	-- every node of the cascade and where to reach it (location may hold a password)
	create table pgq_set.member (
		cascade   text not null,
		node_name text not null,
		location  text not null,
		dead      boolean not null default false,
		primary key (cascade, node_name)
	);

	-- on a provider: the nodes that pull from it
	create table pgq_set.subscriber (
		cascade       text not null,
		node_name     text not null,
		watermark     bigint,
		registered_at timestamptz not null default now(),
		primary key (cascade, node_name)
	);

	-- replicated tables on this node
	create table pgq_set.table_info (
		cascade     text not null,
		table_name  text not null,
		schema_name text not null,
		rel_name    text not null,
		state       text not null default 'ok'
			check (state in ('pending', 'copying', 'catching-up', 'ok')),
		added_at    timestamptz not null default now(),
		primary key (cascade, table_name)
	);

	insert into pgq_set.schema_version (version) values (1);
end
$body$;
