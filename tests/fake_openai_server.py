"""A real HTTP server on 127.0.0.1 that speaks OpenAI Chat Completions, scripted per test.

The ``openai`` client talks to it over TCP exactly as to vLLM, Ollama or OpenAI: SSE
streaming with chunked transfer encoding, JSON error bodies, ``/v1/models``. Tests script
replies (text, status codes, delays, streams cut midway, SSE error events) and assert on the
recorded requests. Reusable by any test (answer, app, reliability)::

    with FakeOpenAIServer(models=("fake-model",)) as server:
        server.queue(Reply(text="The notice period is 30 days [1]."))
        ... point the client at server.base_url ...
        assert server.chat_requests[0].messages[0]["role"] == "system"

Unknown models get OpenAI's 404 ``model_not_found``; with ``api_key`` set, requests with
another key get 401, and the error message echoes the key it received (as a careless
server or proxy might) so tests can check that clients scrub it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "fake-model"
_DEFAULT_ERRORS = {
    400: "Bad request",
    401: "Invalid API key",
    403: "Forbidden",
    404: "Not found",
    429: "Rate limit reached for requests",
    500: "The server had an error while processing your request",
    502: "Bad gateway",
    503: "The engine is currently overloaded",
}


@dataclass
class Reply:
    """What the server does with one chat-completion request."""

    text: str = "A fake answer [1]."
    #: how ``text`` is streamed; default: word by word (each piece keeps its following space)
    pieces: list[str] | None = None
    status: int = 200
    error: str | None = None  # error message in the JSON body when status >= 400
    delay_s: float = 0.0  # wait before the response headers (beyond the client timeout: a timeout)
    piece_delay_s: float = 0.0  # wait before each streamed piece (a stall mid-stream)
    cut_after: int | None = None  # drop the connection after this many pieces: an incomplete body
    end_after: int | None = None  # end the body cleanly after this many pieces, without finish_reason or [DONE]
    error_event_after: int | None = None  # send an SSE error event after this many pieces
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)

    def stream_pieces(self) -> list[str]:
        if self.pieces is not None:
            return list(self.pieces)
        words = self.text.split(" ")
        return [w + " " for w in words[:-1]] + [words[-1]] if self.text else []


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages", []))

    @property
    def model(self) -> str | None:
        return (self.body or {}).get("model")

    @property
    def stream(self) -> bool:
        return bool((self.body or {}).get("stream"))

    def message_text(self, role: str) -> str:
        """All contents of the messages with ``role``, joined by blank lines."""
        return "\n\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)


def unused_port() -> int:
    """A local TCP port with nothing listening on it (for connection-refused tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # clients hang up in error tests
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -----------------------------------------------------------------------

    def _record(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        req = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.server.fake._record(req)
        return req

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _event(self, payload: Any) -> None:
        self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    # -- routes -------------------------------------------------------------------------

    def do_GET(self) -> None:
        req = self._record()
        fake = self.server.fake
        if req.path.rstrip("/") != "/v1/models":
            self._error(404, f"no route {req.path}")
            return
        models = fake.models or (DEFAULT_MODEL,)
        self._json(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "fake"} for m in models]})

    def do_POST(self) -> None:
        req = self._record()
        fake = self.server.fake
        if req.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {req.path}")
            return
        if fake.api_key is not None:
            got = req.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if got != fake.api_key:
                self._error(401, f"Incorrect API key provided: {got}.", "invalid_api_key")
                return
        if fake.models is not None and req.model not in fake.models:
            self._error(
                404, f"The model `{req.model}` does not exist or you do not have access to it.", "model_not_found"
            )
            return
        reply = fake._next_reply(req)
        if reply.delay_s and fake._stopping.wait(reply.delay_s):
            return
        if reply.status >= 400:
            self._error(reply.status, reply.error or _DEFAULT_ERRORS.get(reply.status, "error"), headers=reply.headers)
            return
        if req.stream:
            self._stream(req, reply)
        else:
            self._complete(req, reply)

    def _complete(self, req: RecordedRequest, reply: Reply) -> None:
        self._json(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": req.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
            reply.headers,
        )

    def _stream(self, req: RecordedRequest, reply: Reply) -> None:
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": req.model,
        }
        pieces = reply.stream_pieces()
        for i in range(len(pieces) + 1):  # scripted endings apply after i pieces, i up to all of them
            if reply.cut_after is not None and i >= reply.cut_after:
                self._hang_up()
                return
            if reply.end_after is not None and i >= reply.end_after:
                self.wfile.write(b"0\r\n\r\n")
                return
            if reply.error_event_after is not None and i >= reply.error_event_after:
                self._event({"error": {"message": "The model crashed while generating", "type": "server_error"}})
                self.wfile.write(b"0\r\n\r\n")
                return
            if i == len(pieces):
                break
            if reply.piece_delay_s and fake._stopping.wait(reply.piece_delay_s):
                return
            delta = {"role": "assistant", "content": pieces[i]} if i == 0 else {"content": pieces[i]}
            self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]})
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FakeOpenAIServer:
    """The server and its script; start with ``with`` or :meth:`start`."""

    def __init__(self, *, models: Iterable[str] | None = (DEFAULT_MODEL,), api_key: str | None = None) -> None:
        self.models = tuple(models) if models is not None else None  # None: accept any model
        self.api_key = api_key
        self.default = Reply()
        #: when set, decides every reply (overrides the queue): ``responder(request) -> Reply``
        self.responder: Callable[[RecordedRequest], Reply] | None = None
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake OpenAI server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def queue(self, *replies: Reply) -> None:
        """Replies for the next requests, in order; ``default`` once they are used up."""
        with self._lock:
            self._replies.extend(replies)

    def _next_reply(self, req: RecordedRequest) -> Reply:
        if self.responder is not None:
            return self.responder(req)
        with self._lock:
            return self._replies.popleft() if self._replies else self.default

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def start(self) -> FakeOpenAIServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
