"""Reading damaged tables with the table's own arithmetic.

What conversions do to a table, and what this module does about it:

- **Digits run together** (HTML stripped of its tags: "…申请数量412000144" for 41 2 0 0 0 1 44).
  ``unglue`` splits the run off a row label it is stuck to; the solver then enumerates every
  split of the run (no leading zeros, at most ``MAX_DIGITS`` digits a cell) that adds up.
- **Too few values** (a blank cell's separator deleted, a blank that left no trace): readings
  put the missing blanks anywhere, any number of them. A reading is never preferred for needing
  fewer vanished blanks: null is not 0, and no sum can tell them apart, so that would be a guess.
- **One value too many** (a stray number): readings drop each value in turn (in a run of
  digits, each digit, only when no reading adds up without). This is always an error for the
  reviewer, even when the arithmetic finds the stray one.
- **Rows without labels** (labels stripped or drifted away, as in PDF-to-markdown): the number
  rows are given to the template's rows in order, when their count fits a shape of the table.

Every row's readings must first pass its own total (R1, or R4 per appeals group); for table 三
the rows' readings are then combined under the column rules (R2 results total, R3 balance) by a
forward/backward pass over the running column sums, so only combinations that satisfy every
rule survive, and the number of complete readings is counted without listing them (row readings
that no column can complete are dropped first, one column at a time; past a bound on the running
sums, those per-column survivors are what is kept: never fewer readings than are possible).

- one complete reading: it is taken, with a warning that says it was recovered by arithmetic and
  which alternatives were ruled out;
- several: cells they all agree on are kept, the others are null, and an error lists the readings;
- none: an error, the row left null.

Outside evidence (built in ``evidence``): a ``Check`` (the narrative's table 四 figures, what the
validator holds the table to as R6) rules out readings of a damaged row that disagree with it, in the
same order as the sums (a spurious value only when no reading without one agrees); ``Tiebreak``s
(weaker evidence) then choose among the readings that pass everything. Evidence that no reading
agrees with is not used (it may speak of something else: the validator flags what it checks).

A row whose printed numbers are clear (separated, the right count) is never re-read: it is the
printed reading even when it breaks a rule, and the validator flags it. Blanks at the ends of a
row are the one exception: they may be layout padding, so when the printed reading does not add
up, readings that treat them as padding are tried too.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from extractor.contract import APPLICANT_COLUMNS, OTHER_SUBROWS, REQUEST_ROWS, RESULT_ROWS
from extractor.flags import Flag
from extractor.read.base import Reading
from extractor.read.cells import Token, fit_blanks
from extractor.read.labels import REQUEST_GROUP_FRAGMENTS, REQUEST_ROW_FRAGMENTS, match
from extractor.read.solver import (
    Item,
    Piece,
    agreement,
    enumerate_readings,
    values_of,
)
from extractor.textnorm import has_cjk, label_key, parse_number, squash

MAX_DIGITS = 6  # digits of one cell split off a run (counts); whole printed numbers are not bounded
SHOWN = 6  # readings listed in a flag message
_EPS = 1e-6

Value = int | float | None
CellOk = Callable[[int, Value, str], bool]


def count_ok(i: int, value: Value, text: str) -> bool:
    """A count split off a run: a non-negative integer."""
    return value is None or (isinstance(value, int) and value >= 0)


# ---------------------------------------------------------------- digit runs stuck to labels

_GLUED_TAIL = re.compile(r"^(?P<label>.*?[^\d\s.,\-\u2212])\s*(?P<run>[-\u2212]?\d[\d.\-\u2212]*)$")
_BARE_RUN = re.compile(r"^[-\u2212]?\d[\d.\-\u2212]*$")


def unglue(tokens: list[Token], *tables: dict[str, tuple[str, ...]]) -> list[Token]:
    """Split a run of digits off the end of a row label ("（七）总计1030001103").

    Only a label that names a row of ``tables`` loses its tail (so "第二十条第（五）项" or a
    date keeps its digits); text that is nothing but digits, signs and points ("10-270") becomes
    a number token to be split by the solver.
    """
    out: list[Token] = []
    for tok in tokens:
        if tok.kind != "label":
            out.append(tok)
            continue
        text = tok.text
        if _BARE_RUN.match(text):
            out.append(Token("number", text, tok.loc, parse_number(text), tok.row, tok.x))
            continue
        m = _GLUED_TAIL.match(text)
        if m and has_cjk(m.group("label")) and (any(match(m.group("label"), t) for t in tables)
                                                 or label_key(m.group("label")) in ("其他", "其它")):
            label, run = m.group("label"), m.group("run")
            out.append(Token("label", label, tok.loc.sub(0, len(label)), None, tok.row, tok.x))
            out.append(Token("number", run, tok.loc.sub(m.start("run"), len(run)), parse_number(run), tok.row, tok.x))
            continue
        out.append(tok)
    return out


def is_run(tok: Token) -> bool:
    """A number token that is certainly several cells run together ("00", "10-2", "1.2.3")."""
    if tok.kind != "number":
        return False
    if len(tok.text) > 64:  # never kept alive by the cache
        return not Item(tok.text, "number", tok.value).whole_ok
    return _is_run_text(tok.text, tok.value is None)


@lru_cache(maxsize=1 << 14)
def _is_run_text(text: str, no_value: bool) -> bool:
    return not Item(text, "number", None if no_value else 0).whole_ok


# ---------------------------------------------------------------- one row's readings

@dataclass
class RowReadings:
    """The readings of one row's material that pass the row's own sums."""

    kind: str  # clear | short | layout | extra | unreadable
    printed: list[Token]  # the value tokens as printed (after end-padding is trimmed)
    cands: list[tuple[Token | None, ...]] = field(default_factory=list)
    truncated: bool = False
    inserted: int = 0  # blanks assumed to have left no trace
    dropped: list[bool] = field(default_factory=list)  # per reading: a printed value read as spurious
    evidence: str = ""  # outside evidence (the narrative) that ruled readings out, described

    def __post_init__(self):
        if len(self.dropped) != len(self.cands):
            self.dropped = [self.kind == "extra"] * len(self.cands)

    def values(self, i: int) -> tuple[Value, ...]:
        return tuple(None if t is None else (t.value if t.kind == "number" else None) for t in self.cands[i])


def _items(tokens: Sequence[Token]) -> list[Item]:
    return [Item(t.text, t.kind if t.kind in ("number", "dash", "blank") else "dash", t.value) for t in tokens]


def _to_tokens(reading: tuple[Piece | None, ...], tokens: Sequence[Token]) -> tuple[Token | None, ...]:
    out: list[Token | None] = []
    for p in reading:
        if p is None:
            out.append(None)
            continue
        src = tokens[p.item]
        if p.start == 0 and p.end == len(src.text):
            out.append(src)
        else:
            out.append(Token("number", p.text, src.loc.sub(p.start, p.end - p.start), p.value, src.row, src.x))
    return tuple(out)


def _sums_ok(values: Sequence[Value], groups: Sequence[tuple[int, int]]) -> bool:
    for lo, hi in groups:
        parts = sum(0 if v is None else v for v in values[lo : hi - 1])
        if abs(parts - (0 if values[hi - 1] is None else values[hi - 1])) > _EPS:
            return False
    return True


def _strip_ends(tokens: list[Token]) -> list[Token]:
    out = list(tokens)
    while out and out[0].kind == "blank":
        out.pop(0)
    while out and out[-1].kind == "blank":
        out.pop()
    return out


def _run_together(tokens: Sequence[Token], width: int) -> bool:
    """Is the material certainly cells run together (not just a value or two short)?"""
    numbers = [t for t in tokens if t.kind == "number"]
    return any(is_run(t) for t in numbers) or (bool(numbers) and len(numbers) <= width // 2
                                                 and any(len(t.text) > 1 for t in numbers))


def _without(core: list[Token], j: int, k: int | None) -> list[Token]:
    """The material with token j dropped (k None) or the one digit at k of token j dropped."""
    if k is None:
        return core[:j] + core[j + 1 :]
    t = core[j]
    parts = []
    for a, b in ((0, k), (k + 1, len(t.text))):
        if b > a:
            text = t.text[a:b]
            parts.append(Token("number", text, t.loc.sub(a, b - a), parse_number(text), t.row, t.x))
    return core[:j] + parts + core[j + 1 :]


def _spurious(core: list[Token], width: int, groups, cell_ok, limit: int) -> list[tuple[Token | None, ...]]:
    """Readings with one printed value spurious: a whole value, or one digit of a run."""
    out: list[tuple[Token | None, ...]] = []
    seen_text: set[tuple[str, ...]] = set()
    seen_vals: set = set()
    for j, t in enumerate(core):
        if t.kind != "number":
            continue
        spots: list[int | None] = [None] if Item(t.text, "number", t.value).whole_ok else []
        if Item(t.text, "number", t.value).splittable:
            spots += [k for k in range(len(t.text)) if t.text[k].isdigit()]
        for k in spots:
            rest = _without(core, j, k)
            key = tuple(x.text for x in rest)
            if key in seen_text:
                continue  # dropping either of two equal neighbours leaves the same material
            seen_text.add(key)
            got = enumerate_readings(_items(rest), width, groups=groups, cell_ok=cell_ok, max_digits=MAX_DIGITS,
                                     inserted=None, limit=limit)
            for r in got.readings:
                vals = values_of(r)
                if vals not in seen_vals and len(out) < limit:
                    seen_vals.add(vals)
                    out.append(_to_tokens(r, rest))
    return out


def _damaged_readings(core: list[Token], width: int, groups, cell_ok, limit: int,
                      check: Check | None = None) -> RowReadings | None:
    """Readings of short or run-together material.

    Blank cells that left no trace may sit anywhere, any number of them: a reading is never
    preferred for needing fewer (that would be a guess, and a wrong value without a flag). A
    spurious value is a printed anomaly, so it is only assumed when nothing else adds up.

    ``check`` is outside evidence on the whole row (the narrative's own figures, see
    ``figures_check``): readings it rejects are ruled out. The rules are applied in the same
    order as without it: readings with a spurious value only when no reading without one passes
    every rule; and when no reading at all passes it, the evidence is not used (it may speak of
    something else; the validator reports the disagreement).
    """
    kw = dict(groups=groups, cell_ok=cell_ok, max_digits=MAX_DIGITS, limit=limit)
    plain = enumerate_readings(_items(core), width, inserted=None, **kw)

    def build(found: list[tuple[Token | None, ...]], spurious: list[tuple[Token | None, ...]], truncated: bool,
              evidence: str = "") -> RowReadings | None:
        if not found and not spurious:
            return None
        fewest = min((sum(c is None for c in r) for r in found + spurious), default=0)
        return RowReadings("short", core, found + spurious, truncated, fewest,
                           [False] * len(found) + [True] * len(spurious), evidence)

    cands = [_to_tokens(r, core) for r in plain.readings]
    if check is not None and cands:
        kept = [c for c in cands if check.ok(_token_values(c))]
        if kept and len(kept) < len(cands):
            gone = len(cands) - len(kept)
            return build(kept, [], plain.truncated,
                         f"{check.what} rules out {gone}{'+' if plain.truncated else ''} more")
        if not kept and not plain.truncated:
            extra = [c for c in _spurious(core, width, groups, cell_ok, limit) if check.ok(_token_values(c))]
            if extra:
                return build([], extra, False, f"{check.what} rules out every reading without a spurious value "
                                               f"({len(cands)} of them)")
    extra = [] if cands else _spurious(core, width, groups, cell_ok, limit)
    if check is not None and extra:
        agree = [c for c in extra if check.ok(_token_values(c))]
        if agree and len(agree) < len(extra):
            return build([], agree, False, f"{check.what} rules out {len(extra) - len(agree)} more")
    return build(cands, extra, plain.truncated)


def _token_values(cells: Sequence[Token | None]) -> tuple[Value, ...]:
    return tuple(None if t is None else (t.value if t.kind == "number" else None) for t in cells)


@dataclass
class Check:
    """Outside evidence on a row's reading: ``ok(values)`` says whether a reading agrees with it."""

    what: str  # how the evidence reads in a flag: "the narrative's 「行政诉讼案件8件」"
    ok: Callable[[tuple[Value, ...]], bool]


