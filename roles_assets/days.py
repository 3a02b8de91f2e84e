"""Sync days as plain strings: which names are safe keys, and their natural order.

Pure Python, shared by the Dagster partitions, the warehouse's SQL parameters and the tests.
"""

import re

_SAFE_KEY = re.compile(r"[A-Za-z0-9._-]+")
_TOKENS = re.compile(r"\d+|\D+")


def is_safe_day(name: str) -> bool:
    """Letters, digits, ``.``, ``_`` and ``-``, not only dots: a key safe in paths and SQL."""
    return bool(_SAFE_KEY.fullmatch(name)) and name.strip(".") != ""


def day_order(day: str) -> str:
    """A string whose plain byte order (SQL ``COLLATE "C"``) is the natural order of days.

    Digit runs compare as numbers (``day9`` < ``day10``): each becomes ``0`` + its length + its
    digits. Text runs become ``1`` + text + ``!``; ``!`` sorts below every safe key character,
    so a shorter text run sorts first. The raw key closes the string to break ties such as
    ``day01`` / ``day1``. Used both to sort days in Python and to compare them in SQL.
    """
    parts = []
    for token in _TOKENS.findall(day):
        if token.isdigit():
            digits = token.lstrip("0") or "0"
            parts.append(f"0{len(digits):03d}{digits}")
        else:
            parts.append(f"1{token}!")
    return "".join(parts) + " " + day
