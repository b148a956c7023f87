#!/usr/bin/env bash
# deploy/dev/bench.sh — AgentLive's performance figures, each measured side by side
# with its limit in the same run, on a release stack of its own. Prints a table
# (figure, ours, limit, ratio, goal, met?) and the conditions (machine, date,
# commit, load). Run `deploy/dev/bench.sh help` for the figures and settings.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd -P)
D=$REPO/deploy/dev/bench.d
STACK=$REPO/deploy/dev/stack
PGBIN=/usr/lib/postgresql/15/bin
FIGURES=(footprint ingest latency fanout catchup notify relays)

usage() {
    cat <<EOF
Usage: deploy/dev/bench.sh [figure...]     (default: all, in this order: ${FIGURES[*]})
       deploy/dev/bench.sh down            stop the bench stack (after KEEP=1)

Brings up its own release stack (STACK_DIR=<repo>/.stack-bench, nginx on
127.0.0.1:18700, relay on 18701, STACK_FAST=1: PostgreSQL runs with fsync off,
for our side and for the limits alike), prepares data with SQL, measures each
figure for BENCH_SECONDS, prints the table and stops the stack.

  footprint  RSS of the idle API workers and relay (/proc), worker start-up time
             (process start to the first 200 of /api/health over FastCGI)
  ingest     messages/s stored through nginx -> workers -> PostgreSQL (wrk, batches
             of 50 x 1 KiB) vs pgbench inserting the same batches (one transaction each)
  latency    daemon POST answered -> WebSocket watcher has the message, 1,000
             messages/s over 50 tasks, 500 watchers through nginx (C clients on
             epoll), vs the NOTIFY -> LISTEN round trip (psycopg) in the same run
  fanout     one relay, ~20,000 WebSocket connections (C client, several loopback
             source addresses), 200 per busy issue: events delivered/s, RSS/connection,
             events lost
  relays     the same over RELAYS_COUNT relays (99,000 connections spread round-robin
             over 5 relays), and the relays' RSS after the connections have gone
  notify     what NOTIFY costs the writer: commit latency of single-message inserts
             with 1, 5 and 20 relays listening (bench.d/notify_cost.py), flat out and
             at 1,000 inserts/s
  catchup    GET messages?after=&limit=500 on a task of 100,000 messages in a table of
             5,000,000, p99 through nginx (wrk) vs a plain SELECT of the same rows (pgbench)

Settings (environment), defaults in brackets:
  BENCH_SECONDS [15] per measured figure     WORKERS [4] API workers
  BENCH_WAIT_QUIET [0] seconds to wait for other AgentLive stacks to stop
  KEEP=1 leaves the stack up (for profiling); \`deploy/dev/bench.sh down\` stops it
  INGEST_CONNECTIONS [8] wrk connections, and pgbench clients for the limit
  INGEST_ROUNDS [3] ours and the limit take turns, BENCH_SECONDS/rounds each
  LATENCY_RATE [1000] LATENCY_TASKS [50] LATENCY_WATCHERS [500] LATENCY_PROCS [4]
  LATENCY_BATCH [5] messages per POST; a second pass posts every message alone
  FANOUT_CONNECTIONS [19800] FANOUT_PER_ISSUE [200] FANOUT_PROCS [2] client processes
  FANOUT_RATE [750] messages/s offered (each one FANOUT_PER_ISSUE events)
  RELAYS_COUNT [5] RELAYS_CONNECTIONS [99000] RELAYS_PER_ISSUE [200] RELAYS_PROCS [6]
  RELAYS_RATE [1000]   NOTIFY_RELAYS ["1 5 20"] NOTIFY_RATE [1000]
  CATCHUP_ROWS [5000000] CATCHUP_TASK_ROWS [100000] CATCHUP_CONTENT_BYTES [200]
  CATCHUP_CONNECTIONS [1] (a shorter pass with 4 at once goes to the notes)
Results: deploy/dev/BENCHMARKS.md; raw output in \$STACK_DIR/results/<time>/.
EOF
}

say() { printf '%s\n' "bench: $*" >&2; }
die() { say "$*"; exit 1; }

export STACK_DIR=${BENCH_STACK_DIR:-$REPO/.stack-bench}
export PORT=${BENCH_PORT:-18700} RELAY_PORT=${BENCH_RELAY_PORT:-18701} RELAYS=1
export WORKERS=${WORKERS:-4} STACK_FAST=1 CONFIG=release
SECONDS_PER=${BENCH_SECONDS:-15}

# ------------------------------------------------------------------ helpers ---

S="" RUN="" BIN="" DAEMON_TOKEN="" USER_TOKEN=""

psql_app() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "host=$S/pgsock port=5432 dbname=agentlive user=agentlive" "$@"; }
psql_super() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "host=$S/pgsock port=5432 dbname=agentlive user=postgres" "$@"; }
pgbench() { "$PGBIN/pgbench" -h "$S/pgsock" -p 5432 -U agentlive -n "$@" agentlive; }

# Task and issue ids are made from a 4-hex-digit prefix and a number, so SQL
# scripts (pgbench) can name the task of client N without a lookup.
task_id() { printf '%s0000-0000-4000-9000-%012d' "$1" "$2"; }    # prefix n
issue_id() { printf '%s0000-0000-4000-8000-%012d' "$1" "$2"; }   # prefix n
task_sql() { echo "('${1}0000-0000-4000-9000-' || lpad(($2)::text, 12, '0'))::uuid"; }  # prefix sql-expr

# N issues, each with a running task of the bench agent (inserted directly: the
# figures are about messages, not about claiming).
make_tasks() { # prefix count [status]
    psql_app -c "
        insert into agentlive.issue (id, workspace_id, title)
        select ('${1}0000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, w.id, 'bench $1 ' || i
        from generate_series(0, $2 - 1) i, agentlive.workspace w where w.slug = 'bench';
        insert into agentlive.task (id, issue_id, workspace_id, agent_id, status, title, description,
                                    dispatched_at, started_at)
        select ('${1}0000-0000-4000-9000-' || lpad(i::text, 12, '0'))::uuid,
               ('${1}0000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, w.id, a.id, '${3:-running}',
               'bench $1 ' || i, '', now(), now()
        from generate_series(0, $2 - 1) i, agentlive.workspace w
        join agentlive.agent a on a.workspace_id = w.id where w.slug = 'bench';" >/dev/null
}

ids_file() { # kind prefix count file
    local i
    for ((i = 0; i < $3; i++)); do "$1_id" "$2" "$i"; echo; done >"$4"
}

# RSS and private memory of a pid, in KiB: "rss private".
mem_kib() {
    local rss private
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status")
    private=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$1/smaps_rollup")
    echo "$rss $private"
}

api_pid() { cat "$S/run/api.pid"; }
worker_pids() { pgrep -P "$(api_pid)"; }
relay_pid() { cat "$S/run/relay.pid"; }

# CPU per component (postgres, api, nginx, relay, other) between cpu_mark and cpu_split.
cpu_mark() { python3 "$D/cpu.py" snapshot "$S" >"$RUN/cpu-$1.json"; } # name
cpu_split() { python3 "$D/cpu.py" snapshot "$S" >"$RUN/cpu-$1-end.json"; python3 "$D/cpu.py" diff "$RUN/cpu-$1.json" "$RUN/cpu-$1-end.json" "${2:-}"; } # name [units]
result() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RUN/results.tsv"; } # figure ours limit ratio goal met
note() { printf '%s\n' "$*" >>"$RUN/notes.txt"; say "$*"; }
calc() { python3 -c "print($*)"; }
fmt() { python3 -c "import sys; print(format($1, '$2'))"; } # number format
met() { if python3 -c "import sys; sys.exit(0 if ($*) else 1)"; then echo yes; else echo NO; fi; }

# Kills the background processes this script started, by pid.
BG=()
cleanup() {
    local pid
    for pid in "${BG[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ ${KEEP:-0} != 1 && -n $S ]]; then "$STACK" down >/dev/null 2>&1 || true; fi
}

wait_no_build() {
    local waited=0
    while pgrep -f swift-build >/dev/null; do
        ((waited % 60)) || say "waiting for another swift build to finish"
        sleep 5
        waited=$((waited + 5))
    done
}

# AgentLive processes that are not this stack's: its own are named by its pid
# files (the API's workers are its supervisor's children; their process titles
# do not say which stack they belong to). The start-up figure's worker is its own.
others_running() {
    local own=" " f pid rest
    for f in "$S"/run/*.pid "$S"/run/supervisor/*.pid; do [[ -e $f ]] && own+="$(cat "$f") "; done
    if [[ -e $S/run/api.pid ]]; then own+="$(pgrep -P "$(cat "$S/run/api.pid")" | tr '\n' ' ')"; fi
    pgrep -fa 'agentlive-(api|relay)' | grep -v -- "--workers 1$" | while read -r pid rest; do
        [[ $own == *" $pid "* ]] || echo "$pid $rest"
    done
}

wait_quiet() {
    local deadline=$((SECONDS + ${BENCH_WAIT_QUIET:-0}))
    while [[ -n $(others_running) ]] && ((SECONDS < deadline)); do sleep 10; done
}

conditions() {
    local others load
    others=$(others_running | grep -c . || true)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    {
        echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r)"
        echo "Date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- Sources sql deploy/nginx 2>/dev/null || echo ' (+ uncommitted changes)')"
        echo "Stack: release build, $WORKERS API workers, 1 relay (relays: ${RELAYS_COUNT:-5}; notify: extra relays started for it), nginx (2 workers), PostgreSQL 15 with fsync=off, synchronous_commit=off, full_page_writes=off (STACK_FAST=1: the same for our side and for the limits), everything on 127.0.0.1; clients on the same 2 cores."
        echo "Load when measuring: load average $load at the end; $others other AgentLive processes (other stacks) running."
        if [[ -f $RUN/notes.txt ]]; then sed 's/^/Note: /' "$RUN/notes.txt"; fi
    } >"$RUN/conditions.txt"
}

# ------------------------------------------------------------------ stack, data ---

stack_up() {
    wait_no_build
    # A fresh database every run: nothing left from an earlier one (the 5 M rows
    # of the catch-up figure, settings) changes the figures.
    "$STACK" down >/dev/null 2>&1 || true
    rm -rf "$(readlink -f "$STACK_DIR")/pg"
    say "stack up (release build, fresh database, STACK_DIR=$STACK_DIR)"
    "$STACK" up >"$RUN/stack-up.log" 2>&1 || { tail -30 "$RUN/stack-up.log" >&2; die "stack up failed"; }
    S=$(readlink -f "$STACK_DIR")
    # shellcheck source=/dev/null
    . "$S/env"
}

prepare() {
    local out
    psql_app -f - >/dev/null <<'SQL'
select agentlive.create_workspace('bench', 'Bench');
select agentlive.create_user('bench@agentlive.local', 'Bench', null);
select agentlive.add_member('bench', 'bench@agentlive.local', 'owner');
select agentlive.create_agent('bench', 'Bench Agent', 'command');
SQL
    out=$(psql_app -c "select agentlive.create_daemon_token('bench', 'bench')" -c "select agentlive.create_user_token('bench@agentlive.local', 'bench')")
    DAEMON_TOKEN=$(sed -n 1p <<<"$out") USER_TOKEN=$(sed -n 2p <<<"$out")
}

# ------------------------------------------------------------------ footprint ---

footprint_idle() { # label
    local pid rss private total=0 n=0 max=0 ptotal=0 line
    for pid in $(worker_pids); do
        read -r rss private < <(mem_kib "$pid")
        total=$((total + rss)) ptotal=$((ptotal + private)) n=$((n + 1))
        ((rss > max)) && max=$rss
    done
    read -r rss private < <(mem_kib "$(relay_pid)")
    line="$1: workers (n=$n) RSS mean $((total / n)) KiB, max $max KiB, private mean $((ptotal / n)) KiB; relay RSS $rss KiB, private $private KiB; supervisor RSS $(mem_kib "$(api_pid)" | cut -d' ' -f1) KiB"
    echo "$line" >>"$RUN/footprint.txt"
    say "$line"
    FP_WORKER_MAX=$max FP_WORKER_PRIVATE=$((ptotal / n)) FP_RELAY=$rss FP_RELAY_PRIVATE=$private
}

bench_footprint() {
    say "footprint: idle processes after start"
    # Let the workers settle (each is connected: it connects at start).
    for _ in 1 2 3 4; do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health"; done
    sleep 1
    footprint_idle "idle after start"
    result "Idle API worker RSS (private)" "$(calc "$FP_WORKER_MAX/1024" | xargs printf '%.1f') MiB ($(calc "$FP_WORKER_PRIVATE/1024" | xargs printf '%.1f') MiB)" "-" "-" "≤ 20 MiB" "$(met "$FP_WORKER_MAX <= 20*1024")"
    result "Idle relay RSS (private)" "$(calc "$FP_RELAY/1024" | xargs printf '%.1f') MiB ($(calc "$FP_RELAY_PRIVATE/1024" | xargs printf '%.1f') MiB)" "-" "-" "-" "-"
    say "footprint: worker start-up (10 runs)"
    local out
    out=$(AGENTLIVE_DATABASE_URL="host=$S/pgsock port=5432 dbname=agentlive user=agentlive" \
        python3 "$D/startup.py" "$BIN/agentlive-api" "$S/run/bench-startup.sock" 10)
    echo "startup: $out" >>"$RUN/footprint.txt"
    local median after
    median=$(jq -r '.median_ms' <<<"$out") after=$(jq -r '.after_socket_median_ms' <<<"$out")
    result "Worker start-up to first 200 (median of 10)" "$(printf '%.0f' "$median") ms" "-" "-" "-" "-"
    say "start-up: $out"
}

bench_footprint_after() {
    sleep 2
    footprint_idle "idle after the benchmarks"
    result "Worker RSS, idle after the benchmarks" "$(calc "$FP_WORKER_MAX/1024" | xargs printf '%.1f') MiB ($(calc "$FP_WORKER_PRIVATE/1024" | xargs printf '%.1f') MiB private)" "-" "-" "≤ 20 MiB" "$(met "$FP_WORKER_MAX <= 20*1024")"
    result "Relay RSS, idle after the benchmarks" "$(calc "$FP_RELAY/1024" | xargs printf '%.1f') MiB ($(calc "$FP_RELAY_PRIVATE/1024" | xargs printf '%.1f') MiB private)" "-" "-" "-" "-"
}

# ------------------------------------------------------------------ ingest ---

ingest_wrk() { # seconds seq-base -> RESULT line
    BENCH_TOKEN=$DAEMON_TOKEN BENCH_TASKS=$RUN/ingest-tasks BENCH_THREADS=2 BENCH_SEQ_BASE=$2 \
        wrk -t 2 -c "$INGEST_CONNECTIONS" -d "${1}s" --timeout 10s -s "$D/ingest.lua" "http://127.0.0.1:$PORT" |
        tee -a "$RUN/ingest-wrk.txt" | grep '^RESULT'
}

stored() { psql_app -c "select count(*) from agentlive.task_message"; }

# Ours and the limit take turns (INGEST_ROUNDS rounds of BENCH_SECONDS/rounds each,
# the one going first alternating), after a warm-up of both long enough that the
# kernel is writing back dirty pages all along: PostgreSQL runs without fsync, and
# the first 2-3 GB a run writes are absorbed by the page cache for free, which made
# whichever side came first up to 40 % faster.
bench_ingest() {
    INGEST_CONNECTIONS=${INGEST_CONNECTIONS:-8}
    local rounds=${INGEST_ROUNDS:-3} n_tasks=64 round content
    local seconds=$(((SECONDS_PER + rounds - 1) / rounds))
    local ours_rows=0 ours_us=0 ours_requests=0 ours_errors=0 limit_rows=0 limit_seconds=0 round_ours=0 round_limit=0
    make_tasks a1a1 "$n_tasks"
    make_tasks b1b1 "$n_tasks"
    ids_file task a1a1 "$n_tasks" "$RUN/ingest-tasks"

    # The limit: a plain libpq client (pgbench, prepared statement) inserting the
    # same batches, 50 rows of 1 KiB over the same number of tasks, one INSERT and
    # one transaction per batch, the 50 contents sent as parameters every time.
    # Each batch goes to a random task; seqs are unique by client and a per-client
    # counter (started further on in every round).
    content=$(python3 -c 'w = "the agent reads the file and writes a test before it changes the code "; print((w * 20)[:1024])')
    {
        echo '\set n :n + 1'
        echo "\\set task random(0, $((n_tasks - 1)))"
        echo 'insert into agentlive.task_message (task_id, seq, type, content)'
        echo "select $(task_sql b1b1 ":task"), v.seq, v.type, v.content from (values"
        for ((i = 1; i <= 50; i++)); do
            printf "    ((:n::bigint * $INGEST_CONNECTIONS + :client_id) * 50 + %d, 'text', :content)%s\n" "$i" "$( ((i < 50)) && echo ,)"
        done
        echo ') v(seq, type, content);'
    } >"$RUN/ingest.pgbench"
    ingest_pgbench() { # seconds round
        pgbench -M prepared -c "$INGEST_CONNECTIONS" -j 2 -T "$1" -D "n=$(($2 * 10000000))" -D "content=$content" \
            -f "$RUN/ingest.pgbench" >"$RUN/ingest-pgbench-$2.txt" 2>&1 ||
            { cat "$RUN/ingest-pgbench-$2.txt" >&2; die "pgbench failed"; }
    }

    ingest_ours() { # round
        local before after line requests duration errors
        say "ingest: round $1 of $rounds: ours, wrk -c $INGEST_CONNECTIONS for $seconds s"
        before=$(stored)
        cpu_mark "ingest-$1"
        line=$(ingest_wrk "$seconds" "$(($1 * 100000000))")
        after=$(stored)
        requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
        duration=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$line")
        errors=$(sed -E 's/.*status_errors=([0-9]+).*/\1/' <<<"$line")
        note "ingest round $1: $(cpu_split "ingest-$1" "$requests") per batch"
        note "ingest round $1: wrk $requests requests in $(calc "$duration/1e6") s, $errors not 2xx, $((after - before)) messages stored ($(calc "$requests*50") sent); $line"
        round_ours=$(calc "($after - $before) / ($duration / 1e6)")
        ours_rows=$((ours_rows + after - before)) ours_us=$((ours_us + duration))
        ours_requests=$((ours_requests + requests)) ours_errors=$((ours_errors + errors))
    }

    ingest_limit() { # round
        local before after tps
        say "ingest: round $1 of $rounds: limit, pgbench -c $INGEST_CONNECTIONS for $seconds s"
        before=$(stored)
        cpu_mark "ingest-limit-$1"
        ingest_pgbench "$seconds" "$1"
        after=$(stored)
        tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$RUN/ingest-pgbench-$1.txt")
        note "ingest round $1 limit: $(cpu_split "ingest-limit-$1" "$(((after - before) / 50))") per batch (pgbench itself is in other, when it has not ended)"
        note "ingest round $1 limit: pgbench $tps transactions/s, $((after - before)) messages stored in $seconds s"
        limit_rows=$(calc "$limit_rows + $tps * 50 * $seconds") limit_seconds=$((limit_seconds + seconds))
        round_limit=$(calc "$tps * 50")
    }

    say "ingest: warm-up, ours 5 s then the limit 10 s (unmeasured)"
    ingest_wrk 5 0 >/dev/null
    ingest_pgbench 10 0
    for ((round = 1; round <= rounds; round++)); do
        if ((round % 2)); then ingest_ours "$round"; ingest_limit "$round"; else ingest_limit "$round"; ingest_ours "$round"; fi
        note "ingest round $round: ratio $(fmt "$round_ours / $round_limit" '.2f')"
    done
    local ours limit
    ours=$(calc "$ours_rows / ($ours_us / 1e6)")
    limit=$(calc "$limit_rows / $limit_seconds")
    note "ingest: $rounds rounds, $ours_requests requests, $ours_errors not 2xx; ours $(fmt "$ours" ',.0f') messages/s, limit $(fmt "$limit" ',.0f')"
    result "Ingest, messages/s (batches of 50 x 1 KiB)" "$(fmt "$ours" ',.0f')" "$(fmt "$limit" ',.0f') (pgbench)" \
        "$(fmt "$ours / $limit" '.2f')" "≥ 0.7 and ≥ 30,000/s" "$(met "$ours / $limit >= 0.7 and $ours >= 30000")"
}

# ------------------------------------------------------------------ latency ---

# The daemon coalesces text for up to 500 ms and sends tool calls at once, so a
# task streaming 20 messages/s posts a few batches a second: the figure uses
# batches of LATENCY_BATCH (5). A second pass posts every message on its own
# (1,000 POSTs/s), the worst case: one notification per message.
bench_latency() {
    cc -O2 -o "$RUN/latency" "$D/latency.c"
    latency_pass c1c1 "${LATENCY_BATCH:-5}" ""
    [[ ${LATENCY_BATCH:-5} == 1 ]] || latency_pass c2c2 1 " [every message its own POST]"
}

latency_pass() { # task-prefix batch label
    local prefix=$1 batch=$2 label=$3
    local rate=${LATENCY_RATE:-1000} n_tasks=${LATENCY_TASKS:-50} watchers=${LATENCY_WATCHERS:-500}
    local procs=${LATENCY_PROCS:-4} i per first out
    make_tasks "$prefix" "$n_tasks"
    ids_file task "$prefix" "$n_tasks" "$RUN/latency-tasks"
    ids_file issue "$prefix" "$n_tasks" "$RUN/latency-issues"
    rm -f "$RUN"/latency-watch-*.json
    say "latency: $watchers watchers through nginx in $procs processes"
    per=$(((watchers + procs - 1) / procs))
    local wpids=()
    for ((i = 0; i < procs; i++)); do
        first=$((i * per))
        ((first < watchers)) || break
        rm -f "$RUN/latency-ready-$i"
        "$RUN/latency" watch --url "ws://127.0.0.1:$PORT/ws" --token "$USER_TOKEN" \
            --issues "$RUN/latency-issues" --tasks "$RUN/latency-tasks" --first "$first" \
            --count "$((watchers - first < per ? watchers - first : per))" \
            --ready "$RUN/latency-ready-$i" --out "$RUN/latency-watch-$i.json" 2>"$RUN/latency-watch-$i.err" &
        wpids+=($!)
        BG+=($!)
    done
    local deadline=$((SECONDS + 120))
    for ((i = 0; i < ${#wpids[@]}; i++)); do
        until [[ -f $RUN/latency-ready-$i ]]; do
            kill -0 "${wpids[$i]}" 2>/dev/null || { cat "$RUN/latency-watch-$i.err" >&2; die "watcher process $i failed"; }
            ((SECONDS < deadline)) || die "watchers not subscribed within 120 s"
            sleep 0.2
        done
    done
    say "latency: $rate messages/s over $n_tasks tasks (batches of $batch), NOTIFY round trips alongside, $SECONDS_PER s"
    rm -f "$RUN/latency-post.json" "$RUN/latency-rtt.json"
    python3 "$D/latency.py" rtt --dsn "host=$S/pgsock port=5432 dbname=agentlive user=agentlive" --rate 50 \
        --out "$RUN/latency-rtt.json" 2>"$RUN/latency-rtt.err" &
    local rtt_pid=$!
    BG+=("$rtt_pid")
    "$RUN/latency" post --port "$PORT" --token "$DAEMON_TOKEN" --tasks "$RUN/latency-tasks" \
        --rate-per-task "$(calc "$rate / $n_tasks")" --batch "$batch" --out "$RUN/latency-post.json" \
        2>"$RUN/latency-post.err" &
    local post_pid=$!
    BG+=("$post_pid")
    cpu_mark "latency-$batch"
    sleep "$SECONDS_PER"
    note "latency (batches of $batch): $(cpu_split "latency-$batch") (other: the C watchers and daemons, the NOTIFY client)"
    kill -TERM "$post_pid" "$rtt_pid"
    wait "$post_pid" "$rtt_pid" || true
    sleep 1.5 # the last frames
    kill -TERM "${wpids[@]}"
    wait "${wpids[@]}" || true
    [[ -s $RUN/latency-post.json ]] || { cat "$RUN/latency-post.err" >&2; die "the posting client failed"; }
    for ((i = 0; i < ${#wpids[@]}; i++)); do
        [[ -s $RUN/latency-watch-$i.json ]] || { cat "$RUN/latency-watch-$i.err" >&2; die "watcher process $i failed"; }
    done
    out=$(python3 "$D/latency.py" analyze --posts "$RUN/latency-post.json" --rtt "$RUN/latency-rtt.json" \
        --watchers-per-issue "$((watchers / n_tasks))" "$RUN"/latency-watch-*.json)
    echo "$out" >"$RUN/latency-batch$batch.json"
    note "latency (batches of $batch): $out"
    local p50 p99 r50 r99 lag50 lag99
    p50=$(jq .p50_ms <<<"$out") p99=$(jq .p99_ms <<<"$out")
    r50=$(jq .rtt_p50_ms <<<"$out") r99=$(jq .rtt_p99_ms <<<"$out")
    lag50=$(jq .lag_p50_ms <<<"$out") lag99=$(jq .lag_p99_ms <<<"$out")
    result "Latency p50, POST answered -> WebSocket, batches of $batch$label" "$(fmt "$p50" '.2f') ms" "$(fmt "$r50" '.2f') ms (NOTIFY->LISTEN)" \
        "$(fmt "$p50 / $r50" '.1f')x" "≤ 3 ms" "$(met "$p50 <= 3")"
    result "Latency p99$label" "$(fmt "$p99" '.2f') ms" "$(fmt "$r99" '.2f') ms (NOTIFY->LISTEN)" \
        "$(fmt "$p99 / $r99" '.1f')x" "≤ 20 ms" "$(met "$p99 <= 20")"
    result "  watcher client's own delay (event-loop lag p50 / p99)" "$(fmt "$lag50" '.2f') / $(fmt "$lag99" '.2f') ms" "-" "-" "-" "-"
}


# ------------------------------------------------------------------ fan-out ---

wsflood_stats() { # -> "connected subscribed events bytes closes errors" summed over processes
    local f
    # Not the .tmp file a client is writing at that moment: it would count twice.
    for f in "$RUN"/fanout-stats-*; do [[ $f == *.tmp || ! -e $f ]] || cat "$f"; done | awk '{ for (i = 1; i <= 6; i++) s[i] += $i } END { print s[1]+0, s[2]+0, s[3]+0, s[4]+0, s[5]+0, s[6]+0 }'
}

# RSS and private memory summed over the relays whose pid files are given, in KiB.
relays_mem_kib() { # pid-file...
    local f rss private trss=0 tprivate=0
    for f in "$@"; do
        read -r rss private < <(mem_kib "$(cat "$f")")
        trss=$((trss + rss)) tprivate=$((tprivate + private))
    done
    echo "$trss $tprivate"
}

# The largest divisor of $1 that is at most $2.
divisor_at_most() { local d=$2; while (($1 % d)); do d=$((d - 1)); done; echo "$d"; }

# One fan-out run, its figures left in FO_* variables: CONNECTIONS WebSockets from
# PROCS wsflood processes, spread round-robin over the relays on PORTS (comma-
# separated; the relays' pid files follow), PER_ISSUE on each busy issue (ids with
# PREFIX); pgbench offers RATE messages/s in batches of 5 for BENCH_SECONDS. Each
# busy task is written by one pgbench client, so its seqs arrive in order. After
# the load it waits for the last events: every connection must have had every
# message of its issue once (FO_LOST counts those missing, FO_EXTRA duplicates).
fanout_run() { # name connections per-issue rate procs ports prefix relay-pid-file...
    local name=$1 conns=$2 per_issue=$3 rate=$4 procs=$5 ports=$6 prefix=$7
    shift 7
    local pidfiles=("$@") batch=5 n_issues i per first stats clients per_client
    n_issues=$(((conns + per_issue - 1) / per_issue))
    ((conns / ${#pidfiles[@]} + 64 <= $(ulimit -Hn))) ||
        note "$name: the hard limit on open files is $(ulimit -Hn): a relay cannot hold $((conns / ${#pidfiles[@]})) connections"
    ((conns / procs + 64 <= $(ulimit -Hn))) ||
        die "$name: $procs client processes cannot hold $conns connections under the open-file limit $(ulimit -Hn)"
    make_tasks "$prefix" "$n_issues"
    ids_file issue "$prefix" "$n_issues" "$RUN/$name-issues"
    cc -O2 -o "$RUN/wsflood" "$D/wsflood.c"
    local base_rss base_private
    read -r base_rss base_private < <(relays_mem_kib "${pidfiles[@]}")
    say "$name: $conns connections straight to ${#pidfiles[@]} relay(s) (127.0.0.1:$ports), $per_issue per issue, $procs client processes"
    per=$(((conns + procs - 1) / procs))
    local fpids=()
    rm -f "$RUN"/fanout-stats-*
    for ((i = 0; i < procs; i++)); do
        first=$((i * per))
        "$RUN/wsflood" 127.0.0.1 "$ports" "$USER_TOKEN" "$RUN/$name-issues" "$per_issue" "$first" \
            "$((conns - first < per ? conns - first : per))" 8 "$RUN/fanout-stats-$i" 2>>"$RUN/$name-wsflood.err" &
        fpids+=($!)
        BG+=($!)
    done
    local deadline=$((SECONDS + 180 + conns / 500)) t0=$SECONDS
    while :; do
        read -r -a stats < <(wsflood_stats)
        ((stats[1] >= conns)) && break
        if ((SECONDS >= deadline)); then
            note "$name: only ${stats[1]} of $conns connections subscribed after $((SECONDS - t0)) s (errors ${stats[5]})"
            break
        fi
        sleep 1
    done
    FO_HELD=${stats[1]}
    note "$name: $FO_HELD connections subscribed in $((SECONDS - t0)) s"
    sleep 3
    local rss private
    read -r rss private < <(relays_mem_kib "${pidfiles[@]}")
    FO_PER_CONN=$(calc "($rss - $base_rss) / $FO_HELD")
    FO_IDLE_RSS=$base_rss FO_IDLE_PRIVATE=$base_private
    note "$name: relay RSS $base_rss KiB idle -> $rss KiB with $FO_HELD idle subscribed connections ($(fmt "$FO_PER_CONN" '.1f') KiB each; private $(calc "round(($private - $base_private) / $FO_HELD, 1)") KiB each)"

    # Load: client c writes the busy tasks c, c + clients, c + 2 clients … in turn.
    clients=$(divisor_at_most "$n_issues" 99) per_client=$((n_issues / clients))
    {
        echo '\set n :n + 1'
        echo "\\set task :client_id + $clients * (:n % $per_client)"
        echo 'insert into agentlive.task_message (task_id, seq, type, content)'
        echo "select $(task_sql "$prefix" ":task"), (:n / $per_client)::bigint * $batch + g, 'text',"
        echo "       'fan-out event ' || g || ': the agent reads the file and writes a test before it changes the code'"
        echo "from generate_series(1, $batch) g;"
    } >"$RUN/$name.pgbench"
    say "$name: $rate messages/s offered ($(fmt "$rate * $per_issue" ',.0f') events/s) for $SECONDS_PER s"
    local e0 e1 t_start t_end rss_load
    pgbench -M prepared -c "$clients" -j 2 -R "$(calc "$rate / $batch")" -T "$((SECONDS_PER + 2))" -D n=-1 \
        -f "$RUN/$name.pgbench" >"$RUN/$name-pgbench.txt" 2>&1 &
    local gen=$!
    BG+=("$gen")
    sleep 2 # ramp-up
    read -r -a stats < <(wsflood_stats)
    e0=${stats[2]} t_start=$(date +%s.%N)
    cpu_mark "$name"
    sleep "$SECONDS_PER"
    read -r -a stats < <(wsflood_stats)
    e1=${stats[2]} t_end=$(date +%s.%N)
    note "$name: $(cpu_split "$name" "$((e1 - e0))") per event delivered (the C clients are in other)"
    read -r rss_load _ < <(relays_mem_kib "${pidfiles[@]}")
    wait "$gen" || true
    FO_DELIVERED=$(calc "($e1 - $e0) / ($t_end - $t_start)")
    FO_OFFERED=$(calc "$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$RUN/$name-pgbench.txt") * $batch * $per_issue")
    note "$name: $(fmt "$FO_DELIVERED" ',.0f') events/s delivered of $(fmt "$FO_OFFERED" ',.0f') offered (pgbench: $(grep -E '^(tps|number of transactions actually)' "$RUN/$name-pgbench.txt" | tr '\n' ' '))"

    # Every stored message, once to each of its issue's subscribers.
    local stored expected last=-1
    stored=$(psql_app -c "select count(*) from agentlive.task_message where task_id::text like '$prefix%'")
    expected=$((stored * per_issue))
    deadline=$((SECONDS + 30))
    while :; do
        read -r -a stats < <(wsflood_stats)
        ((stats[2] >= expected || stats[2] == last || SECONDS >= deadline)) && break
        last=${stats[2]}
        sleep 1
    done
    FO_LOST=$((expected > stats[2] ? expected - stats[2] : 0)) FO_EXTRA=$((stats[2] > expected ? stats[2] - expected : 0))
    note "$name: $stored messages stored x $per_issue subscribers = $expected events expected, ${stats[2]} received ($FO_LOST lost, $FO_EXTRA extra); relay RSS under load $rss_load KiB; closes ${stats[4]}, errors ${stats[5]}, still subscribed ${stats[1]}"
    kill -TERM "${fpids[@]}"
    wait "${fpids[@]}" || true
}

bench_fanout() {
    local per_issue=${FANOUT_PER_ISSUE:-200}
    fanout_run fanout "${FANOUT_CONNECTIONS:-19800}" "$per_issue" "${FANOUT_RATE:-750}" "${FANOUT_PROCS:-2}" \
        "$RELAY_PORT" d1d1 "$S/run/relay.pid"
    result "Fan-out, events delivered/s ($FO_HELD connections, $per_issue per issue)" "$(fmt "$FO_DELIVERED" ',.0f')" \
        "$(fmt "$FO_OFFERED" ',.0f') (offered)" "$(fmt "$FO_DELIVERED / $FO_OFFERED" '.2f')" "≥ 100,000/s" "$(met "$FO_DELIVERED >= 100000")"
    result "  events lost / duplicated" "$FO_LOST / $FO_EXTRA" "-" "-" "0" "$(met "$FO_LOST + $FO_EXTRA == 0")"
    result "Relay RSS per connection (idle, subscribed)" "$(fmt "$FO_PER_CONN" '.1f') KiB" "-" "-" "≤ 20 KiB" "$(met "$FO_PER_CONN <= 20")"
}

# Fan-out over several relays: the stack gets RELAYS_COUNT relays for it (the
# other figures use one), each given an equal share of the connections.
bench_relays() {
    local n=${RELAYS_COUNT:-5} per_issue=${RELAYS_PER_ISSUE:-200} i ports="" pidfiles=() rss private
    say "relays: $n relays"
    RELAYS=$n "$STACK" up >>"$RUN/stack-up.log" 2>&1 || { tail -30 "$RUN/stack-up.log" >&2; die "stack up with $n relays failed"; }
    for ((i = 1; i <= n; i++)); do
        ports+=${ports:+,}$((RELAY_PORT + i - 1))
        if ((i == 1)); then pidfiles+=("$S/run/relay.pid"); else pidfiles+=("$S/run/relay-$i.pid"); fi
    done
    fanout_run relays "${RELAYS_CONNECTIONS:-99000}" "$per_issue" "${RELAYS_RATE:-1000}" "${RELAYS_PROCS:-6}" \
        "$ports" f1f1 "${pidfiles[@]}"
    # The relays hand the memory back once the connections have gone (TrimPolicy).
    # RSS also counts the pages of the binary the run touched, which the relays
    # share: private memory is what the connections left behind.
    sleep 5
    read -r rss private < <(relays_mem_kib "${pidfiles[@]}")
    note "relays: the $n relays idle before: RSS $FO_IDLE_RSS KiB, private $FO_IDLE_PRIVATE KiB; 5 s after the connections closed: RSS $rss KiB, private $private KiB"
    result "Fan-out over $n relays, events delivered/s ($FO_HELD connections, $per_issue per issue)" "$(fmt "$FO_DELIVERED" ',.0f')" \
        "$(fmt "$FO_OFFERED" ',.0f') (offered)" "$(fmt "$FO_DELIVERED / $FO_OFFERED" '.2f')" "≥ 150,000/s" "$(met "$FO_DELIVERED >= 150000")"
    result "  events lost / duplicated" "$FO_LOST / $FO_EXTRA" "-" "-" "0" "$(met "$FO_LOST + $FO_EXTRA == 0")"
    result "  relay RSS per connection (idle, subscribed)" "$(fmt "$FO_PER_CONN" '.1f') KiB" "-" "-" "≤ 12 KiB" "$(met "$FO_PER_CONN <= 12")"
    result "  RSS of the $n relays: idle, then 5 s after the run (private)" \
        "$(fmt "$FO_IDLE_RSS / 1024" '.1f') MiB, $(fmt "$rss / 1024" '.1f') MiB ($(fmt "$FO_IDLE_PRIVATE / 1024" '.1f') MiB, $(fmt "$private / 1024" '.1f') MiB)" \
        "-" "-" "≤ 1.5× idle" "$(met "$rss <= 1.5 * $FO_IDLE_RSS")"
}

# ------------------------------------------------------------------ NOTIFY cost ---

# notify_cost.py's lines "relays listening N: T tx/s  p50 A ms  p99 B ms" as results.
notify_results() { # label
    local n tps p50 p99
    while read -r n tps p50 p99; do
        result "NOTIFY cost, $1, $n relay(s) listening: tx/s, commit p50 / p99" "$(fmt "$tps" ',.0f') tx/s, $p50 / $p99 ms" "-" "-" "-" "-"
    done < <(sed -nE 's/^relays listening +([0-9]+): +([0-9.]+) tx\/s +p50 +([0-9.]+) ms +p99 +([0-9.]+) ms$/\1 \2 \3 \4/p')
}

bench_notify() {
    local counts=${NOTIFY_RELAYS:-1 5 20} rate=${NOTIFY_RATE:-1000} out
    RELAYS=1 "$STACK" up >>"$RUN/stack-up.log" 2>&1 || { tail -30 "$RUN/stack-up.log" >&2; die "stack up with 1 relay failed"; }
    say "notify: single-message inserts, as fast as 4 clients go, with $counts relays listening"
    out=$(STACK_DIR=$S SECONDS_PER=$SECONDS_PER RELAY_COUNTS=$counts python3 "$D/notify_cost.py" | tee -a "$RUN/notify.txt")
    notify_results "flat out" <<<"$out"
    say "notify: the same at $rate inserts/s"
    out=$(STACK_DIR=$S SECONDS_PER=$SECONDS_PER RELAY_COUNTS=$counts RATE=$rate python3 "$D/notify_cost.py" | tee -a "$RUN/notify.txt")
    notify_results "$rate inserts/s" <<<"$out"
}

# ------------------------------------------------------------------ catch-up ---

# Runs $RUN/<name>.pgbench for seconds, logging every transaction; prints "p50 p99" in ms.
pgbench_percentiles() { # name clients seconds
    rm -f "$RUN/$1-log".*
    pgbench -M prepared -c "$2" -j 1 -T "$3" -l --log-prefix="$RUN/$1-log" -f "$RUN/$1.pgbench" \
        >"$RUN/$1-pgbench.txt" 2>&1 || { cat "$RUN/$1-pgbench.txt" >&2; die "pgbench failed"; }
    cat "$RUN/$1-log".* | python3 -c '
import sys
v = sorted(int(line.split()[2]) for line in sys.stdin)
print(v[len(v) // 2] / 1000, v[min(len(v) - 1, int(len(v) * 0.99))] / 1000)'
}

bench_catchup() {
    local rows=${CATCHUP_ROWS:-5000000} task_rows=${CATCHUP_TASK_ROWS:-100000} size=${CATCHUP_CONTENT_BYTES:-200}
    local conns=${CATCHUP_CONNECTIONS:-1} limit=500
    # Rounds of 5,000 rows, as if 4,900 tasks and the long one wrote side by side:
    # in each round every other task writes one message and the long task
    # task_rows/rounds, interleaved (one row in 50), so its pages are spread
    # over the table as a busy server's would be.
    local rounds=$((rows / 5000)) per_round=$((task_rows / (rows / 5000)))
    local small=$((5000 - per_round))
    ((per_round * rounds == task_rows && 5000 % per_round == 0)) || die "catchup: CATCHUP_ROWS/CATCHUP_TASK_ROWS must split into rounds of 5,000"
    local every=$((5000 / per_round))
    make_tasks e0e0 "$small" completed
    make_tasks e1e1 1 running
    local big
    big=$(task_id e1e1 0)
    say "catchup: generating $rows messages ($size-byte content), $task_rows of them in task $big"
    local t0=$SECONDS
    psql_super >/dev/null <<SQL
truncate agentlive.task_message; -- exactly CATCHUP_ROWS rows (the other figures wrote some)
set session_replication_role = replica; -- no triggers: no NOTIFY, no FK checks while loading
set maintenance_work_mem = '512MB';
insert into agentlive.task_message (task_id, seq, type, content)
select case when p % $every = 0 then '$big'::uuid else $(task_sql e0e0 "p - p / $every - 1") end,
       case when p % $every = 0 then (r - 1) * $per_round + p / $every else r end,
       'text', left(format('round %s row %s: ', r, p) || repeat('the agent reads the file and writes a test ', 40), $size)
from generate_series(1, $rounds) r, generate_series(1, 5000) p;
SQL
    note "catchup: generated $(psql_app -c "select count(*) from agentlive.task_message") rows in $((SECONDS - t0)) s (table $(psql_app -c "select pg_size_pretty(pg_total_relation_size('agentlive.task_message'))") with its index)"
    # What autovacuum would do in the middle of the measurement otherwise (a
    # table that took 5 M inserts): set hint bits, the visibility map, statistics.
    t0=$SECONDS
    psql_super -c "vacuum (analyze) agentlive.task_message" >/dev/null
    note "catchup: vacuum analyze took $((SECONDS - t0)) s"
    local sample
    sample=$(curl -s -H "Authorization: Bearer $USER_TOKEN" "http://127.0.0.1:$PORT/api/tasks/$big/messages?after=1000&limit=$limit")
    [[ $(jq '.messages | length' <<<"$sample") == "$limit" ]] || die "catchup: a page does not have $limit messages: ${sample:0:300}"
    note "catchup: a page of $limit messages is $(printf '%s' "$sample" | wc -c) bytes"
    catchup_wrk() { # seconds [connections]
        BENCH_TOKEN=$USER_TOKEN BENCH_TASK=$big BENCH_LIMIT=$limit BENCH_MAX_AFTER=$((task_rows - limit)) \
            wrk -t 1 -c "${2:-$conns}" -d "${1}s" --timeout 10s --latency -s "$D/catchup.lua" "http://127.0.0.1:$PORT" |
            tee -a "$RUN/catchup-wrk.txt" | grep '^RESULT'
    }
    catchup_wrk 3 >/dev/null # warm-up
    say "catchup: wrk -c $conns, random after, $SECONDS_PER s"
    local line p99 p50 requests
    cpu_mark catchup
    line=$(catchup_wrk "$SECONDS_PER")
    p50=$(calc "$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$line") / 1000")
    p99=$(calc "$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line") / 1000")
    requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
    note "catchup: $(cpu_split catchup "$requests") per page"
    note "catchup: $line"
    local busy
    busy=$(catchup_wrk "$(((SECONDS_PER + 1) / 2))" 4)
    note "catchup, 4 connections at once (2 per core): $busy"
    # The limit: a plain libpq client (pgbench) reading the same 500 rows with a
    # plain SELECT, as text rows, no JSON. Then the API's own SQL call alone
    # (no nginx, no worker, no token check), to split our time.
    local user
    user=$(psql_app -c "select id from agentlive.app_user where email = 'bench@agentlive.local'")
    cat >"$RUN/catchup-limit.pgbench" <<EOF
\set after random(0, $((task_rows - limit)))
select * from agentlive.task_message where task_id = '$big' and seq > :after order by seq limit $limit;
EOF
    cat >"$RUN/catchup-sql.pgbench" <<EOF
\set after random(0, $((task_rows - limit)))
select agentlive.api_messages('$user', null, '$big', :after, $limit);
EOF
    local lp50 lp99 sp50 sp99
    say "catchup: limit, pgbench -c $conns for $SECONDS_PER s"
    read -r lp50 lp99 < <(pgbench_percentiles catchup-limit "$conns" "$SECONDS_PER")
    say "catchup: the API's SQL call alone, pgbench -c $conns for $SECONDS_PER s"
    read -r sp50 sp99 < <(pgbench_percentiles catchup-sql "$conns" "$SECONDS_PER")
    note "catchup: throughput $(calc "round($requests / $SECONDS_PER)") pages/s through nginx; plain SELECT p50 $lp50 ms, p99 $lp99 ms; api_messages() alone p50 $sp50 ms, p99 $sp99 ms"
    result "Catch-up p50, limit=500 through nginx" "$(fmt "$p50" '.2f') ms" "$(fmt "$lp50" '.2f') ms (plain SELECT)" "$(fmt "$p50 / $lp50" '.1f')x" "-" "-"
    result "Catch-up p99" "$(fmt "$p99" '.2f') ms" "$(fmt "$lp99" '.2f') ms (plain SELECT)" "$(fmt "$p99 / $lp99" '.1f')x" "≤ 10 ms" "$(met "$p99 <= 10")"
    result "  the API's SQL call alone (api_messages) p50 / p99" "$(fmt "$sp50" '.2f') / $(fmt "$sp99" '.2f') ms" "-" "-" "-" "-"
}

# ------------------------------------------------------------------ main ---

main() {
    local want=() f
    case ${1:-} in
        help | -h | --help) usage; return 0 ;;
        down) exec "$STACK" down ;;
    esac
    if (($#)); then
        for f in "$@"; do
            [[ " ${FIGURES[*]} " == *" $f "* ]] || die "unknown figure $f (figures: ${FIGURES[*]})"
        done
        want=("$@")
    else
        want=("${FIGURES[@]}")
    fi
    command -v wrk >/dev/null || { say "installing wrk"; apt-get install -y -q wrk >/dev/null; }
    command -v jq >/dev/null || { say "installing jq"; apt-get install -y -q jq >/dev/null; }
    python3 -c 'import psycopg' 2>/dev/null || python3 -m pip install -q 'psycopg[binary]'
    ulimit -n "$(ulimit -Hn)"
    mkdir -p "$STACK_DIR"
    RUN=$(readlink -f "$STACK_DIR")/results/$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$RUN"
    trap cleanup EXIT
    stack_up
    BIN=$(sed -n 's/^BIN=//p' "$S/settings")
    prepare
    if [[ -n $(others_running) ]]; then
        say "other AgentLive stacks are running (waiting up to ${BENCH_WAIT_QUIET:-0} s for them to stop):"
        others_running | sed 's/^/  /' >&2
        wait_quiet
    fi
    : >"$RUN/results.tsv"
    for f in "${want[@]}"; do "bench_$f"; done
    if [[ " ${want[*]} " == *" footprint "* ]] && ((${#want[@]} > 1)); then bench_footprint_after; fi
    conditions
    echo
    python3 "$D/report.py" "$RUN/results.tsv" "$RUN/conditions.txt" "$RUN/table.md"
    echo
    say "raw output and the Markdown table: $RUN"
}

main "$@"
