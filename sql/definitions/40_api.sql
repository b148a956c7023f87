-- The functions the API workers call: one call per request (after the token
-- lookup), each its own transaction. Errors the client should see are raised
-- with SQLSTATE 'AL' || http status, the error code as message and a human
-- sentence as detail; the worker turns them into JSON error responses.

create function agentlive.api_error(status integer, code text, message text) returns void
language plpgsql as $$
begin
    raise exception using errcode = 'AL' || status::text, message = code, detail = message;
end $$;

-- Credentials --------------------------------------------------------------

-- The stored hash of a live token; the worker compares it in constant time and
-- calls touch_token when last_used_at is stale (at most once a minute).
create function agentlive.api_token(p_id uuid)
returns table (kind text, secret_hash text, user_id uuid, workspace_id uuid, stale boolean)
language sql stable as $$
    select t.kind, encode(t.secret_hash, 'hex'), t.user_id, t.workspace_id,
           t.last_used_at is null or t.last_used_at < now() - interval '60 seconds'
    from agentlive.token t
    where t.id = p_id and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
$$;

create function agentlive.touch_token(p_id uuid) returns void
language sql as $$
    update agentlive.token set last_used_at = now() where id = p_id
$$;

-- Password sign-in: a session token and the user, or 401/429. A missing user
-- costs the same bcrypt work as a wrong password, so timing reveals nothing.
create function agentlive.api_login(p_email text, p_password text, p_ttl_seconds integer, p_address inet)
returns jsonb
language plpgsql as $$
declare
    u agentlive.app_user;
    v_email text := lower(p_email);
begin
    -- Counted under a lock per address, so concurrent tries cannot all slip under
    -- the limit; bcrypt runs inside it, so one address also gets one bcrypt at a time.
    perform pg_advisory_xact_lock(hashtextextended('agentlive.login ' || coalesce(host(p_address), ''), 0));
    -- Limits per address: 30 failures in 5 minutes whatever the email, 10 for one
    -- email. None per email alone: a stranger elsewhere cannot lock a user out.
    if (select count(*) from agentlive.login_failure
        where address is not distinct from p_address and at > now() - interval '5 minutes') >= 30
       or (select count(*) from agentlive.login_failure
           where address is not distinct from p_address and email = v_email
             and at > now() - interval '5 minutes') >= 10 then
        perform agentlive.api_error(429, 'rate_limited', 'Too many failed sign-ins; try again in a few minutes.');
    end if;
    select * into u from agentlive.app_user where lower(email) = v_email;
    if crypt(p_password, coalesce(u.password_hash, gen_salt('bf', 10))) is distinct from u.password_hash then
        insert into agentlive.login_failure (email, address) values (v_email, p_address);
        delete from agentlive.login_failure where at < now() - interval '1 hour';
        -- Keep the failure record although the request fails.
        return jsonb_build_object('error', 'invalid_credentials');
    end if;
    delete from agentlive.login_failure where email = v_email and address is not distinct from p_address;
    return jsonb_build_object(
        'token', agentlive.issue_token('session', u.id, null, 'browser session',
                                       now() + make_interval(secs => p_ttl_seconds)),
        'user', agentlive.user_json(u));
end $$;

create function agentlive.api_logout(p_token uuid) returns void
language sql as $$
    update agentlive.token set revoked_at = now() where id = p_token and kind = 'session' and revoked_at is null
$$;

-- People -------------------------------------------------------------------

create function agentlive.workspace_agent(p_workspace uuid, p_agent uuid) returns void
language plpgsql stable as $$
begin
    perform 1 from agentlive.agent where id = p_agent and workspace_id = p_workspace;
    if not found then perform agentlive.api_error(404, 'agent_not_found', 'No such agent in this workspace.'); end if;
end $$;

create function agentlive.member_issue(p_user uuid, p_issue uuid) returns agentlive.issue
language plpgsql stable as $$
declare i agentlive.issue;
begin
    select x.* into i from agentlive.issue x
    join agentlive.member m on m.workspace_id = x.workspace_id and m.user_id = p_user
    where x.id = p_issue;
    if not found then perform agentlive.api_error(404, 'issue_not_found', 'No such issue.'); end if;
    return i;
