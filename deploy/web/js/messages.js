// messages.js — task messages as DOM rows (used by the live card and the
// transcript). Every rendered message carries data-seq and data-type; a
// tool_result is shown inside the row of its tool_use (same call_id), or alone
// when it has none; consecutive text (or thinking) messages share one row, read
// as one paragraph (prose.js). Agent output only ever reaches the page as text.

import { h, text } from "./dom.js";
import { clip, formatDuration } from "./format.js";
import { durationMs, isError } from "./merge.js";
import { firstWords, renderMarkdown, renderRaw } from "./prose.js";
import { summarizeToolInput } from "./summary.js";
import { RUN_MAX_CHARS, RUN_MAX_MESSAGES } from "./tmodel.js";
import { toolView } from "./tools.js";

const DIFF_MAX_LINES = 400;

function asText(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    try {
        return JSON.stringify(value, null, 2);
    } catch {
        return String(value);
    }
}

function prettyJson(value) {
    if (value === undefined) return "";
    try {
        return JSON.stringify(value, null, 2);
    } catch {
        return String(value);
    }
}

/** A preformatted block, clipped (4000 chars / 40 lines) with a "Show all" button. */
export function clippedBlock(value, className = "") {
    const full = asText(value);
    const { text: shown, clipped, totalChars } = clip(full);
    const pre = h("div", { class: ["pre", className], text: shown });
    if (!clipped) return h("div", { class: "clip" }, pre);
    const more = h("button", {
        type: "button",
        class: "link-button show-all",
        text: `Show all (${totalChars.toLocaleString()} characters)`,
    });
    const wrap = h("div", { class: "clip is-clipped" }, pre, more);
    more.addEventListener("click", () => {
        pre.textContent = full;
        wrap.classList.remove("is-clipped");
        more.remove();
    });
    return wrap;
}

function sectionTitle(label) {
    return h("div", { class: "tool-section-title", text: label });
}

/**
 * Renders one message. Returns a row: {el, seq, lastSeq, msg, msgs, callId, count, result}.
 * opts.live: a tool call without a result shows a spinner (else "no result").
 */
export function renderMessage(msg, { live = true } = {}) {
    const row = { el: null, seq: msg.seq, lastSeq: msg.seq, msg, msgs: [msg], callId: null, count: 1, result: null, live };
    if (msg.type === "tool_use") return renderToolUse(row);
    if (msg.type === "tool_result") return renderOrphanResult(row);
    if (msg.type === "text") return renderTextRun(row);
    if (msg.type === "thinking") return renderThinkingRun(row);
    const error = msg.type === "error";
    row.el = h(
        "li",
        { class: ["msg", error ? "msg-error" : "msg-other"], data: { seq: msg.seq, type: msg.type } },
        h("span", { class: "msg-label", text: error ? "Error" : String(msg.type ?? "message") }),
        clippedBlock(msg.content ?? msg.output ?? ""),
    );
    return row;
}

// ---- text and thinking runs

let rawPreferred = false; // the last choice of the Raw toggle, for new rows

function renderTextRun(row) {
    row.body = h("div", { class: "prose-body" });
    row.raw = rawPreferred;
    row.toggle = h("button", { type: "button", class: "link-button prose-toggle", "aria-pressed": "false", text: "Raw" });
    row.toggle.addEventListener("click", () => {
        row.raw = !row.raw;
        rawPreferred = row.raw;
        fillTextRun(row);
    });
    row.el = h("li", { class: "msg msg-text" }, row.body, row.toggle);
    fillTextRun(row);
    return row;
}

function fillTextRun(row) {
    row.body.replaceChildren(row.raw ? renderRaw(row.msgs) : renderMarkdown(row.msgs));
    row.toggle.setAttribute("aria-pressed", String(row.raw));
    text(row.toggle, row.raw ? "Formatted" : "Raw");
    row.toggle.title = row.raw ? "Show as formatted Markdown" : "Show the raw text";
}

function renderThinkingRun(row) {
    row.preview = h("span", { class: "thinking-preview" });
    row.body = h("div", { class: "thinking-body" });
    row.el = h(
        "li",
        { class: "msg msg-thinking" },
        h("details", { class: "thinking" },
            h("summary", { class: "thinking-head" }, h("span", { class: "thinking-label", text: "Thinking…" }), row.preview),
            row.body),
    );
    fillThinkingRun(row);
    return row;
}

function fillThinkingRun(row) {
    text(row.preview, firstWords(row.msgs));
    row.body.replaceChildren(renderRaw(row.msgs, "thinking-text pre"));
}

