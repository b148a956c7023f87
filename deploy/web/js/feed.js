// feed.js — one task's messages, live and caught up, merged without gaps or
// duplicates. Live frames go to live(); catchUp() pages through
// messages?after=<last seq held> (also when a live frame reveals a gap); the
// store releases each message once, in seq order, to onRelease.

import { api as defaultApi } from "./api.js";
import { MessageStore } from "./merge.js";

export const PAGE = 500;

export class TaskFeed {
    #running = null;
    #again = false;
    #stopped = false;
    #abort = new AbortController();

    constructor(taskId, { onRelease, onError = () => {}, windowSize = 2000, api = defaultApi } = {}) {
        this.taskId = taskId;
        this.store = new MessageStore({ windowSize });
        this.onRelease = onRelease;
        this.onError = onError;
        this.api = api;
    }

    get lastSeq() {
        return this.store.frontier;
    }

    /** A task:message frame for this task. */
    live(msg) {
        if (this.#stopped || msg?.task_id !== this.taskId) return;
        this.#emit(this.store.add(msg));
        if (this.store.hasGap()) this.catchUp();
    }

    /** Fetches everything after the last seq held; coalesces concurrent calls. */
    catchUp() {
        if (this.#stopped) return Promise.resolve();
        if (this.#running) {
            this.#again = true;
            return this.#running;
        }
        this.#running = this.#run().finally(() => {
            this.#running = null;
        });
        return this.#running;
    }

    stop() {
        this.#stopped = true;
        this.#abort.abort();
    }

    async #run() {
        let rounds = 0;
        do {
            this.#again = false;
            let after = this.store.frontier;
            for (let pages = 0; pages < 10_000; pages++) {
                let page;
                try {
                    page = await this.api.messages(this.taskId, after, PAGE, { signal: this.#abort.signal });
                } catch (err) {
                    if (!this.#stopped && err?.name !== "AbortError") this.onError(err);
                    return;
                }
                if (this.#stopped) return;
                const msgs = Array.isArray(page?.messages) ? page.messages : [];
                this.#emit(this.store.addPage(after, msgs, !!page?.has_more));
                if (!page?.has_more || !msgs.length) break;
                after = Number.isSafeInteger(page.last_seq) ? page.last_seq : msgs[msgs.length - 1].seq;
            }
            rounds += 1;
        } while ((this.#again || this.store.hasGap()) && rounds < 5 && !this.#stopped);
    }

    #emit(released) {
        if (released.length && !this.#stopped) this.onRelease(released);
    }
}
