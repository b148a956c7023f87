// tools.js — what a tool call is, in a shape people read at a glance (pure: no
// DOM). toolView(tool, input) → one of
//   {kind: "todo",  items: [{text, status: "done" | "active" | "todo"}]}
//   {kind: "diff",  files: [{path, lines: [{op: " " | "-" | "+" | "@", text}]}]}
//   {kind: "shell", command, description}
//   {kind: "file",  verb, target, detail}      Read/Write/Grep/Glob…: path or pattern
//   {kind: "json",  text}                      anything else: the input, pretty
// messages.js turns the view into DOM; the result (terminal output, file
// contents) is shown under it.

import { toolKind } from "./summary.js";

const TODO = new Set(["todowrite", "todo_write", "update_plan", "todo_list", "todo", "todos", "write_todos"]);
const EDIT = new Set(["edit", "str_replace", "str_replace_editor", "edit_file", "replace"]);
const MULTI = new Set(["multiedit", "multi_edit"]);
const PATCH = new Set(["apply_patch", "patch", "applypatch"]);
const DIFF_CELLS = 250_000; // old × new lines above which the diff is not minimal

function lower(tool) {
    return String(tool ?? "").trim().toLowerCase();
}

function pretty(value) {
    if (value === undefined) return "";
    try {
        return JSON.stringify(value, null, 2) ?? String(value);
    } catch {
        return String(value);
    }
}

const str = (v) => (typeof v === "string" ? v : null);

function todoStatus(item) {
    const s = lower(item?.status ?? (item?.completed === true ? "completed" : item?.done === true ? "completed" : ""));
    if (s === "completed" || s === "done" || s === "complete") return "done";
    if (s === "in_progress" || s === "in-progress" || s === "active" || s === "running") return "active";
    return "todo";
}

function todoItems(input) {
    const list = Array.isArray(input?.todos) ? input.todos
        : Array.isArray(input?.plan) ? input.plan
        : Array.isArray(input?.items) ? input.items
        : null;
    if (!list) return null;
    const items = [];
    for (const it of list) {
        const text = typeof it === "string" ? it : str(it?.content) ?? str(it?.step) ?? str(it?.text) ?? str(it?.title);
        if (text === null) return null;
        items.push({ text, status: typeof it === "string" ? "todo" : todoStatus(it) });
    }
    return items;
}

function splitLines(text) {
    const s = String(text ?? "");
    if (s === "") return [];
    const out = s.split("\n");
    if (out[out.length - 1] === "") out.pop();
    return out;
}

