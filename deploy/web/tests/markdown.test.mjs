// Unit tests of js/markdown.js: node --test deploy/web/tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMarkdown, inline, pieces, plainText, safeHref } from "../js/markdown.js";

// The tree with text leaves replaced by their text: easy to compare.
function shape(src, node) {
    if (node.type === "text") return src.slice(node.s, node.e);
    const out = { type: node.type };
    for (const k of ["level", "lang", "ordered", "start", "href", "depth", "checked"]) if (k in node) out[k] = node[k];
    if (node.children) out.children = node.children.map((c) => shape(src, c));
    if (node.items) out.items = node.items.map((c) => shape(src, { type: "item", ...c }));
    return out;
}
const md = (src) => shape(src, parseMarkdown(src)).children;

test("headings, paragraphs and emphasis", () => {
    const src = "# Title\n\nSome **bold** and *em* and _em2_ and `code` and ~~gone~~.";
    assert.deepEqual(md(src), [
        { type: "heading", level: 1, children: ["Title"] },
        { type: "para", children: ["Some ", { type: "strong", children: ["bold"] }, " and ",
            { type: "em", children: ["em"] }, " and ", { type: "em", children: ["em2"] }, " and ",
            { type: "code", children: ["code"] }, " and ", { type: "del", children: ["gone"] }, "."] },
    ]);
});

test("snake_case and lone stars stay text", () => {
    assert.deepEqual(md("a snake_case_name and 2 * 3 * 4"), [{ type: "para", children: ["a snake_case_name and 2 * 3 * 4"] }]);
    assert.deepEqual(md("**not closed"), [{ type: "para", children: ["**not closed"] }]);
});

test("lists: bullets, numbers, tasks, depth, continuation", () => {
    const src = "- one\n- two\n  more\n  - nested\n\n3. three\n4. four\n\n- [x] done\n- [ ] todo";
    assert.deepEqual(md(src), [
        { type: "list", ordered: false, start: 1, items: [
            { type: "item", depth: 0, checked: null, children: ["one"] },
            { type: "item", depth: 0, checked: null, children: ["two\n  more"] },
            { type: "item", depth: 1, checked: null, children: ["nested"] },
        ] },
        { type: "list", ordered: true, start: 3, items: [
            { type: "item", depth: 0, checked: null, children: ["three"] },
            { type: "item", depth: 0, checked: null, children: ["four"] },
        ] },
        { type: "list", ordered: false, start: 1, items: [
            { type: "item", depth: 0, checked: true, children: ["done"] },
            { type: "item", depth: 0, checked: false, children: ["todo"] },
        ] },
    ]);
});

test("fenced code keeps its text verbatim, Markdown inside is not parsed", () => {
    const src = "Before\n```swift\nlet a = **b**\n<b>x</b>\n```\nAfter";
    assert.deepEqual(md(src), [
        { type: "para", children: ["Before"] },
        { type: "code", lang: "swift", children: ["let a = **b**\n<b>x</b>"] },
        { type: "para", children: ["After"] },
    ]);
    // an unclosed fence runs to the end (a message still streaming)
    assert.deepEqual(md("```\nstill"), [{ type: "code", lang: "", children: ["still"] }]);
});

test("quotes and rules", () => {
    assert.deepEqual(md("> a\n> b\n\n---"), [
        { type: "quote", children: ["a", { type: "br" }, "b"] },
        { type: "rule" },
    ]);
});

test("links: http and https only; bare URLs", () => {
    assert.deepEqual(md("[docs](https://example.com/a?b=1) see https://x.test/p."), [{ type: "para", children: [
        { type: "link", href: "https://example.com/a?b=1", children: ["docs"] },
        " see ", { type: "link", href: "https://x.test/p", children: ["https://x.test/p"] }, "."] }]);
});

test("hostile Markdown stays text", () => {
    const cases = [
        "[click](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x](//evil.test/a)",
        "[x](/relative)",
        "![](http://evil.test/x.png)",
        "![alt](https://evil.test/beacon.gif)",
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "<a href=\"https://evil.test\">x</a>",
    ];
    for (const src of cases) {
        const tree = parseMarkdown(src);
        const kinds = JSON.stringify(tree);
        assert.ok(!kinds.includes('"link"'), `${src} became a link`);
        assert.equal(plainText(src, tree.children[0].children), src, `${src} is shown as written`);
    }
});

test("safeHref refuses everything but absolute http(s)", () => {
    assert.equal(safeHref("https://a.test/x"), "https://a.test/x");
    assert.equal(safeHref("  http://a.test  "), "http://a.test/");
    for (const bad of ["javascript:alert(1)", "data:x", "//a.test", "/x", "ftp://a", "https://", "vbscript:x"]) {
        assert.equal(safeHref(bad), null, bad);
    }
});

test("escapes", () => {
    assert.deepEqual(md("\\*not em\\* and \\[x](https://a.test)"), [{ type: "para", children: [
        "*", "not em", "*", " and ", "[", "x](",
        { type: "link", href: "https://a.test/", children: ["https://a.test"] }, ")"] }]);
});

test("text leaves are ranges of the source, in order, never overlapping", () => {
    const src = "# H *e*\n\n- a `b`\n\n```\ncode\n```\npara [l](https://x.test) end";
    const leaves = [];
    const walk = (n) => {
        if (n.type === "text") leaves.push([n.s, n.e]);
        for (const c of n.children || []) walk(c);
        for (const c of n.items || []) walk(c);
    };
    walk(parseMarkdown(src));
    for (let k = 1; k < leaves.length; k++) assert.ok(leaves[k][0] >= leaves[k - 1][1], JSON.stringify(leaves));
    assert.deepEqual(leaves.map(([s, e]) => src.slice(s, e)), ["H ", "e", "a ", "b", "code", "para ", "l", " end"]);
});

test("pieces cut a leaf at message starts", () => {
    // messages start at 0, 5 and 9 of the joined source
    assert.deepEqual(pieces(2, 12, [0, 5, 9]), [
        { s: 2, e: 5, index: 0 }, { s: 5, e: 9, index: 1 }, { s: 9, e: 12, index: 2 }]);
    assert.deepEqual(pieces(6, 8, [0, 5, 9]), [{ s: 6, e: 8, index: 1 }]);
    assert.deepEqual(pieces(5, 9, [0, 5, 9]), [{ s: 5, e: 9, index: 1 }]);
    assert.deepEqual(pieces(3, 3, [0]), []);
    // an empty message (two starts at the same offset) owns nothing
    assert.deepEqual(pieces(0, 4, [0, 2, 2]), [{ s: 0, e: 2, index: 0 }, { s: 2, e: 4, index: 2 }]);
});

test("a sentence split over two messages is one paragraph", () => {
    const a = "The relay sends every ev";
    const b = "ent **twice** here.";
    const src = a + b;
    assert.deepEqual(md(src), [{ type: "para", children: ["The relay sends every event ", { type: "strong", children: ["twice"] }, " here."] }]);
    const leaf = parseMarkdown(src).children[0].children[0];
    assert.deepEqual(pieces(leaf.s, leaf.e, [0, a.length]).map((p) => [src.slice(p.s, p.e), p.index]),
        [["The relay sends every ev", 0], ["ent ", 1]]);
});

test("inline on a sub-range", () => {
    const src = "xx*a*yy";
    assert.deepEqual(inline(src, 2, 5).map((n) => n.type), ["em"]);
});
