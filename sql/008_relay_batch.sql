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
