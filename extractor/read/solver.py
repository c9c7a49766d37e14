"""Choosing between readings of damaged table material with the table's own arithmetic.

Damaged material is what conversions leave of a row: cells whose separators were lost when a
page's HTML was stripped ("412000144" for 41 2 0 0 0 1 44), a blank cell whose separator was
deleted (six values for seven cells), a stray number (eight values for seven cells). A *reading*
puts every printed character into exactly one cell, in printed order:

- a run of digits may be split into cells, with no leading zeros ("05" is never a cell) and at
  most ``max_digits`` digits per split-off cell;
- a cell may be a blank that left no trace (when the material is short);
- one printed value may be spurious (when ``drop`` allows it).

``enumerate_readings`` lists every reading that also passes the row's own sums (each group's
last cell is the sum of the others: R1 for a table 三 row, R4 for an appeals group). The search
is a depth-first walk over (cell, position in the material, running sum) with the dead ends
memoised, so it only ever walks into states that still lead to a complete reading: a group's
total is forced to equal the running sum, which prunes most splits at once.

The caller decides what to trust: values every surviving reading agrees on, never a silent pick
between readings that differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TypeVar

T = TypeVar("T")
Check = Callable[[Sequence[int | float | None]], bool]
Value = int | float | None
_EPS = 1e-6


def _num(v):
    return 0 if v is None else v


def row_total_ok(values: Sequence[int | float | None]) -> bool:
    """R1 for one table 三 row of 7: total = sum of the six applicant columns."""
    return abs(sum(_num(v) for v in values[:-1]) - _num(values[-1])) < _EPS


def groups_total_ok(values: Sequence[int | float | None], size: int = 5) -> bool:
    """R4 for consecutive groups of ``size``: the last of each group is the sum of the others."""
    return all(row_total_ok(values[i : i + size]) for i in range(0, len(values), size))


def readings(items: Sequence[T], width: int, value_of: Callable[[T], int | float | None], check: Check,
             max_missing: int = 3) -> list[list[T | None]]:
    """Every placement of ``items`` (order kept, never split) into ``width`` cells that passes ``check``.

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


# ---------------------------------------------------------------- splitting runs of digits

@dataclass(frozen=True)
class Item:
    """One piece of printed material: a number (maybe several cells run together), a blank or a dash."""

    text: str
    kind: str  # "number", "blank", "dash"
    value: Value = None  # the printed value when the item is read whole

    @property
    def splittable(self) -> bool:
        return self.kind == "number" and len(self.text) > 1 and bool(_RUN.match(self.text))

    @property
    def whole_ok(self) -> bool:
        """Can the item be one cell? Not when it is certainly several ("00", "10-2")."""
        if self.kind != "number":
            return True
        t = self.text.replace("−", "-")
        if self.value is None:
            return False
        if _RUN.match(t) and not _PART.match(t):
            return False
        return True


@dataclass(frozen=True)
class Piece:
    """The part of item ``item`` (characters ``start:end``) that one cell reads."""

    item: int
    start: int
    end: int
    value: Value
    text: str


Cell = Piece | None  # None: a blank cell that left no trace in the material
Reading = tuple[Cell, ...]
CellOk = Callable[[int, Value, str], bool]

_RUN = re.compile(r"^[-−]?\d[\d.\-−]*$")
_PART = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?$")
_SKIP = "skip"


def _part_value(text: str) -> Value:
    return float(text) if "." in text else int(text)


def values_of(reading: Reading) -> tuple[Value, ...]:
    return tuple(None if c is None else c.value for c in reading)


@dataclass
class Search:
    readings: list[Reading]
    truncated: bool  # the limit was reached: more readings exist than were listed
    inserted: int = 0  # blanks that left no trace, in the readings listed (the fewest that work)


