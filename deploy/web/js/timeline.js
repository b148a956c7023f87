// timeline.js — an issue's history, oldest first: comments, task queued, and
// each finished run with its agent, outcome, duration, usage (tokens, cost),
// result (output, pull request, error), a "View transcript" button and, for a
// failed or cancelled run, "Retry".

import { h, safeUrl, set } from "./dom.js";
import { formatElapsed, formatTime, formatUsage } from "./format.js";
import { clippedBlock } from "./messages.js";

function when(iso) {
    return h("time", { class: "tl-time", datetime: iso || "", text: formatTime(iso) });
}

function taskRan(task) {
    const a = Date.parse(task.started_at || task.dispatched_at || "");
    const b = Date.parse(task.finished_at || "");
    return Number.isNaN(a) || Number.isNaN(b) ? "" : `ran ${formatElapsed(b - a)}`;
}

function transcriptButton(task, onTranscript) {
    const n = task.last_seq || 0;
    const btn = h("button", {
        type: "button",
        class: "button button-small tl-transcript",
        text: n ? `View transcript (${n.toLocaleString()} message${n === 1 ? "" : "s"})` : "View transcript",
    });
    btn.addEventListener("click", () => onTranscript(task));
    return btn;
}

function usageLine(task) {
    const u = formatUsage(task.usage);
    return u ? h("div", { class: "tl-usage", text: u }) : null;
}

function retryButton(task, onRetry) {
    if (!onRetry) return null;
    const btn = h("button", { type: "button", class: "button button-small tl-retry", text: "Retry",
        "aria-label": "Retry this run with the same agent" });
    btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
            await onRetry(task);
        } finally {
            btn.disabled = false;
        }
    });
    return btn;
}

function entryView(entry, { agentName, onTranscript, onRetry }) {
    const task = entry.task;
    const agent = task ? task.agent_name || agentName(task.agent_id) : "";
    switch (entry.kind) {
        case "comment": {
            const c = entry.comment || {};
            return h(
                "li",
                { class: "tl-entry tl-comment" },
                h("div", { class: "tl-head" }, h("strong", { text: c.author?.name || "Someone" }), " commented ", when(c.created_at)),
                h("div", { class: "tl-body pre", text: c.content || "" }),
            );
        }
        case "task_queued":
            return h(
                "li",
                { class: "tl-entry tl-event" },
                h("div", { class: "tl-head" }, "Assigned to ", h("strong", { text: agent }), " ", when(entry.created_at)),
            );
        case "task_completed": {
            const pr = task.pr_url ? safeUrl(task.pr_url) : null;
            return h(
                "li",
                { class: "tl-entry tl-result tl-completed", data: { taskId: task.id, outcome: "completed" } },
                h("div", { class: "tl-head" }, h("strong", { text: agent }), " completed the task ", when(entry.created_at),
                    h("span", { class: "tl-meta", text: taskRan(task) })),
                usageLine(task),
                task.output ? clippedBlock(task.output, "tl-output") : null,
                h("div", { class: "tl-actions" },
                    pr ? h("a", { href: pr, class: "button button-small", rel: "noopener noreferrer", target: "_blank", text: "Open pull request" }) : null,
                    transcriptButton(task, onTranscript)),
            );
        }
        case "task_failed":
        case "task_cancelled": {
            const failed = entry.kind === "task_failed";
            return h(
                "li",
                { class: ["tl-entry", "tl-result", failed ? "tl-failed" : "tl-cancelled"], data: { taskId: task.id, outcome: failed ? "failed" : "cancelled" } },
                h("div", { class: "tl-head" },
                    failed ? [h("strong", { text: agent }), " failed "] : ["Task for ", h("strong", { text: agent }), " was cancelled "],
                    when(entry.created_at), h("span", { class: "tl-meta", text: taskRan(task) })),
                usageLine(task),
                failed && task.error ? h("div", { class: "tl-error pre", text: task.error }) : null,
                !failed && task.output ? clippedBlock(task.output, "tl-output") : null,
                h("div", { class: "tl-actions" }, transcriptButton(task, onTranscript), retryButton(task, onRetry)),
            );
        }
        default:
            return h("li", { class: "tl-entry tl-event" }, h("div", { class: "tl-head" }, entry.kind || "event", " ", when(entry.created_at)));
    }
}

/** Renders entries (oldest first) into listEl, replacing what was there. */
export function renderTimeline(listEl, entries, opts) {
    if (!entries.length) {
        set(listEl, h("li", { class: "tl-entry tl-empty", text: "Nothing has happened yet. Assign the issue to an agent or leave a comment." }));
        return;
    }
    set(listEl, entries.map((e) => entryView(e, opts)));
}
