// tmodel.js — what the transcript shows, without the DOM (pure). A task's
// messages are known in part: pages fetched where the reader looks, live
// messages at the end. The model keeps them by seq with the ranges already
// covered (fetched: every seq there is loaded or does not exist) and derives the
// rows to show, in seq order:
//   {kind: "gap", key, from, to}                 seqs not fetched yet
//   {kind: "msg", key, type, msgs, result, tool, isError, seq, lastSeq}
// Consecutive text (or thinking) messages make one row (a run, as in the card);
// a tool_result joins the row of its tool_use (same call_id) when that is loaded.
// A filter keeps some rows (gaps always stay: they load when seen).
//
// Rows are derived per chunk of CHUNK seqs (the API's largest page), each
// cached until something in it changes, so a page or a live message costs one
// chunk, not the whole task. A run of text does not cross a chunk boundary; a
// result finds its call in the chunk before too.

import { isError } from "./merge.js";

// A run of text stops growing here (the card too: each new message re-renders its row).
export const RUN_MAX_MESSAGES = 64;
export const RUN_MAX_CHARS = 16_000;

export const CATEGORIES = ["text", "thinking", "tools", "errors"];
export const CHUNK = 1000;

/** The filter categories a row belongs to. */
export function categoriesOf(row) {
    const out = [];
    if (row.type === "text") out.push("text");
    else if (row.type === "thinking") out.push("thinking");
    else if (row.type === "tool_use" || row.type === "tool_result") out.push("tools");
    if (row.isError) out.push("errors");
    return out;
}

export class TranscriptModel {
    #msgs = new Map(); // seq -> message
    #covered = []; // [lo, hi] ascending, merged: fetched ranges
    #rows = null; // the filtered rows of every chunk, null when stale
    #chunks = []; // index -> {rows, kept, uses} (null: stale)
    #tools = new Set();

    constructor({ last = 0 } = {}) {
        this.last = Math.max(0, last | 0); // the highest seq known to exist (or to have been announced)
        this.filter = { categories: null, tool: null }; // null: everything
        this.version = 0;
        this.derived = 0; // chunks derived so far (tests: a change costs a chunk, not the task)
    }

    get loadedCount() {
        return this.#msgs.size;
    }

