// Unit tests of js/tools.js: node --test deploy/web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { toolView, lineDiff, parsePatch } from "../js/tools.js";

test("TodoWrite is a checklist", () => {
    const v = toolView("TodoWrite", { todos: [
        { content: "Reproduce", status: "completed", activeForm: "Reproducing" },
        { content: "Fix", status: "in_progress" },
        { content: "Test", status: "pending" },
    ] });
    assert.deepEqual(v, { kind: "todo", items: [
        { text: "Reproduce", status: "done" }, { text: "Fix", status: "active" }, { text: "Test", status: "todo" }] });
    // Codex's plan
    assert.deepEqual(toolView("update_plan", { plan: [{ step: "a", status: "completed" }, { step: "b", status: "pending" }] }).items,
        [{ text: "a", status: "done" }, { text: "b", status: "todo" }]);
    // a todo list that is not one falls back to JSON
    assert.equal(toolView("TodoWrite", { todos: [{ nope: 1 }] }).kind, "json");
});

test("Edit is a unified diff", () => {
    const v = toolView("Edit", { file_path: "/a.swift", old_string: "a\nb\nc", new_string: "a\nB\nc\nd" });
    assert.deepEqual(v, { kind: "diff", files: [{ path: "/a.swift", lines: [
        { op: " ", text: "a" }, { op: "-", text: "b" }, { op: "+", text: "B" }, { op: " ", text: "c" }, { op: "+", text: "d" }] }] });
});

test("MultiEdit: one hunk per edit", () => {
    const v = toolView("MultiEdit", { file_path: "x", edits: [{ old_string: "1", new_string: "2" }, { old_string: "3", new_string: "" }] });
    assert.deepEqual(v.files[0].lines, [
        { op: "@", text: "edit 1 of 2" }, { op: "-", text: "1" }, { op: "+", text: "2" },
        { op: "@", text: "edit 2 of 2" }, { op: "-", text: "3" }]);
});

test("apply_patch (Codex) and unified diffs", () => {
    const patch = "*** Begin Patch\n*** Update File: src/a.py\n@@ def f():\n-    return 1\n+    return 2\n*** Add File: b.txt\n+hello\n*** End Patch";
    assert.deepEqual(toolView("apply_patch", { input: patch }), { kind: "diff", files: [
        { path: "src/a.py", lines: [{ op: "@", text: "def f():" }, { op: "-", text: "    return 1" }, { op: "+", text: "    return 2" }] },
        { path: "b.txt", lines: [{ op: "@", text: "new file" }, { op: "+", text: "hello" }] }] });
    assert.deepEqual(parsePatch("--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b"), [
        { path: "x.c", lines: [{ op: "@", text: "-1 +1" }, { op: "-", text: "a" }, { op: "+", text: "b" }] }]);
    // Codex shell-wrapped apply_patch
    const v = toolView("apply_patch", { command: ["apply_patch", patch] });
    assert.equal(v.files[0].path, "src/a.py");
});

test("lineDiff: equal texts, pure additions, big inputs", () => {
    assert.deepEqual(lineDiff("x\ny", "x\ny"), [{ op: " ", text: "x" }, { op: " ", text: "y" }]);
    assert.deepEqual(lineDiff("", "a\nb"), [{ op: "+", text: "a" }, { op: "+", text: "b" }]);
    const big = Array.from({ length: 1000 }, (_, i) => `l${i}`);
    const d = lineDiff(big.join("\n"), big.map((l) => l + "!").join("\n"));
    assert.equal(d.length, 2000);
    assert.equal(d.filter((l) => l.op === "-").length, 1000);
});

test("Bash is a command", () => {
    assert.deepEqual(toolView("Bash", { command: "swift test", description: "Run tests" }),
        { kind: "shell", command: "swift test", description: "Run tests" });
    assert.equal(toolView("shell", { command: ["bash", "-lc", "ls -la"] }).command, "ls -la");
    assert.equal(toolView("exec_command", { cmd: "pwd" }).command, "pwd");
});

test("Read, Write, Grep, Glob: path or pattern", () => {
    assert.deepEqual(toolView("Read", { file_path: "/a.swift", offset: 80, limit: 11 }),
        { kind: "file", verb: "Read", target: "/a.swift", detail: "lines 80–90" });
    assert.deepEqual(toolView("Write", { file_path: "/n.md", content: "hi" }),
        { kind: "file", verb: "Write", target: "/n.md", detail: "hi" });
    assert.deepEqual(toolView("Grep", { pattern: "func subscribe", path: "Sources" }),
        { kind: "file", verb: "Grep", target: "func subscribe", detail: "in Sources" });
    assert.deepEqual(toolView("Glob", { pattern: "**/*.swift" }), { kind: "file", verb: "Glob", target: "**/*.swift", detail: "" });
});

test("unknown tools: pretty JSON", () => {
    assert.deepEqual(toolView("mcp__x__y", { a: 1 }), { kind: "json", text: '{\n  "a": 1\n}' });
    assert.deepEqual(toolView("Read", { nothing: true }).kind, "json");
    assert.deepEqual(toolView("Bash", null), { kind: "json", text: "{}" });
});
