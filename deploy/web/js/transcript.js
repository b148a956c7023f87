// transcript.js — a task's whole session in a dialog, during and after the run.
//
// Virtualized: only the rows in (and near) the viewport are in the DOM, each
// absolutely placed at its offset; row heights are measured once rendered and
// estimated until then. Messages are paged in from messages?after=&limit= by
// chunks of 1000 where the reader looks (tmodel.js keeps what is known); unknown
// stretches are placeholder rows sized by their message count. While the task
// runs, new messages arrive over the page's WebSocket and the view follows them
// when scrolled to the bottom (scrolling up pauses; "Jump to latest" resumes).
// Filter by type and by tool, jump to the next error, copy all as text; each row
// has its time (relative; absolute on hover).

import { api } from "./api.js";
import { h, show, text } from "./dom.js";
import { formatRelative, formatTime } from "./format.js";
import { renderRow } from "./messages.js";
import { CHUNK, TranscriptModel, messageAsText } from "./tmodel.js";

const EST = { text: 60, thinking: 38, tool_use: 42, tool_result: 42, error: 56 };
const PER_MESSAGE = 34; // px per not yet loaded message (about a row per message)
const GAP_FILTERED = 44; // px: with a filter on, a stretch not loaded yet is one row
const OVERSCAN = 600; // px rendered above and below the viewport
const BOTTOM_SLACK = 32;
const MAX_LOADS = 2; // chunks fetched at once
const FILTERS = [
    ["", "All messages"],
    ["text", "Text"],
    ["thinking", "Thinking"],
    ["tools", "Tool calls"],
    ["errors", "Errors"],
];

const seqOf = (r) => (r.kind === "gap" ? r.from : r.seq);