@dataclass
class Tiebreak:
    """Evidence weaker than a sum, used only to choose among readings of damaged material that all
    pass every rule: ``ok(cells)`` says whether a reading agrees with it. It narrows the readings
    when it keeps at least one, and is ignored when it keeps none (it may speak of something else)."""

    what: str  # how the evidence reads in a flag
    ok: Callable[[tuple[Token | None, ...]], bool]


def _narrow(rr: RowReadings, tiebreaks: Sequence[Tiebreak]) -> RowReadings:
    """Apply each tiebreak in turn to the readings of damaged material (never to a cut-off search:
    readings not seen could be the ones it keeps)."""
    if rr.kind != "short" or rr.truncated:
        return rr
    for tb in tiebreaks:
        keep = [i for i, c in enumerate(rr.cands) if tb.ok(c)]
        if keep and len(keep) < len(rr.cands):
            note = f"{tb.what} rules out {len(rr.cands) - len(keep)} more"
            rr = RowReadings(rr.kind, rr.printed, [rr.cands[i] for i in keep], False,
                             min(sum(c is None for c in rr.cands[i]) for i in keep),
                             [rr.dropped[i] for i in keep], "; ".join(x for x in (rr.evidence, note) if x))
    return rr


def row_readings(tokens: list[Token], width: int, groups: Sequence[tuple[int, int]] = (),
                 cell_ok: CellOk | None = count_ok, limit: int = 2000, check: Check | None = None,
                 tiebreaks: Sequence[Tiebreak] = ()) -> RowReadings:
    """Every reading of a row's value tokens into ``width`` cells that passes its own sums.

    ``check`` and ``tiebreaks`` (outside evidence) only ever narrow the readings of damaged
    material: a clear row is the printed reading whatever the evidence says.
    """
    fitted = fit_blanks(tokens, width)
    clear = len(fitted) == width and not any(is_run(t) for t in fitted)
    if clear:
        values = tuple(t.value if t.kind == "number" else None for t in fitted)
        if not groups or _sums_ok(values, groups):
            return RowReadings("clear", fitted, [tuple(fitted)])
        if fitted[0].kind == "blank" or fitted[-1].kind == "blank":
            core = _strip_ends(tokens)
            got = enumerate_readings(_items(core), width, groups=groups, cell_ok=cell_ok, max_digits=MAX_DIGITS,
                                     inserted=None, limit=limit)
            if got.readings:
                fewest = min(sum(c is None for c in r) for r in got.readings)
                return RowReadings("layout", fitted, [_to_tokens(r, core) for r in got.readings], got.truncated,
                                   fewest)
        return RowReadings("clear", fitted, [tuple(fitted)])  # printed as it is: the validator flags it
    if len(fitted) > width + 1:
        fitted = fit_blanks(_trim_pads(tokens), width)  # blanks that padded a line before a stray value
    if len(fitted) > width:
        if len(fitted) > width + 1:
            return RowReadings("unreadable", fitted)
        got = enumerate_readings(_items(fitted), width, groups=groups, split=False, inserted=0, drop=1, limit=limit)
        return RowReadings("extra" if got.readings else "unreadable", fitted,
                           [_to_tokens(r, fitted) for r in got.readings], got.truncated)
    core = _strip_ends(tokens)
    got = _damaged_readings(core, width, groups, cell_ok, limit, check)
    return _narrow(got, tiebreaks) if got else RowReadings("unreadable", core)


