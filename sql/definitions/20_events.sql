-- Announcements for the relay, on channel agentlive_events, sent by triggers so
-- that whatever changes a task (the API or an operator in psql) is announced the
-- same way, in the same transaction: committed means announced, rolled back means
-- never announced. Task and comment events carry references (the relay reads the
-- documents); message events carry the messages when they fit in NOTIFY's
-- 8000 bytes, and the seq range otherwise.

create function agentlive.notify(event jsonb) returns void
language sql as $$
    select pg_notify('agentlive_events', event::text)
$$;

create function agentlive.task_event_name(status text) returns text
language sql immutable as $$
    select case status
        when 'queued' then 'task:queued'
        when 'dispatched' then 'task:dispatched'
        when 'running' then 'task:started'
        when 'completed' then 'task:completed'
        when 'failed' then 'task:failed'
        when 'cancelled' then 'task:cancelled'
    end
$$;

create function agentlive.on_task_change() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' or new.status is distinct from old.status then
        perform agentlive.notify(jsonb_build_object(
            'type', agentlive.task_event_name(new.status),
            'issue_id', new.issue_id, 'task_id', new.id));
        -- The issue's status follows its latest task.
        update agentlive.issue set
            status = case
                when new.status in ('queued', 'dispatched', 'running') then 'in_progress'
                when new.status = 'completed' then 'done'
                else 'open' end,
            agent_id = new.agent_id,
            updated_at = now()
        where id = new.issue_id;
    elsif (new.summary, new.step, new.total) is distinct from (old.summary, old.step, old.total) then
        perform agentlive.notify(jsonb_build_object(
            'type', 'task:progress', 'issue_id', new.issue_id, 'task_id', new.id,
            'summary', left(new.summary, 2000), 'step', new.step, 'total', new.total));
    end if;
    return null;
end $$;

create trigger task_announce after insert or update on agentlive.task
    for each row execute function agentlive.on_task_change();

-- Small statements carry their messages in the NOTIFY itself, so the relay needs
-- no query at all for them: the header object, then one document per line (jsonb
-- text has no raw newlines). Only when the rows are seqs from_seq..to_seq without
-- a hole and the payload stays under NOTIFY's 8000-byte limit; otherwise the
-- header alone, and the relay reads the rows (relay_messages). Rows skipped by ON
-- CONFLICT DO NOTHING are not in new_rows, so nothing is announced twice.
create function agentlive.on_messages_inserted() returns trigger
language plpgsql as $$
declare
    r record;
    v_header text;
    v_documents text;
begin
    for r in
        select n.task_id, t.issue_id, min(n.seq) as from_seq, max(n.seq) as to_seq, count(*) as count,
               sum(coalesce(octet_length(n.content), 0) + coalesce(octet_length(n.output), 0)
                   + case when n.input is null then 0 else 1000 end + 200) as estimate
        from new_rows n join agentlive.task t on t.id = n.task_id
        group by n.task_id, t.issue_id
    loop
        v_header := jsonb_build_object(
            'type', 'task:message', 'issue_id', r.issue_id, 'task_id', r.task_id,
            'from_seq', r.from_seq, 'to_seq', r.to_seq, 'count', r.count)::text;
        v_documents := null;
        if r.count = r.to_seq - r.from_seq + 1 and r.estimate < 7000 then
            select string_agg(E'\n' || agentlive.message_json(n, r.issue_id)::text, '' order by n.seq)
            into v_documents
            from new_rows n where n.task_id = r.task_id;
        end if;
        perform pg_notify('agentlive_events',
            case when octet_length(v_header) + octet_length(v_documents) < 7990 then v_header || v_documents
                 else v_header end);
    end loop;
    return null;
end $$;

create trigger task_message_announce after insert on agentlive.task_message
    referencing new table as new_rows
    for each statement execute function agentlive.on_messages_inserted();

create function agentlive.on_comment_created() returns trigger
language plpgsql as $$
begin
    perform agentlive.notify(jsonb_build_object(
        'type', 'comment:created', 'issue_id', new.issue_id, 'comment_id', new.id));
    return null;
end $$;

create trigger comment_announce after insert on agentlive.comment
    for each row execute function agentlive.on_comment_created();

-- Credentials that stop working reach the open WebSockets too: the relays close
-- the sockets of a revoked or deleted token (sign-out, revoke_token) and drop a
-- removed member from that workspace's events.
create function agentlive.on_token_revoked() returns trigger
language plpgsql as $$
begin
    if tg_op = 'DELETE' or (new.revoked_at is not null and old.revoked_at is null) then
        perform agentlive.notify(jsonb_build_object('type', 'auth:revoked', 'token_id', old.id));
    end if;
    return null;
end $$;

create trigger token_revoked after update of revoked_at or delete on agentlive.token
    for each row execute function agentlive.on_token_revoked();

create function agentlive.on_member_removed() returns trigger
language plpgsql as $$
begin
    perform agentlive.notify(jsonb_build_object(
        'type', 'member:removed', 'workspace_id', old.workspace_id, 'user_id', old.user_id));
    return null;
end $$;

create trigger member_removed after delete on agentlive.member
    for each row execute function agentlive.on_member_removed();
