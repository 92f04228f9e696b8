"""An exception as it reads in a skip reason, an evidence line or a report: one line."""
from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """Its type and the last line of its message (where a library puts what went wrong), never a
    traceback; the type alone when there is no message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1].strip()}" if lines else type(exc).__name__
