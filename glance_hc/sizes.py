"""Byte sizes as operators write them, and back.

Glance itself only ever uses binary multiples: ``user_storage_quota`` is
matched against ``^(\\d+)((K|M|G|T)?B)?$`` and multiplied by
``oslo_utils.units.Ki/Mi/Gi/Ti`` (glance/api/common.py), so "10GB" there means
10 GiB. ``image_size_cap`` is a plain integer option (bytes only). Nothing in
the upload path uses decimal multiples, so neither do we: every K/M/G/T/P/E
here is a power of 1024, whether written "G", "GB" or "GiB".
"""
from __future__ import annotations

import re

KIB = 1024
_UNIT_EXPONENT = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_HUMAN_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")

# Lenient: "10G", "10 GB", "10GiB", "1.5g", "1024", "1024B".
_LENIENT = re.compile(
    r"^\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[kmgtpeKMGTPE]?)(?P<suffix>[iI]?[bB])?\s*$"
)
# Exactly what glance accepts for user_storage_quota (case-sensitive, no spaces).
_GLANCE_QUOTA = re.compile(r"^(\d+)((K|M|G|T)?B)?$")


# Python refuses to turn longer digit strings into an int (sys.int_info.default_max_str_digits,
# 4300 since 3.11): glance's own int() of such a user_storage_quota raises ValueError, so we
# say so instead of raising past the check. No real size comes near 30 digits.
MAX_DIGITS = 30


class SizeError(ValueError):
    """A size string that cannot be turned into bytes."""


def shorten(text: object, limit: int = 40) -> str:
    """A value fit for a message: a 5000-digit number shows its head and its length."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}... ({len(text)} characters)"


def _too_long(digits: str, text: object) -> None:
    if len(digits.lstrip("0")) > MAX_DIGITS:
        raise SizeError(f"absurd size: {shorten(text)} has {len(digits)} digits")


def parse_size(text: str | int) -> int:
    """Bytes from "10GiB", "10G", "10GB", "500MB", "1.5T" or "1024".

    Lenient on purpose (case, spaces, fractions) because it reads what
    operators and tools print; use `parse_glance_quota` to know whether glance
    itself would accept the value.
    """
    if isinstance(text, bool):
        raise SizeError(f"not a size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise SizeError(f"negative size: {text}")
        return text
    match = _LENIENT.match(str(text))
    if not match:
        raise SizeError(f"not a size: {shorten(repr(text))}")
    _too_long(match.group("number").split(".")[0], text)
    number = float(match.group("number"))
    exponent = _UNIT_EXPONENT[match.group("unit").upper()]
    if exponent == 0 and match.group("suffix") and match.group("suffix").lower() == "ib":
        raise SizeError(f"not a size: {text!r}")
    value = number * KIB**exponent
    if exponent == 0 and not number.is_integer():
        raise SizeError(f"fractional byte count: {text!r}")
    return int(round(value))


def parse_glance_quota(text: str, option: str = "user_storage_quota") -> int:
    """Bytes exactly as glance computes ``user_storage_quota``; 0 means unlimited.

    Raises SizeError with glance's own log wording when glance would reject
    the value (it logs it and raises InvalidOptionValue on every upload).
    """
    value = str(text)
    match = _GLANCE_QUOTA.match(value)
    if not match:
        raise SizeError(f"Invalid value for option {option}: {shorten(value)}")
    number, unit = match.group(1), match.group(2) or "B"
    if len(number) > 4300:  # Python's int() limit, which glance's own int() hits first
        raise SizeError(f"{option} = {shorten(value)} has {len(number)} digits: glance's int() of it "
                        "raises ValueError (Python's 4300-digit limit), so every upload fails with 500")
    return int(number) * KIB ** _UNIT_EXPONENT[unit[:-1]]


def human(num_bytes: int | float) -> str:
    """ "1.5 GiB" style, one decimal at most, for evidence and messages."""
    sign = "-" if num_bytes < 0 else ""
    if abs(num_bytes) >= KIB ** (len(_HUMAN_UNITS) + 3):  # beyond EiB: float() would overflow
        return f"{sign}more than 2^{int(abs(num_bytes)).bit_length() - 1} B (an absurd size)"
    value = float(abs(num_bytes))
    index = 0
    while index < len(_HUMAN_UNITS) - 1 and round(value, 1) >= KIB:
        value /= KIB
        index += 1
    if index == 0:
        return f"{sign}{int(value)} B"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{sign}{text} {_HUMAN_UNITS[index]}"
