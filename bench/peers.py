"""Peers: other libraries' table finders, fed to our template mapping through the same Document.

Each peer finds the tables of a PDF its own way (pdfplumber's ``find_tables``, pymupdf's
``Page.find_tables``); the rest of the page is read as text lines, so headings and the title
are there too. Rows go into a ``Document`` in reading order, cells with page and box, and from
there through exactly the path our own PDF reader feeds: ``read_rules`` then ``validate``.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from extractor.document import Cell, Document, Location, Row

Box = tuple[float, float, float, float]
Item = tuple[float, float, list[tuple[str, Box | None]]]  # (top, left, cells)


def _wide(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def cell_text(text: str | None) -> str:
    """A peer's cell string as one line: wrapped CJK joined without a space, other lines with one."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).replace("\u3000", " ")
    out = ""
    for line in (ln.strip() for ln in text.splitlines()):
        if not line:
            continue
        if out and not (_wide(out[-1]) or _wide(line[0]) or (out[-1].isdigit() and line[0].isdigit())):
            out += " "
        out += line
    return out


def _inside(box: Box, tables: list[Box]) -> bool:
    x = (box[0] + box[2]) / 2
    y = (box[1] + box[3]) / 2
    return any(t[0] - 1 <= x <= t[2] + 1 and t[1] - 1 <= y <= t[3] + 1 for t in tables)


def document_of(path: Path, kind: str, pages: list[list[Item]]) -> Document:
    rows: list[Row] = []
    parts: list[str] = []
    pos = 0
    for number, items in enumerate(pages, 1):
        for _, _, cells in sorted(items, key=lambda it: (round(it[0], 1), it[1])):
            row = []
            for i, (text, box) in enumerate(cells):
                if i:
                    parts.append("\t")
                    pos += 1
                row.append(Cell(text=text, loc=Location(start=pos, end=pos + len(text), page=number, bbox=box)))
                parts.append(text)
                pos += len(text)
            parts.append("\n")
            pos += 1
            rows.append(Row(cells=row))
    return Document(path=str(path), kind=kind, text="".join(parts), rows=rows, pages=len(pages))


def pymupdf_find_tables(path: Path) -> Document:
    import pymupdf

    pages: list[list[Item]] = []
    with pymupdf.open(path) as pdf:
        for page in pdf:
            items: list[Item] = []
            found = page.find_tables().tables
            boxes = [tuple(t.bbox) for t in found]
            for t in found:
                for r, texts in zip(t.rows, t.extract()):
                    cells = [(cell_text(s), tuple(b) if b else None) for s, b in zip(texts, r.cells)]
                    items.append((r.bbox[1], r.bbox[0], cells))
            lines: dict[tuple[int, int], list] = {}
            for w in page.get_text("words"):
                if not _inside(w[:4], boxes):
                    lines.setdefault((w[5], w[6]), []).append(w)
            for ws in lines.values():
                ws.sort(key=lambda w: w[0])
                box = (min(w[0] for w in ws), min(w[1] for w in ws), max(w[2] for w in ws), max(w[3] for w in ws))
                items.append((box[1], box[0], [(cell_text(" ".join(w[4] for w in ws)), box)]))
            pages.append(items)
    return document_of(path, "pdf", pages)


def pdfplumber_tables(path: Path) -> Document:
    import pdfplumber

    pages: list[list[Item]] = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            items: list[Item] = []
            found = page.find_tables()
            boxes = [tuple(t.bbox) for t in found]
            for t in found:
                for r, texts in zip(t.rows, t.extract()):
                    cells = [(cell_text(s), tuple(b) if b else None) for s, b in zip(texts, r.cells)]
                    items.append((r.bbox[1], r.bbox[0], cells))
            outside = page.filter(lambda o: "x0" not in o or "top" not in o
                                  or not _inside((o["x0"], o["top"], o["x1"], o["bottom"]), boxes))
            for line in outside.extract_text_lines():
                box = (line["x0"], line["top"], line["x1"], line["bottom"])
                items.append((box[1], box[0], [(cell_text(line["text"]), box)]))
            pages.append(items)
    return document_of(path, "pdf", pages)


PEERS = {"pdfplumber": pdfplumber_tables, "pymupdf-find_tables": pymupdf_find_tables}