def enumerate_readings(items: Sequence[Item], width: int, *, groups: Sequence[tuple[int, int]] = (),
                       split: bool = True, inserted: int | None = None, drop: int = 0, drop_parts: bool = False,
                       max_digits: int = 6, cell_ok: CellOk | None = None, limit: int = 2000) -> Search:
    """Every reading of ``items`` into ``width`` cells that passes each group's sum.

    ``groups``: (lo, hi) cell ranges whose last cell (hi - 1) is the sum of the others (None = 0).
    ``split``: number items that are runs of digits may be split into several cells.
    ``inserted``: at most this many cells may be blanks that left no trace (None: no bound).
    ``drop``: at most this many printed values may be spurious; with ``drop_parts`` a spurious
    value may also be a piece of a run.
    ``cell_ok(i, value, text)`` vets a piece split off a run for cell i (type, sign).
    Readings that give the same values are merged (the first found is kept; printed blanks are
    preferred to blanks that left no trace). At most ``limit`` distinct readings are returned.
    """
    n = len(items)
    texts = [it.text.replace("−", "-") for it in items]
    total_at = [False] * width
    start_at = [False] * width
    in_group = [False] * width
    for lo, hi in groups:
        if hi - lo >= 2:
            start_at[lo] = True
            total_at[hi - 1] = True
            for i in range(lo, hi):
                in_group[i] = True
    # The last group's total is the last cell: its value is read from the end of the material,
    # so it is chosen first and bounds the group's running sum (parts are never negative).
    last_lo = next((lo for lo, hi in groups if hi == width and hi - lo >= 2), None)
    nonneg = all("-" not in t for t in texts)
    bound_ins = inserted if inserted is not None else width

    # Per position, how many cells the rest of the material needs at least / can fill at most.
    min_after = [0] * (n + 1)
    max_after = [0] * (n + 1)
    for j in range(n - 1, -1, -1):
        it = items[j]
        min_after[j] = min_after[j + 1] + 1
        cap = sum(ch.isdigit() for ch in texts[j]) if (split and it.splittable) else 1
        max_after[j] = max_after[j + 1] + max(cap, 1)

    need_cache: dict[tuple[int, int], tuple[int, int]] = {}

    def need(j: int, k: int) -> tuple[int, int]:
        got = need_cache.get((j, k))
        if got is None:
            if j >= n:
                got = (0, 0)
            elif k == 0:
                got = (min_after[j], max_after[j])
            else:
                rest = sum(ch.isdigit() for ch in texts[j][k:])
                got = (1 + min_after[j + 1], max(rest, 1) + max_after[j + 1])
            need_cache[(j, k)] = got
        return got

    piece_cache: dict[tuple[int, int], list] = {}

    def pieces(j: int, k: int) -> list:
        got = piece_cache.get((j, k))
        if got is None:
            got = piece_cache[(j, k)] = list(_pieces(j, k))
        return got

    def _pieces(j: int, k: int):
        """Ways one cell reads from item j at offset k: (Piece, next j, next k, split off a run?)."""
        it, t = items[j], texts[j]
        if it.kind != "number":
            if k == 0:
                yield Piece(j, 0, len(t), None, it.text), j + 1, 0, False
            return
        if k == 0 and it.whole_ok:
            yield Piece(j, 0, len(t), it.value, it.text), j + 1, 0, False
        if not (split and it.splittable):
            return
        digits = 0
        for e in range(k + 1, len(t) + 1):
            if t[e - 1].isdigit():
                digits += 1
            if digits > max_digits and "." not in t[k:e]:
                break
            if k == 0 and e == len(t):
                continue  # the whole item, handled above
            part = t[k:e]
            if not _PART.match(part):
                continue
            if "." in part and e != len(t):
                continue  # an amount's decimals run to the end of what was printed together
            nj, nk = (j + 1, 0) if e == len(t) else (j, e)
            yield Piece(j, k, e, _part_value(part), it.text[k:e]), nj, nk, True

    # Linear positions over the material, and digits before each position.
    cum = [0] * (n + 1)
    for j in range(n):
        cum[j + 1] = cum[j] + max(len(texts[j]), 1)
    dig = [0]
    dsum = [0]
    for j in range(n):
        t = texts[j] if texts[j] else " "
        for ch in t:
            dig.append(dig[-1] + ch.isdigit())
            dsum.append(dsum[-1] + (int(ch) if ch.isdigit() else 0))
    integers = all(it.kind != "number" or re.match(r"^[\d,]+$", t) for it, t in zip(items, texts))

    def tail_totals() -> list[tuple[Value, int]]:
        """(value, where it starts) for the last cell: a piece that ends the material, or a blank."""
        out: list[tuple[Value, int]] = []
        if inserted is None or inserted > 0:
            out.append((0, cum[n]))
        if n:
            last = items[-1]
            if last.kind != "number":
                out.append((0, cum[n - 1]))
            else:
                for k in range(len(texts[-1])):
                    for p, nj, _, _ in pieces(n - 1, k):
                        if nj == n and p.value is not None:
                            out.append((p.value, cum[n - 1] + k))
        return out

    # With no spurious value, the last group's total is the end of the material: choose it first.
    tails = tail_totals() if (last_lo is not None and drop == 0) else []

    bound_cache: dict[int, dict[tuple[int, int], dict[int, tuple]]] = {}

    def bounds_to(tp: int) -> dict[tuple[int, int], dict[int, tuple]]:
        """Per position: for c printed cells that read the material up to ``tp`` exactly, the
        smallest and largest sum they can make (any split, no sum rule): a bound on what is left."""
        got = bound_cache.get(tp)
        if got is not None:
            return got
        table: dict[tuple[int, int], dict[int, tuple]] = {}

        def f(j: int, k: int) -> dict[int, tuple]:
            key = (j, k)
            if key in table:
                return table[key]
            here = cum[j] + k if j < n else cum[n]
            out: dict[int, tuple] = {}
            if here == tp:
                out[0] = (0, 0)
            elif here < tp and j < n:
                for p, nj, nk, _ in pieces(j, k):
                    if (cum[nj] + nk if nj < n else cum[n]) > tp:
                        continue
                    v = _num(p.value)
                    for c, (lo, hi) in f(nj, nk).items():
                        if c + 1 > width:
                            continue
                        old = out.get(c + 1)
                        out[c + 1] = (lo + v, hi + v) if old is None else (min(old[0], lo + v), max(old[1], hi + v))
            table[key] = out
            return out

        bound_cache[tp] = table
        table["f"] = f  # type: ignore[index]
        return table

    def within(tp: int, j: int, k: int, m: int, ins_left: int, rest) -> bool:
        """Can the material from (j, k) up to ``tp`` fill at most ``m`` cells with sum ``rest``?"""
        f = bounds_to(tp)["f"]  # type: ignore[index]
        for c, (lo, hi) in f(j, k).items():
            if m - ins_left <= c <= m and lo - _EPS <= rest <= hi + _EPS:
                return True
        return False

    opt_cache: dict[tuple[int, int, int], list] = {}

    def options_at(i: int, j: int, k: int) -> list:
        got = opt_cache.get((i, j, k))
        if got is None:
            got = []
            if j < n:
                for p, nj, nk, is_part in pieces(j, k):
                    if is_part and cell_ok is not None and not cell_ok(i, p.value, p.text):
                        continue
                    got.append((p, nj, nk))
            opt_cache[(i, j, k)] = got
        return got

    def moves(state):
        i, j, k, s, ins, dr, target = state
        if dr < drop and j < n:
            if k == 0 and items[j].whole_ok:
                yield _SKIP, (i, j + 1, 0, s, ins, dr + 1, target)
            if drop_parts:
                for _, nj, nk, is_part in pieces(j, k):
                    if is_part:
                        yield _SKIP, (i, nj, nk, s, ins, dr + 1, target)
        if i == width:
            return
        lo_need, hi_cap = need(j, k)
        left = width - i
        if lo_need - (drop - dr) > left or hi_cap + (bound_ins - ins) < left:
            return
        s0 = 0 if start_at[i] else s
        targets = [target]
        if i == last_lo and tails:
            targets = tails
        cur = cum[j] + k
        options = options_at(i, j, k)
        blank_ok = inserted is None or ins < inserted
        for tg in targets:
            if tg is not None:
                tv, tp = tg
                if cur > tp:
                    continue
                if not total_at[i] and nonneg and isinstance(tv, int):
                    # The parts still to read: the digits before the total, in the part cells left.
                    # Each is at most what is left of the total, so has at most as many digits; and
                    # however digits are cut into numbers, the numbers' sum = their digits' sum (mod 9).
                    m = width - 1 - i
                    r = dig[tp] - dig[cur]
                    rest = tv - s0
                    if rest < 0 or r > m * len(str(rest)):
                        continue
                    if r > m > 0 and rest < 10 ** (-(-r // m) - 1):
                        continue
                    if integers and (rest - (dsum[tp] - dsum[cur])) % 9:
                        continue
                    if not within(tp, j, k, m, m if inserted is None else inserted - ins, rest):
                        continue
            for p, nj, nk in (options + [(None, j, k)] if blank_ok else options):
                nins = ins if p is not None else ins + 1
                v = _num(None if p is None else p.value)
                if total_at[i]:
                    if abs(v - s0) > _EPS:
                        continue
                    if tg is not None and (abs(v - tg[0]) > _EPS or cur != tg[1] and p is not None
                                           or p is None and tg[1] != cum[n]):
                        continue
                    ns = 0
                elif in_group[i]:
                    ns = s0 + v
                    if tg is not None and nonneg and ns > tg[0] + _EPS:
                        continue
                else:
                    ns = 0
                yield p, (i + 1, nj, nk, ns, nins, dr, None if total_at[i] else tg)

    memo: dict = {}

    def alive(state) -> bool:
        got = memo.get(state)
        if got is not None:
            return got
        if state[0] == width and state[1] == n:
            memo[state] = True
            return True
        ok = any(alive(nxt) for _, nxt in moves(state))
        memo[state] = ok
        return ok

    start = (0, 0, 0, 0, 0, 0, None)
    out: list[Reading] = []
    seen: set = set()
    truncated = False
    if not alive(start):
        return Search([], False)

    def walk(state, cells: list[Cell]) -> bool:
        nonlocal truncated
        if state[0] == width and state[1] == n:
            vals = values_of(tuple(cells))
            if vals not in seen:
                if len(out) >= limit:
                    truncated = True
                    return False
                seen.add(vals)
                out.append(tuple(cells))
            return True
        for p, nxt in moves(state):
            if not alive(nxt):
                continue
            if p is not _SKIP:
                cells.append(p)
            cont = walk(nxt, cells)
            if p is not _SKIP:
                cells.pop()
            if not cont:
                return False
        return True

    walk(start, [])
    ins_used = max((sum(c is None for c in r) for r in out), default=0)
    return Search(out, truncated, ins_used)


def fewest_blanks(items: Sequence[Item], width: int, *, most: int | None = None, **kw) -> Search:
    """The readings that need the fewest blanks without a trace (a vanished blank is the last resort).

    When the material can fill every cell, no cell is assumed to have vanished; only when no
    reading adds up that way is one more traceless blank allowed, and so on up to ``most``.
    """
    limit = kw.pop("limit", 2000)
    first = enumerate_readings(items, width, inserted=most, limit=limit, **kw)
    if not first.readings:
        return first
    fewest = min(sum(c is None for c in r) for r in first.readings)
    for t in range(0, fewest + 1):
        got = enumerate_readings(items, width, inserted=t, limit=limit, **kw)
        if got.readings:
            got.inserted = t
            return got
    return first


def agreement(values: Sequence[tuple[Value, ...]]) -> list[bool]:
    """Per cell: do all value tuples give it the same value (None and 0 differ)?"""
    if not values:
        return []
    return [len({v[i] for v in values}) == 1 for i in range(len(values[0]))]
