"""The canary's data: generated as it is sent, hashed on the way out, never held in memory."""
from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator

from glance_hc.canary.names import _STRIDE, CHUNK_SIZE, DEFAULT_HASH_ALGO


class PatternSource:
    """`size` deterministic bytes, generated 1 MiB at a time and hashed as they are read.

    One random block of `chunk_size` bytes (from `seed`) is held; chunk i is that block
    rotated by an index-dependent offset, so generation is a memcpy per chunk and the
    image is never held in memory. Iterating again starts over and re-hashes (keystoneauth
    may resend a body after re-authenticating), so `md5`, `hash_value` and `bytes_sent`
    always describe the last pass. `len()` gives requests its Content-Length.
    """

    def __init__(self, size: int, seed: int | None = None, hash_algo: str = DEFAULT_HASH_ALGO,
                 chunk_size: int = CHUNK_SIZE):
        if size < 0:
            raise ValueError(f"negative size: {size}")
        if chunk_size <= 0:
            raise ValueError(f"chunk size must be positive: {chunk_size}")
        hashlib.new(hash_algo)  # ValueError now, not half-way through an upload
        self.size = int(size)
        self.seed = random.SystemRandom().randrange(1 << 32) if seed is None else int(seed)
        self.hash_algo = hash_algo
        self.chunk_size = chunk_size
        self._block = random.Random(self.seed).randbytes(min(chunk_size, max(self.size, 1)))
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hash = hashlib.new(hash_algo)
        self.bytes_sent = 0
        self.passes = 0
        self.deadline: float | None = None  # time.monotonic() value; set by upload()
        self.stop: threading.Event | None = None  # set by another thread: stop at the next chunk

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:  # keystoneauth may log the body: never the bytes
        return f"<PatternSource {self.size} bytes seed={self.seed}>"

    def chunks(self) -> Iterator[bytes]:
        """The bytes, chunk by chunk, without hashing."""
        block, width = self._block, len(self._block)
        left, index = self.size, 0
        while left > 0:
            offset = (index * _STRIDE + self.seed) % width
            chunk = block[offset:] + block[:offset] if offset else block
            if left < width:
                chunk = chunk[:left]
            yield chunk
            left -= len(chunk)
            index += 1

    def __iter__(self) -> Iterator[bytes]:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hash = hashlib.new(self.hash_algo)
        self.bytes_sent = 0
        self.passes += 1
        for chunk in self.chunks():
            if self.stop is not None and self.stop.is_set():
                raise Interrupted(f"stopped after {self.bytes_sent} of {self.size} bytes: the run was interrupted")
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise DeadlineExceeded(f"stopped after {self.bytes_sent} of {self.size} bytes: "
                                       f"the canary's deadline passed")
            self._md5.update(chunk)
            self._hash.update(chunk)
            self.bytes_sent += len(chunk)
            yield chunk

    @property
    def complete(self) -> bool:
        return self.bytes_sent == self.size

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def hash_value(self) -> str:
        return self._hash.hexdigest()

    def digest(self, algo: str) -> str:
        """Hex digest of the whole content with any hashlib algorithm (re-generates if needed)."""
        if self.complete and self.passes:
            if algo == self.hash_algo:
                return self.hash_value
            if algo == "md5":
                return self.md5
        hasher = hashlib.new(algo)
        for chunk in self.chunks():
            hasher.update(chunk)
        return hasher.hexdigest()


class DeadlineExceeded(RuntimeError):
    """The canary's own deadline passed while data was still flowing."""


class Interrupted(DeadlineExceeded):
    """The run is stopping (Ctrl-C, SIGTERM): a canary ends at its next step, chunk or poll."""


