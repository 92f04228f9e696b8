"""md5 and the os_hash algorithm of a download hashed side by side (hashlib frees the GIL)."""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

from glance_hc.canary.names import MIB
from glance_hc.errors import one_line

HASH_BUFFER = 4 * MIB  # bytes read from the socket at once and handed to every hash thread
HASH_BUFFERS = 3       # buffers in flight: one being filled, two being hashed (the memory bound)


class HashError(RuntimeError):
    """A hash thread failed; the download's digests are not to be trusted."""


class ParallelHasher:
    """Several hashlib digests of one stream, each in its own thread, over the same buffers.

    Why: md5 and sha512 on one core run at the sum of their times; hashlib releases the GIL on
    large buffers, so two threads run them side by side, and the reader's recv_into (also GIL-free)
    overlaps both. The reader takes a free buffer (`buffer()`), fills it, and `submit()`s it to
    every thread; a buffer goes back to the pool once every thread has hashed it. The pool of
    `buffers` x `buffer_size` bytes is the memory bound: a reader faster than the hashes waits for
    a free buffer, never queues more. An exception in a thread is raised in the reader (HashError)
    at its next `buffer()`, `submit()` or `finish()`.
    """

    def __init__(self, algos: Iterable[str], *, buffer_size: int = HASH_BUFFER, buffers: int = HASH_BUFFERS):
        import queue  # noqa: PLC0415

        self.algos = list(dict.fromkeys(algos))
        if not self.algos:
            raise ValueError("no hash algorithm")
        if buffer_size <= 0 or buffers <= 0:
            raise ValueError(f"buffer size and count must be positive: {buffer_size}, {buffers}")
        self._hashers = {a: (hashlib.md5(usedforsecurity=False) if a == "md5" else hashlib.new(a))
                         for a in self.algos}
        self.buffer_size, self.buffers = int(buffer_size), int(buffers)
        self._pool: list[bytearray] = []          # allocated on demand, at most `buffers`
        self._free = queue.Queue()                 # indexes of free buffers
        self._work = {a: queue.Queue(maxsize=self.buffers) for a in self.algos}
        self._pending = [0] * self.buffers         # threads still hashing each buffer
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._failed_algo: str | None = None
        self._done = False
        self.bytes = 0
        self._threads = [threading.Thread(target=self._run, args=(a,), name=f"hc-hash-{a}", daemon=True)
                         for a in self.algos]
        for thread in self._threads:
            thread.start()

    @property
    def allocated(self) -> int:
        """Bytes of buffer memory allocated so far (never more than buffers x buffer_size)."""
        return sum(len(b) for b in self._pool)

    def _run(self, algo: str) -> None:
        work = self._work[algo]
        while True:
            item = work.get()
            if item is None:
                return
            index, length = item
            try:
                if self._error is None:
                    self._hashers[algo].update(memoryview(self._pool[index])[:length])
            except BaseException as exc:  # noqa: BLE001 - surfaces in the reader
                with self._lock:
                    if self._error is None:
                        self._error, self._failed_algo = exc, algo
            finally:
                self._release(index)

    def _release(self, index: int) -> None:
        with self._lock:
            self._pending[index] -= 1
            free = self._pending[index] == 0
        if free:
            self._free.put(index)

    def _raise(self) -> None:
        if self._error is not None:
            raise HashError(f"the {self._failed_algo} hash thread failed: {one_line(self._error)}") from self._error

    def buffer(self) -> tuple[int, bytearray]:
        """A free buffer to fill: (index, buffer). Waits while all are being hashed."""
        import queue  # noqa: PLC0415

        self._raise()
        if self._free.empty() and len(self._pool) < self.buffers:
            self._pool.append(bytearray(self.buffer_size))
            return len(self._pool) - 1, self._pool[-1]
        while True:
            try:
                index = self._free.get(timeout=0.5)
            except queue.Empty:
                self._raise()
                continue
            self._raise()
            return index, self._pool[index]

    def submit(self, index: int, length: int) -> None:
        """Hand the first `length` bytes of buffer `index` to every thread (0: give it back)."""
        self._raise()
        if length <= 0:
            self._free.put(index)
            return
        with self._lock:
            self._pending[index] = len(self.algos)
        for algo in self.algos:
            self._work[algo].put((index, length))
        self.bytes += length

    def update(self, data) -> None:
        """Hash `data` (any bytes-like object), copied through the buffers."""
        view = memoryview(data).cast("B")
        while view.nbytes:
            index, buf = self.buffer()
            n = min(view.nbytes, len(buf))
            buf[:n] = view[:n]
            self.submit(index, n)
            view = view[n:]

    def close(self) -> None:
        """Stop the threads (after the buffers already submitted); idempotent."""
        if self._done:
            return
        self._done = True
        for algo in self.algos:
            self._work[algo].put(None)
        for thread in self._threads:
            thread.join()

    def finish(self) -> dict[str, str]:
        """Wait for every buffer to be hashed; {algo: hex digest}. Raises HashError."""
        self.close()
        self._raise()
        return {algo: hasher.hexdigest() for algo, hasher in self._hashers.items()}

    def __enter__(self) -> ParallelHasher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


