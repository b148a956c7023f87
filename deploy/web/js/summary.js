// summary.js — a tool call's input reduced to the one thing that matters, on
// one line (pure). Bash → the command, Read/Edit/Write → the file, Grep/Glob →
// the pattern, WebFetch → the url, web search → the query, anything else → its
// first string field.

export const MAX_SUMMARY = 120;

const SHELL = new Set(["bash", "shell", "sh", "exec", "exec_command", "local_shell", "run_command", "terminal", "command"]);
const FILE = new Set(["read", "edit", "write", "multiedit", "notebookedit", "notebookread", "view", "create", "str_replace_editor", "read_file", "write_file", "edit_file", "apply_patch"]);
const PATTERN = new Set(["grep", "glob", "search_files", "find", "ls"]);
const URL_TOOLS = new Set(["webfetch", "web_fetch", "fetch", "browse"]);
const QUERY = new Set(["websearch", "web_search", "web_search_preview", "search", "google_search"]);

const KEYS = {
    shell: ["command", "cmd", "script"],
    file: ["file_path", "path", "notebook_path", "filename", "file"],
    pattern: ["pattern", "glob", "query", "path"],
    url: ["url", "uri"],
    query: ["query", "q", "search_query"],
};

export function toolKind(tool) {
    const t = String(tool ?? "").trim().toLowerCase();
    if (SHELL.has(t)) return "shell";
    if (FILE.has(t)) return "file";
    if (PATTERN.has(t)) return "pattern";
    if (URL_TOOLS.has(t)) return "url";
    if (QUERY.has(t)) return "query";
    return "other";
}

/** One line, at most max characters (code points), "…" when cut. */
export function oneLine(value, max = MAX_SUMMARY) {
    const s = String(value ?? "").replace(/\s+/g, " ").trim();
    const chars = Array.from(s);
    if (chars.length <= max) return s;
    return chars.slice(0, Math.max(1, max - 1)).join("").trimEnd() + "…";
}

// ["bash", "-lc", "npm test"] → "npm test"; other argv arrays are joined.
function commandText(value) {
    if (Array.isArray(value)) {
        const parts = value.map((v) => String(v));
        if (parts.length === 3 && /^(ba|z|da)?sh$/.test(parts[0].split("/").pop()) && /^-l?c$/.test(parts[1])) return parts[2];
        return parts.join(" ");
    }
    return value;
}

function firstString(input) {
    for (const value of Object.values(input)) {
        if (typeof value === "string" && value.trim() !== "") return value;
    }
    return null;
}

function pick(input, keys) {
    for (const key of keys) {
        const value = key === "command" || key === "cmd" ? commandText(input[key]) : input[key];
        if (typeof value === "string" && value.trim() !== "") return value;
    }
    return null;
}

/** The one-line summary of a tool call's input ("" when there is nothing to say). */
export function summarizeToolInput(tool, input, max = MAX_SUMMARY) {
    if (input === null || input === undefined) return "";
    if (typeof input === "string") return oneLine(input, max);
    if (typeof input !== "object" || Array.isArray(input)) return oneLine(JSON.stringify(input), max);
    const kind = toolKind(tool);
    const found = (kind !== "other" && pick(input, KEYS[kind])) || firstString(input);
    if (found !== null) return oneLine(found, max);
    const keys = Object.keys(input);
    return keys.length ? oneLine(JSON.stringify(input), max) : "";
}