def _trim_pads(tokens: list[Token]) -> list[Token]:
    """Drop the blanks at the ends of each printed line of the row (layout padding)."""
    out: list[Token] = []
    lines: dict[int, list[Token]] = {}
    for t in tokens:
        lines.setdefault(t.row, []).append(t)
    for toks in lines.values():
        out += _strip_ends(toks)
    return out


def _shown(values: Sequence[tuple[Value, ...]]) -> str:
    def one(v: Value) -> str:
        return "_" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))

    text = "; ".join("[" + " ".join(one(x) for x in vals) + "]" for vals in values[:SHOWN])
    if len(values) > SHOWN:
        text += f"; … {len(values) - SHOWN} more"
    return text


def _printed_text(tokens: Sequence[Token]) -> str:
    return " ".join(t.text or "_" for t in tokens) or "nothing"


def _describe(what: str, rr: RowReadings, width: int) -> str:
    n = len(rr.printed)
    if rr.kind == "layout":
        return (f"{what}: {n} cells printed ({_printed_text(rr.printed)}), but read as printed they do not add up "
                f"and a blank at the end of the row may be layout padding")
    if _run_together(rr.printed, width) and n < width:
        return f"{what}: digits run together ({_printed_text(rr.printed)}) for {width} cells"
    return f"{what}: {n} values printed for {width} cells"