    /** Tool names seen so far, sorted. */
    get tools() {
        return [...this.#tools].sort((a, b) => a.localeCompare(b));
    }

    get(seq) {
        return this.#msgs.get(seq);
    }

    /** Everything up to `last` is fetched. */
    get complete() {
        return this.#covered.length === 1 && this.#covered[0][0] <= 1 && this.#covered[0][1] >= this.last;
    }

    /**
     * A page answering messages?after=`after`: the seqs in (after, hi] are now
     * known, hi being its last message, or everything after `after` when
     * hasMore is false.
     */
    addPage(after, msgs, hasMore) {
        let hi = after;
        for (const m of msgs) {
            this.#put(m);
            if (m.seq > hi) hi = m.seq;
        }
        if (!hasMore) hi = Math.max(hi, this.last);
        if (hi > after) this.#cover(after + 1, hi);
        this.#changed();
    }

    /** Live messages (task:message frames): known, their neighbours not necessarily. */
    addLive(msgs) {
        let any = false;
        for (const m of msgs) {
            if (!Number.isSafeInteger(m?.seq) || m.seq < 1 || this.#msgs.has(m.seq)) continue;
            this.#put(m);
            this.#cover(m.seq, m.seq);
            any = true;
        }
        if (any) this.#changed();
        return any;
    }

    /** The task announced a higher last seq (task JSON's last_seq). */
    extendTo(last) {
        if (last > this.last) {
            this.#setLast(last);
            this.#changed();
        }
    }

    #setLast(last) {
        this.#stale(this.last + 1, last);
        this.last = last;
    }

    // Chunks holding seqs lo..hi must be derived again, and the chunk after the
    // last of them (its results may have joined calls in it).
    #stale(lo, hi) {
        const a = Math.floor((Math.max(1, lo) - 1) / CHUNK);
        const b = Math.floor((Math.max(1, hi) - 1) / CHUNK) + 1;
        for (let k = a; k <= b && k < this.#chunks.length; k++) this.#chunks[k] = null;
    }

    setFilter({ categories = null, tool = null } = {}) {
        this.filter = { categories: categories && categories.length ? new Set(categories) : null, tool: tool || null };
        for (const ch of this.#chunks) if (ch) ch.kept = null;
        this.#changed();
    }

    /** Whether the filter keeps row (a gap always). */
    keeps(row) {
        if (row.kind === "gap") return true;
        const { categories, tool } = this.filter;
        if (categories && !categoriesOf(row).some((c) => categories.has(c))) return false;
        if (tool && row.tool !== tool) return false;
        return true;
    }

    /** The rows to show, filtered (cached until something changes). */
    rows() {
        if (this.#rows) return this.#rows;
        const n = Math.ceil(this.last / CHUNK);
        this.#chunks.length = n;
        const parts = [];
        for (let k = 0; k < n; k++) {
            let ch = this.#chunks[k];
            if (!ch) {
                ch = this.#chunks[k] = this.#derive(k);
                if (this.#chunks[k + 1]) this.#chunks[k + 1] = null; // its results may join calls here
            }
            if (!ch.kept) ch.kept = ch.rows.filter((r) => this.keeps(r));
            parts.push(ch.kept);
        }
        this.#rows = [].concat(...parts); // native: much faster than pushing 100,000 rows
        return this.#rows;
    }

    #put(m) {
        if (!Number.isSafeInteger(m?.seq) || m.seq < 1) return;
        this.#msgs.set(m.seq, m);
        this.#stale(m.seq, m.seq);
        if (m.seq > this.last) this.#setLast(m.seq);
        if (m.type === "tool_use" && m.tool) this.#tools.add(String(m.tool));
    }

    #changed() {
        this.#rows = null;
        this.version += 1;
    }

    #cover(lo, hi) {
        const c = this.#covered;
        // insert, then merge neighbours that touch or overlap
        let i = 0;
        while (i < c.length && c[i][1] < lo - 1) i++;
        let start = lo;
        let end = hi;
        let j = i;
        while (j < c.length && c[j][0] <= hi + 1) {
            start = Math.min(start, c[j][0]);
            end = Math.max(end, c[j][1]);
            j++;
        }
        c.splice(i, j - i, [start, end]);
        this.#stale(lo, hi);
    }

    #derive(k) {
        this.derived += 1;
        const rows = [];
        const uses = new Map(); // call_id -> row of its tool_use
        const before = k > 0 ? this.#chunks[k - 1] : null;
        const c = this.#covered;
        let ci = 0;
        let gap = null;
        let run = null; // the text/thinking row that the next message may continue
        let runChars = 0;
        const first = k * CHUNK + 1;
        const last = Math.min(this.last, (k + 1) * CHUNK);
        for (let seq = first; seq <= last; seq++) {
            while (ci < c.length && c[ci][1] < seq) ci++;
            const m = this.#msgs.get(seq);
            if (!m) {
                if (ci < c.length && c[ci][0] <= seq) continue; // fetched: this seq does not exist
                if (gap) gap.to = seq;
                else {
                    gap = { kind: "gap", key: `g${seq}`, from: seq, to: seq };
                    rows.push(gap);
                }
                run = null;
                continue;
            }
            gap = null;
            if (m.type === "tool_result" && m.call_id != null) {
                let use = uses.get(m.call_id);
                let home = null;
                if (!use && before) {
                    use = before.uses.get(m.call_id);
                    home = before;
                }
                if (use && !use.result) {
                    use.result = m;
                    use.isError = isError(m);
                    if (home) home.kept = null; // its row now matches "errors" perhaps
                    run = null;
                    continue;
                }
            }
            if (run && m.type === run.type && run.lastSeq === seq - 1 && run.msgs.length < RUN_MAX_MESSAGES && runChars < RUN_MAX_CHARS) {
                run.msgs.push(m);
                run.lastSeq = seq;
                runChars += String(m.content ?? "").length;
                continue;
            }
            const row = { kind: "msg", key: `m${seq}`, type: m.type, msgs: [m], result: null, tool: m.tool ?? null,
                isError: isError(m), seq, lastSeq: seq };
            rows.push(row);
            run = m.type === "text" || m.type === "thinking" ? row : null;
            runChars = run ? String(m.content ?? "").length : 0;
            if (m.type === "tool_use" && m.call_id != null && !uses.has(m.call_id)) uses.set(m.call_id, row);
        }
        return { rows, kept: null, uses };
    }
}

/** A message as one line of plain text (for "Copy all"). */
export function messageAsText(m) {
    const body = (v) => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
    const head = `#${m.seq} ${m.created_at ?? ""} ${m.type}${m.tool ? ` ${m.tool}` : ""}${m.is_error ? " (error)" : ""}`.replace(/ +/g, " ");
    const parts = [];
    if (m.type === "tool_use") parts.push(body(m.input));
    else parts.push(body(m.content ?? m.output));
    if (m.type === "tool_result" && m.content !== undefined && m.output !== undefined) parts.push(body(m.output));
    return `${head}\n${parts.filter(Boolean).join("\n")}`;
}
