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

/** "2026-11-25T13:03:34Z" → a short local date/time. */
export function formatTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