def _moving(rr: RowReadings, keys: list[str | None]) -> list[str]:
    """Cells whose value depends on where the spurious value sits (ignoring arithmetic)."""
    p = rr.printed
    if len(p) != len(keys) + 1:
        return [k for k in keys if k is not None]
    drops = [p[:i] + p[i + 1 :] for i in range(len(p))]
    return [k for j, k in enumerate(keys) if k is not None and len({d[j].value for d in drops}) > 1]


@dataclass
class Recovered:
    """A damaged row read by arithmetic alone: what was printed, what was taken, what was ruled out."""

    desc: str
    taken: str
    ruled_out: str
    keys: list[str]


def place(keys: list[str | None], rr: RowReadings, feasible: list[int], reading: Reading, what: str, how: str,
          ruled_out: list[tuple[Value, ...]] | None = None, by: str = "its own total",
          recovered: list[Recovered] | None = None) -> None:
    """Put a row's cells from its surviving readings, and say what was done.

    A unique reading is recorded in ``recovered`` (the caller writes one warning for them all) or,
    without a list, as a warning of its own; anything else is an error naming the cells.
    """
    width = len(keys)
    if rr.kind == "clear":
        for key, tok in zip(keys, rr.cands[0]):
            if key is not None and tok is not None:
                reading.put(key, tok, how)
        return
    desc = _describe(what, rr, width)
    named = [k for k in keys if k is not None]
    if rr.kind == "unreadable" or not feasible:
        reason = "more than one value too many" if len(rr.printed) > width + 1 else f"no reading adds up ({by})"
        if not by.startswith(("R", "its")):
            reason = f"no reading fits ({by})"
        reading.flag(Flag(rule="READ", severity="error", keys=named, message=f"{desc}; {reason}; cells left null"))
        if named:
            reading.unread.add(named[0].split(".")[0])
        return
    cands = [rr.cands[i] for i in feasible]
    vals = [rr.values(i) for i in feasible]
    sure = agreement(vals)
    if rr.truncated:
        sure = [False] * width
    placed_empty = 0
    for key, ok, tok in zip(keys, sure, cands[0]):
        if key is not None and ok:
            if tok is None:
                reading.put_vanished(key)
                placed_empty += 1
            else:
                reading.put(key, tok, "placed by arithmetic")
    # Every reading has a blank that left no trace: the document prints empty cells, somewhere here.
    reading.unplaced_empties += max(0, min(sum(t is None for t in c) for c in cands) - placed_empty)
    unsure = [k for k, ok in zip(keys, sure) if not ok and k is not None]
    shown = _shown(vals)
    more = f" (the search stopped at {len(vals)})" if rr.truncated else ""
    adds = "add up" if by.startswith(("R", "its")) else "fit"
    adds1 = "adds up" if adds == "add up" else "fits"
    if rr.kind == "short" and unsure and not rr.truncated and not any(rr.dropped[i] for i in feasible):
        before = unsure
        unsure, note = _zero_or_vanished(keys, cands, unsure, reading)
        if note:
            listed = "" if unsure else f"; {len(vals)} placements {adds} ({by}): {shown}"
            reading.flag(Flag(rule="BLANK", severity="error", keys=[k for k in before if k not in unsure],
                              message=f"{desc}{listed}. {note}"))
        if not unsure:
            return
    if rr.kind == "extra" or any(rr.dropped[i] for i in feasible):
        moving = _moving(rr, keys)
        if not unsure:
            msg = (f"{desc}: one printed value is spurious and its position cannot be seen; the only reading "
                   f"that adds up ({by}) was taken: {shown}. Cells whose value depends on where the spurious "
                   f"value is: {', '.join(moving)}")
            reading.flag(Flag(rule="SHAPE", severity="error", keys=moving or named, message=msg))
        else:
            spur = "one printed value is spurious" if rr.kind == "extra" else "readings with a spurious value"
            msg = (f"{desc}: {spur}; readings that {adds} ({by}): {shown}{more}. "
                   f"Cells not placed: {', '.join(unsure)}")
            reading.flag(Flag(rule="READ", severity="error", keys=unsure, message=msg))
        return
    if len(cands) == 1 and not rr.truncated:
        blanks = f", assuming {rr.inserted} blank cell(s) left no trace" if rr.inserted else ""
        gone = _shown(ruled_out) if ruled_out else ""
        if recovered is not None:
            recovered.append(Recovered(desc, shown + blanks, gone, named))
            return
        alt = f"; ruled out: {gone}" if gone else ""
        how_found = "recovered by arithmetic and the evidence named" if rr.evidence else "recovered by arithmetic"
        reading.flag(Flag(rule="READ", severity="warning", keys=named,
                          message=f"{desc}; {how_found}: the only reading that {adds1} ({by}{blanks}) "
                                  f"was taken: {shown}{alt}"))
        return
    reading.flag(Flag(rule="READ", severity="error", keys=unsure or named,
                      message=f"{desc}; {len(vals)} placements {adds} ({by}): {shown}{more}; "
                              f"cells left null: {', '.join(unsure)}"))


