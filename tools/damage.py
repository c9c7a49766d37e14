"""Render damaged versions of every seed report, the way conversions damage real ones.

    python -m tools.damage OUTDIR [--seeds ../shared/seeds] [--kinds glued,nolabels,...]

Every seed ``<doc>.txt`` becomes ``<doc>.<kind>.txt`` (UTF-8), which pairs with ``gold/<doc>.json``
by its name up to the first dot, so ``ogi-extract eval --docs OUTDIR --gold gold`` scores them.
Only the three statistical tables are damaged; the narrative is kept as it is. Kinds:

- ``glued``: every table row's cells run together with no separator, as when a page's HTML is
  stripped of its tags ("一、本年新收政府信息公开申请数量1050100106"); blank cells leave no trace.
- ``nolabels``: the row labels of tables 二 and 三 are stripped (label-only rows inside table 三
  go too); column headers, block titles and blank cells stay.
- ``drifted``: table 三's row labels drifted away from their numbers: all labels first, in order,
  then the rows of numbers (a PDF-to-markdown conversion).
- ``noheaders``: the column header cells of every table arrive as "数据1 … 数据N".
- ``blanksep``: one blank cell inside a row of numbers loses its separator (the row prints one
  value too few). Only seeds that print a blank cell between numbers get this kind.
- ``stray``: a stray number ("7") floats on its own line between two rows of table 三.

The text written is the seed's normalised text (NFKC, conversion residue removed), so the
damage is the only difference a reader sees.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from extractor.document import Document, Row
from extractor.ingest.text import read_text_bytes
from extractor.sections import find_sections
from extractor.textnorm import is_dash, parse_number

KINDS = ("glued", "nolabels", "drifted", "noheaders", "blanksep", "stray")
TABLES = ("active", "requests", "appeals")


def _kind(text: str) -> str:
    t = text.strip()
    if not t:
        return "blank"
    if parse_number(t) is not None:
        return "number"
    if is_dash(t):
        return "dash"
    return "label"


def _has_numbers(row: Row) -> bool:
    return any(_kind(c.text) == "number" for c in row.cells)


class Table:
    """One table section of a document, and how its rows are laid out in the text."""

    def __init__(self, doc: Document, part: str, first: int, last: int):
        self.doc, self.part, self.first, self.last = doc, part, first, last

    def rows(self) -> list[tuple[int, Row]]:
        return [(i, self.doc.rows[i]) for i in range(self.first, self.last)]

    def region(self, i: int) -> tuple[int, int]:
        """Char span of row i: from the start of its first line to the end of its last."""
        text = self.doc.text
        row = self.doc.rows[i]
        starts = [c.loc.start for c in row.cells if c.loc.start is not None]
        ends = [c.loc.end for c in row.cells if c.loc.end is not None]
        s, e = min(starts), max(ends)
        s = text.rfind("\n", 0, s) + 1
        nl = text.find("\n", e)
        return s, (len(text) if nl < 0 else nl)

    def one_line(self, i: int) -> bool:
        s, e = self.region(i)
        return "\n" not in self.doc.text[s:e]


def render_row(cells: list[str], one_line: bool, glue: bool = False) -> str:
    if glue:  # a row of its own line; one-cell-per-line tables keep the cell's leading tab
        return ("" if one_line else "\t") + "".join(c.strip() for c in cells)
    if one_line:
        return "\t".join(cells)
    return "\n".join("\t" + c for c in cells)


def tables_of(doc: Document) -> list[Table]:
    secs = find_sections(doc)
    return [Table(doc, p, secs[p].start, secs[p].end) for p in TABLES if p in secs]


def _edit(doc: Document, edits: list[tuple[int, int, str]]) -> str:
    text = doc.text
    for s, e, new in sorted(edits, reverse=True):
        text = text[:s] + new + text[e:]
    return text


def _table_rows(doc: Document):
    for t in tables_of(doc):
        for i, row in t.rows():
            if any(c.text.strip() for c in row.cells):
                yield t, i, row


def glued(doc: Document) -> str | None:
    edits = []
    for t, i, row in _table_rows(doc):
        if len(row.cells) < 2 and not _has_numbers(row):
            continue
        s, e = t.region(i)
        edits.append((s, e, render_row([c.text for c in row.cells], t.one_line(i), glue=True)))
    return _edit(doc, edits)


def nolabels(doc: Document) -> str | None:
    edits = []
    for t, i, row in _table_rows(doc):
        if t.part not in ("active", "requests"):
            continue
        s, e = t.region(i)
        if _has_numbers(row):
            kept = [c.text for c in row.cells if _kind(c.text) != "label"]
            edits.append((s, e, render_row(kept, t.one_line(i))))
        elif t.part == "requests" and any(_has_numbers(t.doc.rows[j]) for j in range(t.first, i)):
            edits.append((s, min(e + 1, len(doc.text)), ""))  # a wrapped label's fragment
    return _edit(doc, edits)


def drifted(doc: Document) -> str | None:
    t = next((t for t in tables_of(doc) if t.part == "requests"), None)
    if t is None:
        return None
    labels, edits, first = [], [], None
    for i, row in t.rows():
        if not any(c.text.strip() for c in row.cells):
            continue
        started = any(_has_numbers(doc.rows[j]) for j in range(t.first, i + 1))
        if not started:
            continue
        s, e = t.region(i)
        first = s if first is None else first
        labels += [c.text.strip() for c in row.cells if _kind(c.text) == "label"]
        if _has_numbers(row):
            kept = [c.text for c in row.cells if _kind(c.text) != "label"]
            edits.append((s, e, render_row(kept, t.one_line(i))))
        else:
            edits.append((s, min(e + 1, len(doc.text)), ""))
    if first is None:
        return None
    block = "\n".join(labels) + "\n\n"
    edits.append((first, first, block))
    return _edit(doc, edits)


def noheaders(doc: Document) -> str | None:
    edits = []
    for t, i, row in _table_rows(doc):
        if _has_numbers(row):
            continue
        if t.part == "active" and "第二十条" in row.text:
            continue  # a block title, not a column header
        if t.part == "requests" and any(_has_numbers(doc.rows[j]) for j in range(t.first, i)):
            continue  # a wrapped row label inside the table, not a header
        k = 0
        cells = []
        for c in row.cells:
            if c.text.strip():
                k += 1
                cells.append(f"数据{k}")
            else:
                cells.append("")
        s, e = t.region(i)
        edits.append((s, e, render_row(cells, t.one_line(i))))
    return _edit(doc, edits)


def blanksep(doc: Document) -> str | None:
    for t, i, row in _table_rows(doc):
        kinds = [_kind(c.text) for c in row.cells]
        for n, k in enumerate(kinds):
            if k == "blank" and "number" in kinds[:n] and "number" in kinds[n + 1 :]:
                cells = [c.text for c in row.cells]
                del cells[n]
                s, e = t.region(i)
                return _edit(doc, [(s, e, render_row(cells, t.one_line(i)))])
    return None


def stray(doc: Document) -> str | None:
    t = next((t for t in tables_of(doc) if t.part == "requests"), None)
    if t is None:
        return None
    numeric = [i for i, row in t.rows() if _has_numbers(row)]
    if len(numeric) < 4:
        return None
    i = numeric[2]  # after the third row of numbers (（一）予以公开 in the template)
    s, e = t.region(i)
    sep = "\n" if t.one_line(i) else "\n\n"
    return _edit(doc, [(e, e, sep + ("7" if t.one_line(i) else "\t7"))])


DAMAGE: dict[str, Callable[[Document], str | None]] = {
    "glued": glued, "nolabels": nolabels, "drifted": drifted, "noheaders": noheaders,
    "blanksep": blanksep, "stray": stray,
}


def damage_file(path: Path, kinds=KINDS) -> dict[str, str]:
    doc = read_text_bytes(path.read_bytes(), str(path))
    out = {}
    for kind in kinds:
        text = DAMAGE[kind](doc)
        if text is not None:
            out[kind] = text
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--seeds", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "seeds")
    ap.add_argument("--kinds", default=",".join(KINDS))
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    bad = [k for k in kinds if k not in DAMAGE]
    if bad:
        ap.error(f"unknown kinds: {', '.join(bad)} (choose from {', '.join(KINDS)})")
    args.outdir.mkdir(parents=True, exist_ok=True)
    n = 0
    for path in sorted(args.seeds.glob("*.txt")):
        doc = path.name.split(".", 1)[0]
        made = damage_file(path, kinds)
        for kind, text in made.items():
            (args.outdir / f"{doc}.{kind}.txt").write_text(text, encoding="utf-8")
            n += 1
        skipped = [k for k in kinds if k not in made]
        if skipped:
            print(f"{doc}: no {', '.join(skipped)} rendering (nothing of that kind to damage)", file=sys.stderr)
    print(f"wrote {n} damaged reports to {args.outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
