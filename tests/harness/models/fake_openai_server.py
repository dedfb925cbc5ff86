"""A small OpenAI-compatible HTTP server for tests, with faults injectable per prompt.

    server = FakeOpenAIServer()
    base_url = server.start(faults={"q1": [Fault.http(503, times=2)]})  # ".../v1"
    ...                                  # point a backend at base_url
    server.requests, server.hits("q1"), server.max_in_flight
    server.stop()

It serves POST /v1/chat/completions and /v1/completions on 127.0.0.1 (a free port).
Replies are deterministic: choice i of a request for prompt key K with seed S has the
text `reply_text(K, S, i)`, so tests can predict every output. The key of a request is
its `prompt`, or the content of its last chat message. Choices come back in reverse
index order on purpose, so clients must sort by `index`.

Tool calls: `FakeOpenAIServer(tool_replies=fn)` makes a chat request that carries `tools`
answer choice i with the raw `tool_calls` entries `fn(key, seed, i)` (None: a plain text
reply). Entries are sent as given, so a test can send garbage; `tool_call(...)` builds a
well-formed one. Like real servers, the fake rejects (400) malformed `tools` and `tool`
messages that answer no earlier assistant tool call.

Servers as they really are: `ignores_n=True` answers one choice whatever `n` asks (llama.cpp's
server), `rejects_system=True` fails chat requests that hold a system message the way a chat
template's raise_exception does (500, "System role not supported"), `context_chars=N` refuses
a prompt longer than N characters with llama-cpp-python's context error (400).

Faults for a key apply to its calls in order: [Fault.http(429, times=2), Fault.drop()]
makes calls 1-2 answer 429, call 3 drop the connection, and later calls succeed.
A fault with times=None applies to every remaining call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

FaultKind = Literal["http", "sleep", "malformed", "no_choices", "few_choices", "drop", "null_content", "no_usage", "partial_usage"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    times: int | None = 1  # calls it covers; None: all remaining calls
    status: int = 500
    retry_after: str | None = None
    delay_s: float = 0.0
    message: str = "injected fault"

    @classmethod
    def http(cls, status: int, times: int | None = 1, retry_after: str | None = None, message: str = "injected fault") -> Fault:
        """Answer with this status and an OpenAI-style error body."""
        return cls("http", times, status=status, retry_after=retry_after, message=message)

    @classmethod
    def sleep(cls, delay_s: float, times: int | None = 1) -> Fault:
        """Wait, then answer normally (a client with a shorter timeout sees a timeout)."""
        return cls("sleep", times, delay_s=delay_s)

    @classmethod
    def malformed(cls, times: int | None = 1) -> Fault:
        """200 with a body that is not JSON."""
        return cls("malformed", times)

    @classmethod
    def no_choices(cls, times: int | None = 1) -> Fault:
        """200 with JSON that lacks `choices`."""
        return cls("no_choices", times)

    @classmethod
    def few_choices(cls, times: int | None = 1) -> Fault:
        """200 with one choice fewer than `n`."""
        return cls("few_choices", times)

    @classmethod
    def drop(cls, times: int | None = 1) -> Fault:
        """Close the connection without sending any response."""
        return cls("drop", times)

    @classmethod
    def null_content(cls, times: int | None = 1) -> Fault:
        """200 whose choices have `content` / `text` null (valid: means empty output)."""
        return cls("null_content", times)

    @classmethod
    def no_usage(cls, times: int | None = 1) -> Fault:
        """200 without a `usage` block (valid: some servers omit it)."""
        return cls("no_usage", times)

    @classmethod
    def partial_usage(cls, times: int | None = 1) -> Fault:
        """200 whose `usage` has prompt_tokens only (seen from some servers)."""
        return cls("partial_usage", times)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None when the body was not JSON
    key: str | None
    fault: FaultKind | None  # what the server did to this call; None: a normal answer


def reply_text(key: str, seed: int | None, index: int) -> str:
    """What the server answers for choice `index`; lengths differ by choice on purpose."""
    return f"echo:{key}|seed:{seed}|choice:{index}|" + "z" * (3 * index)


ToolReplies = Callable[[str, "int | None", int], "list[Any] | None"]


def tool_call(name: str, arguments: str | dict[str, Any], call_id: str = "call_0") -> dict[str, Any]:
    """A well-formed tool_calls entry; a str `arguments` is sent as is (it may be invalid JSON)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def prompt_tokens(prompt_text: str) -> int:
    """The server's usage.prompt_tokens for a prompt (all chat message contents concatenated)."""
    return len(prompt_text) // 4 + 1


