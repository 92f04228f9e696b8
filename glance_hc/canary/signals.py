"""Ctrl-C and SIGTERM while canaries exist: their cleanup first, then the interruption."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class InterruptGuard:
    """SIGTERM raises KeyboardInterrupt, so pytest's finalizers (the canary cleanup) run.

    Inside `deferred()` (the cleanup itself) SIGTERM and SIGINT are held and raised as
    KeyboardInterrupt once the block is done, so a second signal cannot cut a delete in half.
    Works only in the main thread; elsewhere install() is a no-op.
    """

    def __init__(self):
        self._previous: dict[int, object] = {}
        self._depth = 0
        self._pending: int | None = None
        self.installed = False

    def _on_term(self, signum, frame):
        if self._depth:
            self._pending = signum
            return
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    def _on_int(self, signum, frame):
        if self._depth:
            self._pending = signum
            return
        previous = self._previous.get(signal.SIGINT)
        if callable(previous):
            previous(signum, frame)
        raise KeyboardInterrupt

    def install(self) -> bool:
        if self.installed or threading.current_thread() is not threading.main_thread():
            return self.installed
        try:
            self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_term)
        except (ValueError, OSError):
            return False
        self.installed = True
        return True

    def uninstall(self) -> None:
        if not self.installed:
            return
        for signum, handler in self._previous.items():
            try:
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            except (ValueError, OSError, TypeError):
                pass
        self._previous.clear()
        self.installed = False

    @contextmanager
    def deferred(self):
        main = threading.current_thread() is threading.main_thread()
        saved_int = None
        if main and self._depth == 0:
            try:
                saved_int = signal.signal(signal.SIGINT, self._on_int)
                self._previous.setdefault(signal.SIGINT, saved_int)
            except (ValueError, OSError):
                saved_int = None
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if main and self._depth == 0 and saved_int is not None:
                try:
                    signal.signal(signal.SIGINT, saved_int)
                except (ValueError, OSError, TypeError):
                    pass
                self._previous.pop(signal.SIGINT, None)
            if self._depth == 0 and self._pending is not None:
                signum, self._pending = self._pending, None
                raise KeyboardInterrupt(f"signal {signal.Signals(signum).name} (held during cleanup)")
