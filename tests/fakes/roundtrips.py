"""A TCP relay to PostgreSQL that counts round trips: a client's turn to speak after
the server spoke (or the first time) is one. Statements sent together, without waiting
for each other's results (pipeline mode), are one turn; each statement sent alone and
waited for is one."""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType


class RoundTrips:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.turns = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> RoundTrips:
        self._start(self._accept)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stopped.set()
        self._listener.close()  # ends the accepting thread
        # the relays see the stop within their select's timeout; their sockets are closed
        # only then, since one closed under a select or a send raises in that thread
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in list(self._sockets):
            sock.close()

    def count(self) -> int:
        with self._lock:
            return self.turns

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=5)
            self._sockets += [client, server]
            self._start(self._relay, client, server)

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        last = server  # who spoke last: the client's first words are a turn
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, server)
            selector.register(server, selectors.EVENT_READ, client)
            while not self._stopped.is_set():
                for key, _events in selector.select(timeout=0.5):
                    source, sink = key.fileobj, key.data
                    try:
                        data = source.recv(65536)  # type: ignore[union-attr]
                    except OSError:
                        data = b""
                    if not data:
                        client.close()
                        server.close()
                        return
                    if source is client and last is not client:
                        with self._lock:
                            self.turns += 1
                    last = source  # type: ignore[assignment]
                    try:
                        sink.sendall(data)
                    except OSError:  # the other side went: the relay ends
                        client.close()
                        server.close()
                        return
