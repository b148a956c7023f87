// app.js — the router: /login, / (issues), /issues/{id}; the top bar with
// sign-out; one LiveClient (WebSocket) shared by the pages while signed in.
// Not signed in (401 from /api/me or any call) → /login.

import { api, setUnauthorizedHandler } from "./api.js";
import { h, set, text } from "./dom.js";
import { issuePage } from "./issue.js";
import { issuesPage } from "./issues.js";
import { LiveClient } from "./live.js";
import { loginPage } from "./login.js";

const bar = document.getElementById("topbar");
const root = document.getElementById("app");
let cleanup = null;
let me = null;
let live = null;
let generation = 0;

const ISSUE_PATH = /^\/issues\/([0-9a-fA-F-]{36})\/?$/;

export function go(path, { replace = false } = {}) {
    if (location.pathname !== path) {
        if (replace) history.replaceState(null, "", path);
        else history.pushState(null, "", path);
    }
    route();
}

function signedOut() {
    live?.close();
    live = null;
    me = null;
}

setUnauthorizedHandler(() => {
    if (location.pathname === "/login") return;
    signedOut();
    go("/login", { replace: true });
});

function renderBar() {
    if (!me) {
        set(bar, h("a", { href: "/", class: "brand", "data-link": "", text: "AgentLive" }));
        return;
    }
    const signOut = h("button", { type: "button", class: "button button-quiet", text: "Sign out" });
    signOut.addEventListener("click", async () => {
        signOut.disabled = true;
        try {
            await api.signOut();
        } catch {
            /* the cookie may be gone already */
        }
        signedOut();
        go("/login");
    });
    set(
        bar,
        h("a", { href: "/", class: "brand", "data-link": "", text: "AgentLive" }),
        h("nav", { class: "topnav", "aria-label": "Main" }, h("a", { href: "/", "data-link": "", text: "Issues" })),
        h("span", { class: "spacer" }),
        h("span", { class: "whoami", text: me.user?.name || me.user?.email || "" }),
        signOut,
    );
}

async function route() {
    const gen = ++generation;
    cleanup?.();
    cleanup = null;
    const path = location.pathname;

    if (path === "/login" || path === "/login/") {
        if (me) return go("/", { replace: true });
        renderBar();
        cleanup = loginPage(root, {
            onSignedIn: () => {
                me = null;
                go("/", { replace: true });
            },
        });
        return;
    }

    if (!me) {
        set(root, h("main", { class: "page", id: "main" }, h("p", { class: "muted", text: "Loading…" })));
        try {
            me = await api.me({ quiet401: true });
        } catch (err) {
            if (gen !== generation) return;
            if (err.status === 401) return go("/login", { replace: true });
            const retry = h("button", { type: "button", class: "button", text: "Try again" });
            retry.addEventListener("click", () => route());
            set(root, h("main", { class: "page", id: "main" }, h("h1", { text: "AgentLive is unreachable" }),
                h("p", { text: err.message }), retry));
            return;
        }
        if (gen !== generation) return;
    }
    if (!live) {
        live = new LiveClient();
        live.addEventListener("closed", (ev) => {
            // 1008: the session was refused; a 401 here sends the page to /login.
            if (ev.detail.code === 1008) api.me().catch(() => {});
        });
    }
    renderBar();

    if (path === "/" || path === "/index.html") {
        cleanup = issuesPage(root, { live, me, navigate: (to) => go(to) });
        return;
    }
    const m = ISSUE_PATH.exec(path);
    if (m) {
        cleanup = issuePage(root, { id: m[1].toLowerCase(), live });
        return;
    }
    document.title = "Not found · AgentLive";
    set(root, h("main", { class: "page", id: "main" }, h("h1", { text: "Page not found" }),
        h("p", {}, h("a", { href: "/", "data-link": "", text: "Back to the issues" }))));
}

// Same-origin links navigate without reloading the page.
document.addEventListener("click", (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target instanceof Element ? ev.target.closest("a[data-link]") : null;
    if (!a || a.target) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin) return;
    ev.preventDefault();
    go(url.pathname);
});
window.addEventListener("popstate", () => route());

route();
