-- Announcements for the relay, on channel agentlive_events, sent by triggers so
-- that whatever changes a task (the API or an operator in psql) is announced the
-- same way, in the same transaction: committed means announced, rolled back means
-- never announced. Payloads carry references, not documents, so they stay far
-- below NOTIFY's 8000-byte limit whatever the size of a message; the relay reads
-- the rows it is told about.

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

-- One announcement per task per statement: the seq range the statement stored.
-- Rows skipped by ON CONFLICT DO NOTHING are not in new_rows, so nothing is
-- announced twice.
create function agentlive.on_messages_inserted() returns trigger
language plpgsql as $$
begin
    perform agentlive.notify(jsonb_build_object(
        'type', 'task:message', 'issue_id', t.issue_id, 'task_id', n.task_id,
        'from_seq', n.from_seq, 'to_seq', n.to_seq, 'count', n.count))
    from (select task_id, min(seq) as from_seq, max(seq) as to_seq, count(*) as count
          from new_rows group by task_id) n
    join agentlive.task t on t.id = n.task_id;
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
