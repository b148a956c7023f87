-- wrk script for the catch-up figure (deploy/dev/bench.sh): GET a page of
-- BENCH_LIMIT messages after a random seq of one long task, as a browser does
-- after a reconnect. Environment: BENCH_TOKEN (user token), BENCH_TASK,
-- BENCH_MAX_AFTER (the highest `after`: task length - limit, so pages are full).
local token = os.getenv("BENCH_TOKEN")
local task = os.getenv("BENCH_TASK")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "500")
local max_after = tonumber(os.getenv("BENCH_MAX_AFTER"))
local headers
local counter = 0

function setup(thread)
    thread:set("index", counter)
    counter = counter + 1
end

function init(args)
    math.randomseed(os.time() * 100 + index)
    headers = { ["Authorization"] = "Bearer " .. token }
end

function request()
    local after = math.random(0, max_after)
    return wrk.format("GET", "/api/tasks/" .. task .. "/messages?after=" .. after .. "&limit=" .. limit, headers)
end

function done(summary, latency, requests)
    io.write(string.format("RESULT requests=%d duration_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d bytes=%d\n",
        summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
        summary.errors.read, summary.errors.write, summary.errors.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, summary.bytes))
end
