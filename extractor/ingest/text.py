"""Plain text and markdown as scrapers deliver them -> Document.

Encodings are detected with charset-normalizer (BOMs first). The text is NFKC-normalised
(full-width digits and brackets become ASCII) and residue that is not content is removed
before any cell is made, so every char span points into ``Document.text``.

Tables flattened from Word arrive in two shapes, both kept as rows of cells:
- one cell per line, each cell line led by a tab, rows separated by blank lines, long cell
  text wrapping onto following lines that have no tab;
- one row per line, cells separated by tabs (or ``|`` in markdown).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

from extractor.document import Cell, Document, Row, new_cell, new_document, new_location, new_row
from extractor.errors import DecodeFailed, EmptyDocument
from extractor.ingest.detect import utf16_without_bom
from extractor.limits import check_deadline

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Residue of Word/markdown conversions that is not content.
_RESIDUE = re.compile(
    r"\[bookmark:[^\]]*\]"  # [bookmark: _GoBack]
    r"|\*\*"  # **emphasis**
    r"|\[image:[^\]]*\]|!\[[^\]]*\]\([^)]*\)"  # image placeholders
    r"|\u200b|\ufeff"
)
_MD_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")


def decode(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding name)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                if name != "utf-8-sig":  # UTF-16/32 cut at an odd byte, or a stray surrogate: keep the rest
                    return data.decode(name, errors="replace"), name
                data = data[len(bom):]  # a UTF-8 BOM over bytes that are not UTF-8: detect below
                break
    utf16 = utf16_without_bom(data[:4096])
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise DecodeFailed("could not detect the text encoding")
    enc = best.encoding
    if enc in ("gb2312", "gbk", "hz"):  # GB18030 is a superset; decoding with it loses nothing
        enc = "gb18030"
    try:
        return data.decode(enc), enc
    except (UnicodeDecodeError, LookupError) as e:
        raise DecodeFailed(f"text looked like {enc} but does not decode: {e}") from e


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFKC", text)
    text = _RESIDUE.sub("", text)
    text = text.replace("\u3000", " ").replace("\xa0", " ")
    return text


def read_text_bytes(data: bytes, path: str) -> Document:
    return read_decoded_text(*decode(data), path)


def read_decoded_text(raw: str, encoding: str, path: str) -> Document:
    text = normalise(raw)
    if not text.strip():
        raise EmptyDocument("the file holds no text")
    return new_document(path, "text", text, rows_from_text(text), encoding=encoding)


def rows_from_text(text: str) -> list[Row]:
    rows: list[Row] = []
    group: list[Cell] | None = None  # open one-cell-per-line row
    pos = 0
    for n, line in enumerate(text.split("\n")):
        if not n & 1023:
            check_deadline()
        start, pos = pos, pos + len(line) + 1
        if not line.strip():
            group = _close(rows, group)
            continue
        if line.lstrip().startswith("|"):
            group = _close(rows, group)
            if not _MD_RULE.match(line):
                rows.append(new_row(_split(line, start, "|")))
            continue
        body = line.strip("\t ")
        if "\t" in body:  # several cells on one line: a row of its own
            group = _close(rows, group)
            rows.append(new_row(_split(line, start, "\t")))
        elif line.startswith("\t"):  # one cell per line
            group = group if group is not None else []
            group.append(_cell(line, start))
        elif group:  # wrapped text of the previous cell
            last = group[-1]
            s = len(line) - len(line.lstrip())
            e = len(line.rstrip())
            last.text = (last.text + line[s:e]) if last.text else line[s:e]
            last.loc.end = start + e
            if last.loc.start is None or last.text == line[s:e]:
                last.loc.start = start + s
        else:
            rows.append(new_row([_cell(line, start)]))
    _close(rows, group)
    return rows


def _close(rows: list[Row], group: list[Cell] | None) -> None:
    if group:
        rows.append(new_row(group))
    return None


def _cell(piece: str, start: int) -> Cell:
    s = len(piece) - len(piece.lstrip())
    e = max(len(piece.rstrip()), s)
    return new_cell(piece[s:e], new_location(start + s, start + e))


def _split(line: str, start: int, sep: str) -> list[Cell]:
    if sep == "|":
        line = line.rstrip()
        lead = len(line) - len(line.lstrip())
        inner = line[lead:]
        if inner.startswith("|"):
            inner, lead = inner[1:], lead + 1
        if inner.endswith("|"):
            inner = inner[:-1]
        line, start = inner, start + lead
    elif line.startswith("\t"):
        # The leading tab is the indentation of the row's first cell, not an empty cell.
        line, start = line[1:], start + 1
    cells, off = [], 0
    for piece in line.split(sep):
        cells.append(_cell(piece, start + off))
        off += len(piece) + 1
    return cells