/** Line diff of two texts: [{op: " " | "-" | "+", text}] (LCS; prefix/suffix first). */
export function lineDiff(oldText, newText) {
    const a = splitLines(oldText);
    const b = splitLines(newText);
    let pre = 0;
    while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
    let suf = 0;
    while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
    const head = a.slice(0, pre).map((text) => ({ op: " ", text }));
    const tail = a.slice(a.length - suf).map((text) => ({ op: " ", text }));
    const x = a.slice(pre, a.length - suf);
    const y = b.slice(pre, b.length - suf);
    let mid;
    if (x.length * y.length > DIFF_CELLS) {
        mid = [...x.map((text) => ({ op: "-", text })), ...y.map((text) => ({ op: "+", text }))];
    } else {
        // lcs[i][j]: the LCS length of x[i..] and y[j..]
        const w = y.length + 1;
        const lcs = new Uint32Array((x.length + 1) * w);
        for (let i = x.length - 1; i >= 0; i--) {
            for (let j = y.length - 1; j >= 0; j--) {
                lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
            }
        }
        mid = [];
        let i = 0;
        let j = 0;
        while (i < x.length || j < y.length) {
            if (i < x.length && j < y.length && x[i] === y[j]) {
                mid.push({ op: " ", text: x[i] });
                i++;
                j++;
            } else if (i < x.length && (j === y.length || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
                mid.push({ op: "-", text: x[i++] }); // removals before additions, as diff does
            } else {
                mid.push({ op: "+", text: y[j++] });
            }
        }
    }
    return [...head, ...mid, ...tail];
}

function patchText(input) {
    if (typeof input === "string") return input;
    for (const key of ["patch", "input", "diff", "content"]) if (typeof input?.[key] === "string") return input[key];
    if (Array.isArray(input?.command)) {
        const s = input.command.find((p) => typeof p === "string" && /\*\*\* Begin Patch|^(---|\+\+\+|@@) /m.test(p));
        if (s) return s;
    }
    return null;
}

/** A patch (Codex apply_patch "*** Update File:" or unified diff) → files of lines. */
export function parsePatch(text) {
    const files = [];
    let file = null;
    const open = (path) => {
        file = { path, lines: [] };
        files.push(file);
    };
    for (const line of String(text).split("\n")) {
        let m;
        if (/^\*\*\* (Begin|End) Patch/.test(line) || line === "*** End of File") continue;
        if ((m = /^\*\*\* (Update|Add|Delete) File: (.*)$/.exec(line))) {
            open(m[2].trim());
            if (m[1] !== "Update") file.lines.push({ op: "@", text: m[1] === "Add" ? "new file" : "deleted file" });
            continue;
        }
        if ((m = /^\*\*\* Move to: (.*)$/.exec(line))) {
            if (file) file.lines.push({ op: "@", text: `moved to ${m[1].trim()}` });
            continue;
        }
        if (/^diff --git /.test(line) || /^index [0-9a-f]/.test(line)) continue;
        if ((m = /^--- (?:a\/)?(.*)$/.exec(line)) && !file?.lines.length) {
            if (!file) open(m[1] === "/dev/null" ? "" : m[1].trim());
            continue;
        }
        if ((m = /^\+\+\+ (?:b\/)?(.*)$/.exec(line)) && file && !file.lines.length) {
            if (m[1] !== "/dev/null") file.path = m[1].trim();
            continue;
        }
        if (!file) open("");
        if (line.startsWith("@@")) file.lines.push({ op: "@", text: line.replace(/^@@ ?/, "").replace(/ ?@@$/, "") });
        else if (line[0] === "+" || line[0] === "-" || line[0] === " ") file.lines.push({ op: line[0], text: line.slice(1) });
        else if (line !== "") file.lines.push({ op: " ", text: line });
    }
    return files.filter((f) => f.path || f.lines.length);
}

const FILE_KEYS = ["file_path", "path", "notebook_path", "filename", "file"];
const pickKey = (input, keys) => {
    for (const k of keys) if (typeof input?.[k] === "string" && input[k] !== "") return input[k];
    return null;
};

function commandOf(input) {
    const c = input?.command ?? input?.cmd ?? input?.script;
    if (Array.isArray(c)) {
        const parts = c.map(String);
        if (parts.length === 3 && /^(ba|z|da)?sh$/.test(parts[0].split("/").pop()) && /^-l?c$/.test(parts[1])) return parts[2];
        return parts.join(" ");
    }
    return typeof c === "string" ? c : null;
}

/** The readable view of a tool call (see the top of this file). */
export function toolView(tool, input) {
    const t = lower(tool);
    const obj = input && typeof input === "object" && !Array.isArray(input) ? input : null;
    if (TODO.has(t) || (obj && Array.isArray(obj.todos))) {
        const items = todoItems(obj);
        if (items) return { kind: "todo", items };
    }
    if (EDIT.has(t) && obj && (typeof obj.old_string === "string" || typeof obj.new_string === "string")) {
        return { kind: "diff", files: [{ path: pickKey(obj, FILE_KEYS) ?? "", lines: lineDiff(obj.old_string ?? "", obj.new_string ?? "") }] };
    }
    if (MULTI.has(t) && obj && Array.isArray(obj.edits)) {
        const lines = [];
        obj.edits.forEach((ed, i) => {
            if (i > 0 || obj.edits.length > 1) lines.push({ op: "@", text: `edit ${i + 1} of ${obj.edits.length}` });
            lines.push(...lineDiff(ed?.old_string ?? "", ed?.new_string ?? ""));
        });
        return { kind: "diff", files: [{ path: pickKey(obj, FILE_KEYS) ?? "", lines }] };
    }
    if (PATCH.has(t)) {
        const text = patchText(input);
        if (text !== null) return { kind: "diff", files: parsePatch(text) };
    }
    const kind = toolKind(tool);
    if (kind === "shell") {
        const command = typeof input === "string" ? input : commandOf(obj);
        if (command !== null) return { kind: "shell", command, description: str(obj?.description) ?? "" };
    }
    if (obj && (kind === "file" || kind === "pattern")) {
        const verb = String(tool);
        if (kind === "file") {
            const target = pickKey(obj, FILE_KEYS);
            if (target !== null) {
                const range = obj.offset != null || obj.limit != null
                    ? `lines ${obj.offset ?? 1}${obj.limit != null ? `–${(obj.offset ?? 1) + obj.limit - 1}` : "+"}` : "";
                return { kind: "file", verb, target, detail: str(obj.content) ?? range };
            }
        } else {
            const target = pickKey(obj, ["pattern", "glob", "query"]);
            if (target !== null) {
                const where = pickKey(obj, ["path", "include", "glob", "type"]);
                return { kind: "file", verb, target, detail: where && where !== target ? `in ${where}` : "" };
            }
        }
    }
    return { kind: "json", text: pretty(input ?? {}) };
}