def completion_tokens(texts: Sequence[str]) -> int:
    """The server's usage.completion_tokens: a total over all choices, as OpenAI reports it."""
    return sum(len(t) // 4 + 1 for t in texts)


def request_key(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("prompt"), str):
        return body["prompt"]
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        return str(messages[-1].get("content"))
    return None


class FakeOpenAIServer:
    def __init__(self, *, latency_s: float = 0.0, tool_replies: ToolReplies | None = None, ignores_n: bool = False,
                 rejects_system: bool = False, context_chars: int | None = None) -> None:
        self.latency_s = latency_s  # every successful answer waits this long (to overlap calls)
        self.tool_replies = tool_replies
        self.ignores_n, self.rejects_system, self.context_chars = ignores_n, rejects_system, context_chars
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults: dict[str, list[Fault]] = {}
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------

    def start(self, faults: Mapping[str, Sequence[Fault]] | None = None) -> str:
        """Start serving in a background thread; returns the base URL (ending in /v1).

        serve_forever polls every 0.05 s so stop() returns quickly.
        """
        self.set_faults(faults or {})
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def set_faults(self, faults: Mapping[str, Sequence[Fault]]) -> None:
        """Replace the fault plan; call counts per key start again from zero."""
        with self._lock:
            self._faults = {key: list(plan) for key, plan in faults.items()}
            self._calls = {}

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are sleeping
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def hits(self, key: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.key == key)

    def __enter__(self) -> FakeOpenAIServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler ---------------------------------------------------------

    def _enter(self, record: RecordedRequest) -> Fault | None:
        """Log a call, count it in flight, and pick the fault (if any) planned for it."""
        with self._lock:
            self.requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if record.key is None:
                return None
            call = self._calls.get(record.key, 0)
            self._calls[record.key] = call + 1
            fault = _fault_for_call(self._faults.get(record.key, []), call)
            record.fault = fault.kind if fault else None
            return fault

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


def _fault_for_call(plan: Sequence[Fault], call: int) -> Fault | None:
    """The fault covering the call-th (0-based) call of a key, walking the plan in order."""
    for fault in plan:
        if fault.times is None or call < fault.times:
            return fault
        call -= fault.times
    return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeOpenAIServer) -> None:
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers
    timeout = 10  # idle keep-alive connections do not outlive a test for long
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        fault = fake._enter(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body, request_key(body), None))
        try:
            self._serve(fake, body, fault)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
            self.close_connection = True
        finally:
            fake._leave()

    def _serve(self, fake: FakeOpenAIServer, body: Any, fault: Fault | None) -> None:
        if self.path not in ("/v1/chat/completions", "/v1/completions"):
            return self._send_json(404, {"error": {"message": f"no route {self.path}"}})
        chat = self.path.endswith("chat/completions")
        problem = _validate_body(body, chat)
        if problem:
            return self._send_json(400, {"error": {"message": problem, "type": "invalid_request_error"}})
        refusal = _refusal(fake, body, chat)
        if refusal is not None:
            return self._send_json(refusal[0], {"error": {"message": refusal[1], "type": "invalid_request_error"}})
        kind = fault.kind if fault else None
        if fault is not None and kind == "http":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return self._send_json(fault.status, {"error": {"message": fault.message, "code": fault.status}}, headers)
        if kind == "drop":
            self.close_connection = True  # the socket closes with nothing written
            return None
        if kind == "malformed":
            return self._send_raw(200, b'{"choices": [ this is not json')
        fake._pause(fault.delay_s if fault is not None and kind == "sleep" else fake.latency_s)
        return self._send_json(200, _answer(body, chat, kind, fake.tool_replies, fake.ignores_n))

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _validate_body(body: Any, chat: bool) -> str | None:
    """Enough of the real servers' checks to catch a client sending the wrong shape."""
    if not isinstance(body, dict):
        return "body is not a JSON object"
    if not isinstance(body.get("model"), str):
        return "model is required"
    if chat and not isinstance(body.get("messages"), list):
        return "messages is required for chat completions"
    if not chat and not isinstance(body.get("prompt"), str):
        return "prompt is required for completions"
    if not isinstance(body.get("n", 1), int) or body.get("n", 1) < 1:
        return "n must be a positive integer"
    if "tools" in body and not chat:
        return "tools are only accepted by chat completions"
    if not chat:
        return None
    return (_validate_tools(body["tools"]) if "tools" in body else None) or _validate_tool_messages(body["messages"])