def _zero_or_vanished(keys: list[str | None], cands: list[tuple[Token | None, ...]], unsure: list[str],
                      reading: Reading) -> tuple[list[str], str]:
    """Cells the readings differ on only as a printed 0 or a blank that left no trace: read 0.

    No sum tells 0 from blank, so a run like "000000" for seven cells cannot say which cell is the
    blank; every other cell of it is a printed 0. Such cells are read 0 (null would be wrong for all
    but the blank ones) and named in an error. Returns the cells still unsure, and what the error says.
    """
    zero_or_gone: list[int] = []
    for j, key in enumerate(keys):
        seen = [c[j] for c in cands]
        if key in unsure and any(t is not None for t in seen) and \
                all(t is None or (t.kind == "number" and t.value == 0) for t in seen):
            reading.put(key, next(t for t in seen if t is not None), "placed by arithmetic")
            zero_or_gone.append(j)
    if not zero_or_gone:
        return unsure, ""
    named = [keys[j] for j in zero_or_gone]
    gone = {sum(t is None for t in c) for c in cands}
    inside = all(t is not None for c in cands for j, t in enumerate(c) if j not in zero_or_gone)
    if len(gone) == 1 and inside:
        n = gone.pop()
        which = f"{n} of them {'is' if n == 1 else 'are'} printed blank (null), and which cannot be seen"
    else:
        which = "each is a printed 0 in some readings and a blank (null) in others"
    note = (f"{', '.join(named)} read 0: the readings differ there only between a printed 0 and a blank "
            f"that left no trace (no sum tells them apart); {which}")
    return [k for k in unsure if k not in named], note


