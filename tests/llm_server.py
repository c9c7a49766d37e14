"""A scripted OpenAI-compatible chat server on loopback, for tests of the real HTTP path.

Each request pops the next scripted step: a JSON answer (the assistant content), an HTTP error
(status, headers), a delay longer than the client's timeout, a connection reset, or raw bytes
(truncated JSON). With an empty script it answers with ``default`` (a function of the request).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Step(dict):
    pass


def answer(content, prompt_tokens=100, completion_tokens=50, finish_reason="stop") -> Step:
    if not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False)
    return Step(kind="answer", content=content, usage=(prompt_tokens, completion_tokens), finish_reason=finish_reason)


def error(status: int, headers: dict | None = None, body: str = '{"error": {"message": "scripted"}}') -> Step:
    return Step(kind="error", status=status, headers=headers or {}, body=body)


def delay(seconds: float) -> Step:
    return Step(kind="delay", seconds=seconds)


def reset() -> Step:
    return Step(kind="reset")


class ScriptedLLM:
    def __init__(self, default=None):
        self.script: list[Step] = []
        self.requests: list[dict] = []
        self.default = default
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # a short poll interval: shutdown() waits for the loop to notice, 0.5 s by default
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle(self):
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a scripted timeout): nothing to report

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append(body)
                step = owner.script.pop(0) if owner.script else None
                if step is None and owner.default is not None:
                    step = owner.default(body)
                if step is None:
                    step = error(500, body='{"error": {"message": "script exhausted"}}')
                kind = step["kind"]
                if kind == "delay":
                    time.sleep(step["seconds"])
                    step = owner.script.pop(0) if owner.script else answer("{}")
                    kind = step["kind"]
                if kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    return
                if kind == "error":
                    self._send(step["status"], step["body"].encode(), step["headers"])
                    return
                pin, pout = step["usage"]
                payload = {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "test"),
                    "choices": [{"index": 0, "finish_reason": step.get("finish_reason", "stop"),
                                 "message": {"role": "assistant", "content": step["content"]}}],
                    "usage": {"prompt_tokens": pin, "completion_tokens": pout, "total_tokens": pin + pout},
                }
                self._send(200, json.dumps(payload, ensure_ascii=False).encode())

            def _send(self, status, data, headers=None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler
