// card.js — the AgentLiveCard: what one agent is doing right now on the issue.
// One card per active task (queued, dispatched or running); the issue page
// stacks them. Released messages are queued and rendered once per animation
// frame; the DOM keeps the last `windowSize` messages, with a note for the
// earlier ones. Cancelling asks for a confirmation inside the card.

import { h, text, show } from "./dom.js";
import { formatElapsed } from "./format.js";
import { placeMessage, endRunning } from "./messages.js";

const STATE_LABEL = { queued: "waiting", dispatched: "starting", running: "working" };
const CONN_LABEL = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", closed: "Offline" };
const BOTTOM_SLACK = 32; // px: "at the bottom" tolerance

export class AgentLiveCard {
    #queue = [];
    #raf = 0;
    #rows = [];
    #rowsByCall = new Map();
    #rendered = 0;
    #hidden = 0;
    #following = true;
    #unseen = 0;
    #tick = 0;
    #destroyed = false;

    constructor({ task, agentName, onCancel, onOpenTranscript, windowSize = 1500 }) {
        this.task = task;
        this.agentName = agentName || task.agent_name || "Agent";
        this.windowSize = windowSize;
        this.onCancel = onCancel;
        this.onOpenTranscript = onOpenTranscript;
        this.#build(agentName);
        this.update(task);
        this.#tickElapsed();
        this.#tick = setInterval(() => this.#tickElapsed(), 1000);
    }