def place_row(keys: list[str | None], tokens: list[Token], reading: Reading, what: str, how: str,
              groups: Sequence[tuple[int, int]] = (), cell_ok: CellOk | None = count_ok,
              check: Check | None = None, tiebreaks: Sequence[Tiebreak] = ()) -> None:
    """One row on its own (tables 二 and 四): readings that pass the row's sums, placed."""
    rr = row_readings(tokens, len(keys), groups, cell_ok, check=check, tiebreaks=tiebreaks)
    by = ("R4 per appeals group" if len(groups) > 1 else "its own total") if groups else \
        "no sum to check: the cells' types only"
    if rr.evidence:
        by += f"; {rr.evidence}"
    place(keys, rr, list(range(len(rr.cands))), reading, what, how, by=by)


# ---------------------------------------------------------------- table 三 as a whole

FRAME_ROWS = ("new_received", "carried_over", "total_processed", "carried_forward")
_ROW_GROUP = [(0, len(APPLICANT_COLUMNS))]
_W = len(APPLICANT_COLUMNS)


@dataclass
class ColumnPass:
    count: int  # complete readings of the table; -1: too many to count (feasible is then a superset)
    feasible: dict[str, list[int]]  # per row: its readings that are part of some complete reading


def _contrib(name: str, vals: Sequence[Value], r2: bool, r3: bool) -> tuple:
    v = [0 if x is None else x for x in vals]
    zero = [0] * _W
    a = zero
    b = zero
    if r2 and name in RESULT_ROWS:
        a = v
    if name == "total_processed":
        a = [-x for x in v] if r2 else zero
        b = [-x for x in v] if r3 else zero
    if r3 and name in ("new_received", "carried_over"):
        b = v
    if r3 and name == "carried_forward":
        b = [-x for x in v]
    return tuple(round(x, 6) if isinstance(x, float) else x for x in a + b)


def _add(s: tuple, d: tuple) -> tuple:
    return tuple(map(operator.add, s, d))


def column_pass(rows: dict[str, RowReadings], r2: bool, r3: bool, cap: int = 4_000) -> ColumnPass:
    """Combine the rows' readings under R2/R3: how many complete readings, and which row readings
    take part in one. When the running sums grow past ``cap`` states, the count is -1 and the
    readings kept are those that survive every column on its own (a superset, never too few).

    Rows are added one at a time to a set of running residuals (R2 and R3 per column, which must
    all end at 0). Readings that shift the sums alike (a blank where the other has a 0) are one
    step; a residual is dropped as soon as the rows still to come cannot bring it back to 0.
    """
    names = [n for n in rows if rows[n].cands]
    fixed = [n for n in names if len(rows[n].cands) == 1]
    multi = [n for n in names if len(rows[n].cands) > 1]
    dims = 2 * _W
    start = tuple([0] * dims)
    for n in fixed:
        start = _add(start, _contrib(n, rows[n].values(0), r2, r3))
    steps: dict[str, dict[tuple, list[int]]] = {}
    for n in multi:
        by_delta: dict[tuple, list[int]] = {}
        for i in range(len(rows[n].cands)):
            by_delta.setdefault(_contrib(n, rows[n].values(i), r2, r3), []).append(i)
        steps[n] = by_delta
    _prune_by_column(multi, steps, start, dims)
    if any(not steps[n] for n in multi):
        return ColumnPass(0, {n: [] for n in names})
    # What the rows still to come can add, at least and at most, per residual.
    lo = [[0] * dims for _ in range(len(multi) + 1)]
    hi = [[0] * dims for _ in range(len(multi) + 1)]
    for idx in range(len(multi) - 1, -1, -1):
        ds = list(steps[multi[idx]])
        for d in range(dims):
            lo[idx][d] = lo[idx + 1][d] + min(x[d] for x in ds)
            hi[idx][d] = hi[idx + 1][d] + max(x[d] for x in ds)

    def reachable(t: tuple, idx: int) -> bool:
        return all(t[d] + lo[idx][d] <= _EPS and t[d] + hi[idx][d] >= -_EPS for d in range(dims))

    layers: list[dict[tuple, int]] = [{start: 1} if reachable(start, 0) else {}]
    for idx, n in enumerate(multi):
        nxt: dict[tuple, int] = {}
        for st, c in layers[-1].items():
            for d, members in steps[n].items():
                t = _add(st, d)
                if reachable(t, idx + 1):
                    nxt[t] = nxt.get(t, 0) + c * len(members)
        if len(nxt) > cap:
            return ColumnPass(-1, {**{n: [0] for n in fixed},
                                   **{n: sorted(i for m in steps[n].values() for i in m) for n in multi}})
        layers.append(nxt)
    zero = tuple([0] * dims)
    count = layers[-1].get(zero, 0)
    feasible = {n: [0] for n in fixed}
    if not count:
        return ColumnPass(0, {n: [] for n in names})
    back = {zero}
    for idx in range(len(multi) - 1, -1, -1):
        n = multi[idx]
        ok_here: set[int] = set()
        prev: set[tuple] = set()
        for st in layers[idx]:
            for d, members in steps[n].items():
                if _add(st, d) in back:
                    ok_here.update(members)
                    prev.add(st)
        feasible[n] = sorted(ok_here)
        back = prev
    return ColumnPass(count, feasible)


