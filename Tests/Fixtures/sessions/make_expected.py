#!/usr/bin/env python3
"""The agent-output → task-message mapping, as executable documentation.

For every <name>.jsonl next to this file, writes expected/<name>.messages.json
(the messages the daemon sends, before redaction and size limits) and
expected/<name>.outcome.json (final status, output, error, progress updates).
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


def claude(events):
    run = Run()
    streamed = set()  # message ids whose text already arrived as stream_event deltas
    open_text = {}    # content block index -> text so far
    for ev in events:
        kind = ev.get("type")
        if kind == "stream_event":
            e = ev["event"]
            if e["type"] == "message_start":
                streamed.add(e["message"]["id"])
                open_text.clear()
            elif e["type"] == "content_block_start" and e["content_block"]["type"] == "text":
                open_text[e["index"]] = e["content_block"].get("text", "")
            elif e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta":
                open_text[e["index"]] += e["delta"]["text"]
            elif e["type"] == "content_block_stop" and e["index"] in open_text:
                text = open_text.pop(e["index"])
                if text:
                    run.send("text", content=text)
            # input_json_delta, thinking_delta, message_delta, message_stop: nothing to send
        elif kind == "assistant":
            message = ev["message"]
            for block in message["content"]:
                if block["type"] == "text" and block["text"] and message.get("id") not in streamed:
                    run.send("text", content=block["text"])
                elif block["type"] == "tool_use":
                    run.tool_use(block["name"], block["id"], block["input"])
                    if block["name"] == "TodoWrite":
                        todo_progress(run, block["input"].get("todos", []))
                # thinking / redacted_thinking: not sent
        elif kind == "user":
            content = ev["message"]["content"]
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_result":
                    run.tool_result(block["tool_use_id"], result_text(block.get("content")), block.get("is_error"))
        elif kind == "result":
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
            # reasoning and unknown item types: not sent
        elif kind == "error":
            run.send("error", content=ev["message"])
            last_error = ev["message"]
        elif kind == "turn.started":
            last_message = None
        elif kind == "turn.completed":
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


def main():
    out = HERE / "expected"
    out.mkdir(exist_ok=True)
    for path in sorted(HERE.glob("*.jsonl")):
        # Split on \n only: str.splitlines() would also split on U+2028 inside JSON strings.
        lines = [l for l in path.read_bytes().split(b"\n") if l.strip()]
        events = [json.loads(l) for l in lines]
        timing = (HERE / (path.stem + ".timing")).read_text().split()
        assert len(timing) == len(events), f"{path.name}: {len(timing)} timings for {len(events)} lines"
        run = claude(events) if events[0]["type"] == "system" else codex(events)
        dump = lambda obj, name: (out / name).write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n",
                                                           encoding="utf-8")
        dump(run.messages, f"{path.stem}.messages.json")
        dump({"status": run.status, "output": run.output, "error": run.error, "progress": run.progress},
             f"{path.stem}.outcome.json")
        print(f"{path.stem}: {len(events)} lines, {sum(map(int, timing))} ms -> {len(run.messages)} messages, "
              f"{len(run.progress)} progress updates, {run.status}")


if __name__ == "__main__":
    main()