/** Whether msg continues row's run of text (or thinking): the next seq, same type, not too long. */
export function continuesRun(row, msg) {
    if (!row || !row.msgs || row.msgs.length >= RUN_MAX_MESSAGES) return false;
    if (msg.type !== row.msg.type || (msg.type !== "text" && msg.type !== "thinking")) return false;
    if (msg.seq !== row.lastSeq + 1) return false;
    let chars = 0;
    for (const m of row.msgs) chars += String(m.content ?? "").length;
    return chars < RUN_MAX_CHARS;
}

/** A row for several messages at once: a run (msgs) and a tool call's result. */
export function renderRow(msgs, result, opts) {
    const row = renderMessage(msgs[0], opts);
    if (msgs.length > 1) {
        for (const m of msgs.slice(1)) row.msgs.push(m);
        row.lastSeq = msgs[msgs.length - 1].seq;
        row.count = msgs.length;
        if (row.msg.type === "text") fillTextRun(row);
        else if (row.msg.type === "thinking") fillThinkingRun(row);
    }
    if (result && row.msg.type === "tool_use") attachResult(row, result);
    return row;
}

/** Adds msg (continuesRun was true) to its run's row and renders the row again. */
export function extendRun(row, msg) {
    row.msgs.push(msg);
    row.lastSeq = msg.seq;
    row.count += 1;
    if (msg.type === "text") fillTextRun(row);
    else fillThinkingRun(row);
}

function diffStat(view) {
    let add = 0;
    let del = 0;
    for (const f of view.files) for (const l of f.lines) {
        if (l.op === "+") add++;
        else if (l.op === "-") del++;
    }
    return `+${add} −${del}`;
}

function todoSummary(view) {
    const done = view.items.filter((it) => it.status === "done").length;
    const active = view.items.find((it) => it.status === "active");
    return `${done} of ${view.items.length} done${active ? ` · ${active.text}` : ""}`;
}

/** The readable view of a tool call (tools.js) as DOM. */
export function toolViewEl(view) {
    switch (view.kind) {
        case "todo":
            return h("ul", { class: "checklist", "aria-label": "To-do list" },
                view.items.map((it) => h("li", { class: ["todo", `todo-${it.status}`] },
                    h("span", { class: "todo-mark", role: "img", "aria-label": it.status === "done" ? "done" : it.status === "active" ? "in progress" : "to do",
                        text: it.status === "done" ? "☑" : it.status === "active" ? "◐" : "☐" }),
                    h("span", { class: "todo-text", text: it.text }))));
        case "diff":
            return h("div", { class: "diff" }, view.files.map((f) => {
                const lines = f.lines.slice(0, DIFF_MAX_LINES);
                return h("div", { class: "diff-file" },
                    f.path ? h("div", { class: "diff-path", text: f.path }) : null,
                    h("pre", { class: "diff-lines" }, lines.map((l) => h("span", {
                        class: ["diff-line", { "+": "diff-add", "-": "diff-del", "@": "diff-hunk" }[l.op] || "diff-ctx"],
                        text: `${l.op === "@" ? "@@ " : l.op}${l.text}\n`,
                    }))),
                    f.lines.length > lines.length ? h("p", { class: "muted", text: `${(f.lines.length - lines.length).toLocaleString()} more lines in the JSON below` }) : null);
            }));
        case "shell":
            return h("div", { class: "tool-shell" },
                view.description ? h("div", { class: "tool-shell-desc", text: view.description }) : null,
                h("div", { class: "pre code shell-command" }, h("span", { class: "shell-prompt", "aria-hidden": "true", text: "$ " }), view.command));
        case "file":
            return h("div", { class: "tool-file" },
                h("span", { class: "tool-file-verb", text: view.verb }), " ",
                h("code", { class: "tool-file-target", text: view.target }),
                view.detail && view.detail.length <= 120 && !view.detail.includes("\n") ? h("span", { class: "tool-file-detail", text: ` ${view.detail}` }) : null,
                view.detail && (view.detail.length > 120 || view.detail.includes("\n")) ? clippedBlock(view.detail, "code") : null);
        default:
            return clippedBlock(view.text, "code");
    }
}