def _refusal(fake: FakeOpenAIServer, body: dict[str, Any], chat: bool) -> tuple[int, str] | None:
    """What a real server would refuse: a system message its template rejects, a prompt past its context."""
    if chat and fake.rejects_system and any(m.get("role") == "system" for m in body["messages"]):
        return 500, "System role not supported"
    prompt = "".join(str(m.get("content") or "") for m in body["messages"]) if chat else body["prompt"]
    if fake.context_chars is not None and len(prompt) > fake.context_chars:
        tokens = prompt_tokens(prompt)
        return 400, f"Requested tokens ({tokens}) exceed context window of {prompt_tokens('x' * fake.context_chars)}"
    return None


def _validate_tools(tools: Any) -> str | None:
    if not isinstance(tools, list) or not tools:
        return "tools must be a non-empty list"
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict) \
                or not isinstance(function.get("name"), str) or not isinstance(function.get("parameters", {}), dict):
            return f"invalid tool definition: {json.dumps(tool)[:200]}"
    return None


def _validate_tool_messages(messages: list[Any]) -> str | None:
    """Every `tool` message must answer a call of an earlier assistant message, by its id."""
    open_ids: set[str] = set()
    for message in messages:
        if not isinstance(message, dict):
            return "a message is not an object"
        if message.get("role") == "assistant":
            open_ids = {c.get("id") for c in message.get("tool_calls") or [] if isinstance(c, dict)}
        elif message.get("role") == "tool":
            if message.get("tool_call_id") not in open_ids:
                return f"a tool message answers no earlier tool call (tool_call_id {message.get('tool_call_id')!r})"
            open_ids.discard(message["tool_call_id"])
    return None


def _answer(body: dict[str, Any], chat: bool, kind: FaultKind | None, tool_replies: ToolReplies | None = None,
            ignores_n: bool = False) -> dict[str, Any]:
    key = request_key(body) or ""
    n = 1 if ignores_n else body.get("n", 1)
    calls = [tool_replies(key, body.get("seed"), i) if tool_replies and chat and body.get("tools") else None for i in range(n)]
    texts = [reply_text(key, body.get("seed"), i) if calls[i] is None else "" for i in range(n)]
    choices = [_choice(i, None if kind == "null_content" or calls[i] is not None else t, chat, calls[i]) for i, t in enumerate(texts)]
    choices.reverse()  # out of order on purpose: clients must sort by index
    if kind == "few_choices":
        choices = choices[1:]
    answer: dict[str, Any] = {"id": "fake-1", "object": "chat.completion" if chat else "text_completion", "model": body["model"]}
    if kind != "no_choices":
        answer["choices"] = choices
    if kind != "no_usage":
        prompt = "".join(str(m.get("content") or "") for m in body["messages"]) if chat else body["prompt"]
        sent = [""] * n if kind == "null_content" else [t + json.dumps(c) if c else t for t, c in zip(texts, calls)]
        p, c = prompt_tokens(prompt), completion_tokens(sent)
        answer["usage"] = {"prompt_tokens": p} if kind == "partial_usage" else {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
    return answer


def _choice(index: int, text: str | None, chat: bool, tool_calls: list[Any] | None = None) -> dict[str, Any]:
    if chat and tool_calls is not None:
        message = {"role": "assistant", "content": text, "tool_calls": tool_calls}
        return {"index": index, "message": message, "finish_reason": "tool_calls"}
    if chat:
        return {"index": index, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    return {"index": index, "text": text, "finish_reason": "stop"}
