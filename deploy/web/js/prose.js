// prose.js — a run of consecutive text (or thinking) messages as one paragraph
// flow. The daemon flushes text every 500 ms, so a sentence may be cut over two
// messages: the run's contents are joined and rendered together, as Markdown
// (markdown.js) or raw.
//
// data-seq with Markdown: the joined source is parsed once and each text leaf is
// cut at message starts (markdown.js pieces()). The first piece of each message
// is a <span data-seq data-type>; further pieces of the same message (it crossed
// an emphasis, a list item…) are <span data-cont="seq">. So every message has
// exactly one data-seq element, in seq order, and the Markdown is that of the
// whole run. A message with no visible text (only "**", blank lines…) gets an
// empty data-seq span at the end. Raw: one data-seq span per message, verbatim.

import { h } from "./dom.js";
import { parseMarkdown, pieces } from "./markdown.js";

function contentOf(msg) {
    const c = msg.content ?? msg.output ?? "";
    return typeof c === "string" ? c : JSON.stringify(c);
}

/** The run's joined source and where each message starts in it. */
export function joinRun(msgs) {
    const starts = [];
    let src = "";
    for (const m of msgs) {
        starts.push(src.length);
        src += contentOf(m);
    }
    return { src, starts };
}

/** Raw: the messages verbatim, one span each, in a pre-wrap block. */
export function renderRaw(msgs, className = "prose-raw pre") {
    return h("div", { class: className },
        msgs.map((m) => h("span", { data: { seq: m.seq, type: m.type }, text: contentOf(m) })));
}

/** Markdown of the whole run, one data-seq element per message (see above). */
export function renderMarkdown(msgs) {
    const { src, starts } = joinRun(msgs);
    const seen = new Array(msgs.length).fill(false);
    const text = (leaf) =>
        pieces(leaf.s, leaf.e, starts).map((p) => {
            const m = msgs[p.index];
            const first = !seen[p.index];
            seen[p.index] = true;
            return h("span", first ? { data: { seq: m.seq, type: m.type } } : { data: { cont: m.seq } }, src.slice(p.s, p.e));
        });
    const inl = (nodes) => nodes.map((n) => {
        switch (n.type) {
            case "text": return text(n);
            case "br": return h("br");
            case "strong": return h("strong", null, inl(n.children));
            case "em": return h("em", null, inl(n.children));
            case "del": return h("del", null, inl(n.children));
            case "code": return h("code", { class: "md-code" }, inl(n.children));
            case "link":
                return h("a", { href: n.href, target: "_blank", rel: "noopener noreferrer nofollow", referrerpolicy: "no-referrer" }, inl(n.children));
            default: return null;
        }
    });
    const block = (b) => {
        switch (b.type) {
            case "heading": return h(`h${Math.min(6, b.level + 2)}`, { class: `md-h md-h${b.level}` }, inl(b.children));
            case "para": return h("p", { class: "md-p" }, inl(b.children));
            case "code": return h("pre", { class: "md-pre", data: { lang: b.lang || null } }, h("code", null, inl(b.children)));
            case "quote": return h("blockquote", { class: "md-quote" }, inl(b.children));
            case "rule": return h("hr", { class: "md-rule" });
            case "list":
                return h(b.ordered ? "ol" : "ul", { class: "md-list", start: b.ordered && b.start !== 1 ? String(b.start) : null },
                    b.items.map((it) => h("li", { class: [`md-depth-${it.depth}`, it.checked !== null && "md-task"] },
                        it.checked === null ? null
                            : h("span", { class: ["md-check", it.checked && "is-checked"], role: "img", "aria-label": it.checked ? "done" : "not done", text: it.checked ? "☑" : "☐" }),
                        inl(it.children))));
            default: return null;
        }
    };
    const body = h("div", { class: "prose-md" }, parseMarkdown(src).children.map(block));
    const silent = msgs.filter((_, k) => !seen[k]);
    if (silent.length) body.append(...silent.map((m) => h("span", { class: "md-anchor", data: { seq: m.seq, type: m.type } })));
    return body;
}

/** The first words of a run, for a collapsed thinking row. */
export function firstWords(msgs, max = 90) {
    const s = joinRun(msgs).src.replace(/\s+/g, " ").trim();
    const chars = Array.from(s);
    return chars.length <= max ? s : chars.slice(0, max - 1).join("").trimEnd() + "…";
}
