// Unit tests of js/summary.js and js/format.js: node --test deploy/web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { summarizeToolInput, oneLine, toolKind, MAX_SUMMARY } from "../js/summary.js";
import { clip, formatDuration, formatElapsed } from "../js/format.js";

test("Bash and shell: the command", () => {
    assert.equal(summarizeToolInput("Bash", { command: "npm test", description: "Run tests" }), "npm test");
    assert.equal(summarizeToolInput("shell", { command: ["bash", "-lc", "cargo build"] }), "cargo build");
    assert.equal(summarizeToolInput("shell", { command: ["git", "status", "--short"] }), "git status --short");
    assert.equal(summarizeToolInput("exec_command", { cmd: "ls -la" }), "ls -la");
});

test("Read, Edit, Write: the file path", () => {
    assert.equal(summarizeToolInput("Read", { file_path: "/src/app.js", limit: 20 }), "/src/app.js");
    assert.equal(summarizeToolInput("Edit", { old_string: "a", new_string: "b", file_path: "/x.swift" }), "/x.swift");
    assert.equal(summarizeToolInput("Write", { content: "hello", path: "notes.md" }), "notes.md");
    assert.equal(summarizeToolInput("MultiEdit", { file_path: "/m.ts", edits: [] }), "/m.ts");
});

test("Grep and Glob: the pattern", () => {
    assert.equal(summarizeToolInput("Grep", { path: "src", pattern: "TODO\\(.*\\)" }), "TODO\\(.*\\)");
    assert.equal(summarizeToolInput("Glob", { pattern: "**/*.swift" }), "**/*.swift");
});

test("WebFetch: the url; web search: the query", () => {
    assert.equal(summarizeToolInput("WebFetch", { prompt: "summarize", url: "https://example.com/a" }), "https://example.com/a");
    assert.equal(summarizeToolInput("WebSearch", { allowed_domains: [], query: "swift nio websocket" }), "swift nio websocket");
    assert.equal(summarizeToolInput("web_search", { query: "postgres notify size" }), "postgres notify size");
});

test("other tools: the first string field", () => {
    assert.equal(summarizeToolInput("TodoWrite", { todos: [{ a: 1 }], title: "Plan" }), "Plan");
    assert.equal(summarizeToolInput("mcp__db__query", { limit: 5, sql: "select 1" }), "select 1");
    assert.equal(summarizeToolInput(undefined, { n: 1, name: "x" }), "x");
});

test("missing fields fall back, never throw", () => {
    assert.equal(summarizeToolInput("Bash", {}), "");
    assert.equal(summarizeToolInput("Bash", { description: "List files" }), "List files");
    assert.equal(summarizeToolInput("Read", { file_path: "" , offset: 3 }), '{"file_path":"","offset":3}');
    assert.equal(summarizeToolInput("Read", null), "");
    assert.equal(summarizeToolInput("Read", undefined), "");
    assert.equal(summarizeToolInput("Grep", { pattern: 42 }), '{"pattern":42}');
    assert.equal(summarizeToolInput("X", "just a string"), "just a string");
    assert.equal(summarizeToolInput("X", [1, 2]), "[1,2]");
    assert.equal(summarizeToolInput("X", 7), "7");
});

test("long and multi-line values: one line, truncated with an ellipsis", () => {
    const long = "echo " + "x".repeat(500);
    const s = summarizeToolInput("Bash", { command: long });
    assert.equal(Array.from(s).length, MAX_SUMMARY);
    assert.ok(s.endsWith("…"));
    assert.equal(summarizeToolInput("Bash", { command: "set -e\n  make\tall\n" }), "set -e make all");
    assert.equal(summarizeToolInput("Bash", { command: "abcdef" }, 4), "abc…");
});

test("truncation never splits a character", () => {
    const s = oneLine("🚀".repeat(200), 10);
    assert.equal(Array.from(s).length, 10);
    assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(s), "no lone high surrogate");
});

test("markup in input stays text (the view sets textContent)", () => {
    assert.equal(summarizeToolInput("Bash", { command: "<script>alert(1)</script>" }), "<script>alert(1)</script>");
});

test("tool kinds are case-insensitive", () => {
    assert.equal(toolKind("BASH"), "shell");
    assert.equal(toolKind("read"), "file");
    assert.equal(toolKind("Unknown"), "other");
    assert.equal(toolKind(null), "other");
});

test("clip: at most 4000 characters and 40 lines", () => {
    assert.deepEqual(clip("short"), { text: "short", clipped: false, totalChars: 5 });
    const many = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
    const c = clip(many);
    assert.equal(c.clipped, true);
    assert.equal(c.text.split("\n").length, 40);
    const big = "y".repeat(10_000);
    assert.equal(clip(big).text.length, 4000);
    assert.equal(clip("😀".repeat(3000), 4001).text.length, 4000, "no split surrogate pair");
    assert.equal(clip(null).text, "");
});

test("durations and elapsed time", () => {
    assert.equal(formatDuration(350), "350 ms");
    assert.equal(formatDuration(1234), "1.2 s");
    assert.equal(formatDuration(65_000), "1m 05s");
    assert.equal(formatDuration(null), "");
    assert.equal(formatElapsed(0), "0s");
    assert.equal(formatElapsed(42_900), "42s");
    assert.equal(formatElapsed(187_000), "3m 07s");
    assert.equal(formatElapsed(3_729_000), "1h 02m 09s");
    assert.equal(formatElapsed(-5), "0s");
});

test("formatRelative, formatCount, formatUsage", async () => {
    const { formatRelative, formatCount, formatUsage } = await import("../js/format.js");
    const now = Date.parse("2026-12-01T12:00:00Z");
    assert.equal(formatRelative("2026-12-01T12:00:00Z", now), "just now");
    assert.equal(formatRelative("2026-12-01T11:59:18Z", now), "42s ago");
    assert.equal(formatRelative("2026-12-01T11:55:00Z", now), "5m ago");
    assert.equal(formatRelative("2026-12-01T09:00:00Z", now), "3h ago");
    assert.equal(formatRelative("2026-11-29T12:00:00Z", now), "2d ago");
    assert.equal(formatRelative("nope", now), "");
    assert.equal(formatCount(950), "950");
    assert.equal(formatCount(1234), "1.23k");
    assert.equal(formatCount(12_345), "12.3k");
    assert.equal(formatCount(2_500_000), "2.5M");
    assert.equal(formatUsage(null), "");
    assert.equal(formatUsage({ model: null, input_tokens: null, output_tokens: null, cost_usd: null }), "");
    assert.equal(formatUsage({ model: "claude-x", input_tokens: 12_345, output_tokens: 1200, cache_read_tokens: 40_000,
        cache_write_tokens: null, cost_usd: 0.0421 }), "12.3k in · 1.2k out · 40k cached · $0.0421 · claude-x");
    assert.equal(formatUsage({ output_tokens: 10, cost_usd: 3.5 }), "10 out · $3.50");
});
