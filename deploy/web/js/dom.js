// dom.js — the one way this app makes elements. Text only ever goes in through
// textContent / text nodes; attributes that could run code (on*, style, srcdoc,
// javascript: URLs) are refused. No innerHTML anywhere in the app.

const FORBIDDEN_ATTR = /^(on|style$|srcdoc$|formaction$)/i;
const URL_ATTR = /^(href|src|action|xlink:href)$/i;

export function safeUrl(value) {
    try {
        const u = new URL(String(value), globalThis.location?.href ?? "http://localhost/");
        return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch {
        return null;
    }
}

/**
 * h("button", {class: "x", type: "button", on: {click: fn}, data: {seq: 3}, text: "Go"}, child…)
 * Children: Nodes, strings (become text nodes), arrays, null/false (skipped).
 */
export function h(tag, opts = null, ...children) {
    const el = document.createElement(tag);
    if (opts) {
        for (const [key, value] of Object.entries(opts)) {
            if (value === null || value === undefined || value === false) continue;
            if (key === "class") {
                el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value);
            } else if (key === "text") {
                el.textContent = String(value);
            } else if (key === "data") {
                for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) el.dataset[k] = String(v);
            } else if (key === "on") {
                for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
            } else if (key === "props") {
                Object.assign(el, value); // value, checked, disabled, open…
            } else if (FORBIDDEN_ATTR.test(key)) {
                throw new Error(`dom.h: attribute ${key} is not allowed`);
            } else if (URL_ATTR.test(key)) {
                const url = safeUrl(value);
                if (url) el.setAttribute(key, url);
            } else {
                el.setAttribute(key, value === true ? "" : String(value));
            }
        }
    }
    append(el, children);
    return el;
}

export function append(parent, children) {
    for (const child of children) {
        if (child === null || child === undefined || child === false) continue;
        if (Array.isArray(child)) append(parent, child);
        else parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return parent;
}

/** Replaces all children of el (strings become text). */
export function set(el, ...children) {
    el.replaceChildren();
    return append(el, children);
}

export function text(el, value) {
    const s = value === null || value === undefined ? "" : String(value);
    if (el.textContent !== s) el.textContent = s;
    return el;
}

export function show(el, visible) {
    el.hidden = !visible;
    return el;
}
