// api.js — fetch wrapper for /api/*: JSON in and out, the contract's error
// object turned into ApiError, and a hook for "not signed in" (401).

export class ApiError extends Error {
    constructor(status, code, message) {
        super(message || code || `HTTP ${status}`);
        this.name = "ApiError";
        this.status = status; // 0: the network failed
        this.code = code || "unknown";
    }
}

let onUnauthorized = null;

/** fn() is called when any request (except signing in) answers 401. */
export function setUnauthorizedHandler(fn) {
    onUnauthorized = fn;
}

export async function request(method, path, body, { signal, quiet401 = false } = {}) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" }, signal };
    if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(path, init);
    } catch (err) {
        if (err?.name === "AbortError") throw err;
        throw new ApiError(0, "network", "The server cannot be reached. Check your connection and try again.");
    }
    if (res.status === 204) return null;
    let data = null;
    const type = res.headers.get("Content-Type") || "";
    if (type.includes("application/json")) {
        try {
            data = await res.json();
        } catch {
            data = null;
        }
    }
    if (!res.ok) {
        const e = data && typeof data.error === "object" && data.error ? data.error : {};
        const err = new ApiError(res.status, e.code, e.message || defaultMessage(res.status));
        if (res.status === 401 && !quiet401 && onUnauthorized) onUnauthorized(err);
        throw err;
    }
    return data;
}

function defaultMessage(status) {
    if (status === 404) return "Not found.";
    if (status === 502 || status === 503 || status === 504) return "The service is temporarily unavailable. Try again shortly.";
    return `The request failed (HTTP ${status}).`;
}

const enc = encodeURIComponent;

export const api = {
    signIn: (email, password) => request("POST", "/api/session", { email, password }, { quiet401: true }),
    signOut: () => request("DELETE", "/api/session", undefined, { quiet401: true }),
    me: (opts) => request("GET", "/api/me", undefined, opts),
    agents: () => request("GET", "/api/agents"),
    issues: () => request("GET", "/api/issues"),
    createIssue: (title, description) => request("POST", "/api/issues", { title, description }),
    createIssueIn: (title, description, workspaceId) =>
        request("POST", "/api/issues", { title, description, workspace_id: workspaceId }),
    issue: (id) => request("GET", `/api/issues/${enc(id)}`),
    assign: (id, agentId) => request("POST", `/api/issues/${enc(id)}/assign`, { agent_id: agentId }),
    activeTasks: (id) => request("GET", `/api/issues/${enc(id)}/active-tasks`),
    timeline: (id) => request("GET", `/api/issues/${enc(id)}/timeline`),
    comment: (id, content) => request("POST", `/api/issues/${enc(id)}/comments`, { content }),
    task: (id) => request("GET", `/api/tasks/${enc(id)}`),
    cancelTask: (id) => request("POST", `/api/tasks/${enc(id)}/cancel`),
    retryTask: (id) => request("POST", `/api/tasks/${enc(id)}/retry`),
    messages: (taskId, after = 0, limit = 500, opts) =>
        request("GET", `/api/tasks/${enc(taskId)}/messages?after=${enc(after)}&limit=${enc(limit)}`, undefined, opts),
};
