-- Several agents on one issue: at most one active task per agent on an issue.
drop index agentlive.task_one_active_per_issue;
create unique index task_one_active_per_agent on agentlive.task (issue_id, agent_id)
    where status in ('queued', 'dispatched', 'running');

-- Agent thinking is a message type of its own.
alter table agentlive.task_message drop constraint task_message_type_check;
alter table agentlive.task_message add constraint task_message_type_check
    check (type in ('text', 'thinking', 'tool_use', 'tool_result', 'error'));

-- The agent's own session (to resume it) and what the run used, reported by the
-- daemon when the task ends.
alter table agentlive.task
    add column session_id text check (length(session_id) between 1 and 200),
    add column usage_model text check (length(usage_model) between 1 and 200),
    add column input_tokens bigint check (input_tokens >= 0),
    add column output_tokens bigint check (output_tokens >= 0),
    add column cache_read_tokens bigint check (cache_read_tokens >= 0),
    add column cache_write_tokens bigint check (cache_write_tokens >= 0),
    add column cost_usd numeric(14, 6) check (cost_usd >= 0);
create index task_usage_day on agentlive.task (workspace_id, finished_at) where finished_at is not null;

-- A task belongs to the daemon token that claimed it. Tasks claimed before this
-- column existed have none: the first token of their workspace to act on one owns it.
alter table agentlive.task add column token_id uuid references agentlive.token on delete set null;

-- Daemon ids are per workspace, and an id belongs to the token that registered it.
alter table agentlive.task drop constraint task_daemon_id_fkey;
alter table agentlive.daemon drop constraint daemon_pkey;
alter table agentlive.daemon add primary key (workspace_id, id);
-- Daemons registered before have none: the next token to register the id owns it.
alter table agentlive.daemon add column token_id uuid references agentlive.token on delete set null;
alter table agentlive.task add constraint task_daemon_fkey foreign key (workspace_id, daemon_id)
    references agentlive.daemon (workspace_id, id) on delete set null (daemon_id);
drop index agentlive.task_daemon_active;
create index task_daemon_active on agentlive.task (workspace_id, daemon_id) where status in ('dispatched', 'running');

-- Failed sign-ins are counted per client address as well as per email.
alter table agentlive.login_failure add column address inet;
create index login_failure_address on agentlive.login_failure (address, at);
