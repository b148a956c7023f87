// markdown.js — a small, safe Markdown subset parsed into a tree (pure: no DOM).
//
// Blocks: ATX headings, paragraphs, bullet/numbered/task lists (one level of
// indentation kept as depth), fenced code, block quotes, rules. Inlines: code
// spans, **strong**, *em*/_em_, ~~del~~, [links](https://…), bare http(s) URLs,
// backslash escapes. Everything else stays text: raw HTML is never HTML, an
// image `![a](u)` is its literal source (nothing is fetched), a link whose URL is
// not absolute http(s) is its literal source.
//
// Text is never copied into the tree: a text leaf is {type: "text", s, e}, a range
// of the source. The view (prose.js) cuts leaves at message boundaries, so a
// paragraph made of several messages keeps one element per message piece
// (see pieces()).

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING = /^( {0,3}(#{1,6})[ \t]+)(.*?)[ \t]*(?:#+[ \t]*)?$/;
const HEADING_EMPTY = /^ {0,3}(#{1,6})[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const ITEM = /^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+/;
const TASK = /^\[([ xX])\][ \t]+/;
const QUOTE = /^ {0,3}> ?/;
const PUNCT = /[!-/:-@[-`{-~]/;
const URL_CHARS = /^https?:\/\/[^\s<>"'`]+/i;

/** An absolute http(s) URL as a string, or null (javascript:, data:, relative…). */
export function safeHref(raw) {
    const s = String(raw ?? "").trim();
    if (!/^https?:\/\//i.test(s)) return null;
    try {
        const u = new URL(s);
        return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch {
        return null;
    }
}

function lines(src) {
    const out = [];
    let start = 0;
    for (;;) {
        const nl = src.indexOf("\n", start);
        const end = nl < 0 ? src.length : nl;
        out.push({ s: start, e: end, text: src.slice(start, end) });
        if (nl < 0) return out;
        start = nl + 1;
    }
}

const blank = (l) => l.text.trim() === "";
const startsBlock = (t) => FENCE.test(t) || HEADING.test(t) || HEADING_EMPTY.test(t) || RULE.test(t) || ITEM.test(t) || QUOTE.test(t);

/** Parses src into {type: "doc", children: [block…]}. */
export function parseMarkdown(src) {
    src = String(src ?? "");
    const ls = lines(src);
    const blocks = [];
    let i = 0;
    while (i < ls.length) {
        const l = ls[i];
        if (blank(l)) {
            i++;
            continue;
        }
        let m;
        if ((m = FENCE.exec(l.text))) {
            const fence = m[1];
            const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`);
            let j = i + 1;
            while (j < ls.length && !close.test(ls[j].text)) j++;
            const s = i + 1 < ls.length ? ls[i + 1].s : l.e;
            const e = j > i + 1 ? ls[j - 1].e : s;
            blocks.push({ type: "code", lang: m[2] || "", children: s < e ? [{ type: "text", s, e }] : [] });
            i = j + 1;
            continue;
        }
        if ((m = HEADING.exec(l.text)) && m[3] !== "") {
            const s = l.s + m[1].length;
            blocks.push({ type: "heading", level: m[2].length, children: inline(src, s, s + m[3].length) });
            i++;
            continue;
        }
        if ((m = HEADING_EMPTY.exec(l.text))) {
            blocks.push({ type: "heading", level: m[1].length, children: [] });
            i++;
            continue;
        }
        if (RULE.test(l.text)) {
            blocks.push({ type: "rule" });
            i++;
            continue;
        }
        if (ITEM.test(l.text)) {
            const list = { type: "list", ordered: /\d/.test(ITEM.exec(l.text)[2]), start: 1, items: [] };
            const first = ITEM.exec(l.text)[2];
            if (list.ordered) list.start = parseInt(first, 10);
            while (i < ls.length && (m = ITEM.exec(ls[i].text)) && /\d/.test(m[2]) === list.ordered) {
                const indent = m[1].replace(/\t/g, "    ").length;
                let s = ls[i].s + m[0].length;
                let checked = null;
                const t = TASK.exec(src.slice(s, ls[i].e));
                if (t) {
                    checked = t[1] !== " ";
                    s += t[0].length;
                }
                let e = ls[i].e;
                i++;
                // continuation lines: indented, not blank, not an item of their own
                while (i < ls.length && !blank(ls[i]) && /^[ \t]/.test(ls[i].text) && !ITEM.test(ls[i].text)) {
                    e = ls[i].e;
                    i++;
                }
                list.items.push({ depth: Math.min(3, Math.floor(indent / 2)), checked, children: inline(src, s, e) });
            }
            blocks.push(list);
            continue;
        }
        if (QUOTE.test(l.text)) {
            const children = [];
            while (i < ls.length && (m = QUOTE.exec(ls[i].text))) {
                if (children.length) children.push({ type: "br" });
                children.push(...inline(src, ls[i].s + m[0].length, ls[i].e));
                i++;
            }
            blocks.push({ type: "quote", children });
            continue;
        }
        let j = i + 1;
        while (j < ls.length && !blank(ls[j]) && !startsBlock(ls[j].text)) j++;
        blocks.push({ type: "para", children: inline(src, l.s, ls[j - 1].e) });
        i = j;
    }
    return { type: "doc", children: blocks };
}

const isSpace = (c) => c === undefined || /\s/.test(c);

// The closing delimiter run (exactly n of ch) for an opener at i, or -1.
function closer(src, from, e, ch, n) {
    let j = from;
    while (j < e) {
        const c = src[j];
        if (c === "\\") {
            j += 2;
            continue;
        }
        if (c === "`") {
            const k = codeEnd(src, j, e);
            j = k < 0 ? j + 1 : k;
            continue;
        }
        if (c === ch) {
            let r = 1;
            while (src[j + r] === ch) r++;
            if (r === n && j > from && !isSpace(src[j - 1])) {
                if (ch !== "_" || !/[\p{L}\p{N}]/u.test(src[j + n] ?? "")) return j;
            }
            j += r;
            continue;
        }
        j++;
    }
    return -1;
}

// The index after a code span starting at i (a run of backticks), or -1.
function codeEnd(src, i, e) {
    let n = 0;
    while (src[i + n] === "`") n++;
    let j = i + n;
    while (j < e) {
        if (src[j] !== "`") {
            j++;
            continue;
        }
        let r = 0;
        while (src[j + r] === "`") r++;
        if (r === n) return j + r;
        j += r;
    }
    return -1;
}

// [text](url) starting at i ("["): {textEnd, urlStart, urlEnd, end} or null.
function linkAt(src, i, e) {
    let depth = 0;
    let j = i;
    for (; j < e; j++) {
        const c = src[j];
        if (c === "\\") j++;
        else if (c === "[") depth++;
        else if (c === "]" && --depth === 0) break;
    }
    if (j >= e || src[j + 1] !== "(") return null;
    const urlStart = j + 2;
    let k = urlStart;
    let paren = 0;
    for (; k < e; k++) {
        const c = src[k];
        if (c === "\n") return null;
        if (c === "(") paren++;
        else if (c === ")") {
            if (paren === 0) break;
            paren--;
        }
    }
    if (k >= e) return null;
    return { textEnd: j, urlStart, urlEnd: k, end: k + 1 };
}

/** Inline nodes of src[s, e). */
export function inline(src, s, e) {
    const out = [];
    let ts = s; // start of pending text
    const flush = (to) => {
        if (to > ts) out.push({ type: "text", s: ts, e: to });
    };
    let i = s;
    while (i < e) {
        const c = src[i];
        if (c === "\\" && i + 1 < e && PUNCT.test(src[i + 1])) {
            flush(i);
            out.push({ type: "text", s: i + 1, e: i + 2 });
            i += 2;
            ts = i;
            continue;
        }
        if (c === "`") {
            const end = codeEnd(src, i, e);
            let n = 0;
            while (src[i + n] === "`") n++;
            if (end < 0) {
                i += n;
                continue;
            }
            flush(i);
            out.push({ type: "code", children: [{ type: "text", s: i + n, e: end - n }] });
            i = end;
            ts = i;
            continue;
        }
        if (c === "*" || c === "_" || c === "~") {
            let run = 1;
            while (src[i + run] === c) run++;
            const n = c === "~" ? 2 : Math.min(run, 2);
            const leftOk = c !== "_" || i === s || !/[\p{L}\p{N}]/u.test(src[i - 1]);
            if ((c !== "~" || run === 2) && leftOk && !isSpace(src[i + n])) {
                const j = closer(src, i + n, e, c, n);
                if (j > 0) {
                    flush(i);
                    const type = c === "~" ? "del" : n === 2 ? "strong" : "em";
                    out.push({ type, children: inline(src, i + n, j) });
                    i = j + n;
                    ts = i;
                    continue;
                }
            }
            i += run;
            continue;
        }
        if (c === "!" && src[i + 1] === "[") {
            // An image stays its literal source: nothing is fetched.
            const l = linkAt(src, i + 1, e);
            i = l ? l.end : i + 2;
            continue;
        }
        if (c === "[") {
            const l = linkAt(src, i, e);
            const href = l && safeHref(src.slice(l.urlStart, l.urlEnd));
            if (href) {
                flush(i);
                out.push({ type: "link", href, children: inline(src, i + 1, l.textEnd) });
                i = l.end;
                ts = i;
                continue;
            }
            i = l ? l.end : i + 1; // not a safe link: its literal source
            continue;
        }
        if ((c === "h" || c === "H") && (i === s || /[\s(]/.test(src[i - 1]))) {
            const m = URL_CHARS.exec(src.slice(i, e));
            if (m) {
                let url = m[0];
                while (/[.,;:!?)\]]$/.test(url)) url = url.slice(0, -1);
                const href = safeHref(url);
                if (href && url.length > 8) {
                    flush(i);
                    out.push({ type: "link", href, children: [{ type: "text", s: i, e: i + url.length }] });
                    i += url.length;
                    ts = i;
                    continue;
                }
            }
        }
        i++;
    }
    flush(e);
    return out;
}

/**
 * Cuts the text range [s, e) at message starts (ascending offsets into the
 * joined source; starts[k] is where message k begins). → [{s, e, index}], index
 * being the message each piece belongs to.
 */
export function pieces(s, e, starts) {
    const out = [];
    if (s >= e) return out;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
        // the last message starting at or before s
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= s) lo = mid;
        else hi = mid - 1;
    }
    let k = lo;
    let at = s;
    while (at < e) {
        const next = k + 1 < starts.length ? Math.min(e, starts[k + 1]) : e;
        if (next > at) out.push({ s: at, e: next, index: k });
        at = Math.max(at, next);
        k++;
    }
    return out;
}

/** The plain text of an inline/leaf list (for tests and accessible names). */
export function plainText(src, nodes) {
    let out = "";
    for (const n of nodes) {
        if (n.type === "text") out += src.slice(n.s, n.e);
        else if (n.type === "br") out += "\n";
        else if (n.children) out += plainText(src, n.children);
    }
    return out;
}