function renderToolUse(row) {
    const msg = row.msg;
    row.callId = msg.call_id ?? null;
    const view = toolView(msg.tool, msg.input);
    row.view = view;
    const status = h("span", { class: "tool-status" });
    const arg = view.kind === "diff" ? `${summarizeToolInput(msg.tool, msg.input)} (${diffStat(view)})`
        : view.kind === "todo" ? todoSummary(view)
        : summarizeToolInput(msg.tool, msg.input);
    const details = h(
        "details",
        { class: ["tool", `tool-kind-${view.kind}`] },
        h(
            "summary",
            { class: "tool-head" },
            h("span", { class: "tool-name", text: msg.tool || "tool" }),
            h("span", { class: "tool-arg", text: arg }),
            status,
        ),
    );
    const body = h("div", { class: "tool-body" });
    const inputBox = h("div", { class: "tool-input" });
    body.append(inputBox);
    details.append(body);
    row.status = status;
    row.body = body;
    row.el = h("li", { class: "msg msg-tool", data: { seq: msg.seq, type: "tool_use" } }, details);
    // The full input and output are built when first opened: a closed row stays cheap.
    let filled = false;
    const fill = () => {
        if (filled) return;
        filled = true;
        inputBox.append(toolViewEl(view));
        if (view.kind !== "json") {
            inputBox.append(h("details", { class: "tool-raw" }, h("summary", { text: "Input as JSON" }),
                clippedBlock(prettyJson(msg.input ?? {}), "code")));
        }
        if (row.result) fillResult(row);
    };
    details.addEventListener("toggle", () => {
        if (details.open) fill();
    });
    // A to-do list is short and is the plan: shown open.
    if (view.kind === "todo") {
        details.open = true;
        fill();
    }
    row.isOpen = () => filled;
    setRunning(row);
    return row;
}

function setRunning(row) {
    if (row.live) {
        row.el.classList.add("is-running");
        text(row.status, "");
        row.status.append(
            h("span", { class: "spinner", "aria-hidden": "true" }),
            h("span", { class: "visually-hidden", text: "running" }),
        );
    } else {
        text(row.status, "no result");
    }
}

function fillResult(row) {
    const result = row.result;
    if (!row.resultBox || row.resultBox.dataset.filled) return;
    row.resultBox.dataset.filled = "1";
    const shell = row.view?.kind === "shell";
    row.resultBox.append(
        sectionTitle(result.is_error ? (shell ? "Output (error)" : "Result (error)") : shell ? "Output" : "Result"),
        clippedBlock(result.output ?? result.content ?? "", shell ? "code terminal" : "code"),
    );
}

/** Shows result (a tool_result with the row's call_id) in a tool_use row. */
export function attachResult(row, result) {
    if (row.result) return false;
    row.result = result;
    row.count += 1;
    const ms = durationMs(row.msg, result);
    const failed = isError(result);
    row.el.classList.remove("is-running");
    if (failed) row.el.classList.add("is-error");
    text(row.status, [failed ? "failed" : "", formatDuration(ms)].filter(Boolean).join(" · ") || "done");
    row.resultBox = h("div", { class: "tool-result", data: { seq: result.seq, type: "tool_result" } });
    row.body.append(row.resultBox);
    if (row.isOpen()) fillResult(row);
    return true;
}

/** The task ended: a call still waiting for its result stops spinning. */
export function endRunning(row) {
    if (row.msg.type === "tool_use" && !row.result) {
        row.live = false;
        row.el.classList.remove("is-running");
        text(row.status, "no result");
    }
}

function renderOrphanResult(row) {
    const msg = row.msg;
    const failed = isError(msg);
    const out = asText(msg.output ?? msg.content ?? "");
    row.el = h(
        "li",
        { class: ["msg", "msg-tool", "msg-orphan", failed && "is-error"], data: { seq: msg.seq, type: "tool_result" } },
        h(
            "details",
            { class: "tool" },
            h(
                "summary",
                { class: "tool-head" },
                h("span", { class: "tool-name", text: `${msg.tool || "tool"} result` }),
                h("span", { class: "tool-arg", text: summarizeToolInput(null, out) }),
                h("span", { class: "tool-status", text: failed ? "failed" : "" }),
            ),
            h("div", { class: "tool-body" }, clippedBlock(out, "code")),
        ),
    );
    return row;
}

/**
 * Places one released message. rowsByCall: Map call_id → row (rows currently
 * rendered); last: the row rendered last (a text run may continue it).
 * Returns a new row, or null when msg joined an existing row (a result attached
 * to its call, text continuing the last run).
 */
export function placeMessage(msg, rowsByCall, opts, last = null) {
    if (msg.type === "tool_result" && msg.call_id != null) {
        const row = rowsByCall.get(msg.call_id);
        if (row && row.msg.seq < msg.seq && attachResult(row, msg)) return null;
    }
    if (last && continuesRun(last, msg)) {
        extendRun(last, msg);
        return null;
    }
    const row = renderMessage(msg, opts);
    if (row.callId != null && !rowsByCall.has(row.callId)) rowsByCall.set(row.callId, row);
    return row;
}
