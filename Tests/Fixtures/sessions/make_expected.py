#!/usr/bin/env python3
"""The agent-output → task-message mapping, as executable documentation.

For every <name>.jsonl next to this file, writes expected/<name>.messages.json
(the messages the daemon sends, before redaction and size limits) and
expected/<name>.outcome.json (final status, output, error, progress updates, and the
agent's session id and usage that go with the task's end).
See README.md for the rules in prose. Run: python3 make_expected.py
"""
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


class Run:
    """What the mapping produces: messages with seq from 1, progress updates, the outcome."""

    def __init__(self):
        self.messages, self.progress = [], []
        self.status, self.output, self.error = None, None, None
        self.session_id, self.usage = None, None
        self.tool_names = {}  # call_id -> tool

    def send(self, type, **fields):
        message = {"seq": len(self.messages) + 1, "type": type}
        message.update((k, v) for k, v in fields.items() if v is not None)
        self.messages.append(message)

    def tool_use(self, tool, call_id, input):
        self.tool_names[call_id] = tool
        self.send("tool_use", tool=tool, call_id=call_id, input=input)

    def tool_result(self, call_id, output, is_error):
        self.send("tool_result", tool=self.tool_names.get(call_id), call_id=call_id, output=output,
                  is_error=bool(is_error))

    def report(self, summary, step, total):
        update = {"summary": summary, "step": step, "total": total}
        if not self.progress or self.progress[-1] != update:  # repeated lists are not re-reported
            self.progress.append(update)

    def end(self, status, output=None, error=None):
        self.status, self.output, self.error = status, output, error

    def set_usage(self, model=None, input_tokens=0, output_tokens=0, cache_read_tokens=None, cache_write_tokens=None,
                  cost_usd=None):
        usage = {"model": model, "input_tokens": input_tokens, "output_tokens": output_tokens,
                 "cache_read_tokens": cache_read_tokens, "cache_write_tokens": cache_write_tokens, "cost_usd": cost_usd}
        self.usage = {k: v for k, v in usage.items() if v is not None}


def claude(events):
    run = Run()
    streamed = set()  # message ids whose text already arrived as stream_event deltas
    open_text = {}    # content block index -> (message type, text so far)
    model = None
    for ev in events:
        kind = ev.get("type")
        if kind == "system" and ev.get("subtype") == "init":
            model = ev.get("model")
            run.session_id = ev.get("session_id") or run.session_id
        elif kind == "stream_event":
            e = ev["event"]
            if e["type"] == "message_start":
                streamed.add(e["message"]["id"])
                open_text.clear()
            elif e["type"] == "content_block_start" and e["content_block"]["type"] == "text":
                open_text[e["index"]] = ("text", e["content_block"].get("text", ""))
            elif e["type"] == "content_block_start" and e["content_block"]["type"] == "thinking":
                open_text[e["index"]] = ("thinking", e["content_block"].get("thinking", ""))
            elif e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta":
                open_text[e["index"]] = ("text", open_text[e["index"]][1] + e["delta"]["text"])
            elif e["type"] == "content_block_delta" and e["delta"]["type"] == "thinking_delta":
                open_text[e["index"]] = ("thinking", open_text[e["index"]][1] + e["delta"]["thinking"])
            elif e["type"] == "content_block_stop" and e["index"] in open_text:
                type, text = open_text.pop(e["index"])
                if text:
                    run.send(type, content=text)
            # input_json_delta, signature_delta, message_delta, message_stop: nothing to send
        elif kind == "assistant":
            message = ev["message"]
            for block in message["content"]:
                if block["type"] == "text" and block["text"] and message.get("id") not in streamed:
                    run.send("text", content=block["text"])
                elif block["type"] == "tool_use":
                    run.tool_use(block["name"], block["id"], block["input"])
                    if block["name"] == "TodoWrite":
                        todo_progress(run, block["input"].get("todos", []))
                elif block["type"] == "thinking" and block.get("thinking") and message.get("id") not in streamed:
                    run.send("thinking", content=block["thinking"])
                # redacted_thinking is encrypted: not sent
        elif kind == "user":
            content = ev["message"]["content"]
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_result":
                    run.tool_result(block["tool_use_id"], result_text(block.get("content")), block.get("is_error"))
        elif kind == "result":
            run.session_id = ev.get("session_id") or run.session_id
            if isinstance(ev.get("usage"), dict):
                u = ev["usage"]
                run.set_usage(model, u.get("input_tokens", 0), u.get("output_tokens", 0), u.get("cache_read_input_tokens"),
                              u.get("cache_creation_input_tokens"), ev.get("total_cost_usd", ev.get("cost_usd")))
            if ev.get("is_error") or ev.get("subtype") != "success":
                error = ev.get("result") or "; ".join(ev.get("errors") or []) or ev.get("subtype")
                run.send("error", content=error)
                run.end("failed", error=error)
            else:
                run.end("completed", output=ev.get("result"))
        # system (init, …) and unknown types: nothing to send
    if run.status is None:
        run.end("failed", error="the agent exited without a result")
    return run


