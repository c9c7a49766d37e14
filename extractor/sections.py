"""The report's parts 一 … 六 and where its three tables sit, found by what headings say.

Headings are recognised by their wording, not their ordinal: reports renumber their parts
("3、 行政机关收到…", tables under 一/二/三) and narrative sub-headings reuse ordinals
("二、工作机制保障"). A heading is a short row that starts with an ordinal and names a part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.document import Document, Row
from extractor.limits import check_deadline
from extractor.textnorm import squash

_ORDINAL = re.compile(r"^[#\s]*(?:[一二三四五六七八九十]+|\d{1,2})\s*[、.．,，]|^[#\s]*第[一二三四五六]部分")

# part name -> predicate on the squashed heading text
_PARTS = (
    ("overview", lambda t: "总体情况" in t),
    ("active", lambda t: "主动公开" in t and ("政府信息情况" in t or "信息情况" in t or t.endswith("主动公开情况"))),
    ("requests", lambda t: "申请情况" in t and ("收到" in t or "处理" in t)),
    ("appeals", lambda t: "行政复议" in t and "行政诉讼" in t),
    ("problems", lambda t: "存在的主要问题" in t or ("问题" in t and "改进" in t)),
    ("other", lambda t: "其他需要报告" in t),
)
TABLE_PARTS = ("active", "requests", "appeals")


@dataclass
class Section:
    name: str
    heading_row: int | None  # index of the heading row in Document.rows, None when inferred
    start: int  # first row of the body
    end: int  # one past the last row

    def rows(self, doc: Document) -> list[Row]:
        return doc.rows[self.start : self.end]


def heading_part(row: Row) -> str | None:
    if len(row.cells) > 2:
        return None
    first = next((c.text for c in row.cells if c.text.strip()), "")
    if not first or len(first) > 400:  # a heading is short; do not squash a huge line
        return None
    text = squash(first)
    if len(text) > 48 or not _ORDINAL.match(first.strip()):
        return None
    for name, matches in _PARTS:
        if matches(text):
            return name
    return None


def find_sections(doc: Document) -> dict[str, Section]:
    """Every part whose heading is found, its body running to the next part's heading.

    A part's heading is the first row that names it, except that a table part named more than
    once takes the first heading followed by its table (a narrative sub-heading "一、主动公开情况"
    under 总体情况 comes before the table's own "二、主动公开政府信息情况")."""
    candidates: list[tuple[int, str]] = []
    for i, row in enumerate(doc.rows):
        if not i & 1023:
            check_deadline()
        part = heading_part(row)
        if part:
            candidates.append((i, part))
    nxt = _next_report(doc, candidates)
    if nxt is not None:
        candidates = [(i, part) for i, part in candidates if i < nxt]
    marks = sorted(_pick_headings(doc, candidates))
    if nxt is not None:
        marks.append((nxt, NEXT_REPORT))
    sections: dict[str, Section] = {}
    for n, (i, part) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(doc.rows)
        sections[part] = Section(part, i, i + 1, end)
    _infer_missing_tables(doc, sections)
    return sections


NEXT_REPORT = "next_report"  # the section holding another report that follows this one in the file
_REPORT_TITLE = re.compile(r"(?:19|20)\d{2}年度?的?政府信息公开(?:工作)?年度?报告$")


def _next_report(doc: Document, candidates: list[tuple[int, str]]) -> int | None:
    """The row where a second report begins, in a file that holds two (a gazette, a body and its
    office published together): a title row ("XX办公室2023年政府信息公开工作年度报告") after this
    report's tables, followed by the headings of at least two tables again. A title repeated as a
    running header is not followed by a second set of tables, and does not count."""
    firsts: dict[str, int] = {}
    for i, part in candidates:
        firsts.setdefault(part, i)
    if sum(part in TABLE_PARTS for _, part in candidates) < 4 or sum(p in firsts for p in TABLE_PARTS) < 2:
        return None
    after = max(firsts[p] for p in TABLE_PARTS if p in firsts)  # this report's tables have begun
    for i in range(after + 1, len(doc.rows)):
        row = doc.rows[i]
        if len(row.cells) > 2 or len(row.text) > 80 or not _REPORT_TITLE.search(squash(row.text)):
            continue
        if len({part for j, part in candidates if j > i and part in TABLE_PARTS}) >= 2:
            return i
    return None


_TABLE_ANCHORS = {
    "active": ("第二十条", "规章"),
    "requests": ("本年新收", "上年结转"),
    "appeals": ("未经复议", "复议后起诉"),
}


def _has_anchor(texts: list[str], anchors: tuple[str, ...]) -> bool:
    """Does a row (its cells squashed) read like a row of the table these anchors name?"""
    return (len(texts) > 1 and any(a in t for t in texts for a in anchors)) or (
        len(texts) == 1 and texts[0].startswith(anchors))


def _pick_headings(doc: Document, candidates: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """One heading (row, part) per part named by ``candidates``: see ``find_sections``."""
    chosen: dict[str, int] = {}
    for part in dict.fromkeys(p for _, p in candidates):
        rows = [i for i, p in candidates if p == part]
        if part in _TABLE_ANCHORS and len(rows) > 1:
            chosen[part] = next((i for i in rows if _table_follows(doc, i, part, candidates)), rows[0])
        else:
            chosen[part] = rows[0]
    return [(i, part) for part, i in chosen.items()]


def _table_follows(doc: Document, row: int, part: str, candidates: list[tuple[int, str]]) -> bool:
    """Is there a row of ``part``'s table between heading ``row`` and the next heading of any part?"""
    end = next((i for i, _ in candidates if i > row), len(doc.rows))
    return any(_has_anchor([squash(c.text) for c in r.cells], _TABLE_ANCHORS[part]) for r in doc.rows[row + 1:end])


def _infer_missing_tables(doc: Document, sections: dict[str, Section]) -> None:
    """A table whose heading is missing (lost in conversion) is found by its first row labels."""
    squashed: dict[int, list[str]] = {}  # row -> its cells squashed, shared by the parts searched
    for part in TABLE_PARTS:
        if part in sections:
            continue
        anchors = _TABLE_ANCHORS[part]
        hit = None
        for i, r in enumerate(doc.rows):
            if not i & 1023:
                check_deadline()
            texts = squashed.get(i)
            if texts is None:
                texts = squashed[i] = [squash(c.text) for c in r.cells]
            if _has_anchor(texts, anchors):
                hit = i
                break
        if hit is None:
            continue
        start = max(0, hit - 3)
        later = [s.heading_row for s in sections.values() if s.heading_row is not None and s.heading_row > hit]
        end = min(later) if later else len(doc.rows)
        sections[part] = Section(part, None, start, end)
