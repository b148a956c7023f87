// login.js — sign in with email and password (POST /api/session sets the
// HttpOnly session cookie), then go to the issue list.

import { api } from "./api.js";
import { h, set, text } from "./dom.js";

export function loginPage(root, { onSignedIn }) {
    const email = h("input", { id: "login-email", name: "email", type: "email", required: true, autocomplete: "username" });
    const password = h("input", { id: "login-password", name: "password", type: "password", required: true, autocomplete: "current-password" });
    const submit = h("button", { type: "submit", class: "button button-primary", text: "Sign in" });
    const status = h("p", { class: "form-error", role: "status", "aria-live": "polite" });
    const title = h("h1", { tabindex: "-1", text: "Sign in to AgentLive" });
    const form = h(
        "form",
        { class: "login-form" },
        title,
        h("label", { for: "login-email", text: "Email" }),
        email,
        h("label", { for: "login-password", text: "Password" }),
        password,
        status,
        h("div", { class: "form-actions" }, submit),
    );
    set(root, h("main", { class: "page login-page", id: "main" }, form));
    document.title = "Sign in · AgentLive";
    email.focus();

    form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        submit.disabled = true;
        text(status, "");
        try {
            const { user } = await api.signIn(email.value.trim(), password.value);
            onSignedIn(user);
        } catch (err) {
            text(status, err.status === 401 ? "Wrong email or password." : err.message);
            password.select();
        } finally {
            submit.disabled = false;
        }
    });
    return () => {};
}
