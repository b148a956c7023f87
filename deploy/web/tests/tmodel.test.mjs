// Unit tests of js/tmodel.js (the transcript's rows) and issues.js badgeText: node --test deploy/web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { TranscriptModel, categoriesOf, messageAsText } from "../js/tmodel.js";
import { badgeText } from "../js/issues.js";

const text = (seq, content = `t${seq}`) => ({ seq, type: "text", content });
const use = (seq, tool = "Bash") => ({ seq, type: "tool_use", tool, call_id: `c${seq}`, input: { command: "ls" } });
const result = (seq, of, isErr = false) => ({ seq, type: "tool_result", call_id: `c${of}`, output: "ok", is_error: isErr });
const error = (seq) => ({ seq, type: "error", content: "boom" });
const shape = (rows) => rows.map((r) => (r.kind === "gap" ? `gap ${r.from}-${r.to}` : `${r.type} ${r.msgs.map((m) => m.seq).join(",")}${r.result ? ` +${r.result.seq}` : ""}`));

test("unfetched seqs are gaps; a page fills its range", () => {
    const m = new TranscriptModel({ last: 10 });
    assert.deepEqual(shape(m.rows()), ["gap 1-10"]);
    m.addPage(3, [use(4), result(5, 4), text(6)], true);
    assert.deepEqual(shape(m.rows()), ["gap 1-3", "tool_use 4 +5", "text 6", "gap 7-10"]);
    // seqs missing from a page do not exist
    m.addPage(6, [text(8), text(9)], false);
    assert.deepEqual(shape(m.rows()), ["gap 1-3", "tool_use 4 +5", "text 6", "text 8,9"]);
    assert.equal(m.complete, false);
    m.addPage(0, [text(1), text(2), error(3)], true);
    assert.deepEqual(shape(m.rows()), ["text 1,2", "error 3", "tool_use 4 +5", "text 6", "text 8,9"]);
    assert.equal(m.complete, true);
});

test("a result loaded before its call shows alone, then joins it", () => {
    const m = new TranscriptModel({ last: 4 });
    m.addPage(2, [result(3, 2), text(4)], false);
    assert.deepEqual(shape(m.rows()), ["gap 1-2", "tool_result 3", "text 4"]);
    m.addPage(0, [text(1), use(2)], true);
    assert.deepEqual(shape(m.rows()), ["text 1", "tool_use 2 +3", "text 4"]);
});

test("live messages extend the end, leaving a gap for what was missed", () => {
    const m = new TranscriptModel({ last: 2 });
    m.addPage(0, [text(1), text(2)], false);
    assert.ok(m.addLive([text(3)]));
    assert.deepEqual(shape(m.rows()), ["text 1,2,3"]);
    m.addLive([error(6)]);
    assert.deepEqual(shape(m.rows()), ["text 1,2,3", "gap 4-5", "error 6"]);
    assert.equal(m.addLive([error(6)]), false, "a duplicate changes nothing");
    assert.equal(m.last, 6);
});

test("runs of text stop at other types and at the size limit", () => {
    const m = new TranscriptModel();
    const msgs = [];
    for (let s = 1; s <= 70; s++) msgs.push(text(s));
    msgs.push({ seq: 71, type: "thinking", content: "hm" }, { seq: 72, type: "thinking", content: "hm" });
    m.addPage(0, msgs, false);
    const rows = m.rows();
    assert.equal(rows.length, 3);
    assert.equal(rows[0].msgs.length, 64);
    assert.equal(rows[1].msgs.length, 6);
    assert.equal(rows[2].type, "thinking");
    assert.equal(rows[2].msgs.length, 2);
});

test("filters by category and by tool; gaps stay", () => {
    const m = new TranscriptModel({ last: 9 });
    m.addPage(0, [text(1), use(2, "Bash"), result(3, 2, true), use(4, "Read"), result(5, 4), error(6)], true);
    m.setFilter({ categories: ["errors"] });
    assert.deepEqual(shape(m.rows()), ["tool_use 2 +3", "error 6", "gap 7-9"]);
    m.setFilter({ categories: ["tools"], tool: "Read" });
    assert.deepEqual(shape(m.rows()), ["tool_use 4 +5", "gap 7-9"]);
    m.setFilter({ categories: ["text"] });
    assert.deepEqual(shape(m.rows()), ["text 1", "gap 7-9"]);
    m.setFilter({});
    assert.equal(m.rows().length, 5);
    assert.deepEqual(m.tools, ["Bash", "Read"]);
    assert.deepEqual(categoriesOf(m.rows()[1]), ["tools", "errors"]);
});

test("100,000 messages: a page or a live message derives its chunk, not the task", () => {
    const m = new TranscriptModel({ last: 100_000 });
    for (let after = 0; after < 100_000; after += 1000) {
        const page = [];
        for (let s = after + 1; s <= after + 1000; s++) page.push(s % 4 === 1 ? text(s) : s % 4 === 2 ? use(s) : s % 4 === 3 ? result(s, s - 1) : error(s));
        m.addPage(after, page, after + 1000 < 100_000);
    }
    assert.equal(m.rows().length, 75_000);
    let before = m.derived;
    m.addLive([text(100_001)]);
    assert.equal(m.rows().length, 75_001);
    assert.ok(m.derived - before <= 2, `${m.derived - before} chunks derived`);
    before = m.derived;
    m.setFilter({ categories: ["errors"] });
    assert.equal(m.rows().length, 25_000);
    assert.equal(m.derived, before, "a filter derives nothing again");
    // a result in the next chunk joins its call in the chunk before
    const x = new TranscriptModel({ last: 1001 });
    const page = [];
    for (let s = 1; s < 1000; s++) page.push(text(s, "x"));
    page.push(use(1000), result(1001, 1000, true));
    x.addPage(0, page, false);
    const rows = x.rows();
    assert.equal(rows[rows.length - 1].result.seq, 1001);
    x.setFilter({ categories: ["errors"] });
    assert.deepEqual(x.rows().map((r) => r.seq), [1000]);
});

test("messageAsText", () => {
    assert.equal(messageAsText({ seq: 2, type: "tool_use", tool: "Bash", input: { command: "ls" }, created_at: "2026-12-01T00:00:00Z" }),
        '#2 2026-12-01T00:00:00Z tool_use Bash\n{"command":"ls"}');
    assert.equal(messageAsText({ seq: 3, type: "tool_result", output: "x", is_error: true }), "#3 tool_result (error)\nx");
});

test("issue list badge", () => {
    assert.equal(badgeText([]), "");
    assert.equal(badgeText([{ status: "queued" }]), "queued");
    assert.equal(badgeText([{ status: "queued" }, { status: "queued" }]), "2 queued");
    assert.equal(badgeText([{ status: "running" }]), "agent working");
    assert.equal(badgeText([{ status: "running" }, { status: "dispatched" }, { status: "queued" }]), "2 agents working · 1 queued");
});
