// issue.js — the issue page: title, description, status, "assign to agent",
// the timeline with one live card per active task at its top, and a comment box. Keeps itself
// live over the shared WebSocket (subscribe, then catch up over HTTP).

import { api } from "./api.js";
import { h, set, show, text } from "./dom.js";
import { AgentLiveCard } from "./card.js";
import { TaskFeed } from "./feed.js";
import { renderTimeline } from "./timeline.js";
import { openTranscript } from "./transcript.js";

export const STATUS_LABEL = { open: "Open", in_progress: "In progress", done: "Done" };
const ACTIVE = new Set(["queued", "dispatched", "running"]);
const ENDED = { "task:completed": "completed", "task:failed": "failed", "task:cancelled": "was cancelled" };

/** fn runs at most once at a time; calls meanwhile cause one more run after. */
export function coalesce(fn) {
    let running = null;
    let again = false;
    const run = async () => {
        do {
            again = false;
            try {
                await fn();
            } catch (err) {
                if (err?.status !== 401) console.warn(err);
            }
        } while (again);
        running = null;
    };
    return () => {
        if (running) again = true;
        else running = run();
        return running;
    };
}

function taskOf(payload) {
    return { ...payload, id: payload.id ?? payload.task_id };
}

export function issuePage(root, { id, live }) {
    let issue = null;
    let agents = [];
    const cards = new Map(); // task id -> {card, feed}
    const ended = new Set(); // task ids seen ending: a late answer must not bring their card back
    let stopped = false;
    let ready = null; // resolves true once the issue and the agents are loaded

    const agentName = (agentId) => agents.find((a) => a.id === agentId)?.name || "Agent";

    // ---- skeleton
    const title = h("h1", { class: "issue-title", tabindex: "-1", text: "Loading…" });
    const statusPill = h("span", { class: "pill" });
    const assignee = h("span", { class: "issue-assignee" });
    const desc = h("div", { class: "issue-desc pre" });
    const select = h("select", { id: "assign-agent", name: "agent" });
    const assignBtn = h("button", { type: "submit", class: "button button-primary", text: "Assign" });
    const assignForm = h(
        "form",
        { class: "assign-form" },
        h("label", { for: "assign-agent", text: "Assign to agent" }),
        h("div", { class: "inline-fields" }, select, assignBtn),
    );
    const status = h("p", { class: "page-status", role: "status", "aria-live": "polite" });
    const cardSlot = h("div", { class: "card-slot" });
    const entries = h("ol", { class: "timeline-entries" });
    const commentBox = h("textarea", { id: "comment-text", name: "content", rows: "3", required: true, placeholder: "Leave a comment" });
    const commentBtn = h("button", { type: "submit", class: "button button-primary", text: "Comment" });
    const commentForm = h(
        "form",
        { class: "comment-form" },
        h("label", { for: "comment-text", class: "visually-hidden", text: "Comment" }),
        commentBox,
        h("div", { class: "form-actions" }, commentBtn),
    );
    set(
        root,
        h(
            "main",
            { class: "page issue-page", id: "main" },
            h("p", { class: "back" }, h("a", { href: "/", "data-link": "", text: "← All issues" })),
            h(
                "article",
                { class: "issue" },
                h("header", { class: "issue-header" }, title, h("div", { class: "issue-meta" }, statusPill, assignee)),
                desc,
                assignForm,
                status,
            ),
            h("section", { class: "timeline", "aria-labelledby": "timeline-h" }, h("h2", { id: "timeline-h", text: "Activity" }), cardSlot, entries),
            commentForm,
        ),
    );

    const say = (msg) => text(status, msg);

    // ---- rendering
    function renderIssue() {
        text(title, issue.title);
        document.title = `${issue.title} · AgentLive`;
        text(statusPill, STATUS_LABEL[issue.status] || issue.status);
        statusPill.className = `pill pill-${issue.status}`;
        const n = issue.active_tasks ?? 0;
        text(assignee, n > 1 ? `${n} agents working` : issue.agent_id ? `Agent: ${agentName(issue.agent_id)}` : "Unassigned");
        text(desc, issue.description || "");
        show(desc, !!issue.description);
        // Several agents may work on one issue: assigning stays possible while one works.
        assignBtn.disabled = !agents.length;
        select.disabled = !agents.length;
    }

    function renderAgents() {
        const chosen = select.value || issue?.agent_id;
        set(
            select,
            agents.length
                ? agents.map((a) => h("option", { value: a.id, text: a.online ? a.name : `${a.name} (offline)` }))
                : h("option", { value: "", text: "No agents in this workspace" }),
        );
        if (chosen && agents.some((a) => a.id === chosen)) select.value = chosen;
    }

    const refreshIssue = coalesce(async () => {
        const fresh = await api.issue(id);
        if (stopped) return;
        issue = fresh;
        renderIssue();
    });

    const refreshTimeline = coalesce(async () => {
        const data = await api.timeline(id);
        if (stopped) return;
        renderTimeline(entries, data.entries || [], {
            agentName,
            onTranscript: openTaskTranscript,
            onRetry: retry,
        });
    });

    // ---- the live cards: one per active task, oldest first (newest at the bottom)
    function agentOf(task) {
        return task.agent_name || agentName(task.agent_id);
    }

    function openTaskTranscript(task) {
        openTranscript(task, { agentName: agentOf(task), live, active: cards.has(task.id) });
    }

    function showCard(task) {
        if (ended.has(task.id)) return null;
        const have = cards.get(task.id);
        if (have) {
            have.card.update(task);
            return have;
        }
        const name = agentOf(task);
        const card = new AgentLiveCard({
            task,
            agentName: name,
            onCancel: cancel,
            onOpenTranscript: () => openTaskTranscript(card.task),
        });
        card.setConnection(live.state);
        const feed = new TaskFeed(task.id, {
            onRelease: (released) => card.add(released),
            onError: (err) => say(`Could not load ${name}'s output: ${err.message}`),
        });
        const entry = { card, feed };
        cards.set(task.id, entry);
        // in creation order: a task created before others goes above them
        const created = Date.parse(task.created_at || "") || Infinity;
        const after = [...cardSlot.children].find((el) => {
            const other = cards.get(el.dataset.taskId)?.card.task;
            return other && (Date.parse(other.created_at || "") || Infinity) > created;
        });
        cardSlot.insertBefore(card.el, after || null);
        say(task.status === "queued" ? `Queued for ${name}: waiting for its daemon to pick it up.` : `${name} is working on this issue.`);
        feed.catchUp();
        return entry;
    }

    function endCard(taskId, refresh = true) {
        const entry = cards.get(taskId);
        ended.add(taskId);
        if (!entry) return;
        entry.feed.stop();
        entry.card.destroy();
        cards.delete(taskId);
        if (refresh) {
            refreshTimeline();
            refreshIssue();
        }
    }

    // GET active-tasks, then show (and catch up) the cards, and end the others.
    const syncActive = coalesce(async () => {
        if (!(await ready)) return;
        const { tasks } = await api.activeTasks(id);
        if (stopped) return;
        const now = new Set();
        for (const task of tasks || []) {
            if (!ACTIVE.has(task.status)) continue;
            now.add(task.id);
            const entry = showCard(task);
            entry?.feed.catchUp();
        }
        for (const taskId of [...cards.keys()]) if (!now.has(taskId)) endCard(taskId);
    });

    async function cancel(taskId) {
        try {
            await api.cancelTask(taskId);
            say("The task was cancelled.");
            endCard(taskId);
        } catch (err) {
            say(err.code === "task_not_active" ? "The task has already finished." : `Could not cancel: ${err.message}`);
            syncActive();
        }
    }

    async function retry(task) {
        try {
            const fresh = await api.retryTask(task.id);
            say(`Retrying: queued again for ${agentOf(fresh || task)}.`);
            if (fresh?.id) showCard(fresh);
        } catch (err) {
            say(err.code === "task_already_active" ? `${agentOf(task)} is already working on this issue.`
                : err.code === "task_not_ended" ? "That run has not ended yet." : `Could not retry: ${err.message}`);
        }
        await Promise.all([refreshIssue(), refreshTimeline()]);
        syncActive();
    }

    // ---- live events
    function onFrame(ev) {
        const { type, payload } = ev.detail;
        if (type === "resync") {
            syncActive();
            refreshTimeline();
            return;
        }
        if (payload.issue_id !== id) return;
        const taskId = payload.task_id ?? payload.id;
        const entry = cards.get(taskId);
        switch (type) {
            case "task:message":
                if (entry) entry.feed.live(payload);
                else syncActive();
                return;
            case "task:progress":
                entry?.card.progress(payload);
                return;
            case "task:queued":
            case "task:dispatched":
            case "task:started":
                if (issue && ACTIVE.has(payload.status)) showCard(taskOf(payload));
                else syncActive();
                refreshIssue();
                if (type === "task:queued") refreshTimeline();
                return;
            case "comment:created":
                refreshTimeline();
                return;
            default:
                if (type in ENDED) {
                    const name = entry ? entry.card.agentName : payload.agent_name || agentName(payload.agent_id);
                    if (entry) endCard(taskId);
                    else {
                        ended.add(taskId);
                        refreshTimeline();
                        refreshIssue();
                    }
                    say(`${name}: the task ${ENDED[type]}.`);
                }
        }
    }
    const onSubscribed = (ev) => {
        if (ev.detail.issue_id !== id) return;
        syncActive(); // and catch up from the last seq held
        refreshTimeline(); // comments or results missed while disconnected
    };
    const onState = (ev) => {
        for (const { card } of cards.values()) card.setConnection(ev.detail.state);
    };
    live.addEventListener("frame", onFrame);
    live.addEventListener("subscribed", onSubscribed);
    live.addEventListener("state", onState);

    // ---- forms
    assignForm.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const agentId = select.value;
        if (!agentId) return;
        assignBtn.disabled = true;
        try {
            await api.assign(id, agentId);
            say(`Assigned to ${agentName(agentId)}: queued until its daemon picks it up.`);
        } catch (err) {
            say(err.code === "task_already_active" ? `${agentName(agentId)} is already working on this issue.` : `Could not assign: ${err.message}`);
        }
        await Promise.all([refreshIssue(), refreshTimeline()]);
        syncActive();
    });

    commentForm.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const content = commentBox.value;
        if (!content.trim()) return;
        commentBtn.disabled = true;
        try {
            await api.comment(id, content);
            commentBox.value = "";
            await refreshTimeline();
        } catch (err) {
            say(`Could not comment: ${err.message}`);
        } finally {
            commentBtn.disabled = false;
        }
    });

    // ---- load: subscribe first, then fetch
    live.subscribe(id);
    ready = (async () => {
        try {
            const [iss, ag] = await Promise.all([api.issue(id), api.agents()]);
            if (stopped) return false;
            issue = iss;
            agents = ag.agents || [];
            renderAgents();
            renderIssue();
            title.focus({ preventScroll: true });
            await refreshTimeline();
            return true;
        } catch (err) {
            if (stopped) return false;
            if (err.status === 404) {
                text(title, "Issue not found");
                document.title = "Issue not found · AgentLive";
                say("It does not exist, or it belongs to a workspace you are not in.");
                show(assignForm, false);
                show(commentForm, false);
            } else if (err.status !== 401) {
                say(err.message);
            }
            return false;
        }
    })();
    syncActive();

    return () => {
        stopped = true;
        live.removeEventListener("frame", onFrame);
        live.removeEventListener("subscribed", onSubscribed);
        live.removeEventListener("state", onState);
        live.unsubscribe(id);
        for (const taskId of [...cards.keys()]) endCard(taskId, false);
    };
}
