"""A TCP proxy on 127.0.0.1 between a test's shocker and its registry: it can slow what
either side sends (to catch a pull or a push in the middle), and cut the first connection
that has carried a given number of bytes towards the server (a dropped link)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Proxy:
    target_port: int
    upstream_bytes_per_s: int | None = None  # None: as fast as it comes
    downstream_bytes_per_s: int | None = None
    drop_after: int | None = None  # cut the connection carrying the byte past this count, once
    upstream_bytes: int = 0
    downstream_bytes: int = 0
    dropped: int = 0
    _listener: socket.socket | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sockets: list[socket.socket] = field(default_factory=list)

    @property
    def host(self) -> str:
        assert self._listener is not None
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

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

    def wait_for_upstream(self, count: int, timeout_s: float = 60.0) -> bool:
        return self._wait(lambda: self.upstream_bytes >= count, timeout_s)

    def wait_for_downstream(self, count: int, timeout_s: float = 60.0) -> bool:
        return self._wait(lambda: self.downstream_bytes >= count, timeout_s)

    def _wait(self, done: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done():
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
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, up: bool) -> None:
        """One direction; at its end (or a cut) both ends are hung up at once, as a real
        link failing: a side still sending gets a reset rather than a half-open connection."""
        rate = self.upstream_bytes_per_s if up else self.downstream_bytes_per_s
        chunk = max(1024, rate // 20) if rate else 65536
        try:
            while not self._stopping.is_set():
                data = source.recv(chunk)
                if not data:
                    break
                with self._lock:
                    cut = False
                    if up:
                        self.upstream_bytes += len(data)
                        cut = (
                            self.drop_after is not None
                            and not self.dropped
                            and self.upstream_bytes > self.drop_after
                        )
                        self.dropped += cut
                    else:
                        self.downstream_bytes += len(data)
                if cut:
                    return
                sink.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def tcp_proxy(
    target_port: int,
    *,
    upstream_bytes_per_s: int | None = None,
    downstream_bytes_per_s: int | None = None,
    drop_after: int | None = None,
) -> Iterator[Proxy]:
    proxy = Proxy(target_port, upstream_bytes_per_s, downstream_bytes_per_s, drop_after)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
