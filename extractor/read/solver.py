"""Choosing between readings of a run of values with the table's own arithmetic.

When a row prints more or fewer values than it has cells, every way of dropping the spurious
value or inserting the missing blanks is a candidate reading; a check (R1 for a table 三 row,
R4 for the appeals groups) keeps the ones that add up. The caller decides what to trust:
values all surviving readings agree on, never a silent pick between readings that differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations
from typing import TypeVar

T = TypeVar("T")
Check = Callable[[Sequence[int | float | None]], bool]


def _num(v):
    return 0 if v is None else v


def row_total_ok(values: Sequence[int | float | None]) -> bool:
    """R1 for one table 三 row of 7: total = sum of the six applicant columns."""
    return sum(_num(v) for v in values[:-1]) == _num(values[-1])


def groups_total_ok(values: Sequence[int | float | None], size: int = 5) -> bool:
    """R4 for consecutive groups of ``size``: the last of each group is the sum of the others."""
    return all(row_total_ok(values[i : i + size]) for i in range(0, len(values), size))


def readings(items: Sequence[T], width: int, value_of: Callable[[T], int | float | None], check: Check,
             max_missing: int = 3) -> list[list[T | None]]:
    """Every placement of ``items`` (order kept) into ``width`` cells that passes ``check``.

    Too many items: drop exactly one. Too few: leave up to ``max_missing`` cells empty (None).
    Readings that give the same values are merged (the first kept).
    """
    n = len(items)
    candidates: list[list[T | None]] = []
    if n == width + 1:
        candidates = [list(items[:i]) + list(items[i + 1 :]) for i in range(n)]
    elif width - max_missing <= n < width:
        for empty in combinations(range(width), width - n):
            it = iter(items)
            candidates.append([None if i in empty else next(it) for i in range(width)])
    elif n == width:
        candidates = [list(items)]
    out, seen = [], set()
    for cand in candidates:
        values = tuple(None if c is None else value_of(c) for c in cand)
        if values in seen or not check(values):
            continue
        seen.add(values)
        out.append(cand)
    return out


def agreed(cands: list[list[T | None]], value_of: Callable[[T], int | float | None]) -> list[bool]:
    """Per cell: do all readings give it the same value?"""
    if not cands:
        return []
    return [len({None if c[i] is None else value_of(c[i]) for c in cands}) == 1 for i in range(len(cands[0]))]