def _prune_by_column(multi: list[str], steps: dict[str, dict[tuple, list[int]]], start: tuple, dims: int) -> None:
    """Drop row readings that cannot be part of any combination, one residual at a time.

    Each residual alone is a sum over rows of one number per reading; a reading whose number
    cannot be completed to 0 by the other rows' numbers is impossible whatever the other
    residuals do. Repeated until nothing changes (a relaxation: it never drops a possible reading).
    """
    changed = True
    while changed:
        changed = False
        for d in range(dims):
            vals = [sorted({delta[d] for delta in steps[n]}) for n in multi]
            if all(len(v) == 1 for v in vals):
                continue
            fwd = [{start[d]}]
            for v in vals:
                fwd.append({x + y for x in fwd[-1] for y in v})
            back = {0}
            ok: list[set] = [set() for _ in multi]
            for idx in range(len(multi) - 1, -1, -1):
                prev = set()
                for x in fwd[idx]:
                    for y in vals[idx]:
                        if x + y in back:
                            ok[idx].add(y)
                            prev.add(x)
                back = prev
            for idx, n in enumerate(multi):
                keep = {delta: m for delta, m in steps[n].items() if delta[d] in ok[idx]}
                if len(keep) < len(steps[n]):
                    steps[n] = keep
                    changed = True


def place_requests(material: dict[str, list[Token]], reading: Reading, how: str = "table 三") -> None:
    """Place table 三 from each row's value tokens: clear rows as printed, damaged rows by arithmetic."""
    rows = {name: row_readings(toks, _W, _ROW_GROUP) for name, toks in material.items()}
    unreadable = {n for n, r in rows.items() if not r.cands}
    have_total = "total_processed" in rows and "total_processed" not in unreadable
    r2 = have_total and not (unreadable & set(RESULT_ROWS))
    r3 = have_total and not (unreadable & set(FRAME_ROWS))
    feasible = {n: list(range(len(r.cands))) for n, r in rows.items()}
    by = "R1 per row"
    ruled: dict[str, list[tuple]] = {}
    if any(len(r.cands) > 1 for r in rows.values()) and (r2 or r3):
        got = column_pass(rows, r2, r3)
        rules = "/".join(x for x, on in (("R2", r2), ("R3", r3)) if on)
        if got.count:
            for n, ok in got.feasible.items():
                if len(ok) < len(rows[n].cands):
                    ruled[n] = [rows[n].values(i) for i in range(len(rows[n].cands)) if i not in ok]
            feasible.update(got.feasible)
            by = f"R1 per row and {rules} across rows" + (" (each column on its own: too many combinations "
                                                          "to check them together)" if got.count < 0 else "")
        else:
            by = f"R1 per row; {rules} not used: no combination satisfies them"
    recovered: list[Recovered] = []
    for name, rr in rows.items():
        keys = [f"requests.{name}.{c}" for c in APPLICANT_COLUMNS]
        place(keys, rr, feasible[name], reading, f"table 三 row {name}", how, ruled_out=ruled.get(name), by=by,
              recovered=recovered)
    if recovered:
        lines = []
        for r in recovered:
            gone = f" (ruled out: {r.ruled_out})" if r.ruled_out else ""
            lines.append(f"{r.desc} -> {r.taken}{gone}")
        reading.flag(Flag(rule="READ", severity="warning", keys=[k for r in recovered for k in r.keys],
                          message=f"table 三: {len(recovered)} damaged row(s) recovered by arithmetic, each the only "
                                  f"reading that adds up ({by}); every other split or placement breaks a sum: "
                                  + "; ".join(lines)))


