#!/usr/bin/env bash
# deploy/dev/fuzz.sh — builds a libFuzzer target with -sanitize=fuzzer,address and runs
# it for a bounded time.
#
#   deploy/dev/fuzz.sh [api|daemon] [SECONDS] [libFuzzer flags...]   default api, 60 s
#   deploy/dev/fuzz.sh 300 -jobs=2 -workers=2
#   deploy/dev/fuzz.sh daemon 600
#   deploy/dev/fuzz.sh [api|daemon] replay FILE...                    run inputs once (a crash reproducer)
#
# api (agentlive-fuzz, Sources/agentlive-fuzz): FastCGI parameters -> HTTP request
# head, request-body decoding and the validators of the endpoints (AgentLiveAPI over
# a fake database), and the response head written back to nginx. An input is
# `NAME=value` lines, an empty line, then the body (see Tests/Fuzz/corpus). A 5xx, a
# non-JSON answer, a NUL that would reach PostgreSQL, or a crash fails the run.
#
# daemon (agentlive-daemon-fuzz, Sources/agentlive-daemon-fuzz): an agent's output
# through the session parsers, the text throttle and the sanitizer; a known secret
# inserted into it must not get through, messages must stay within their limits
# (seeds: Tests/Fuzz/daemon-corpus, lines of the recorded sessions).
#
# Build output goes to .build-fuzz (git-ignored; the first build takes minutes).
# Inputs libFuzzer finds go to .build-fuzz/corpus[-daemon] (the committed seeds are
# only read); crash reproducers to .build-fuzz/artifacts[-daemon].
# Exit status: 0 when nothing was found, 1 otherwise.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd -P)
SCRATCH=$REPO/.build-fuzz
PRODUCT=agentlive-fuzz
SEEDS=$REPO/Tests/Fuzz/corpus
DICT=$REPO/Tests/Fuzz/agentlive.dict
SUFFIX=""
case ${1:-} in
api) shift ;;
daemon)
    shift
    PRODUCT=agentlive-daemon-fuzz SEEDS=$REPO/Tests/Fuzz/daemon-corpus DICT=$REPO/Tests/Fuzz/daemon.dict SUFFIX=-daemon
    ;;
esac
BIN=$SCRATCH/debug/$PRODUCT

say() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: %s\n' "$*" >&2; exit 2; }

command -v swift >/dev/null || PATH=/opt/swift/usr/bin:$PATH
command -v swift >/dev/null || die "swift not found (looked on PATH and in /opt/swift/usr/bin)"

# The Swift runtime's own backtracer would symbolicate for a long time before
# libFuzzer writes the reproducer; ASan prints the stack anyway.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}

# A swift build running in this checkout (other checkouts build on their own).
building_here() {
    local pid
    for pid in $(pgrep -x swift-build); do
        [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$REPO" ]] && return 0
    done
    return 1
}

build() {
    # Two SwiftPM builds of one checkout at once fight over its locks.
    local waited=0
    while building_here; do
        ((waited)) || say "another swift build is running in this checkout; waiting for it"
        waited=1
        sleep 5
    done
    say "building $PRODUCT (-sanitize=fuzzer,address) in .build-fuzz"
    mkdir -p "$SCRATCH"
    if ! (cd "$REPO" && swift build --product "$PRODUCT" --scratch-path "$SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING) >"$SCRATCH/build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$SCRATCH/build.log" | tail -40 >&2
        die "build failed (log: .build-fuzz/build.log)"
    fi
    grep -v "Cannot export local symbol" "$SCRATCH/build.log" | tail -1
}

if [[ ${1:-} == replay ]]; then
    shift
    (($#)) || die "usage: deploy/dev/fuzz.sh [api|daemon] replay FILE..."
    build
    exec "$BIN" -runs=1 "$@"
fi

seconds=60
if [[ ${1:-} =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi

build
corpus=$SCRATCH/corpus$SUFFIX artifacts=$SCRATCH/artifacts$SUFFIX
mkdir -p "$corpus" "$artifacts"
log=$SCRATCH/fuzz$SUFFIX.log
say "running for ${seconds} s (log: ${log#"$REPO"/})"
started=$(date +%s)
set +e
"$BIN" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -dict="$DICT" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$@" "$corpus" "$SEEDS" >"$log" 2>&1
status=$?
set -e
elapsed=$(($(date +%s) - started))

last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
say "${runs:-?} inputs in ${elapsed} s; last status: ${last:-none}"
if ((status == 0)); then
    say "no failure"
    exit 0
fi
# The failure: the sanitizer's or Swift's message and the reproducer libFuzzer wrote.
grep -E 'Fatal error|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY:|==[0-9]+== *ERROR' "$log" | head -5 >&2 || true
reproducer=$(sed -n "s/^Test unit written to //p;s/.*Test unit written to //p" "$log" | tail -1)
if [[ -n $reproducer ]]; then
    say "FAILED (exit $status); reproducer: ${reproducer#"$REPO"/}" >&2
    say "replay it: deploy/dev/fuzz.sh ${SUFFIX#-}${SUFFIX:+ }replay ${reproducer#"$REPO"/}" >&2
else
    say "FAILED (exit $status); see ${log#"$REPO"/}" >&2
fi
exit 1