end $$;

-- A task the caller may see: a member of its workspace (p_user), or a daemon
-- token of its workspace (p_workspace).
create function agentlive.visible_task(p_user uuid, p_workspace uuid, p_task uuid) returns agentlive.task
language plpgsql stable as $$
declare t agentlive.task;
begin
    select x.* into t from agentlive.task x
    where x.id = p_task
      and (x.workspace_id = p_workspace
           or exists (select 1 from agentlive.member m
                      where m.workspace_id = x.workspace_id and m.user_id = p_user));
    if not found then perform agentlive.api_error(404, 'task_not_found', 'No such task.'); end if;
    return t;
end $$;

create function agentlive.api_me(p_user uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'user', agentlive.user_json(u),
        'workspaces', coalesce((
            select jsonb_agg(jsonb_build_object('id', w.id, 'slug', w.slug, 'name', w.name, 'role', m.role)
                             order by w.name)
            from agentlive.member m join agentlive.workspace w on w.id = m.workspace_id
            where m.user_id = u.id), '[]'))
    from agentlive.app_user u where u.id = p_user
$$;

create function agentlive.api_agents(p_user uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object('agents', coalesce(jsonb_agg(agentlive.agent_json(a) order by a.name), '[]'))
    from agentlive.agent a
    join agentlive.member m on m.workspace_id = a.workspace_id and m.user_id = p_user
$$;

create function agentlive.api_issues(p_user uuid, p_workspace uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object('issues', coalesce(
        jsonb_agg(agentlive.issue_json(i) order by i.created_at desc, i.id), '[]'))
    from agentlive.issue i
    join agentlive.member m on m.workspace_id = i.workspace_id and m.user_id = p_user
    where p_workspace is null or i.workspace_id = p_workspace
$$;

create function agentlive.api_create_issue(p_user uuid, p_workspace uuid, p_title text, p_description text)
returns jsonb
language plpgsql as $$
declare
    v_workspaces uuid[];
    i agentlive.issue;
begin
    select array_agg(workspace_id) into v_workspaces from agentlive.member where user_id = p_user;
    if p_workspace is null then
        if coalesce(array_length(v_workspaces, 1), 0) <> 1 then
            perform agentlive.api_error(422, 'workspace_required',
                'You are a member of several workspaces (or none): say which one with workspace_id.');
        end if;
        p_workspace := v_workspaces[1];
    elsif not p_workspace = any (v_workspaces) then
        perform agentlive.api_error(404, 'workspace_not_found', 'No such workspace.');
    end if;
    insert into agentlive.issue (workspace_id, title, description, created_by)
    values (p_workspace, p_title, p_description, p_user) returning * into i;
    return agentlive.issue_json(i);
end $$;

create function agentlive.api_issue(p_user uuid, p_issue uuid) returns jsonb
language sql stable as $$
    select agentlive.issue_json(agentlive.member_issue(p_user, p_issue))
$$;

-- A new queued task of an agent on an issue; 409 while that agent has one active there.
create function agentlive.queue_task(p_issue uuid, p_agent uuid) returns agentlive.task
language plpgsql as $$
declare t agentlive.task;
begin
    insert into agentlive.task (issue_id, workspace_id, agent_id, title, description)
    select i.id, i.workspace_id, p_agent, i.title, i.description from agentlive.issue i where i.id = p_issue
    returning * into t;
    return t;
exception when unique_violation then
    perform agentlive.api_error(409, 'task_already_active', 'This agent is already working on this issue.');
end $$;

create function agentlive.api_assign(p_user uuid, p_issue uuid, p_agent uuid) returns jsonb
language plpgsql as $$
declare i agentlive.issue := agentlive.member_issue(p_user, p_issue);
begin
    perform agentlive.workspace_agent(i.workspace_id, p_agent);
    return agentlive.task_json(agentlive.queue_task(i.id, p_agent));
end $$;

-- The oldest dispatched or running task (the seed's one active task).
create function agentlive.api_active_task(p_user uuid, p_issue uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object('task', (
        select agentlive.task_json(t) from agentlive.task t
        where t.issue_id = (agentlive.member_issue(p_user, p_issue)).id
          and t.status in ('dispatched', 'running')
        order by t.created_at, t.id limit 1))
$$;

create function agentlive.api_active_tasks(p_user uuid, p_issue uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object('tasks', coalesce((
        select jsonb_agg(agentlive.task_json(t) order by t.created_at, t.id) from agentlive.task t
        where t.issue_id = (agentlive.member_issue(p_user, p_issue)).id
          and t.status in ('queued', 'dispatched', 'running')), '[]'))
$$;

create function agentlive.api_timeline(p_user uuid, p_issue uuid) returns jsonb
language plpgsql stable as $$
declare i agentlive.issue := agentlive.member_issue(p_user, p_issue);
begin
    return (
        select jsonb_build_object('entries', coalesce(jsonb_agg(e.entry order by e.at, e.ord, e.id), '[]'))
        from (
            select c.created_at as at, 0 as ord, c.id,
                   jsonb_build_object('kind', 'comment', 'created_at', agentlive.rfc3339(c.created_at),
                                      'comment', agentlive.comment_json(c)) as entry
            from agentlive.comment c where c.issue_id = i.id
            union all
            select t.created_at, 1, t.id,
                   jsonb_build_object('kind', 'task_queued', 'created_at', agentlive.rfc3339(t.created_at),
                                      'task', agentlive.task_json(t))
            from agentlive.task t where t.issue_id = i.id
            union all
            select t.finished_at, 2, t.id,
                   jsonb_build_object('kind', 'task_' || t.status, 'created_at', agentlive.rfc3339(t.finished_at),
                                      'task', agentlive.task_json(t))
            from agentlive.task t
            where t.issue_id = i.id and t.status in ('completed', 'failed', 'cancelled')
        ) e);
end $$;

create function agentlive.api_create_comment(p_user uuid, p_issue uuid, p_content text) returns jsonb
language plpgsql as $$
declare
    i agentlive.issue := agentlive.member_issue(p_user, p_issue);
    c agentlive.comment;
begin
    insert into agentlive.comment (issue_id, author_id, content) values (i.id, p_user, p_content)
    returning * into c;
    return agentlive.comment_json(c);
end $$;

create function agentlive.api_task(p_user uuid, p_task uuid) returns jsonb
language sql stable as $$
    select agentlive.task_json(agentlive.visible_task(p_user, null, p_task))
$$;

create function agentlive.api_cancel(p_user uuid, p_task uuid) returns jsonb
language plpgsql as $$
declare t agentlive.task := agentlive.visible_task(p_user, null, p_task);
begin
    if not agentlive.cancel_task(t.id) then
        perform agentlive.api_error(409, 'task_not_active', 'The task has already ended.');
    end if;
    select * into t from agentlive.task where id = t.id;
    return agentlive.task_json(t);
end $$;

-- Runs an ended task again: a new queued task for the same issue and agent.
create function agentlive.api_retry(p_user uuid, p_task uuid) returns jsonb
language plpgsql as $$
declare t agentlive.task := agentlive.visible_task(p_user, null, p_task);
begin
    if t.status in ('queued', 'dispatched', 'running') then
        perform agentlive.api_error(409, 'task_not_ended', 'The task is still active; cancel it first.');
    end if;
    return agentlive.task_json(agentlive.queue_task(t.issue_id, t.agent_id));
end $$;

-- Daemons ------------------------------------------------------------------

-- A daemon id is per workspace and belongs to the token that registered it first,
-- until that token is revoked.
create function agentlive.api_register(p_workspace uuid, p_token uuid, p_daemon uuid, p_agent uuid, p_runtimes jsonb)
returns jsonb
language plpgsql as $$
begin
    perform agentlive.workspace_agent(p_workspace, p_agent);
    insert into agentlive.daemon (id, workspace_id, agent_id, runtimes, token_id)
    values (p_daemon, p_workspace, p_agent, p_runtimes, p_token)
    on conflict (workspace_id, id) do update
        set agent_id = excluded.agent_id, runtimes = excluded.runtimes, token_id = excluded.token_id,
            registered_at = now(), last_heartbeat_at = now()
        where agentlive.daemon.token_id is null or agentlive.daemon.token_id = excluded.token_id
           or exists (select 1 from agentlive.token o where o.id = agentlive.daemon.token_id and o.revoked_at is not null);
    if not found then
        perform agentlive.api_error(409, 'daemon_id_taken',
            'Another daemon token of this workspace registered this daemon id; choose a new one.');
    end if;
    return jsonb_build_object(
        'daemon_id', p_daemon, 'workspace_id', p_workspace,
        'agents', (select jsonb_agg(agentlive.agent_json(a)) from agentlive.agent a where a.id = p_agent));
end $$;

create function agentlive.live_daemon(p_workspace uuid, p_token uuid, p_daemon uuid) returns void
language plpgsql as $$
begin
    update agentlive.daemon set last_heartbeat_at = now()
    where workspace_id = p_workspace and id = p_daemon and token_id = p_token;
    if not found then perform agentlive.api_error(404, 'daemon_not_found', 'No such daemon: register first.'); end if;
end $$;

-- p_current is the JSON of current_tasks: the ids the daemon runs, or a count.
create function agentlive.api_heartbeat(p_workspace uuid, p_token uuid, p_daemon uuid, p_current jsonb) returns jsonb
language plpgsql as $$
begin
    perform agentlive.live_daemon(p_workspace, p_token, p_daemon);
    return jsonb_build_object('cancel_task_ids', coalesce((
        select jsonb_agg(t.id order by t.id) from agentlive.task t
        where t.workspace_id = p_workspace and t.token_id = p_token and (
            case jsonb_typeof(p_current)
                when 'array' then t.id in (select x::uuid from jsonb_array_elements_text(p_current) x)
                                  and t.status not in ('dispatched', 'running')
                else t.daemon_id = p_daemon and t.status = 'cancelled'
                     and t.finished_at > now() - interval '1 hour'
            end)), '[]'));
end $$;

-- The oldest queued task of the agent, now the claiming token's. It names the
-- session of the agent's latest ended run on the same issue, for the daemon to resume.
create function agentlive.api_claim(p_workspace uuid, p_token uuid, p_daemon uuid, p_agent uuid) returns jsonb
language plpgsql as $$
declare t agentlive.task;
begin
    perform agentlive.live_daemon(p_workspace, p_token, p_daemon);
    perform agentlive.workspace_agent(p_workspace, p_agent);
    update agentlive.task set status = 'dispatched', daemon_id = p_daemon, token_id = p_token, dispatched_at = now()
    where id = (select id from agentlive.task
                where agent_id = p_agent and status = 'queued'
                order by created_at limit 1 for update skip locked)
    returning * into t;
    if not found then return null; end if;
    return jsonb_strip_nulls(jsonb_build_object(
        'task_id', t.id, 'issue_id', t.issue_id, 'title', t.title, 'description', t.description,
        'resume_session_id', (
            select p.session_id from agentlive.task p
            where p.issue_id = t.issue_id and p.agent_id = t.agent_id and p.finished_at is not null
            order by p.finished_at desc, p.id limit 1)));
end $$;

-- The task a daemon token may act on, locked against concurrent transitions: one
-- it claimed (or one claimed before tasks had owners). Any other answers 404.
create function agentlive.daemon_task(p_workspace uuid, p_token uuid, p_task uuid) returns agentlive.task
language plpgsql as $$
declare t agentlive.task;
begin
    select * into t from agentlive.task
    where id = p_task and workspace_id = p_workspace and (token_id = p_token or token_id is null) for update;
    if not found then perform agentlive.api_error(404, 'task_not_found', 'No such task.'); end if;
    if t.token_id is null then
        update agentlive.task set token_id = p_token where id = t.id returning * into t;
    end if;
    return t;
end $$;

create function agentlive.not_active(t agentlive.task) returns void
language sql as $$
    select agentlive.api_error(409, 'task_not_active', format('The task is %s, no longer active.', t.status))
$$;

create function agentlive.api_start(p_workspace uuid, p_token uuid, p_task uuid) returns jsonb
language plpgsql as $$
declare t agentlive.task := agentlive.daemon_task(p_workspace, p_token, p_task);
begin
    if t.status = 'dispatched' then
        update agentlive.task set status = 'running', started_at = now() where id = t.id returning * into t;
    elsif t.status <> 'running' then
        perform agentlive.not_active(t);
    end if;
    return agentlive.task_json(t);
end $$;

create function agentlive.api_progress(
    p_workspace uuid, p_token uuid, p_task uuid, p_summary text, p_step integer, p_total integer)
returns jsonb
language plpgsql as $$
declare t agentlive.task := agentlive.daemon_task(p_workspace, p_token, p_task);
begin
    if t.status not in ('dispatched', 'running') then perform agentlive.not_active(t); end if;
    update agentlive.task set summary = p_summary, step = p_step, total = p_total
    where id = t.id returning * into t;
    return agentlive.task_json(t);
end $$;

-- Ends a task with what the daemon reports of the run; repeating the same ending
-- is accepted (a retried request). p_usage holds the usage fields the worker checked.
create function agentlive.finish_task(
    p_workspace uuid, p_token uuid, p_task uuid, p_status text, p_output text, p_pr_url text, p_error text,
    p_session_id text, p_usage jsonb)
returns jsonb
language plpgsql as $$
declare t agentlive.task := agentlive.daemon_task(p_workspace, p_token, p_task);
begin
    if p_pr_url is not null and p_pr_url !~* '^https?://[^[:space:]]+$' then
        perform agentlive.api_error(422, 'invalid_value', 'Field ''pr_url'' must be an http or https URL.');
    end if;
    if t.status in ('dispatched', 'running') then
        update agentlive.task
        set status = p_status, output = p_output, pr_url = p_pr_url, error = p_error, finished_at = now(),
            session_id = p_session_id,
            usage_model = p_usage ->> 'model',
            input_tokens = (p_usage ->> 'input_tokens')::bigint,
            output_tokens = (p_usage ->> 'output_tokens')::bigint,
            cache_read_tokens = (p_usage ->> 'cache_read_tokens')::bigint,
            cache_write_tokens = (p_usage ->> 'cache_write_tokens')::bigint,
            cost_usd = (p_usage ->> 'cost_usd')::numeric
        where id = t.id returning * into t;
    elsif t.status <> p_status then
        perform agentlive.not_active(t);
    end if;
    return agentlive.task_json(t);
end $$;

create function agentlive.api_complete(
    p_workspace uuid, p_token uuid, p_task uuid, p_output text, p_pr_url text, p_session_id text, p_usage jsonb)
returns jsonb
language sql as $$
    select agentlive.finish_task(p_workspace, p_token, p_task, 'completed', p_output, p_pr_url, null, p_session_id, p_usage)
$$;

create function agentlive.api_fail(
    p_workspace uuid, p_token uuid, p_task uuid, p_error text, p_session_id text, p_usage jsonb)
returns jsonb
language sql as $$
    select agentlive.finish_task(p_workspace, p_token, p_task, 'failed', null, null, p_error, p_session_id, p_usage)
$$;

-- Catch-up: up to p_limit messages after p_after, ascending; the response
-- document as text.
create function agentlive.api_messages(p_user uuid, p_workspace uuid, p_task uuid, p_after bigint, p_limit integer)
returns text
language plpgsql stable as $$
declare
    t agentlive.task := agentlive.visible_task(p_user, p_workspace, p_task);
    v_page text;
    v_last bigint;
begin
    -- One ordered range scan with a LIMIT: the bound stays in the plan even when
    -- PL/pgSQL switches to a generic plan after a few calls.
    select string_agg(agentlive.message_json(m, t.issue_id), ',' order by m.seq), max(m.seq)
    into v_page, v_last
    from (select * from agentlive.task_message
          where task_id = t.id and seq > p_after order by seq limit p_limit) m;
    return '{"messages":[' || coalesce(v_page, '') || '],"last_seq":' || coalesce(v_last, p_after)
        || ',"has_more":' || (v_last is not null and exists (
            select 1 from agentlive.task_message where task_id = t.id and seq > v_last))::text
        || '}';
end $$;