def result_text(content):
    """tool_result content is a string or a list of blocks; text blocks are joined with newlines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") if b.get("type") == "text" else f"[{b.get('type')}]" for b in content)


def todo_progress(run, todos):
    done = sum(t.get("status") == "completed" for t in todos)
    current = next((t for t in todos if t.get("status") == "in_progress"), None)
    pending = next((t for t in todos if t.get("status") == "pending"), None)
    if current:
        summary = current.get("activeForm") or current.get("content")
    elif pending:
        summary = pending.get("content")
    else:
        summary = "All tasks completed"
    run.report(summary, done, len(todos))


def codex(events):
    run = Run()
    announced, last_message, last_error = set(), None, None
    for ev in events:
        kind = ev.get("type")
        if kind in ("item.started", "item.updated", "item.completed"):
            item, done = ev["item"], kind == "item.completed"
            t = item["type"]
            if t == "agent_message" and done:
                run.send("text", content=item["text"])
                last_message = item["text"]
            elif t == "todo_list":
                items = item.get("items", [])
                nxt = next((i["text"] for i in items if not i["completed"]), "All tasks completed")
                run.report(nxt, sum(i["completed"] for i in items), len(items))
            elif t == "reasoning" and done:
                run.send("thinking", content=item["text"])
            elif t == "error" and done:
                run.send("error", content=item["message"])
                last_error = item["message"]
            elif t in CODEX_TOOLS:
                name, input, output, failed = CODEX_TOOLS[t](item)
                if item["id"] not in announced:
                    announced.add(item["id"])
                    run.tool_use(name, item["id"], input)
                if done:
                    run.tool_result(item["id"], output, failed)
            # unknown item types: not sent
        elif kind == "error":
            run.send("error", content=ev["message"])
            last_error = ev["message"]
        elif kind == "thread.started":
            run.session_id = ev["thread_id"]
        elif kind == "turn.started":
            last_message = None
        elif kind == "turn.completed":
            u, before = ev.get("usage") or {}, run.usage or {}
            run.set_usage(None, before.get("input_tokens", 0) + u.get("input_tokens", 0),
                          before.get("output_tokens", 0) + u.get("output_tokens", 0),
                          before.get("cache_read_tokens", 0) + u.get("cached_input_tokens", 0))
            run.end("completed", output=last_message)
        elif kind == "turn.failed":
            message = ev["error"]["message"]
            if message != last_error:
                run.send("error", content=message)
            run.end("failed", error=message)
    if run.status is None:
        run.end("failed", error="the agent exited without finishing its turn")
    return run


def mcp_output(item):
    if item.get("error"):
        return item["error"]["message"]
    blocks = (item.get("result") or {}).get("content") or []
    return "\n".join(b.get("text", "") if b.get("type") == "text" else f"[{b.get('type')}]" for b in blocks)


# item type -> (tool, input, output, is_error)
CODEX_TOOLS = {
    "command_execution": lambda i: ("shell", {"command": i["command"]}, i.get("aggregated_output") or "",
                                    i["status"] != "completed" or i.get("exit_code") not in (0, None)),
    "file_change": lambda i: ("apply_patch", {"changes": i["changes"]},
                              "\n".join(f"{c['kind']} {c['path']}" for c in i["changes"]), i["status"] != "completed"),
    "mcp_tool_call": lambda i: (f"mcp__{i['server']}__{i['tool']}", i.get("arguments"), mcp_output(i),
                                i["status"] == "failed" or bool(i.get("error"))),
    # A search has no output to show, but its result closes the call (no spinner left running).
    "web_search": lambda i: ("web_search", {"query": i["query"]}, "", i.get("status") == "failed"),
}


def gemini(events):
    run = Run()
    model, final, last_error = None, "", None
    for ev in events:
        kind = ev.get("type")
        if kind == "init":
            model, run.session_id = ev.get("model"), ev.get("session_id")
        elif kind == "message" and ev.get("role") == "assistant":
            # Deltas coalesce like Claude's text; user messages are the prompt.
            if run.messages and run.messages[-1]["type"] == "text":
                run.messages[-1]["content"] += ev["content"]
            else:
                run.send("text", content=ev["content"])
            final += ev["content"]
        elif kind == "tool_use":
            final = ""  # the output is what the agent said after its last tool call
            run.tool_use(ev["tool_name"], ev["tool_id"], ev.get("parameters"))
        elif kind == "tool_result":
            failed = ev.get("status") == "error"
            message = (ev.get("error") or {}).get("message")
            output = (message or ev.get("output")) if failed else (ev.get("output") or message)
            run.tool_result(ev["tool_id"], output or "", failed)
        elif kind == "error":
            run.send("error", content=ev["message"])
            last_error = ev["message"]
        elif kind == "result":
            stats = ev.get("stats")
            if stats is not None:
                run.set_usage(model, stats.get("input_tokens", 0), stats.get("output_tokens", 0), stats.get("cached"))
            if ev.get("status") == "success":
                run.end("completed", output=final or None)
            else:
                error = (ev.get("error") or {}).get("message") or last_error or "the agent failed"
                if error != last_error:
                    run.send("error", content=error)
                run.end("failed", error=error)
    if run.status is None:
        run.end("failed", error="the agent exited without a result")
    return run


def opencode(events):
    run = Run()
    last_text, last_error, steps = None, None, 0
    for ev in events:
        kind, part = ev.get("type"), ev.get("part") or {}
        run.session_id = ev.get("sessionID") or run.session_id
        if kind == "text" and part.get("text"):
            run.send("text", content=part["text"])
            last_text = part["text"]
        elif kind == "reasoning" and part.get("text"):
            run.send("thinking", content=part["text"])
        elif kind == "tool_use":
            # One event carries the call and its result.
            state = part.get("state") or {}
            exit_code = (state.get("metadata") or {}).get("exit")
            failed = state.get("status") == "error" or (state.get("metadata") or {}).get("isError") is True \
                or exit_code not in (0, None)
            output = state.get("error", "") if state.get("status") == "error" else state.get("output", "")
            run.tool_use(part["tool"], part["callID"], state.get("input"))
            run.tool_result(part["callID"], output, failed)
        elif kind == "step_finish":
            steps += 1
            tokens, u = part.get("tokens"), run.usage or {}
            if tokens:
                cache = tokens.get("cache") or {}
                cost = u.get("cost_usd")
                if part.get("cost") is not None:
                    cost = (cost or 0.0) + part["cost"]
                run.set_usage(None, u.get("input_tokens", 0) + tokens.get("input", 0),
                              u.get("output_tokens", 0) + tokens.get("output", 0) + tokens.get("reasoning", 0),
                              u.get("cache_read_tokens", 0) + cache.get("read", 0),
                              u.get("cache_write_tokens", 0) + cache.get("write", 0), cost)
        elif kind == "error":
            error = ev.get("error") or {}
            last_error = (error.get("data") or {}).get("message") or error.get("name") or "the agent failed"
            run.send("error", content=last_error)
    if last_error is not None:
        run.end("failed", error=last_error)
    elif steps:
        run.end("completed", output=last_text)
    else:
        run.end("failed", error="the agent exited without finishing a step")
    return run


def parser_for(first):
    """The format, recognised from the first event as the daemon's replay does."""
    if "sessionID" in first:
        return opencode
    if first["type"] == "init":
        return gemini
    if first["type"] in ("system", "assistant", "user", "stream_event", "result"):
        return claude
    return codex


def main():
    out = HERE / "expected"
    out.mkdir(exist_ok=True)
    for path in sorted(HERE.glob("*.jsonl")):
        # Split on \n only: str.splitlines() would also split on U+2028 inside JSON strings.
        lines = [l for l in path.read_bytes().split(b"\n") if l.strip()]
        events = [json.loads(l) for l in lines]
        timing = (HERE / (path.stem + ".timing")).read_text().split()
        assert len(timing) == len(events), f"{path.name}: {len(timing)} timings for {len(events)} lines"
        run = parser_for(events[0])(events)
        dump = lambda obj, name: (out / name).write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n",
                                                           encoding="utf-8")
        dump(run.messages, f"{path.stem}.messages.json")
        dump({"status": run.status, "output": run.output, "error": run.error, "progress": run.progress,
              "session_id": run.session_id, "usage": run.usage},
             f"{path.stem}.outcome.json")
        print(f"{path.stem}: {len(events)} lines, {sum(map(int, timing))} ms -> {len(run.messages)} messages, "
              f"{len(run.progress)} progress updates, {run.status}")


if __name__ == "__main__":
    main()
