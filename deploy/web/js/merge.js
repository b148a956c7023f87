// merge.js — the message store of one task (pure: no DOM, no network).
//
// Messages come from two sources — live frames and catch-up pages over HTTP —
// in any order and possibly twice. The store keeps them by seq and *releases*
// each exactly once, in ascending seq order:
//   - frontier: every seq <= frontier is released or known not to exist; it is
//     the "last seq held" a catch-up asks for (messages?after=frontier).
//   - a message above frontier+1 waits (pending) until the gap below it is
//     filled, by a live frame or by a catch-up page.
//   - a catch-up page is authoritative for the range it covers: seqs in it that
//     the server did not return do not exist (skipped), so a gap cannot block
//     rendering forever. Should such a message turn up later anyway, it is
//     released then, marked late, for the view to insert in place.
// Released messages stay in a bounded window (the last windowSize) for pairing
// tool_use with tool_result by call_id; older ones are only counted (dropped).

export function isValidSeq(seq) {
    return Number.isSafeInteger(seq) && seq > 0;
}

/** An error worth highlighting: an error message or a failed tool result. */
export function isError(msg) {
    return msg?.type === "error" || (msg?.type === "tool_result" && msg.is_error === true);
}

/** Milliseconds between two messages' created_at (a tool call and its result), or null. */
export function durationMs(from, to) {
    const a = Date.parse(from?.created_at ?? "");
    const b = Date.parse(to?.created_at ?? "");
    if (Number.isNaN(a) || Number.isNaN(b)) return null;
    return Math.max(0, b - a);
}

export class MessageStore {
    #window = []; // released messages, ascending seq
    #pending = new Map(); // seq -> message above frontier, not released yet
    #skipped = []; // [lo, hi] ranges <= frontier known not to exist, ascending
    #uses = new Map(); // call_id -> tool_use in the window
    #results = new Map(); // call_id -> tool_result in the window

    constructor({ windowSize = 2000 } = {}) {
        this.windowSize = windowSize;
        this.frontier = 0;
        this.maxSeq = 0;
        this.dropped = 0; // released messages evicted from the window
        this.released = 0; // messages released in all
    }

    /** Released messages still in the window, ascending seq (do not mutate). */
    get messages() {
        return this.#window;
    }

    get pendingCount() {
        return this.#pending.size;
    }

    /** True when messages above a missing seq are waiting: fetch after=frontier. */
    hasGap() {
        return this.#pending.size > 0;
    }

    /** Adds one message (a live frame). Returns what it released: [{msg, late}]. */
    add(msg) {
        const out = [];
        this.#add(msg, out);
        return out;
    }

    addMany(msgs) {
        const out = [];
        for (const m of msgs) this.#add(m, out);
        return out;
    }

    /**
     * Adds a catch-up page: the answer to messages?after=`after`, ascending seq.
     * Seqs in (after, last returned] that the page lacks do not exist; with
     * hasMore false nothing below the lowest pending message exists either.
     */
    addPage(after, msgs, hasMore) {
        const out = [];
        let hi = after;
        for (const m of msgs) {
            this.#add(m, out);
            if (isValidSeq(m?.seq) && m.seq > hi) hi = m.seq;
        }
        if (!hasMore && this.#pending.size) hi = Math.max(hi, this.#minPending() - 1);
        if (after <= this.frontier) {
            while (this.frontier < hi) {
                if (this.#pending.has(this.frontier + 1)) {
                    this.#advance(out);
                    continue;
                }
                const end = Math.min(hi, this.#minPending() - 1);
                this.#skip(this.frontier + 1, end);
                this.frontier = end;
                this.#advance(out);
            }
        }
        return out;
    }

    has(seq) {
        return this.#pending.has(seq) || (seq <= this.frontier && !this.#isSkipped(seq));
    }

    /** The tool_use of a tool_result (same call_id), if still in the window. */
    useFor(result) {
        return result?.call_id != null ? this.#uses.get(result.call_id) ?? null : null;
    }

    /** The tool_result of a tool_use (same call_id), if released and in the window. */
    resultFor(use) {
        return use?.call_id != null ? this.#results.get(use.call_id) ?? null : null;
    }

    #add(msg, out) {
        const seq = msg?.seq;
        if (!isValidSeq(seq)) return;
        if (seq > this.maxSeq) this.maxSeq = seq;
        if (seq <= this.frontier) {
            if (this.#unskip(seq)) this.#release(msg, true, out); // late arrival
            return; // otherwise a duplicate
        }
        if (this.#pending.has(seq)) return; // duplicate
        this.#pending.set(seq, msg);
        this.#advance(out);
    }

    #advance(out) {
        while (this.#pending.has(this.frontier + 1)) {
            const next = this.frontier + 1;
            const msg = this.#pending.get(next);
            this.#pending.delete(next);
            this.frontier = next;
            this.#release(msg, false, out);
        }
    }

    #minPending() {
        let min = Infinity;
        for (const seq of this.#pending.keys()) if (seq < min) min = seq;
        return min;
    }

    #release(msg, late, out) {
        const w = this.#window;
        if (late && w.length && msg.seq < w[w.length - 1].seq) {
            let lo = 0;
            let hi = w.length;
            while (lo < hi) {
                const mid = (lo + hi) >> 1;
                if (w[mid].seq < msg.seq) lo = mid + 1;
                else hi = mid;
            }
            w.splice(lo, 0, msg);
        } else {
            w.push(msg);
        }
        this.released += 1;
        if (msg.call_id != null) {
            if (msg.type === "tool_use") this.#uses.set(msg.call_id, msg);
            else if (msg.type === "tool_result") this.#results.set(msg.call_id, msg);
        }
        out.push({ msg, late });
        while (w.length > this.windowSize) {
            const old = w.shift();
            this.dropped += 1;
            if (old.call_id != null) {
                if (this.#uses.get(old.call_id) === old) this.#uses.delete(old.call_id);
                if (this.#results.get(old.call_id) === old) this.#results.delete(old.call_id);
            }
        }
    }

    #skip(lo, hi) {
        if (lo > hi) return;
        const last = this.#skipped[this.#skipped.length - 1];
        if (last && last[1] + 1 === lo) last[1] = hi;
        else this.#skipped.push([lo, hi]);
    }

    #isSkipped(seq) {
        return this.#skipped.some(([lo, hi]) => seq >= lo && seq <= hi);
    }

    #unskip(seq) {
        const i = this.#skipped.findIndex(([lo, hi]) => seq >= lo && seq <= hi);
        if (i < 0) return false;
        const [lo, hi] = this.#skipped[i];
        const parts = [];
        if (lo <= seq - 1) parts.push([lo, seq - 1]);
        if (seq + 1 <= hi) parts.push([seq + 1, hi]);
        this.#skipped.splice(i, 1, ...parts);
        return true;
    }
}