export function openTranscript(task, { agentName = "Agent", live = null, active = false } = {}) {
    const model = new TranscriptModel({ last: task.last_seq || 0 });
    const ac = new AbortController();

    // ---- skeleton
    const close = h("button", { type: "button", class: "button", text: "Close" });
    const filterSel = h("select", { id: "t-filter", class: "t-filter" }, FILTERS.map(([v, l]) => h("option", { value: v, text: l })));
    const toolSel = h("select", { id: "t-tool", class: "t-tool" }, h("option", { value: "", text: "All tools" }));
    const nextErr = h("button", { type: "button", class: "button button-small t-next-error", text: "Next error",
        "aria-keyshortcuts": "e" });
    const copyBtn = h("button", { type: "button", class: "button button-small t-copy", text: "Copy all" });
    const canvas = h("div", { class: "transcript-canvas", role: "list", "aria-label": "Messages" });
    const viewport = h("div", { class: "transcript-log", tabindex: "0", "aria-label": "Transcript (scroll to read; E: next error)" }, canvas);
    const jump = h("button", { type: "button", class: "button transcript-jump", hidden: true });
    const status = h("p", { class: "transcript-status", role: "status", "aria-live": "polite" });
    const announce = h("p", { class: "visually-hidden", "aria-live": "polite" });
    const copyOut = h("textarea", { class: "t-copy-out", readonly: true, hidden: true, "aria-label": "The transcript as text" });
    const dialog = h(
        "dialog",
        { class: "transcript-dialog", "aria-label": `Transcript of ${agentName}'s run` },
        h("header", { class: "transcript-header" },
            h("h2", { text: "Transcript" }),
            h("span", { class: "transcript-sub", text: `${agentName} · ${task.status || ""}` }),
            close),
        h("div", { class: "transcript-tools", role: "toolbar", "aria-label": "Transcript tools" },
            h("label", { for: "t-filter", class: "inline-label", text: "Show" }), filterSel,
            h("label", { for: "t-tool", class: "inline-label", text: "Tool" }), toolSel,
            nextErr, copyBtn),
        h("div", { class: "transcript-body" }, viewport, jump),
        copyOut,
        h("footer", { class: "transcript-footer" }, status, announce),
    );

    // ---- view state
    let rows = [];
    let matching = 0; // rows that are messages (not gaps)
    let tops = new Float64Array(1);
    let version = -1; // model version the offsets were computed for
    let layoutDirty = true;
    const heights = new Map(); // row key -> measured px
    const opened = new Map(); // row key -> open state of its <details>, kept while the row is out of view
    const els = new Map(); // row key -> {el, sig, top}
    let following = active;
    let anchor = null; // {seq, offset}: the row at the top of the viewport, kept in place
    let unseen = 0;
    let raf = 0;
    let closed = false;
    const loading = new Set(); // chunk indices
    const failedAt = new Map(); // chunk -> time of the last failure
    let jumped = null; // {seq, scrollTop}: the last "next error" target
    let toolsShown = "";

    const filtered = () => model.filter.categories !== null || model.filter.tool !== null;
    const est = (r) => (r.kind === "gap" ? (filtered() ? GAP_FILTERED : (r.to - r.from + 1) * PER_MESSAGE) : EST[r.type] ?? 48);
    const heightOf = (r) => (r.kind === "gap" ? est(r) : heights.get(r.key) ?? est(r));

    function schedule() {
        if (!raf && !closed) raf = requestAnimationFrame(frame);
    }

    const ro = new ResizeObserver((entries) => {
        for (const e of entries) {
            const key = e.target.dataset.key;
            const px = e.borderBoxSize?.[0]?.blockSize ?? e.target.offsetHeight;
            if (key && px > 0 && Math.abs((heights.get(key) ?? -1) - px) > 0.5) {
                heights.set(key, px);
                layoutDirty = true;
            }
        }
        if (layoutDirty) schedule();
    });

    // index of the last row starting at or before y
    function rowAt(y) {
        let lo = 0;
        let hi = rows.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (tops[mid] <= y) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    // index of the last row whose first seq is at or before seq
    function rowBySeq(seq) {
        let lo = 0;
        let hi = rows.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (seqOf(rows[mid]) <= seq) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    function relayout() {
        rows = model.rows();
        version = model.version;
        layoutDirty = false;
        tops = new Float64Array(rows.length + 1);
        matching = 0;
        for (let i = 0; i < rows.length; i++) {
            tops[i + 1] = tops[i] + heightOf(rows[i]);
            if (rows[i].kind !== "gap") matching++;
        }
        canvas.style.height = `${tops[rows.length]}px`;
    }

    function rememberAnchor() {
        if (!rows.length) return;
        const i = rowAt(viewport.scrollTop);
        anchor = { seq: seqOf(rows[i]), offset: viewport.scrollTop - tops[i] };
    }

    function sig(r) {
        return r.kind === "gap" ? `g${r.to}:${filtered()}` : `${r.lastSeq}:${r.result?.seq ?? ""}`;
    }

    function build(r) {
        if (r.kind === "gap") {
            const n = r.to - r.from + 1;
            const el = h("div", { class: "t-row t-gap", role: "listitem", data: { key: r.key } },
                h("span", { class: "spinner", "aria-hidden": "true" }),
                ` Loading ${n === 1 ? `message ${r.from.toLocaleString()}` : `messages ${r.from.toLocaleString()}–${r.to.toLocaleString()}`}…`);
            el.style.height = `${est(r)}px`;
            return el;
        }
        const first = r.msgs[0];
        const row = renderRow(r.msgs, r.result, { live: active });
        const open = opened.get(r.key);
        if (open) row.el.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
        return h("div", { class: ["t-row", r.isError && "t-row-error"], role: "listitem", tabindex: "-1", data: { key: r.key, first: r.seq } },
            h("time", { class: "msg-time", datetime: first.created_at || null, title: formatTime(first.created_at) || null,
                text: formatRelative(first.created_at) }),
            h("ol", { class: "t-one" }, row.el));
    }

    function frame() {
        raf = 0;
        if (closed) return;
        if (version !== model.version || layoutDirty) {
            if (!following) rememberAnchorIfNone();
            relayout();
            syncTools();
            if (following) viewport.scrollTop = viewport.scrollHeight;
            else if (anchor && rows.length) {
                const i = rowBySeq(anchor.seq);
                const want = tops[i] + (seqOf(rows[i]) === anchor.seq ? anchor.offset : 0);
                if (Math.abs(want - viewport.scrollTop) > 1) viewport.scrollTop = want;
            }
        }
        const top = viewport.scrollTop;
        const from = top - OVERSCAN;
        const to = top + viewport.clientHeight + OVERSCAN;
        const seen = new Set();
        const fresh = [];
        let wantLoad = null;
        if (rows.length) {
            for (let i = rowAt(Math.max(0, from)); i < rows.length && tops[i] < to; i++) {
                const r = rows[i];
                seen.add(r.key);
                let entry = els.get(r.key);
                const s = sig(r);
                if (!entry || entry.sig !== s) {
                    const el = build(r);
                    if (entry) {
                        ro.unobserve(entry.el);
                        entry.el.replaceWith(el);
                    } else canvas.append(el);
                    entry = { el, sig: s, top: -1 };
                    els.set(r.key, entry);
                    if (r.kind !== "gap") fresh.push([r, el]);
                }
                if (entry.top !== tops[i]) {
                    entry.el.style.transform = `translateY(${tops[i]}px)`;
                    entry.top = tops[i];
                }
                if (r.kind === "gap" && !wantLoad) wantLoad = { r, top: tops[i] };
            }
        }
        for (const [key, entry] of els) {
            if (!seen.has(key)) {
                ro.unobserve(entry.el);
                entry.el.remove();
                els.delete(key);
            }
        }
        // Measure what was built (one layout), then watch it for later changes (opened rows).
        for (const [r, el] of fresh) {
            const px = el.offsetHeight;
            if (px > 0 && Math.abs(px - heightOf(r)) > 0.5) {
                heights.set(r.key, px);
                layoutDirty = true;
            }
            ro.observe(el);
        }
        if (wantLoad) loadFor(wantLoad.r, wantLoad.top);
        renderStatus();
        if (layoutDirty) schedule();
    }

    function rememberAnchorIfNone() {
        if (!anchor) rememberAnchor();
    }

    // ---- paging
    function loadFor(gap, gapTop) {
        let seq = gap.from;
        if (!filtered()) {
            const y = Math.max(viewport.scrollTop, gapTop);
            seq = Math.min(gap.to, gap.from + Math.floor((y - gapTop) / PER_MESSAGE));
        }
        loadChunk(Math.floor((seq - 1) / CHUNK));
    }

    async function loadChunk(k) {
        if (loading.has(k) || loading.size >= MAX_LOADS) return false;
        if (Date.now() - (failedAt.get(k) ?? 0) < 2000) return false;
        loading.add(k);
        try {
            const after = k * CHUNK;
            const page = await api.messages(task.id, after, CHUNK, { signal: ac.signal });
            if (closed) return false;
            model.addPage(after, Array.isArray(page?.messages) ? page.messages : [], !!page?.has_more);
            return true;
        } catch (err) {
            if (err?.name === "AbortError" || closed) return false;
            failedAt.set(k, Date.now());
            text(status, `Could not load messages: ${err.message}`);
            setTimeout(schedule, 2100);
            return false;
        } finally {
            loading.delete(k);
            schedule();
        }
    }

    let statusKey = "";
    function renderStatus() {
        // called every frame: the text is built only when what it says changed
        const key = `${loading.size > 0}:${model.version}:${matching}`;
        if (key === statusKey) return;
        statusKey = key;
        if (loading.size && !model.complete) return text(status, `Loading… ${model.loadedCount.toLocaleString()} of ${model.last.toLocaleString()} messages`);
        const n = model.last;
        const whole = model.complete ? " — the whole session" : "";
        text(status, `${n.toLocaleString()} message${n === 1 ? "" : "s"}${whole}${filtered() ? ` · ${matching.toLocaleString()} rows match` : ""}`);
    }

    function syncTools() {
        const names = model.tools;
        const key = names.join("\u0000");
        if (key === toolsShown) return;
        toolsShown = key;
        const chosen = toolSel.value;
        toolSel.replaceChildren(h("option", { value: "", text: "All tools" }), ...names.map((n) => h("option", { value: n, text: n })));
        toolSel.value = names.includes(chosen) ? chosen : "";
    }

    // ---- reading
    viewport.addEventListener("scroll", () => {
        const atBottom = viewport.scrollHeight - viewport.scrollTop - viewport.clientHeight <= BOTTOM_SLACK;
        following = atBottom;
        if (atBottom) {
            unseen = 0;
            show(jump, false);
        }
        rememberAnchor();
        schedule();
    }, { passive: true });

    // "toggle" does not bubble: listened to on the way down
    canvas.addEventListener("toggle", (ev) => {
        const rowEl = ev.target instanceof Element ? ev.target.closest(".t-row") : null;
        if (rowEl?.dataset.key) opened.set(rowEl.dataset.key, [...rowEl.querySelectorAll("details")].map((d) => d.open));
    }, true);

    jump.addEventListener("click", () => {
        following = true;
        unseen = 0;
        show(jump, false);
        viewport.scrollTop = viewport.scrollHeight;
        schedule();
        viewport.focus();
    });

    function applyFilter() {
        const cat = filterSel.value;
        model.setFilter({ categories: cat ? [cat] : null, tool: toolSel.value || null });
        // Laid out at once, keeping the row at the top in place: a scroll right after
        // means a position in the filtered rows, not in the rows shown before.
        cancelAnimationFrame(raf);
        frame();
    }
    filterSel.addEventListener("change", applyFilter);
    toolSel.addEventListener("change", applyFilter);

    function scrollToRow(i) {
        following = false;
        const y = Math.max(0, tops[i] - 8);
        viewport.scrollTop = y;
        anchor = { seq: seqOf(rows[i]), offset: y - tops[i] };
        jumped = { seq: seqOf(rows[i]), scrollTop: viewport.scrollTop };
        const key = rows[i].key;
        schedule();
        requestAnimationFrame(() => requestAnimationFrame(() => {
            const el = els.get(key)?.el;
            if (!el) return;
            for (const old of canvas.querySelectorAll(".is-target")) old.classList.remove("is-target");
            el.classList.add("is-target");
            el.focus({ preventScroll: true });
        }));
    }

    let searching = false;
    async function nextError() {
        if (searching) return;
        searching = true;
        nextErr.disabled = true;
        try {
            if (version !== model.version) relayout();
            let from = rows.length ? seqOf(rows[rowAt(viewport.scrollTop)]) : 0;
            if (jumped && Math.abs(viewport.scrollTop - jumped.scrollTop) < 2) from = jumped.seq;
            for (let rounds = 0; rounds < 1000 && !closed; rounds++) {
                if (version !== model.version) relayout();
                let i = rows.findIndex((r) => seqOf(r) > from && (r.kind === "gap" || r.isError));
                if (i < 0) {
                    text(announce, "No more errors.");
                    text(status, "No more errors after this point.");
                    return;
                }
                if (rows[i].kind !== "gap") {
                    scrollToRow(i);
                    text(announce, `Error at message ${seqOf(rows[i]).toLocaleString()}.`);
                    return;
                }
                // a stretch not loaded yet lies before the next error: load it, look again
                text(status, `Looking for the next error… (message ${rows[i].from.toLocaleString()})`);
                const k = Math.floor((rows[i].from - 1) / CHUNK);
                while (loading.has(k) && !closed) await new Promise((r) => setTimeout(r, 50));
                if (!model.get(rows[i].from) && !(await loadChunk(k)) && Date.now() - (failedAt.get(k) ?? 0) < 2000) return;
            }
        } finally {
            searching = false;
            nextErr.disabled = false;
        }
    }
    nextErr.addEventListener("click", nextError);
    viewport.addEventListener("keydown", (ev) => {
        if (ev.key === "e" && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
            ev.preventDefault();
            nextError();
        }
    });

    copyBtn.addEventListener("click", async () => {
        copyBtn.disabled = true;
        const parts = [];
        try {
            let after = 0;
            for (let pages = 0; pages < 100_000 && !closed; pages++) {
                const page = await api.messages(task.id, after, CHUNK, { signal: ac.signal });
                const msgs = Array.isArray(page?.messages) ? page.messages : [];
                for (const m of msgs) parts.push(messageAsText(m));
                text(status, `Copying… ${parts.length.toLocaleString()} messages`);
                if (!page?.has_more || !msgs.length) break;
                after = msgs[msgs.length - 1].seq;
            }
            const all = parts.join("\n\n");
            try {
                await navigator.clipboard.writeText(all);
                text(status, `Copied ${parts.length.toLocaleString()} messages (${all.length.toLocaleString()} characters).`);
            } catch {
                // the browser refused (no permission, the click too long ago): let the reader copy it
                copyOut.value = all;
                show(copyOut, true);
                copyOut.focus();
                copyOut.select();
                text(status, "The browser did not allow copying: the text is selected below, press Ctrl+C.");
            }
        } catch (err) {
            if (err?.name !== "AbortError") text(status, `Could not copy: ${err.message}`);
        } finally {
            copyBtn.disabled = false;
        }
    });

    // ---- live
    function onFrame(ev) {
        const { type, payload } = ev.detail;
        if ((payload?.task_id ?? payload?.id) !== task.id) return;
        if (type === "task:message") {
            if (model.addLive([payload])) {
                fresh += 1;
                if (!following) {
                    unseen += 1;
                    text(jump, `Jump to latest (${unseen.toLocaleString()} new)`);
                    show(jump, true);
                }
                schedule();
            }
        } else if (type === "task:completed" || type === "task:failed" || type === "task:cancelled") {
            active = false;
            text(announce, "The run ended.");
        }
    }
    live?.addEventListener("frame", onFrame);

    // Screen readers hear how many rows came, every few seconds, not each row.
    let fresh = 0;
    const announcer = setInterval(() => {
        if (!fresh) return;
        text(announce, `${fresh.toLocaleString()} new message${fresh === 1 ? "" : "s"}`);
        fresh = 0;
    }, 5000);

    // relative times age: refresh the visible ones
    const ticker = setInterval(() => {
        for (const { el } of els.values()) {
            const t = el.querySelector(":scope > time");
            if (t) text(t, formatRelative(t.getAttribute("datetime")));
        }
    }, 30_000);

    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
        closed = true;
        ac.abort();
        clearInterval(ticker);
        clearInterval(announcer);
        ro.disconnect();
        cancelAnimationFrame(raf);
        live?.removeEventListener("frame", onFrame);
        dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    viewport.focus();
    if (model.last === 0) loadChunk(0); // nothing announced: ask anyway (a task that just began)
    schedule();
    return dialog;
}
