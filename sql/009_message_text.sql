-- Catch-up pages built as text. A page of 500 messages cost PostgreSQL about 5 ms,
-- most of it building 500 jsonb documents and formatting 500 timestamps with
-- to_char; concatenating JSON text (strings escaped by to_json) costs about 2 ms.

-- RFC 3339 in UTC, whatever the session's time zone: to_json of a timestamp is
-- ISO 8601 in every DateStyle, and cheaper than to_char. Fractional seconds lose
-- their trailing zeros (…:05.25Z, …:05Z), which RFC 3339 allows. Stable, as
-- to_json is: PostgreSQL inlines a SQL function only when its volatility matches
-- its body's, and a call per row cost as much as the formatting itself.
create or replace function agentlive.rfc3339(t timestamptz) returns text
language sql stable parallel safe as $$
    select (to_json(t at time zone 'UTC') #>> '{}') || 'Z'
$$;

-- A message as JSON text, optional fields left out rather than null. Every part is
-- either escaped by to_json, a uuid, a number, a boolean, a checked type name, or
-- the stored jsonb input: the text is valid JSON by construction, and on one line
-- (the NOTIFY payload of sql/008 relies on that).
drop function agentlive.message_json(agentlive.task_message, uuid);
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

-- Catch-up: up to p_limit messages after p_after, ascending; the response
-- document as text.
drop function agentlive.api_messages(uuid, uuid, uuid, bigint, integer);
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
