// format.js — small pure formatters: durations, elapsed time, clipping long text.

/** 350 → "350 ms", 1234 → "1.2 s", 65000 → "1m 05s". */
export function formatDuration(ms) {
    if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
    return formatElapsed(ms);
}

/** Elapsed wall time, whole seconds: "0s", "42s", "3m 07s", "1h 02m 09s". */
export function formatElapsed(ms) {
    const total = Math.max(0, Math.floor((Number.isFinite(ms) ? ms : 0) / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (h) return `${h}h ${pad(m)}m ${pad(s)}s`;
    if (m) return `${m}m ${pad(s)}s`;
    return `${s}s`;
}

export const CLIP_CHARS = 4000;
export const CLIP_LINES = 40;

/**
 * Long text cut to maxChars characters and maxLines lines, whichever is less.
 * → {text, clipped, total: {chars, lines}}
 */
export function clip(value, maxChars = CLIP_CHARS, maxLines = CLIP_LINES) {
    const s = String(value ?? "");
    let cut = s.length;
    let lines = 1;
    for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) === 10) {
            if (lines === maxLines) {
                cut = Math.min(cut, i);
                break;
            }
            lines += 1;
        }
    }
    if (cut > maxChars) cut = maxChars;
    // never split a surrogate pair
    if (cut < s.length && cut > 0 && s.charCodeAt(cut - 1) >= 0xd800 && s.charCodeAt(cut - 1) <= 0xdbff) cut -= 1;
    const clipped = cut < s.length;
    return { text: clipped ? s.slice(0, cut) : s, clipped, totalChars: s.length };
}

// One formatter for all: toLocaleString with options builds a new one per call (slow).
let timeFormat = null;

/** "2026-11-25T13:03:34Z" → a short local date/time. */
export function formatTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    timeFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    return timeFormat.format(d);
}

/** How long ago `iso` was, from `now` (ms): "just now", "42s ago", "5m ago", "3h ago", "2d ago"; "" when unknown. */
export function formatRelative(iso, now = Date.now()) {
    const t = Date.parse(iso ?? "");
    if (Number.isNaN(t)) return "";
    const s = Math.floor((now - t) / 1000);
    if (s < 5) return "just now";
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
    return `${Math.floor(s / 86_400)}d ago`;
}

/** 950 → "950", 12_345 → "12.3k", 2_500_000 → "2.5M". */
export function formatCount(n) {
    if (!Number.isFinite(n)) return "";
    if (n < 1000) return String(Math.round(n));
    if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1).replace(/\.?0+$/, "")}k`;
    return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, "")}M`;
}

/**
 * A task's usage on one line: "12.3k in · 1.2k out · 40k cached · $0.0421 · claude-x".
 * Unknown (null) parts are left out; "" when there is nothing.
 */
export function formatUsage(usage) {
    if (!usage || typeof usage !== "object") return "";
    const parts = [];
    const num = (v) => typeof v === "number" && Number.isFinite(v);
    if (num(usage.input_tokens)) parts.push(`${formatCount(usage.input_tokens)} in`);
    if (num(usage.output_tokens)) parts.push(`${formatCount(usage.output_tokens)} out`);
    const cached = (num(usage.cache_read_tokens) ? usage.cache_read_tokens : 0) + (num(usage.cache_write_tokens) ? usage.cache_write_tokens : 0);
    if (num(usage.cache_read_tokens) || num(usage.cache_write_tokens)) parts.push(`${formatCount(cached)} cached`);
    if (num(usage.cost_usd)) parts.push(`$${usage.cost_usd < 1 ? usage.cost_usd.toFixed(4) : usage.cost_usd.toFixed(2)}`);
    if (typeof usage.model === "string" && usage.model) parts.push(usage.model);
    return parts.join(" · ");
}