    #build(agentName) {
        this.stateEl = h("span", { class: "card-state" });
        this.summaryEl = h("span", { class: "card-summary" });
        this.elapsedEl = h("span", { class: "card-elapsed", role: "timer", "aria-label": "Elapsed time" });
        this.connEl = h("span", { class: "card-conn", role: "status" });
        this.cancelBtn = h("button", { type: "button", class: "button button-danger card-cancel", text: "Cancel",
            "aria-label": `Cancel ${agentName || "the agent"}'s run` });
        this.cancelBtn.addEventListener("click", () => this.#askCancel());
        this.confirmYes = h("button", { type: "button", class: "button button-danger button-small card-cancel-yes", text: "Yes, cancel" });
        this.confirmNo = h("button", { type: "button", class: "button button-small card-cancel-no", text: "Keep running" });
        this.confirmYes.addEventListener("click", () => this.#cancel());
        this.confirmNo.addEventListener("click", () => this.#closeConfirm(true));
        this.confirm = h("div", { class: "card-confirm", role: "group", "aria-label": "Confirm cancel" },
            h("span", { text: `Cancel ${agentName || "the agent"}'s run? The agent stops.` }), this.confirmYes, this.confirmNo);
        this.confirm.addEventListener("keydown", (ev) => {
            if (ev.key === "Escape") this.#closeConfirm(true);
        });
        this.progressEl = h("progress", { class: "card-progress", max: "1", value: "0" });
        this.stepEl = h("span", { class: "card-step" });
        this.progressRow = h("div", { class: "card-progress-row" }, this.progressEl, this.stepEl);
        this.transcriptBtn = h("button", { type: "button", class: "button button-small button-quiet card-transcript", text: "Transcript",
            "aria-label": `${agentName || "Agent"}'s whole transcript` });
        this.transcriptBtn.addEventListener("click", () => this.onOpenTranscript?.(this.task.id));
        this.noteBtn = h("button", { type: "button", class: "link-button" });
        this.noteBtn.addEventListener("click", () => this.onOpenTranscript?.(this.task.id));
        this.note = h("p", { class: "card-note" }, this.noteBtn);
        this.list = h("ol", { class: "card-log", tabindex: "0", role: "log", "aria-live": "polite", "aria-relevant": "additions",
            "aria-label": `${agentName || "Agent"}: output` });
        this.list.addEventListener("scroll", () => this.#onScroll(), { passive: true });
        this.jumpBtn = h("button", { type: "button", class: "button card-jump" });
        this.jumpBtn.addEventListener("click", () => this.jumpToLatest());
        this.empty = h("p", { class: "card-empty", text: "Waiting for the agent's first output…" });

        this.el = h(
            "section",
            { class: "agent-live-card", data: { taskId: this.task.id }, "aria-label": `${agentName || "Agent"} on this issue` },
            h(
                "header",
                { class: "card-header" },
                h(
                    "div",
                    { class: "card-title" },
                    h("span", { class: "card-live-dot", "aria-hidden": "true" }),
                    h("strong", { class: "card-agent", text: agentName || "Agent" }),
                    this.elapsedEl,
                    this.connEl,
                    this.transcriptBtn,
                    this.cancelBtn,
                ),
                h("div", { class: "card-status", role: "status", "aria-live": "polite" }, this.stateEl, this.summaryEl),
                this.progressRow,
                this.confirm,
            ),
            h("div", { class: "card-body" }, this.note, this.empty, this.list, this.jumpBtn),
        );
        show(this.note, false);
        show(this.jumpBtn, false);
        show(this.progressRow, false);
        show(this.confirm, false);
        this.setConnection("connecting");
    }

    /** A newer state of the task (REST or a task:* frame). */
    update(task) {
        this.task = { ...this.task, ...task };
        const status = this.task.status;
        this.el.dataset.state = STATE_LABEL[status] || status || "";
        text(this.stateEl, STATE_LABEL[status] || status || "");
        text(this.empty, status === "queued" ? "Waiting for a daemon to pick this up…" : "Waiting for the agent's first output…");
        this.progress(this.task);
    }

    /** task:progress {summary, step?, total?} */
    progress({ summary, step, total }) {
        if (summary !== undefined) {
            this.task.summary = summary;
            text(this.summaryEl, summary ? summary : "");
        }
        if (step !== undefined) this.task.step = step;
        if (total !== undefined) this.task.total = total;
        const s = this.task.step;
        const t = this.task.total;
        const known = Number.isFinite(t) && t > 0 && Number.isFinite(s);
        show(this.progressRow, known);
        if (known) {
            this.progressEl.max = t;
            this.progressEl.value = Math.min(s, t);
            text(this.progressEl, `${s} of ${t}`);
            text(this.stepEl, `${s}/${t}`);
            this.progressEl.setAttribute("aria-label", `Step ${s} of ${t}`);
        }
    }

    setConnection(state) {
        this.connEl.dataset.state = state;
        text(this.connEl, CONN_LABEL[state] || state);
    }

    /** Released messages from the feed: [{msg, late}]. */
    add(released) {
        if (this.#destroyed) return;
        for (const r of released) this.#queue.push(r);
        // A tab in the background runs no frames: keep the queue bounded meanwhile.
        const cap = this.windowSize * 2;
        if (this.#queue.length > cap) {
            const drop = this.#queue.length - this.windowSize;
            this.#queue.splice(0, drop);
            this.#hidden += drop;
        }
        if (!this.#raf) this.#raf = requestAnimationFrame(() => this.#flush());
    }

    #flush() {
        this.#raf = 0;
        if (this.#destroyed) return;
        let items = this.#queue;
        this.#queue = [];
        if (!items.length) return;
        if (items.length > this.windowSize) {
            this.#hidden += items.length - this.windowSize;
            items = items.slice(-this.windowSize);
        }
        const frag = document.createDocumentFragment();
        let fresh = 0;
        for (const { msg, late } of items) {
            const lastRow = this.#rows[this.#rows.length - 1];
            const inPlace = late && lastRow && msg.seq < lastRow.seq;
            if (inPlace && msg.seq < this.#rows[0].seq) {
                this.#hidden += 1; // belongs before what is shown
                continue;
            }
            const row = placeMessage(msg, this.#rowsByCall, { live: true }, inPlace ? null : lastRow);
            this.#rendered += 1;
            fresh += 1;
            if (!row) continue; // a result, shown in its call's row
            if (inPlace) {
                const i = this.#rows.findIndex((r) => r.seq > msg.seq);
                this.#rows[i].el.before(row.el);
                this.#rows.splice(i, 0, row);
            } else {
                this.#rows.push(row);
                frag.append(row.el);
            }
        }
        this.list.append(frag);
        while (this.#rendered > this.windowSize && this.#rows.length) {
            const old = this.#rows.shift();
            old.el.remove();
            this.#rendered -= old.count;
            this.#hidden += old.count;
            if (old.callId != null && this.#rowsByCall.get(old.callId) === old) this.#rowsByCall.delete(old.callId);
        }
        show(this.empty, this.#rendered === 0 && this.#hidden === 0);
        if (this.#hidden > 0) {
            show(this.note, true);
            const n = this.#hidden.toLocaleString();
            text(this.noteBtn, `${n} earlier message${this.#hidden === 1 ? "" : "s"} — view transcript`);
        }
        if (this.#following) {
            this.list.scrollTop = this.list.scrollHeight;
        } else {
            this.#unseen += fresh;
            this.#showJump();
        }
    }

    #onScroll() {
        const l = this.list;
        const atBottom = l.scrollHeight - l.scrollTop - l.clientHeight <= BOTTOM_SLACK;
        this.#following = atBottom;
        if (atBottom) {
            this.#unseen = 0;
            show(this.jumpBtn, false);
        }
    }

    #showJump() {
        if (this.#unseen <= 0) return;
        text(this.jumpBtn, `Jump to latest (${this.#unseen.toLocaleString()} new)`);
        show(this.jumpBtn, true);
    }

    jumpToLatest() {
        this.#following = true;
        this.#unseen = 0;
        show(this.jumpBtn, false);
        this.list.scrollTop = this.list.scrollHeight;
    }

    #tickElapsed() {
        const since = Date.parse(this.task.started_at || this.task.dispatched_at || this.task.created_at || "");
        text(this.elapsedEl, Number.isNaN(since) ? "" : formatElapsed(Date.now() - since));
    }

    #askCancel() {
        show(this.confirm, true);
        this.cancelBtn.setAttribute("aria-expanded", "true");
        this.confirmNo.focus();
    }

    #closeConfirm(refocus) {
        show(this.confirm, false);
        this.cancelBtn.setAttribute("aria-expanded", "false");
        if (refocus) this.cancelBtn.focus();
    }

    async #cancel() {
        this.#closeConfirm(false);
        this.cancelBtn.disabled = true;
        text(this.cancelBtn, "Cancelling…");
        try {
            await this.onCancel?.(this.task.id);
        } finally {
            if (!this.#destroyed) {
                this.cancelBtn.disabled = false;
                text(this.cancelBtn, "Cancel");
            }
        }
    }

    /** Number of messages rendered (for tests and the note). */
    get renderedCount() {
        return this.#rendered;
    }

    destroy() {
        this.#destroyed = true;
        clearInterval(this.#tick);
        if (this.#raf) cancelAnimationFrame(this.#raf);
        for (const row of this.#rows) endRunning(row);
        this.el.remove();
    }
}
