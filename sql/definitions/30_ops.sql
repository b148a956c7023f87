-- What an operator does, as SQL functions and views (psql is the admin console).

create function agentlive.workspace_id(p_slug text) returns uuid
language plpgsql stable as $$
declare v_id uuid;
begin
    select id into v_id from agentlive.workspace where slug = p_slug;
    if not found then raise exception 'no workspace with slug %', p_slug; end if;
    return v_id;
end $$;

create function agentlive.user_id(p_email text) returns uuid
language plpgsql stable as $$
declare v_id uuid;
begin
    select id into v_id from agentlive.app_user where lower(email) = lower(p_email);
    if not found then raise exception 'no user with email %', p_email; end if;
    return v_id;
end $$;

create function agentlive.create_workspace(slug text, name text) returns uuid
language sql as $$
    insert into agentlive.workspace (slug, name) values (slug, name) returning id
$$;

create function agentlive.create_user(email text, name text, password text) returns uuid
language sql as $$
    insert into agentlive.app_user (email, name, password_hash)
    values (email, name, case when password is null then null else crypt(password, gen_salt('bf', 10)) end)
    returning id
$$;

create function agentlive.set_password(email text, password text) returns void
language plpgsql as $$
begin
    update agentlive.app_user
    set password_hash = case when password is null then null else crypt(password, gen_salt('bf', 10)) end
    where id = agentlive.user_id(email);
    -- A new password ends every browser session of that user.
    update agentlive.token set revoked_at = now()
    where kind = 'session' and revoked_at is null and user_id = agentlive.user_id(email);
end $$;

create function agentlive.add_member(workspace_slug text, email text, role text) returns void
language sql as $$
    insert into agentlive.member (workspace_id, user_id, role)
    values (agentlive.workspace_id(workspace_slug), agentlive.user_id(email), role)
    on conflict (workspace_id, user_id) do update set role = excluded.role
$$;

create function agentlive.create_agent(workspace_slug text, name text, runtime text) returns uuid
language sql as $$
    insert into agentlive.agent (workspace_id, name, runtime)
    values (agentlive.workspace_id(workspace_slug), name, runtime) returning id
$$;

-- Creates a token and returns its plaintext, which is not stored anywhere.
create function agentlive.issue_token(
    p_kind text, p_user uuid, p_workspace uuid, p_label text, p_expires timestamptz
) returns text
language plpgsql as $$
declare
    v_id uuid := gen_random_uuid();
    v_token text := case p_kind when 'user' then 'alu' when 'daemon' then 'ald' else 'als' end
        || '_' || replace(v_id::text, '-', '') || '_' || encode(gen_random_bytes(24), 'hex');
begin
    insert into agentlive.token (id, kind, label, secret_hash, user_id, workspace_id, expires_at)
    values (v_id, p_kind, coalesce(p_label, ''), digest(v_token, 'sha256'), p_user, p_workspace, p_expires);
    return v_token;
end $$;

create function agentlive.create_user_token(email text, label text) returns text
language sql as $$
    select agentlive.issue_token('user', agentlive.user_id(email), null, label, null)
$$;

create function agentlive.create_daemon_token(workspace_slug text, label text) returns text
language sql as $$
    select agentlive.issue_token('daemon', null, agentlive.workspace_id(workspace_slug), label, null)
$$;

create function agentlive.revoke_token(token_id uuid) returns void
language plpgsql as $$
begin
    update agentlive.token set revoked_at = coalesce(revoked_at, now()) where id = token_id;
    if not found then raise exception 'no token with id %', token_id; end if;
end $$;

-- Cancels a queued or active task; false when it had already ended.
create function agentlive.cancel_task(task_id uuid) returns boolean
language sql as $$
    with cancelled as (
        update agentlive.task set status = 'cancelled', finished_at = now()
        where id = cancel_task.task_id and status in ('queued', 'dispatched', 'running')
        returning 1)
    select exists (select 1 from cancelled)
