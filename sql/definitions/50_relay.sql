-- What the relay reads: it is told about changes by NOTIFY (20_events.sql) and
-- fetches the documents here, so an event is whole whatever its size.

-- A live token as the relay checks it at authentication: its stored hash (compared
-- in constant time by the relay), its user, and the seconds it has left by the
-- database's clock (null: no expiry), after which the relay closes its sockets.
create function agentlive.relay_token(p_id uuid)
returns table (kind text, secret_hash text, user_id uuid, expires_in float8)
language sql stable as $$
    select t.kind, encode(t.secret_hash, 'hex'), t.user_id, extract(epoch from t.expires_at - now())::float8
    from agentlive.token t
    where t.id = p_id and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
$$;

create function agentlive.relay_can_view(p_user uuid, p_issue uuid) returns boolean
language sql stable as $$
    select exists (
        select 1 from agentlive.issue i
        join agentlive.member m on m.workspace_id = i.workspace_id and m.user_id = p_user
        where i.id = p_issue)
$$;

-- The payload of task:* events: the task document, plus task_id and issue_id so
-- it is also a TaskDispatchPayload / TaskCompletedPayload of the seed protocol.
create function agentlive.relay_task_payload(p_task uuid) returns jsonb
language sql stable as $$
    select agentlive.task_json(t) || jsonb_build_object('task_id', t.id)
    from agentlive.task t where t.id = p_task
$$;

create function agentlive.relay_comment_payload(p_comment uuid) returns jsonb
language sql stable as $$
    select agentlive.comment_json(c) from agentlive.comment c where c.id = p_comment
$$;

-- Everything announced since the relay's last round in one query (one round trip
-- per burst of NOTIFYs): ranges after < seq <= through of several tasks, given as
-- parallel arrays.
create function agentlive.relay_messages(p_tasks uuid[], p_after bigint[], p_through bigint[])
returns table (task_id uuid, seq bigint, message text)
language sql stable as $$
    select r.task_id, m.seq, agentlive.message_json(m, t.issue_id)::text
    from unnest(p_tasks, p_after, p_through) with ordinality as r(task_id, after_seq, through_seq, ord)
    join agentlive.task t on t.id = r.task_id
    join agentlive.task_message m on m.task_id = r.task_id and m.seq > r.after_seq and m.seq <= r.through_seq
    order by r.ord, m.seq
$$;
