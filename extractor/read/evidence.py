"""Evidence from outside a damaged row, to choose among the readings that its own sums allow.

Two strengths of evidence, kept apart:

- **The narrative's table 四 figures** (行政诉讼 N 件, 行政复议 N 件: what the validator holds the
  tables to as R6) are a ``Check``: readings that disagree are ruled out, in the same order as
  the sums (see ``damaged._damaged_readings``).
- **Tiebreaks**, used only among readings that pass every rule, each narrowing them when it keeps
  at least one (and ignored when it keeps none: it may speak of something else):
  - the document's own practice: when every cell read so far that holds nothing prints 0 (and
    enough of them do), a blank that left no trace in a run of digits is not assumed;
  - table 二's bounds: this year's documents that were not repealed are in force
    (现行有效 ≥ 本年制发 − 本年废止; 2019: 对外公开总数量 ≥ 本年新公开数量);
  - figures the narrative states for table 二 (「保留行政规范性文件11件」).

None of these ever changes a clear row: they are only consulted for damaged material.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractor.read.cells import Token
from extractor.read.damaged import Check, Tiebreak, Value
from extractor.sections import NEXT_REPORT, TABLE_PARTS, find_sections
from extractor.textnorm import squash

MIN_ZEROS = 10  # printed 0s needed before the document's practice says "0, never blank"
_EPS = 1e-6


def _num(v: Value) -> int | float:
    return 0 if v is None else v


def _cell_num(t: Token | None) -> int | float:
    return t.value if t is not None and t.kind == "number" and t.value is not None else 0


# ---------------------------------------------------------------- the narrative's own figures

@dataclass(frozen=True)
class Figure:
    """A figure the report's prose states and the tables must match (R6): the cells it sums, and the quote."""

    keys: tuple[str, ...]
    value: int
    quote: str


# The narrative's table 四 figures; the validator's R6 uses these same patterns and prose.
LAWSUIT_FIGURE = re.compile(r"行政诉讼(?:案件|总数|共)?[^。；;，,\d]{0,6}?(\d+)件")
REVIEW_FIGURE = re.compile(r"行政复议(?:案件|总数|共)?[^。；;，,\d、和及]{0,6}?(\d+)件")


def prose_text(doc) -> str:
    """The report's prose: every row outside the three tables, squashed (as the validator reads it)."""
    sections = find_sections(doc)
    skip: set[int] = set()
    for part in (*TABLE_PARTS, NEXT_REPORT):  # the tables, and another report after this one
        if part in sections:
            s = sections[part]
            skip.update(range(s.start, s.end))
    return squash("\n".join(r.text for i, r in enumerate(doc.rows) if i not in skip and len(r.cells) <= 2))


def narrative_figures(prose: str) -> list[Figure]:
    """The figures of table 四 that the narrative states, read exactly as the validator reads them
    for R6 (行政诉讼 N 件 = 直接起诉总计 + 复议后起诉总计; 行政复议 N 件 = 复议总计)."""
    out = []
    m = LAWSUIT_FIGURE.search(prose)
    if m:
        out.append(Figure(("appeals.lawsuit_direct.total", "appeals.lawsuit_after_review.total"), int(m.group(1)),
                          m.group(0)))
    m = REVIEW_FIGURE.search(prose)
    if m:
        out.append(Figure(("appeals.admin_review.total",), int(m.group(1)), m.group(0)))
    return out


def figures_check(keys: Sequence[str | None], figures: Sequence[Figure],
                  known: dict[str, Value] | None = None) -> Check | None:
    """Outside evidence for one row's readings: every narrative figure whose cells are the row's
    own (or cells already read, in ``known``) must come out as stated. None when no figure applies."""
    known = known or {}
    pos = {k: i for i, k in enumerate(keys) if k is not None}
    usable = [f for f in figures if any(k in pos for k in f.keys) and all(k in pos or k in known for k in f.keys)]
    if not usable:
        return None

    def ok(values: tuple[Value, ...]) -> bool:
        for f in usable:
            got = sum(_num(values[pos[k]]) if k in pos else _num(known[k]) for k in f.keys)
            if abs(got - f.value) > _EPS:
                return False
        return True

    quotes = "、".join(f"「{f.quote}」" for f in usable)
    return Check(f"the narrative's {quotes} (R6)", ok)


# ---------------------------------------------------------------- tiebreaks

def blank_convention(zeros: int, empties: int) -> Tiebreak | None:
    """The document's practice with empty cells, from the cells settled so far: ``zeros`` print 0,
    ``empties`` are printed blank or dash. Only a document that prints 0 throughout says anything."""
    if empties or zeros < MIN_ZEROS:
        return None
    return Tiebreak(f"the document's own practice (the {zeros} cells read so far that hold nothing all print 0, "
                    "none is blank, so no blank is assumed to have left no trace)",
                    lambda cells: all(c is not None for c in cells))


def active_bounds(cols: Sequence[str | None]) -> Tiebreak | None:
    """Table 二's bound between its columns: the year's documents not repealed are still in force."""
    at = {c: i for i, c in enumerate(cols) if c}
    if {"issued", "repealed", "in_force"} <= at.keys():
        i, r, f = at["issued"], at["repealed"], at["in_force"]
        return Tiebreak("现行有效 ≥ 本年制发 − 本年废止 (this year's documents not repealed are in force)",
                        lambda c: _cell_num(c[f]) >= _cell_num(c[i]) - _cell_num(c[r]))
    if {"published", "public_total"} <= at.keys():
        p, t = at["published"], at["public_total"]
        return Tiebreak("对外公开总数量 ≥ 本年新公开数量 (this year's are among them)",
                        lambda c: _cell_num(c[t]) >= _cell_num(c[p]))
    return None


_ACTIVE_SUBJECT = {"normative_docs": "规范性文件", "regulations": "规章"}
# What the clause says of the documents, by column; earlier entries win ("发布宣布失效的…" is repealed).
_ACTIVE_VERBS = (
    ("repealed", ("废止", "失效")),
    ("in_force", ("现行有效", "保留", "有效")),
    ("issued", ("制发", "印发", "出台", "制定", "发布", "公开")),
    ("made", ("新制作",)),
    ("published", ("新公开",)),
    ("public_total", ("对外公开总",)),
)
_CLAUSE = re.compile(r"[^。；;，,！!？?\n]+")


def active_figures(prose: str, row: str, cols: Sequence[str | None]) -> list[Tiebreak]:
    """Figures the narrative states for a table 二 row (「保留区政府办公室行政规范性文件11件」), each
    a tiebreak on the column its verb names."""
    subject = _ACTIVE_SUBJECT.get(row)
    if not subject:
        return []
    at = {c: i for i, c in enumerate(cols) if c}
    out = []
    for clause in _CLAUSE.findall(prose):
        m = re.search(subject + r"(?:共计|共|计)?(\d+)件", clause)
        if not m:
            continue
        before = clause[: m.start()]
        col = next((c for c, verbs in _ACTIVE_VERBS if any(v in before for v in verbs)), None)
        if col not in at:
            continue
        j, value = at[col], int(m.group(1))
        out.append(Tiebreak(f"the narrative's 「{clause[:40]}」", lambda c, j=j, value=value: _cell_num(c[j]) == value))
    return out
