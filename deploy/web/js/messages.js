// messages.js — one task message as DOM (used by the live card and the
// transcript). Every rendered message carries data-seq; a tool_result is shown
// inside the row of its tool_use (same call_id), or alone when it has none.
// Agent output only ever reaches the page as text.

import { h, text } from "./dom.js";
import { clip, formatDuration } from "./format.js";
import { durationMs, isError } from "./merge.js";
import { summarizeToolInput } from "./summary.js";

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
 * Renders one message. Returns a row: {el, seq, msg, callId, count, result}.
 * opts.live: a tool call without a result shows a spinner (else "no result").
 */
export function renderMessage(msg, { live = true } = {}) {
    const row = { el: null, seq: msg.seq, msg, callId: null, count: 1, result: null, live };
    if (msg.type === "tool_use") return renderToolUse(row);
    if (msg.type === "tool_result") return renderOrphanResult(row);
    const error = msg.type === "error";
    row.el = h(
        "li",
        { class: ["msg", error ? "msg-error" : "msg-text"], data: { seq: msg.seq, type: msg.type } },
        error ? h("span", { class: "msg-label", text: "Error" }) : null,
        clippedBlock(msg.content ?? msg.output ?? ""),
    );
    return row;
}

function renderToolUse(row) {
    const msg = row.msg;
    row.callId = msg.call_id ?? null;
    const status = h("span", { class: "tool-status" });
    const details = h(
        "details",
        { class: "tool" },
        h(
            "summary",
            { class: "tool-head" },
            h("span", { class: "tool-name", text: msg.tool || "tool" }),
            h("span", { class: "tool-arg", text: summarizeToolInput(msg.tool, msg.input) }),
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
    details.addEventListener("toggle", () => {
        if (!details.open || filled) return;
        filled = true;
        inputBox.append(sectionTitle("Input"), clippedBlock(prettyJson(msg.input ?? {}), "code"));
        if (row.result) fillResult(row);
    });
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
    row.resultBox.append(
        sectionTitle(result.is_error ? "Result (error)" : "Result"),
        clippedBlock(result.output ?? result.content ?? "", "code"),
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
 * Appends released messages to a list, pairing results with their calls.
 * rowsByCall: Map call_id → row (rows currently rendered).
 * Returns the new rows (results attached to an existing row return none).
 */
export function placeMessage(msg, rowsByCall, opts) {
    if (msg.type === "tool_result" && msg.call_id != null) {
        const row = rowsByCall.get(msg.call_id);
        if (row && row.msg.seq < msg.seq && attachResult(row, msg)) return null;
    }
    const row = renderMessage(msg, opts);
    if (row.callId != null && !rowsByCall.has(row.callId)) rowsByCall.set(row.callId, row);
    return row;
}