# ---------------------------------------------------------------- rows without labels

SHAPE_SUBROWS = tuple(r for r in REQUEST_ROWS if r != "other_processing")  # （六） as three sub-rows
SHAPE_ONE_ROW = tuple(r for r in REQUEST_ROWS if r not in OTHER_SUBROWS)  # （六） as one row


def unlabeled_rows(tokens: list[Token]) -> list[list[Token]]:
    """Runs of values printed on rows that carry no row label of table 三, in printed order."""
    by_row: dict[int, list[Token]] = {}
    order: list[int] = []
    for tok in tokens:
        if tok.row not in by_row:
            by_row[tok.row] = []
            order.append(tok.row)
        by_row[tok.row].append(tok)
    out = []
    for r in order:
        toks = by_row[r]
        if not any(t.kind == "number" for t in toks):
            continue
        if any(t.kind == "label" and (match(t.text, REQUEST_ROW_FRAGMENTS) or match(t.text, REQUEST_GROUP_FRAGMENTS))
               for t in toks):
            continue
        out.append([t for t in toks if t.kind != "label"])
    return out


def read_unlabeled_requests(value_rows: list[list[Token]], reading: Reading) -> bool:
    """Give label-less number rows to the template's rows in order, when their count fits a shape."""
    shapes = [s for s in (SHAPE_SUBROWS, SHAPE_ONE_ROW) if len(s) == len(value_rows)]
    if not shapes:
        reading.flag(Flag(rule="READ", severity="error",
                          keys=[f"requests.{r}.{c}" for r in REQUEST_ROWS for c in APPLICANT_COLUMNS],
                          message=f"table 三 prints {len(value_rows)} rows of numbers without row labels; the "
                                  f"template has {len(SHAPE_ONE_ROW)} or {len(SHAPE_SUBROWS)} rows, so they "
                                  "cannot be assigned by order"))
        reading.unread.add("requests")
        return False
    shape = shapes[0]
    place_requests(dict(zip(shape, value_rows)), reading, how="table 三 (row assigned by template order)")
    six = "three sub-rows" if shape is SHAPE_SUBROWS else "one row"
    reading.flag(Flag(rule="READ", severity="warning", keys=[f"requests.{r}.total" for r in shape],
                      message=f"table 三 prints its {len(value_rows)} rows of numbers without row labels beside them "
                              f"(stripped, or drifted away); they were given to the template's rows in order (the "
                              f"count fits （六）其他处理 as {six})"))
    return True


# ---------------------------------------------------------------- table 二

_ITEM = re.compile(r"第二十条第\(?([一二三四五六七八九十]+)\)?项")
ACTIVE_BLOCK_ROWS: dict[str, dict[str, tuple[str, ...]]] = {
    "2021": {"一": ("regulations", "normative_docs"), "五": ("licensing",), "六": ("penalty", "coercion"),
             "八": ("fees",)},
    "2019": {"一": ("regulations", "normative_docs"), "五": ("licensing", "other_services"),
             "六": ("penalty", "coercion"), "八": ("fees",), "九": ("procurement",)},
}


def block_rows(fmt: str, title: str) -> list[str]:
    """The rows of a table 二 block, in template order, from its title "第二十条第（五）项"."""
    m = _ITEM.search(squash(title))
    return list(ACTIVE_BLOCK_ROWS.get(fmt, {}).get(m.group(1), ())) if m else []


def header_columns(text: str, fragments: dict[str, tuple[str, ...]]) -> list[str]:
    """Every column named in a header cell, in printed order (a glued header names several)."""
    key = squash(text)
    found: list[tuple[int, int, str]] = []
    for name, frags in fragments.items():
        hits = [(key.find(f), len(f)) for f in frags if f in key]
        if hits:
            pos, length = min(hits)
            found.append((pos, pos + length, name))
    found.sort()
    out: list[str] = []
    end = -1
    for pos, stop, name in found:
        if pos >= end and name not in out:
            out.append(name)
            end = stop
    return out


def active_cell_ok(cols: Sequence[str | None]) -> CellOk:
    def ok(i: int, value: Value, text: str) -> bool:
        if value is None:
            return True
        col = cols[i] if 0 <= i < len(cols) else None
        if col == "amount":
            return value >= 0
        if not isinstance(value, int):
            return False
        return col == "change" or value >= 0
    return ok


__all__ = [
    "MAX_DIGITS", "Check", "RowReadings", "Tiebreak", "active_cell_ok", "block_rows", "column_pass", "count_ok",
    "header_columns", "place", "place_requests", "place_row", "read_unlabeled_requests", "row_readings", "unglue",
    "unlabeled_rows", "values_of",
]
