// live.js — the page's one WebSocket to /ws: connects with the session cookie,
// keeps a set of subscribed issues (at most 100) and re-subscribes after every
// reconnect, reconnects with backoff (0.5 s doubling to 5 s; also after close
// 1013 "try again later"), and dispatches what arrives.
//
// Events (EventTarget, detail in event.detail):
//   "state"       {state: "connecting" | "live" | "reconnecting" | "closed"}
//   "subscribed"  {issue_id}  — answered; the listener should now catch up over HTTP
//   "frame"       {type, payload} — every event frame (task:*, comment:created, resync…)
//   "sub-error"   {issue_id, code, message}

export const MAX_SUBSCRIPTIONS = 100;
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 5000;
const PING_EVERY = 20_000;
const PONG_WITHIN = 10_000;

export function wsUrl(loc = globalThis.location) {
    return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}

export class LiveClient extends EventTarget {
    #ws = null;
    #subs = new Set();
    #acked = new Set();
    #backoff = BACKOFF_MIN;
    #retryTimer = 0;
    #pingTimer = 0;
    #pongTimer = 0;
    #stopped = false;

    constructor({ url = wsUrl(), WebSocketImpl = globalThis.WebSocket } = {}) {
        super();
        this.url = url;
        this.WebSocketImpl = WebSocketImpl;
        this.state = "connecting";
        this.#connect();
    }

    /** Adds issueId to the subscribed set (false when 100 are subscribed already). */
    subscribe(issueId) {
        if (this.#subs.has(issueId)) {
            if (this.#acked.has(issueId)) this.#emit("subscribed", { issue_id: issueId });
            return true;
        }
        if (this.#subs.size >= MAX_SUBSCRIPTIONS) return false;
        this.#subs.add(issueId);
        this.#send({ type: "subscribe", payload: { issue_id: issueId } });
        return true;
    }

    unsubscribe(issueId) {
        if (!this.#subs.delete(issueId)) return;
        this.#acked.delete(issueId);
        this.#send({ type: "unsubscribe", payload: { issue_id: issueId } });
    }

    isSubscribed(issueId) {
        return this.#acked.has(issueId);
    }

    /** Drops the connection now and reconnects (e.g. after a missed pong). */
    reconnect() {
        if (this.#ws) this.#ws.close(4000, "reconnect");
    }

    close() {
        this.#stopped = true;
        clearTimeout(this.#retryTimer);
        this.#stopTimers();
        if (this.#ws) {
            const ws = this.#ws;
            this.#ws = null;
            ws.close(1000, "bye");
        }
        this.#setState("closed");
    }

    #emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    #setState(state) {
        if (this.state === state) return;
        this.state = state;
        this.#emit("state", { state });
    }

    #send(frame) {
        if (this.#ws && this.#ws.readyState === 1) this.#ws.send(JSON.stringify(frame));
    }

    #connect() {
        if (this.#stopped) return;
        let ws;
        try {
            ws = new this.WebSocketImpl(this.url);
        } catch {
            this.#scheduleRetry();
            return;
        }
        this.#ws = ws;
        ws.addEventListener("open", () => {
            if (this.#ws !== ws) return;
            this.#backoff = BACKOFF_MIN;
            this.#acked.clear();
            for (const id of this.#subs) this.#send({ type: "subscribe", payload: { issue_id: id } });
            this.#setState("live");
            this.#startPing(ws);
        });
        ws.addEventListener("message", (ev) => {
            if (this.#ws !== ws) return;
            this.#onFrame(ev.data);
        });
        ws.addEventListener("close", (ev) => {
            if (this.#ws !== ws) return;
            this.#ws = null;
            this.#stopTimers();
            this.#acked.clear();
            if (this.#stopped) return;
            this.#emit("closed", { code: ev.code, reason: ev.reason });
            this.#scheduleRetry();
        });
        // "error" is always followed by "close"; nothing to do here.
    }

    #scheduleRetry() {
        if (this.#stopped) return;
        this.#setState("reconnecting");
        const delay = Math.round(this.#backoff * (0.8 + Math.random() * 0.4));
        this.#backoff = Math.min(BACKOFF_MAX, this.#backoff * 2);
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.#connect(), delay);
    }

    #startPing(ws) {
        this.#stopTimers();
        this.#pingTimer = setInterval(() => {
            if (this.#ws !== ws || ws.readyState !== 1) return;
            ws.send(JSON.stringify({ type: "ping" }));
            clearTimeout(this.#pongTimer);
            this.#pongTimer = setTimeout(() => {
                if (this.#ws === ws) ws.close(4001, "no pong");
            }, PONG_WITHIN);
        }, PING_EVERY);
    }

    #stopTimers() {
        clearInterval(this.#pingTimer);
        clearTimeout(this.#pongTimer);
    }

    #onFrame(data) {
        if (typeof data !== "string") return;
        let frame;
        try {
            frame = JSON.parse(data);
        } catch {
            return;
        }
        if (!frame || typeof frame.type !== "string") return;
        const payload = frame.payload && typeof frame.payload === "object" ? frame.payload : {};
        clearTimeout(this.#pongTimer); // any frame proves the connection is alive
        switch (frame.type) {
            case "pong":
            case "authenticated":
                return;
            case "subscribed":
                if (this.#subs.has(payload.issue_id)) {
                    this.#acked.add(payload.issue_id);
                    this.#emit("subscribed", { issue_id: payload.issue_id });
                }
                return;
            case "unsubscribed":
                return;
            case "error":
                if (payload.issue_id) {
                    this.#subs.delete(payload.issue_id);
                    this.#emit("sub-error", payload);
                }
                return;
            default:
                this.#emit("frame", { type: frame.type, payload });
        }
    }
}
