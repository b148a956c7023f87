// issues.js — the issue list (status, assignee, a live badge saying how many
// agents work on it, a filter to the issues with agents working) and the form
// that creates an issue and opens it. The first 100 issues listed are
// subscribed over the shared WebSocket to keep the badges live.

import { api } from "./api.js";
import { h, set, show, text } from "./dom.js";
import { MAX_SUBSCRIPTIONS } from "./live.js";
import { STATUS_LABEL } from "./issue.js";

const WORKING = new Set(["dispatched", "running"]);

/** The badge of an issue's active tasks: "" (none), "queued", "agent working", "2 agents working · 1 queued". */
export function badgeText(tasks) {
    const working = tasks.filter((t) => WORKING.has(t.status)).length;
    const queued = tasks.length - working;
    if (!tasks.length) return "";
    if (!working) return queued === 1 ? "queued" : `${queued} queued`;
    const w = working === 1 ? "agent working" : `${working} agents working`;
    return queued ? `${w} · ${queued} queued` : w;
}

export function issuesPage(root, { live, me, navigate }) {
    let stopped = false;
    let agents = new Map();
    const rows = new Map(); // issue id -> {el, issue, pill, badge, summary, assignee}
    const subscribed = new Set();
    const checking = new Set();
    const recheck = new Set();
    const activeCount = (issue) => (Number.isInteger(issue.active_tasks) ? issue.active_tasks : 0);

    const title = h("h1", { tabindex: "-1", text: "Issues" });
    const list = h("ul", { class: "issue-list", "aria-label": "Issues" });
    const empty = h("p", { class: "muted", text: "No issues yet. Create the first one." });
    const status = h("p", { class: "page-status", role: "status", "aria-live": "polite" });
    const onlyWorking = h("input", { type: "checkbox", id: "only-working", name: "only-working" });
    const filter = h("div", { class: "issues-filter" }, onlyWorking,
        h("label", { for: "only-working", class: "inline-label", text: "Only issues with agents working" }));
    const noneWorking = h("p", { class: "muted issues-none-working", text: "No agent is working on any issue right now.", hidden: true });

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
            h("section", { class: "issues-main", "aria-labelledby": "issues-h" }, title, filter, status, empty, noneWorking, list),
            h("aside", { class: "issues-side" }, form))));
    title.id = "issues-h";
    document.title = "Issues · AgentLive";

    function applyFilter() {
        list.classList.toggle("only-working", onlyWorking.checked);
        const any = [...rows.values()].some((r) => r.active > 0);
        show(noneWorking, onlyWorking.checked && rows.size > 0 && !any);
    }
    onlyWorking.addEventListener("change", applyFilter);

    function setActive(row, n) {
        row.active = n;
        row.el.dataset.activeTasks = String(n);
        applyFilter();
    }

    // tasks: the issue's active tasks (statuses); summary: the latest progress line.
    function badgeFor(row, tasks, summary) {
        const label = badgeText(tasks);
        const working = tasks.some((t) => WORKING.has(t.status));
        row.badge.className = `badge badge-${working ? "working" : "queued"}`;
        text(row.badge, label);
        show(row.badge, !!label);
        setActive(row, tasks.length);
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
            row.el = h("li", { class: "issue-row", data: { issueId: issue.id, activeTasks: "0" } },
                h("div", { class: "issue-row-main" }, link, row.summary),
                h("div", { class: "issue-row-meta" }, row.badge, row.pill, row.assignee));
            rows.set(issue.id, row);
        }
        row.issue = issue;
        text(row.link, issue.title);
        text(row.pill, STATUS_LABEL[issue.status] || issue.status);
        row.pill.className = `pill pill-${issue.status}`;
        text(row.assignee, issue.agent_id ? agents.get(issue.agent_id) || "Agent" : "Unassigned");
        const n = activeCount(issue);
        if (n === 0) badgeFor(row, []);
        else setActive(row, n);
        return row;
    }

    function track(issueId) {
        if (subscribed.size >= MAX_SUBSCRIPTIONS || subscribed.has(issueId)) return;
        if (live.subscribe(issueId)) subscribed.add(issueId);
    }

    // Which of an issue's tasks are queued, which have an agent on them?
    async function checkActive(issueId) {
        const row = rows.get(issueId);
        if (!row || activeCount(row.issue) === 0) return;
        if (checking.has(issueId)) {
            recheck.add(issueId);
            return;
        }
        checking.add(issueId);
        try {
            do {
                recheck.delete(issueId);
                const { tasks } = await api.activeTasks(issueId);
                if (stopped) return;
                const latest = (tasks || []).filter((t) => t.summary).pop();
                badgeFor(row, tasks || [], latest?.summary ?? "");
            } while (recheck.has(issueId));
        } catch {
            /* the badge stays as it was */
        } finally {
            checking.delete(issueId);
        }
    }

    // The issue (status, active_tasks) and then its tasks, again; calls meanwhile cause one more round.
    const refreshing = new Map(); // issue id -> true when another round is wanted
    async function refreshRow(issueId) {
        if (refreshing.has(issueId)) {
            refreshing.set(issueId, true);
            return;
        }
        refreshing.set(issueId, false);
        try {
            do {
                refreshing.set(issueId, false);
                const issue = await api.issue(issueId);
                if (stopped) return;
                renderRow(issue);
                await checkActive(issueId);
            } while (refreshing.get(issueId));
        } catch {
            /* ignore */
        } finally {
            refreshing.delete(issueId);
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
            case "task:progress":
                if (payload.summary) text(row.summary, payload.summary);
                break;
            case "task:queued":
                // shown at once; the count and the statuses follow from the API
                row.issue.status = "in_progress";
                if (!row.badge.textContent) badgeFor(row, [{ status: "queued" }], "");
                refreshRow(payload.issue_id);
                break;
            case "task:message":
                if (row.badge.hidden) refreshRow(payload.issue_id);
                break;
            case "task:dispatched":
            case "task:started":
            case "task:completed":
            case "task:failed":
            case "task:cancelled":
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
            for (const i of issues.slice(0, MAX_SUBSCRIPTIONS)) if (activeCount(i) > 0) checkActive(i.id);
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
            titleIn.value = "";
            descIn.value = "";
            if (navigate) {
                navigate(`/issues/${issue.id}`); // what one does next with a new issue
                return;
            }
            const row = renderRow(issue);
            list.prepend(row.el);
            show(empty, false);
            track(issue.id);
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
