// Unit tests of js/merge.js (the message store): node --test deploy/web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageStore, durationMs, isError } from "../js/merge.js";

const m = (seq, extra = {}) => ({ task_id: "t", seq, type: "text", content: `m${seq}`, ...extra });
const seqs = (released) => released.map((r) => r.msg.seq);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test("in-order messages are released at once, in order", () => {
    const s = new MessageStore();
    assert.deepEqual(seqs(s.addMany([m(1), m(2), m(3)])), [1, 2, 3]);
    assert.equal(s.frontier, 3);
    assert.equal(s.hasGap(), false);
    assert.deepEqual(s.messages.map((x) => x.seq), [1, 2, 3]);
});

test("duplicates are dropped, live and from pages", () => {
    const s = new MessageStore();
    s.addMany([m(1), m(2)]);
    assert.deepEqual(seqs(s.add(m(2))), []);
    assert.deepEqual(seqs(s.add(m(1))), []);
    assert.deepEqual(seqs(s.addPage(0, [m(1), m(2), m(3)], false)), [3]);
    assert.deepEqual(seqs(s.addPage(0, [m(1), m(2), m(3)], false)), []);
    assert.equal(s.released, 3);
});

test("a duplicate of a pending (out-of-order) message is dropped", () => {
    const s = new MessageStore();
    s.add(m(3));
    s.add(m(3));
    assert.equal(s.pendingCount, 1);
    assert.deepEqual(seqs(s.addMany([m(1), m(2)])), [1, 2, 3]);
});

test("out-of-order frames are released in seq order", () => {
    const s = new MessageStore();
    assert.deepEqual(seqs(s.add(m(2))), []);
    assert.deepEqual(seqs(s.add(m(4))), []);
    assert.equal(s.hasGap(), true);
    assert.deepEqual(seqs(s.add(m(1))), [1, 2]);
    assert.deepEqual(seqs(s.add(m(3))), [3, 4]);
    assert.equal(s.frontier, 4);
    assert.equal(s.hasGap(), false);
});

test("a gap is filled by a catch-up page, live and page merged without duplicates", () => {
    const s = new MessageStore();
    s.addMany([m(1), m(2)]);
    s.add(m(6)); // live frame beyond last+1: a gap
    assert.equal(s.hasGap(), true);
    assert.equal(s.frontier, 2); // fetch after=2
    const released = s.addPage(2, [m(3), m(4), m(5), m(6)], false);
    assert.deepEqual(seqs(released), [3, 4, 5, 6]);
    assert.deepEqual(s.messages.map((x) => x.seq), range(1, 6));
    assert.equal(s.hasGap(), false);
});

test("catch-up paging: pages plus live frames arriving meanwhile give 1..N once", () => {
    const s = new MessageStore();
    const out = [];
    out.push(...seqs(s.add(m(1001)))); // live, while the first page is in flight
    out.push(...seqs(s.addPage(0, range(1, 500).map((i) => m(i)), true)));
    out.push(...seqs(s.add(m(1002))));
    out.push(...seqs(s.addPage(500, range(501, 1000).map((i) => m(i)), true)));
    out.push(...seqs(s.addPage(1000, range(1001, 1002).map((i) => m(i)), false)));
    assert.deepEqual(out, range(1, 1002));
    assert.equal(s.frontier, 1002);
});

test("seqs a page proves missing are skipped, so rendering is not blocked", () => {
    const s = new MessageStore();
    s.addMany([m(1), m(2)]);
    s.add(m(7));
    // the server has 3 and 7 only (4..6 were never stored)
    assert.deepEqual(seqs(s.addPage(2, [m(3), m(7)], false)), [3, 7]);
    assert.equal(s.frontier, 7);
    assert.equal(s.hasGap(), false);
    assert.equal(s.has(5), false);
    // should one turn up later anyway, it is released once, as late
    const late = s.add(m(5));
    assert.deepEqual(seqs(late), [5]);
    assert.equal(late[0].late, true);
    assert.deepEqual(s.messages.map((x) => x.seq), [1, 2, 3, 5, 7]);
    assert.deepEqual(seqs(s.add(m(5))), []);
});

test("an empty last page with pending messages releases them (nothing below exists)", () => {
    const s = new MessageStore();
    s.add(m(1));
    s.add(m(4));
    assert.deepEqual(seqs(s.addPage(1, [], false)), [4]);
    assert.equal(s.frontier, 4);
});

