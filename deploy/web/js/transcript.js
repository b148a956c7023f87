// transcript.js — a task's whole recorded session in a dialog, 500 messages a
// page, "Load more" for the next page.

import { api } from "./api.js";
import { h, show, text } from "./dom.js";
import { placeMessage } from "./messages.js";

const PAGE = 500;

export function openTranscript(task, { agentName = "Agent" } = {}) {
    const list = h("ol", { class: "transcript-log", "aria-label": "Transcript" });
    const status = h("p", { class: "transcript-status", role: "status", "aria-live": "polite" });
    const more = h("button", { type: "button", class: "button transcript-more", text: "Load more" });
    const close = h("button", { type: "button", class: "button", text: "Close" });
    const dialog = h(
        "dialog",
        { class: "transcript-dialog", "aria-label": "Transcript" },
        h(
            "header",
            { class: "transcript-header" },
            h("h2", { text: "Transcript" }),
            h("span", { class: "transcript-sub", text: `${agentName} · ${task.status || ""}` }),
            close,
        ),
        list,
        h("footer", { class: "transcript-footer" }, status, more),
    );
    const rowsByCall = new Map();
    let after = 0;
    let count = 0;
    let loading = false;
    const total = task.last_seq || 0;

    async function load() {
        if (loading) return;
        loading = true;
        more.disabled = true;
        text(status, "Loading…");
        try {
            const page = await api.messages(task.id, after, PAGE);
            const frag = document.createDocumentFragment();
            for (const msg of page.messages || []) {
                if (msg.seq <= after) continue;
                const row = placeMessage(msg, rowsByCall, { live: false });
                if (row) frag.append(row.el);
                count += 1;
            }
            list.append(frag);
            if (page.messages?.length) after = page.messages[page.messages.length - 1].seq;
            show(more, !!page.has_more);
            const of = total > count ? ` of ${total.toLocaleString()}` : "";
            text(status, `${count.toLocaleString()}${of} message${count === 1 ? "" : "s"}${page.has_more ? "" : " — the whole session"}`);
        } catch (err) {
            text(status, err.message || "Could not load the transcript.");
            show(more, true);
        } finally {
            loading = false;
            more.disabled = false;
        }
    }

    more.addEventListener("click", load);
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    load();
    return dialog;
}
