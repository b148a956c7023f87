-- A batch of messages in one round trip, its columns as arrays the worker sends in
-- binary form (PostgreSQL copies the values out). Measured on the ingest
-- benchmark: parsing the batch as jsonb was 15 % of PostgreSQL's CPU (as text
-- arrays 8 %), and the token lookup before the call was a second round trip.

-- The workspace of a live daemon token, checked the way the worker checks every
-- other token: 401 unless the stored SHA-256 equals the presented token's, 403 for
-- another kind, last_used_at touched at most once a minute. The digests are
-- compared bit by bit (xor, then count the ones), so the time taken does not
-- depend on where they differ.
create function agentlive.daemon_token_workspace(p_token uuid, p_token_hash bytea) returns uuid
language plpgsql as $$
declare
    t agentlive.token;
begin
    select * into t from agentlive.token
    where id = p_token and revoked_at is null and (expires_at is null or expires_at > now());
    if not found or length(p_token_hash) <> 32 or bit_count(
            ('x' || encode(t.secret_hash, 'hex'))::bit(256) # ('x' || encode(p_token_hash, 'hex'))::bit(256)) <> 0 then
        perform agentlive.api_error(401, 'unauthorized', 'Missing, invalid, expired or revoked credentials.');
    end if;
    if t.kind <> 'daemon' then
        perform agentlive.api_error(403, 'forbidden', 'This endpoint needs a daemon token.');
    end if;
    if t.last_used_at is null or t.last_used_at < now() - interval '60 seconds' then
        perform agentlive.touch_token(p_token);
    end if;
    return t.workspace_id;
end $$;

-- A batch's rows from the parallel arrays the worker sends (inlined by the planner).
create function agentlive.batch_rows(
    p_seq bigint[], p_type text[], p_tool text[], p_call_id text[], p_content text[],
    p_input text[], p_output text[], p_is_error boolean[])
returns table (seq bigint, type text, tool text, call_id text, content text, input jsonb, output text, is_error boolean)
language sql immutable as $$
    select m.seq, m.type, m.tool, m.call_id, m.content, m.input::jsonb, m.output, m.is_error
    from unnest(p_seq, p_type, p_tool, p_call_id, p_content, p_input, p_output, p_is_error)
        as m(seq, type, tool, call_id, content, input, output, is_error)
$$;

-- One batch, one transaction: the stored columns as parallel arrays, as the worker
-- wrote them after checking the batch. Only the token that claimed the task may
-- add to it (another one's task is 404, as daemon_task answers). FOR SHARE lets batches of one task run side
-- by side but waits for a concurrent cancel, so nothing is stored after a cancel
-- commits.
create function agentlive.api_ingest(
    p_token uuid, p_token_hash bytea, p_task uuid,
    p_seq bigint[], p_type text[], p_tool text[], p_call_id text[], p_content text[],
    p_input text[], p_output text[], p_is_error boolean[]) returns jsonb
language plpgsql as $$
declare
    v_workspace uuid := agentlive.daemon_token_workspace(p_token, p_token_hash);
    t agentlive.task;
    v_accepted integer;
    v_last bigint;
begin
    select * into t from agentlive.task
    where id = p_task and workspace_id = v_workspace and (token_id = p_token or token_id is null) for share;
    if not found then perform agentlive.api_error(404, 'task_not_found', 'No such task.'); end if;
    if t.status not in ('dispatched', 'running') then perform agentlive.not_active(t); end if;
    -- A plain INSERT: ON CONFLICT's speculative insertion cost 12 % of PostgreSQL's
    -- CPU on the ingest benchmark. Only a batch that repeats stored seqs (a retry,
    -- an overlap) takes the second path: the first insert is undone and the batch
    -- is stored again minus what is there.
    begin
        insert into agentlive.task_message (task_id, seq, type, tool, call_id, content, input, output, is_error)
        select t.id, b.* from agentlive.batch_rows(p_seq, p_type, p_tool, p_call_id, p_content, p_input, p_output, p_is_error) b;
        get diagnostics v_accepted = row_count;
    exception when unique_violation then
        insert into agentlive.task_message (task_id, seq, type, tool, call_id, content, input, output, is_error)
        select t.id, b.* from agentlive.batch_rows(p_seq, p_type, p_tool, p_call_id, p_content, p_input, p_output, p_is_error) b
        on conflict (task_id, seq) do nothing;
        get diagnostics v_accepted = row_count;
    end;
    select max(seq) into v_last from agentlive.task_message where task_id = t.id;
    return jsonb_build_object(
        'accepted', v_accepted, 'duplicates', cardinality(p_seq) - v_accepted,
        'last_seq', coalesce(v_last, 0));
end $$;
