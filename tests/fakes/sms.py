"""A fake HTTP SMS gateway on loopback (the JSON POST portal.senders.HttpGateway sends):
it records what it was sent and answers with the statuses given, in turn."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeGateway:
    """Answers with the statuses given, in turn (the last one repeats)."""

    statuses: list[int]
    received: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append(json.loads(body))
                gateway.tokens.append(self.headers.get("Authorization", ""))
                status = gateway.statuses.pop(0) if len(gateway.statuses) > 1 else (
                    gateway.statuses[0])
                # like many real gateways, the answer echoes the message text
                answer = json.dumps({"id": "m-1", "status": "queued",
                                     "text": gateway.received[-1]["text"]}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
