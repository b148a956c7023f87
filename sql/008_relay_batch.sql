-- The relay fetches the messages of everything announced since its last round in
-- one query (one round trip per burst of NOTIFYs, not one per NOTIFY): ranges
-- after < seq <= through of several tasks, given as parallel arrays.
drop function agentlive.relay_messages(uuid, bigint, bigint);

create function agentlive.relay_messages(p_tasks uuid[], p_after bigint[], p_through bigint[])
returns table (task_id uuid, seq bigint, message text)
language sql stable as $$
    select r.task_id, m.seq, agentlive.message_json(m, t.issue_id)::text
    from unnest(p_tasks, p_after, p_through) with ordinality as r(task_id, after_seq, through_seq, ord)
    join agentlive.task t on t.id = r.task_id
    join agentlive.task_message m on m.task_id = r.task_id and m.seq > r.after_seq and m.seq <= r.through_seq
    order by r.ord, m.seq
$$;

-- Small statements carry their messages in the NOTIFY itself, so the relay needs
-- no query at all for them: the header object, then one document per line (jsonb
-- text has no raw newlines). Only when the rows are seqs from_seq..to_seq without
-- a hole and the payload stays under NOTIFY's 8000-byte limit; otherwise the
-- header alone, as before, and the relay reads the rows.
create or replace function agentlive.on_messages_inserted() returns trigger
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
