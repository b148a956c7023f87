// issues.js — the issue list (status, assignee, a live "agent working" badge)
// and the form that creates an issue. The first 100 issues listed are
// subscribed over the shared WebSocket to keep the badges live.

import { api } from "./api.js";
import { h, set, show, text } from "./dom.js";
import { MAX_SUBSCRIPTIONS } from "./live.js";
import { STATUS_LABEL } from "./issue.js";

const BADGE = { queued: "queued", dispatched: "agent working", running: "agent working" };

export function issuesPage(root, { live, me }) {
    let stopped = false;
    let agents = new Map();
    const rows = new Map(); // issue id -> {el, issue, pill, badge, summary, assignee}
    const subscribed = new Set();
    const checking = new Set();

    const title = h("h1", { tabindex: "-1", text: "Issues" });
    const list = h("ul", { class: "issue-list", "aria-label": "Issues" });
    const empty = h("p", { class: "muted", text: "No issues yet. Create the first one." });
    const status = h("p", { class: "page-status", role: "status", "aria-live": "polite" });

    const titleIn = h("input", { id: "new-title", name: "title", required: true, maxlength: "500", autocomplete: "off" });
    const descIn = h("textarea", { id: "new-description", name: "description", rows: "3" });
    const workspaces = me?.workspaces || [];
    const wsSelect = h("select", { id: "new-workspace", name: "workspace" },
        workspaces.map((w) => h("option", { value: w.id, text: w.name })));
    const createBtn = h("button", { type: "submit", class: "button button-primary", text: "Create issue" });
    const form = h(
        "form",
        { class: "new-issue-form" },
        h("h2", { text: "New issue" }),
        h("label", { for: "new-title", text: "Title" }),
        titleIn,
        h("label", { for: "new-description", text: "Description" }),
        descIn,
        workspaces.length > 1 ? [h("label", { for: "new-workspace", text: "Workspace" }), wsSelect] : null,
        h("div", { class: "form-actions" }, createBtn),
    );

    set(root, h("main", { class: "page issues-page", id: "main" },
        h("div", { class: "issues-layout" },
            h("section", { class: "issues-main", "aria-labelledby": "issues-h" }, title, status, empty, list),
            h("aside", { class: "issues-side" }, form))));
    title.id = "issues-h";
    document.title = "Issues · AgentLive";

    function badgeFor(row, taskStatus, summary) {
        const label = BADGE[taskStatus];
        row.badge.className = `badge badge-${taskStatus === "queued" ? "queued" : "working"}`;
        text(row.badge, label || "");
        show(row.badge, !!label);
        if (summary !== undefined) text(row.summary, label && summary ? summary : "");
        if (!label) text(row.summary, "");
    }

    function renderRow(issue) {
        let row = rows.get(issue.id);
        if (!row) {
            const link = h("a", { href: `/issues/${issue.id}`, "data-link": "", class: "issue-link" });
            row = {
                link,
                pill: h("span", { class: "pill" }),
                assignee: h("span", { class: "issue-assignee" }),
                badge: h("span", { class: "badge", hidden: true }),
                summary: h("span", { class: "issue-summary" }),
            };
            row.el = h("li", { class: "issue-row", data: { issueId: issue.id } },
                h("div", { class: "issue-row-main" }, link, row.summary),
                h("div", { class: "issue-row-meta" }, row.badge, row.pill, row.assignee));
            rows.set(issue.id, row);
        }
        row.issue = issue;
        text(row.link, issue.title);
        text(row.pill, STATUS_LABEL[issue.status] || issue.status);
        row.pill.className = `pill pill-${issue.status}`;
        text(row.assignee, issue.agent_id ? agents.get(issue.agent_id) || "Agent" : "Unassigned");
        if (issue.status !== "in_progress") badgeFor(row, null);
        return row;
    }

    function track(issueId) {
        if (subscribed.size >= MAX_SUBSCRIPTIONS || subscribed.has(issueId)) return;
        if (live.subscribe(issueId)) subscribed.add(issueId);
    }

    // An in-progress issue: is its task queued, or is an agent on it?
    async function checkActive(issueId) {
        const row = rows.get(issueId);
        if (!row || row.issue.status !== "in_progress" || checking.has(issueId)) return;
        checking.add(issueId);
        try {
            const { task } = await api.activeTask(issueId);
            if (!stopped) badgeFor(row, task ? task.status : "queued", task?.summary ?? "");
        } catch {
            /* the badge stays as it was */
        } finally {
            checking.delete(issueId);
        }
    }

    async function refreshRow(issueId) {
        try {
            const issue = await api.issue(issueId);
            if (!stopped) renderRow(issue);
        } catch {
            /* ignore */
        }
    }

    const onSubscribed = (ev) => checkActive(ev.detail.issue_id);
    const onFrame = (ev) => {
        const { type, payload } = ev.detail;
        if (type === "resync") {
            for (const id of subscribed) checkActive(id);
            return;
        }
        const row = rows.get(payload.issue_id);
        if (!row) return;
        switch (type) {
            case "task:queued":
                row.issue.status = "in_progress";
                row.issue.agent_id = payload.agent_id ?? row.issue.agent_id;
                renderRow(row.issue);
                badgeFor(row, "queued", "");
                break;
            case "task:dispatched":
            case "task:started":
                badgeFor(row, payload.status || "running", payload.summary ?? "");
                break;
            case "task:progress":
                badgeFor(row, "running", payload.summary ?? "");
                break;
            case "task:message":
                if (row.badge.hidden || row.badge.textContent !== BADGE.running) badgeFor(row, "running");
                break;
            case "task:completed":
            case "task:failed":
            case "task:cancelled":
                badgeFor(row, null);
                refreshRow(payload.issue_id);
                break;
        }
    };
    live.addEventListener("subscribed", onSubscribed);
    live.addEventListener("frame", onFrame);

    async function load() {
        try {
            const [data, ag] = await Promise.all([api.issues(), api.agents()]);
            if (stopped) return;
            agents = new Map((ag.agents || []).map((a) => [a.id, a.name]));
            const issues = data.issues || [];
            set(list, issues.map((i) => renderRow(i).el));
            show(empty, issues.length === 0);
            for (const i of issues) track(i.id);
            // Badges also without the WebSocket (it re-checks on every "subscribed").
            for (const i of issues.slice(0, MAX_SUBSCRIPTIONS)) if (i.status === "in_progress") checkActive(i.id);
            if (issues.length > MAX_SUBSCRIPTIONS) text(status, `Live status is shown for the ${MAX_SUBSCRIPTIONS} newest issues.`);
        } catch (err) {
            if (!stopped && err.status !== 401) text(status, err.message);
        }
    }

    form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const t = titleIn.value.trim();
        if (!t) return;
        createBtn.disabled = true;
        try {
            const issue = workspaces.length > 1
                ? await api.createIssueIn(t, descIn.value, wsSelect.value)
                : await api.createIssue(t, descIn.value);
            const row = renderRow(issue);
            list.prepend(row.el);
            show(empty, false);
            track(issue.id);
            titleIn.value = "";
            descIn.value = "";
            text(status, `Created “${issue.title}”.`);
        } catch (err) {
            text(status, `Could not create the issue: ${err.message}`);
        } finally {
            createBtn.disabled = false;
        }
    });

    show(empty, false);
    title.focus({ preventScroll: true });
    load();

    return () => {
        stopped = true;
        live.removeEventListener("subscribed", onSubscribed);
        live.removeEventListener("frame", onFrame);
        for (const id of subscribed) live.unsubscribe(id);
    };
}
