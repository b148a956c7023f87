-- The tables. Everything lives in schema agentlive; operators work on it in psql.
create extension if not exists pgcrypto;
create schema if not exists agentlive;

create table agentlive.workspace (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name text not null check (length(name) between 1 and 200),
    created_at timestamptz not null default now()
);

create table agentlive.app_user (
    id uuid primary key default gen_random_uuid(),
    email text not null check (email ~ '^[^@\s]+@[^@\s]+$'),
    name text not null,
    -- bcrypt through pgcrypto's crypt(); null: no password sign-in.
    password_hash text,
    created_at timestamptz not null default now()
);
create unique index app_user_email on agentlive.app_user (lower(email));

create table agentlive.member (
    workspace_id uuid not null references agentlive.workspace on delete cascade,
    user_id uuid not null references agentlive.app_user on delete cascade,
    role text not null check (role in ('owner', 'admin', 'member')),
    created_at timestamptz not null default now(),
    primary key (workspace_id, user_id)
);
create index member_user on agentlive.member (user_id);

-- User tokens, daemon tokens and browser sessions. The plaintext is
-- '<prefix>_<id without dashes>_<secret>'; only its SHA-256 is stored.
create table agentlive.token (
    id uuid primary key default gen_random_uuid(),
    kind text not null check (kind in ('user', 'daemon', 'session')),
    label text not null default '',
    secret_hash bytea not null check (length(secret_hash) = 32),
    user_id uuid references agentlive.app_user on delete cascade,
    workspace_id uuid references agentlive.workspace on delete cascade,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz,
    check ((kind = 'daemon') = (workspace_id is not null and user_id is null)),
    check ((kind = 'daemon') <> (user_id is not null))
);

create table agentlive.agent (
    id uuid primary key default gen_random_uuid(),
    workspace_id uuid not null references agentlive.workspace on delete cascade,
    name text not null check (length(name) between 1 and 200),
    runtime text not null,
    created_at timestamptz not null default now(),
    unique (workspace_id, name)
);

-- A daemon chooses its own id and keeps it across restarts.
create table agentlive.daemon (
    id uuid primary key,
    workspace_id uuid not null references agentlive.workspace on delete cascade,
    agent_id uuid not null references agentlive.agent on delete cascade,
    runtimes jsonb not null default '[]',
    registered_at timestamptz not null default now(),
    last_heartbeat_at timestamptz not null default now()
);
create index daemon_agent on agentlive.daemon (agent_id, last_heartbeat_at);

create table agentlive.issue (
    id uuid primary key default gen_random_uuid(),
    workspace_id uuid not null references agentlive.workspace on delete cascade,
    title text not null check (length(title) between 1 and 500),
    description text not null default '',
    status text not null default 'open' check (status in ('open', 'in_progress', 'done')),
    agent_id uuid references agentlive.agent on delete set null,
    created_by uuid references agentlive.app_user on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index issue_workspace on agentlive.issue (workspace_id, created_at desc);

create table agentlive.comment (
    id uuid primary key default gen_random_uuid(),
    issue_id uuid not null references agentlive.issue on delete cascade,
    author_id uuid references agentlive.app_user on delete set null,
    content text not null,
    created_at timestamptz not null default now()
);
create index comment_issue on agentlive.comment (issue_id, created_at);

create table agentlive.task (
    id uuid primary key default gen_random_uuid(),
    issue_id uuid not null references agentlive.issue on delete cascade,
    workspace_id uuid not null references agentlive.workspace on delete cascade,
    agent_id uuid not null references agentlive.agent on delete cascade,
    daemon_id uuid references agentlive.daemon on delete set null,
    status text not null default 'queued'
        check (status in ('queued', 'dispatched', 'running', 'completed', 'failed', 'cancelled')),
    title text not null,
    description text not null,
    summary text,
    step integer,
    total integer,
    output text,
    pr_url text,
    error text,
    created_at timestamptz not null default now(),
    dispatched_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz
);
-- At most one active task per issue, enforced by the database.
create unique index task_one_active_per_issue on agentlive.task (issue_id)
    where status in ('queued', 'dispatched', 'running');
create index task_queue on agentlive.task (agent_id, created_at) where status = 'queued';
create index task_daemon_active on agentlive.task (daemon_id) where status in ('dispatched', 'running');
create index task_issue on agentlive.task (issue_id, created_at);
create index task_finished on agentlive.task (finished_at) where finished_at is not null;

create table agentlive.task_message (
    task_id uuid not null references agentlive.task on delete cascade,
    seq bigint not null check (seq > 0),
    type text not null check (type in ('text', 'tool_use', 'tool_result', 'error')),
    tool text,
    call_id text,
    content text,
    input jsonb,
    output text,
    is_error boolean,
    created_at timestamptz not null default now(),
    primary key (task_id, seq)
);

-- Failed sign-ins, counted per email over a window (api_login).
create table agentlive.login_failure (
    email text not null,
    at timestamptz not null default now()
);
create index login_failure_email on agentlive.login_failure (email, at);
