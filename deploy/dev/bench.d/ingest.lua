-- wrk script for the ingest figure (deploy/dev/bench.sh): POSTs batches of
-- BENCH_BATCH messages of BENCH_CONTENT_BYTES bytes of text each, like a daemon.
-- Environment: BENCH_TOKEN (daemon token), BENCH_TASKS (file, one task id a
-- line). Thread t of n takes every n-th task; its k-th request goes to its tasks
-- round robin, with the next unused seqs of that task, so every seq is new and
-- every message is stored (duplicates would be cheaper and flatter the figure).
local token = os.getenv("BENCH_TOKEN")
local batch = tonumber(os.getenv("BENCH_BATCH") or "50")
local size = tonumber(os.getenv("BENCH_CONTENT_BYTES") or "1024")
local tasks_file = os.getenv("BENCH_TASKS")
-- Added to every seq, so a second run (after the warm-up) sends new seqs again.
local seq_base = tonumber(os.getenv("BENCH_SEQ_BASE") or "0")

local threads = {}
local counter = 0

function setup(thread)
    thread:set("index", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

local tasks, k, content, headers
function init(args)
    local n = tonumber(os.getenv("BENCH_THREADS"))
    tasks = {}
    local i = 0
    for line in io.lines(tasks_file) do
        if i % n == index then table.insert(tasks, line) end
        i = i + 1
    end
    k = 0
    -- Plain text that JSON encodes as itself: the figure measures storage, not escaping.
    local words = "the agent reads the file and writes a test before it changes the code "
    content = string.rep(words, math.ceil(size / #words)):sub(1, size)
    headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

function request()
    local task = tasks[(k % #tasks) + 1]
    local base = seq_base + math.floor(k / #tasks) * batch
    k = k + 1
    local parts = {}
    for j = 1, batch do
        parts[j] = '{"seq":' .. (base + j) .. ',"type":"text","content":"' .. content .. '"}'
    end
    local body = '{"messages":[' .. table.concat(parts, ",") .. ']}'
    return wrk.format("POST", "/api/daemon/tasks/" .. task .. "/messages", headers, body)
end

function done(summary, latency, requests)
    io.write(string.format("RESULT requests=%d duration_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
        summary.errors.read, summary.errors.write, summary.errors.timeout,
        latency:percentile(50), latency:percentile(99)))
end
