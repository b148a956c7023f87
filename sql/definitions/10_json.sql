-- How rows look on the wire. The API returns these documents as they are.

-- RFC 3339 in UTC, whatever the session's time zone: to_json of a timestamp is
-- ISO 8601 in every DateStyle, and cheaper than to_char. Fractional seconds lose
-- their trailing zeros (…:05.25Z, …:05Z), which RFC 3339 allows. Stable, as
-- to_json is: PostgreSQL inlines a SQL function only when its volatility matches
-- its body's, and a call per row cost as much as the formatting itself.
create function agentlive.rfc3339(t timestamptz) returns text
language sql stable parallel safe as $$
    select (to_json(t at time zone 'UTC') #>> '{}') || 'Z'
$$;

create function agentlive.user_json(u agentlive.app_user) returns jsonb
language sql stable as $$
    select jsonb_build_object('id', u.id, 'email', u.email, 'name', u.name)
$$;

create function agentlive.agent_json(a agentlive.agent) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', a.id, 'workspace_id', a.workspace_id, 'name', a.name, 'runtime', a.runtime,
        'online', exists (
            select 1 from agentlive.daemon d
            where d.agent_id = a.id and d.last_heartbeat_at > now() - interval '60 seconds'),
        'created_at', agentlive.rfc3339(a.created_at))
$$;

create function agentlive.issue_json(i agentlive.issue) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', i.id, 'workspace_id', i.workspace_id, 'title', i.title,
        'description', i.description, 'status', i.status, 'agent_id', i.agent_id,
        'active_tasks', (select count(*) from agentlive.task t
                         where t.issue_id = i.id and t.status in ('queued', 'dispatched', 'running')),
        'created_by', i.created_by, 'created_at', agentlive.rfc3339(i.created_at),
        'updated_at', agentlive.rfc3339(i.updated_at))
$$;

create function agentlive.comment_json(c agentlive.comment) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', c.id, 'issue_id', c.issue_id,
        'author', (select jsonb_build_object('id', u.id, 'name', u.name)
                   from agentlive.app_user u where u.id = c.author_id),
        'content', c.content, 'created_at', agentlive.rfc3339(c.created_at))
$$;

-- What a run used, as the daemon reported it; null when it reported nothing.
create function agentlive.usage_json(t agentlive.task) returns jsonb
language sql immutable as $$
    select case when num_nonnulls(t.usage_model, t.input_tokens, t.output_tokens, t.cache_read_tokens,
                                  t.cache_write_tokens, t.cost_usd) > 0 then
        jsonb_build_object(
            'model', t.usage_model, 'input_tokens', t.input_tokens, 'output_tokens', t.output_tokens,
            'cache_read_tokens', t.cache_read_tokens, 'cache_write_tokens', t.cache_write_tokens,
            'cost_usd', t.cost_usd)
    end
$$;

create function agentlive.task_json(t agentlive.task) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', t.id, 'issue_id', t.issue_id, 'workspace_id', t.workspace_id,
        'agent_id', t.agent_id, 'agent_name', (select a.name from agentlive.agent a where a.id = t.agent_id),
        'daemon_id', t.daemon_id, 'status', t.status,
        'title', t.title, 'description', t.description, 'summary', t.summary,
        'step', t.step, 'total', t.total, 'output', t.output, 'pr_url', t.pr_url,
        'error', t.error, 'session_id', t.session_id, 'usage', agentlive.usage_json(t),
        'last_seq', coalesce((select max(m.seq) from agentlive.task_message m where m.task_id = t.id), 0),
        'created_at', agentlive.rfc3339(t.created_at),
        'dispatched_at', agentlive.rfc3339(t.dispatched_at),
        'started_at', agentlive.rfc3339(t.started_at),
        'finished_at', agentlive.rfc3339(t.finished_at))
$$;

-- A message as JSON text, optional fields left out rather than null. Every part is
-- either escaped by to_json, a uuid, a number, a boolean, a checked type name, or
-- the stored jsonb input: the text is valid JSON by construction, and on one line
-- (the NOTIFY payload of on_messages_inserted relies on that).
create function agentlive.message_json(m agentlive.task_message, issue_id uuid) returns text
language sql stable as $$
    select '{"task_id":"' || m.task_id || '","issue_id":"' || issue_id || '","seq":' || m.seq
        || ',"type":"' || m.type || '"'
        || coalesce(',"tool":' || to_json(m.tool)::text, '')
        || coalesce(',"call_id":' || to_json(m.call_id)::text, '')
        || coalesce(',"content":' || to_json(m.content)::text, '')
        || coalesce(',"input":' || m.input::text, '')
        || coalesce(',"output":' || to_json(m.output)::text, '')
        || coalesce(',"is_error":' || m.is_error::text, '')
        || ',"created_at":"' || agentlive.rfc3339(m.created_at) || '"}'
$$;