test("a page with has_more does not skip beyond what it returned", () => {
    const s = new MessageStore();
    s.add(m(10));
    assert.deepEqual(seqs(s.addPage(0, [m(1), m(2)], true)), [1, 2]);
    assert.equal(s.frontier, 2);
    assert.equal(s.hasGap(), true);
});

test("a huge seq jump does not loop per missing seq", () => {
    const s = new MessageStore();
    s.add(m(1));
    s.add(m(1e12));
    const t = Date.now();
    assert.deepEqual(seqs(s.addPage(1, [m(1e12)], false)), [1e12]);
    assert.ok(Date.now() - t < 200);
});

test("invalid seqs are ignored", () => {
    const s = new MessageStore();
    for (const seq of [0, -1, 1.5, "1", null, undefined, NaN]) assert.deepEqual(s.add(m(seq)), []);
    assert.deepEqual(s.add(null), []);
    assert.equal(s.released, 0);
});

test("tool_use and tool_result are paired by call_id, duration from created_at", () => {
    const s = new MessageStore();
    const use = m(1, { type: "tool_use", tool: "Bash", call_id: "c1", input: { command: "ls" }, created_at: "2026-01-01T00:00:00.000Z" });
    const other = m(2, { type: "tool_use", tool: "Read", call_id: "c2", input: {}, created_at: "2026-01-01T00:00:00.500Z" });
    const res = m(3, { type: "tool_result", call_id: "c1", output: "x", created_at: "2026-01-01T00:00:01.250Z" });
    s.addMany([use, other, res]);
    assert.equal(s.useFor(res), use);
    assert.equal(s.resultFor(use), res);
    assert.equal(s.resultFor(other), null);
    assert.equal(durationMs(use, res), 1250);
    assert.equal(durationMs(use, { created_at: "nonsense" }), null);
    assert.equal(durationMs(res, use), 0, "never negative");
    assert.equal(s.useFor(m(9, { type: "tool_result" })), null, "no call_id: no pair");
});

test("a result arriving before its call is paired once both are released", () => {
    const s = new MessageStore();
    const res = m(2, { type: "tool_result", call_id: "k", output: "ok" });
    const use = m(1, { type: "tool_use", tool: "Grep", call_id: "k", input: { pattern: "x" } });
    assert.deepEqual(seqs(s.add(res)), []);
    assert.deepEqual(seqs(s.add(use)), [1, 2]);
    assert.equal(s.useFor(res), use);
});

test("errors: type error, or a tool_result with is_error", () => {
    assert.equal(isError(m(1, { type: "error" })), true);
    assert.equal(isError(m(1, { type: "tool_result", is_error: true })), true);
    assert.equal(isError(m(1, { type: "tool_result", is_error: false })), false);
    assert.equal(isError(m(1)), false);
});

test("bounded window: only the last windowSize messages are kept, the rest counted", () => {
    const s = new MessageStore({ windowSize: 1500 });
    const released = [];
    for (let i = 1; i <= 20_000; i += 500) released.push(...s.addPage(i - 1, range(i, i + 499).map((k) => m(k)), i + 499 < 20_000));
    assert.equal(released.length, 20_000, "every message released once");
    assert.deepEqual(released.map((r) => r.msg.seq), range(1, 20_000));
    assert.equal(s.messages.length, 1500);
    assert.equal(s.messages[0].seq, 18_501);
    assert.equal(s.dropped, 18_500);
    assert.equal(s.frontier, 20_000);
    // evicted messages still count as held: no duplicates after eviction
    assert.deepEqual(s.add(m(3)), []);
    assert.equal(s.has(3), true);
});

test("bounded window: pairing forgets evicted calls", () => {
    const s = new MessageStore({ windowSize: 3 });
    const use = m(1, { type: "tool_use", call_id: "old" });
    s.addMany([use, m(2), m(3), m(4)]);
    const res = m(5, { type: "tool_result", call_id: "old" });
    s.add(res);
    assert.equal(s.useFor(res), null);
    assert.deepEqual(s.messages.map((x) => x.seq), [3, 4, 5]);
});

test("20,000 messages at once stay fast", () => {
    const s = new MessageStore({ windowSize: 2000 });
    const msgs = range(1, 20_000).map((i) => m(i));
    msgs.reverse(); // worst order
    const t = Date.now();
    const released = s.addMany(msgs);
    assert.equal(released.length, 20_000);
    assert.deepEqual(released.slice(0, 3).map((r) => r.msg.seq), [1, 2, 3]);
    assert.ok(Date.now() - t < 1000, `took ${Date.now() - t} ms`);
});