$$;

-- Runs an issue's task again: ends it if it is still active and queues a new
-- task for the same issue and agent. Returns the new task's id.
create function agentlive.requeue_task(task_id uuid) returns uuid
language plpgsql as $$
declare
    t agentlive.task;
begin
    select * into t from agentlive.task where id = requeue_task.task_id for update;
    if not found then raise exception 'no task with id %', task_id; end if;
    if t.status = 'queued' then return t.id; end if;
    perform agentlive.cancel_task(t.id);
    return (agentlive.queue_task(t.issue_id, t.agent_id)).id;
end $$;

-- Fails the tasks of daemons that have not sent a heartbeat within timeout.
create function agentlive.reap_lost_daemons(timeout interval) returns integer
language sql as $$
    with lost as (
        update agentlive.task t
        set status = 'failed', error = 'daemon lost', finished_at = now()
        from agentlive.daemon d
        where t.workspace_id = d.workspace_id and t.daemon_id = d.id and t.status in ('dispatched', 'running')
          and d.last_heartbeat_at < now() - timeout
        returning 1)
    select count(*)::integer from lost
$$;

-- Removes the messages of tasks that ended more than older_than ago.
create function agentlive.purge_messages(older_than interval) returns bigint
language sql as $$
    with gone as (
        delete from agentlive.task_message m
        using agentlive.task t
        where m.task_id = t.id and t.finished_at < now() - older_than
        returning 1)
    select count(*) from gone
$$;

create view agentlive.active_tasks as
select t.id as task_id, w.slug as workspace_slug, t.issue_id, i.title as issue_title,
       a.name as agent_name, t.status, t.daemon_id, t.summary, t.step, t.total,
       coalesce((select max(m.seq) from agentlive.task_message m where m.task_id = t.id), 0) as last_seq,
       t.created_at, t.dispatched_at, t.started_at,
       now() - t.created_at as age
from agentlive.task t
join agentlive.workspace w on w.id = t.workspace_id
join agentlive.issue i on i.id = t.issue_id
join agentlive.agent a on a.id = t.agent_id
where t.status in ('queued', 'dispatched', 'running');

create view agentlive.daemons as
select d.id, w.slug as workspace_slug, a.name as agent_name, d.runtimes,
       d.registered_at, d.last_heartbeat_at,
       d.last_heartbeat_at > now() - interval '60 seconds' as online,
       (select count(*) from agentlive.task t
        where t.workspace_id = d.workspace_id and t.daemon_id = d.id and t.status in ('dispatched', 'running')) as active_tasks
from agentlive.daemon d
join agentlive.workspace w on w.id = d.workspace_id
join agentlive.agent a on a.id = d.agent_id;

create view agentlive.tokens as
select t.id, t.kind, t.label, w.slug as workspace_slug, u.email,
       t.created_at, t.last_used_at, t.revoked_at, t.expires_at
from agentlive.token t
left join agentlive.workspace w on w.id = t.workspace_id
left join agentlive.app_user u on u.id = t.user_id;

-- What the agents used, by workspace, agent and day (UTC) of the runs' end.
create view agentlive.usage_daily as
select w.slug as workspace_slug, a.name as agent, (t.finished_at at time zone 'UTC')::date as day,
       count(*) as tasks,
       coalesce(sum(t.input_tokens), 0) as input_tokens,
       coalesce(sum(t.output_tokens), 0) as output_tokens,
       coalesce(sum(t.cache_read_tokens), 0) as cache_read_tokens,
       coalesce(sum(t.cache_write_tokens), 0) as cache_write_tokens,
       coalesce(sum(t.cost_usd), 0) as cost_usd
from agentlive.task t
join agentlive.workspace w on w.id = t.workspace_id
join agentlive.agent a on a.id = t.agent_id
where t.finished_at is not null
group by w.slug, a.name, (t.finished_at at time zone 'UTC')::date;
