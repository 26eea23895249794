"""A slow TCP proxy on 127.0.0.1: lets a test catch a pull in the middle of a download."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class SlowProxy:
    """Forwards to `target_port`, sending replies at most `bytes_per_s` per connection."""

    target_port: int
    bytes_per_s: int
    downstream_bytes: int = 0
    _listener: socket.socket | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sockets: list[socket.socket] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self._listener is not None
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
        if self._listener is not None:
            self._listener.close()

    def wait_for_bytes(self, count: int, timeout_s: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.downstream_bytes >= count:
                return True
            time.sleep(0.02)
        return False

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, throttled: bool) -> None:
        chunk = max(1024, self.bytes_per_s // 20) if throttled else 65536
        try:
            while not self._stopping.is_set():
                data = source.recv(chunk)
                if not data:
                    break
                sink.sendall(data)
                if throttled:
                    with self._lock:
                        self.downstream_bytes += len(data)
                    time.sleep(len(data) / self.bytes_per_s)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def slow_proxy(target_port: int, bytes_per_s: int) -> Iterator[SlowProxy]:
    proxy = SlowProxy(target_port, bytes_per_s)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
