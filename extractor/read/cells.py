"""Cells of a table region as a stream of typed tokens: labels and values (numbers, dashes, blanks).

A cell that prints a label and its numbers together ("1.本机关不掌握相关政府信息 746 12 0 0 10 1 769",
one line of a PDF-to-text conversion) is split into a label token and one token per number,
each with its own narrowed location.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from extractor.document import Cell, Location, Row
from extractor.limits import check_deadline
from extractor.textnorm import DASH_CHARS, DASH_TEXT, has_cjk, is_dash, parse_number, short_cached

Kind = Literal["label", "number", "dash", "blank", "unsure"]  # unsure: a cell OCR could not read with certainty

# The values a line of text can print after its label, separated by spaces: numbers (thousands
# grouped or not: "23,561"), dashes and 无 (read as null), and digits that OCR mixed with look-alike
# letters ("1O", "2356l", a lone "l" among numbers: kept in their slot as unsure, never guessed).
_NUM = r"[-−]?(?:\d{1,3}(?:[,，]\d{3})+|\d+)(?:\.\d+)?"
_MISREAD = r"(?:[\dOoIl|]*\d[\dOoIl|]*|[OoIl])"
_VALUE = rf"(?:{_NUM}|{DASH_TEXT}|{_MISREAD})(?!\S)"
_TRAILING_NUMBERS = re.compile(rf"^(?P<label>.*?[^\d\s.,，{DASH_CHARS}|])\s+(?P<nums>(?:{_VALUE}\s+)*{_VALUE})\s*$")
_READABLE = re.compile(rf"\d|{DASH_TEXT}")  # values that are more than look-alike letters
_NUMBER_RUN = re.compile(rf"^(?:{_VALUE}\s+)+{_VALUE}$")
_PAGE_NUMBER = re.compile(r"^[-—–－]\s*\d+\s*[-—–－]$")  # "- 3 -": a page footer, not three cells
_TOKEN = re.compile(r"\S+")


@dataclass(slots=True)
class Token:
    kind: Kind
    text: str
    loc: Location
    value: int | float | None = None
    row: int = 0  # index of the document row it came from
    x: float | None = None

    @property
    def is_value(self) -> bool:
        return self.kind != "label"


def tokens_of(rows: list[Row], first_row: int = 0) -> list[Token]:
    out: list[Token] = []
    for r, row in enumerate(rows, start=first_row):
        if not r & 255:
            check_deadline()
        for cell in row.cells:
            out.extend(_tokens_of_cell(cell, r))
    return out


def _tokens_of_cell(cell: Cell, row: int) -> list[Token]:
    if cell.unsure:  # OCR flagged it: a value cell whose digits are not certain, never guessed
        return [Token("unsure", cell.text.strip(), cell.loc, None, row, cell.x)]
    shape = _shape(cell.text)
    kind = shape[0]
    if kind == "run":
        _, lead, text = shape
        return [_number_token(m, cell, lead, row) for m in _TOKEN.finditer(text)]
    if kind == "trailing":
        _, lead, label, base, nums = shape
        toks = [Token("label", label, cell.loc.sub(lead, len(label)), None, row, cell.x)]
        return toks + [_number_token(n, cell, base, row) for n in _TOKEN.finditer(nums)]
    return [Token(kind, shape[1], cell.loc, shape[2], row, cell.x)]


@short_cached
def _shape(raw: str) -> tuple:
    """How a cell's text reads (cell texts repeat, so this is remembered for short ones):
    (kind, text, value) for one token; ("run", lead) for numbers separated by spaces;
    ("trailing", lead, label, base, nums) for a label followed by its numbers."""
    text = raw.strip()
    if not text:
        return ("blank", "", None)
    value = parse_number(text)
    if value is not None:
        return ("number", text, value)
    if is_dash(text):
        return ("dash", text, None)
    lead = raw.find(text)
    if _NUMBER_RUN.match(text) and not _PAGE_NUMBER.match(text) and any(ch.isdigit() for ch in text):
        return ("run", lead, text)
    m = _TRAILING_NUMBERS.match(text)
    if m and has_cjk(m.group("label")) and _READABLE.search(m.group("nums")):
        return ("trailing", lead, m.group("label"), lead + m.start("nums"), m.group("nums"))
    return ("label", text, None)


def _number_token(m: re.Match, cell: Cell, base: int, row: int) -> Token:
    text = m.group()
    value = parse_number(text)
    kind: Kind = "number" if value is not None else "dash" if is_dash(text) else "unsure"
    return Token(kind, text, cell.loc.sub(base + m.start(), len(text)), value, row, cell.x)


def fit_blanks(values: list[Token], width: int) -> list[Token]:
    """Drop blank tokens at the ends that belong to neighbouring rows' layout, down to ``width``.

    Word tables flattened to text put empty structural cells before a row's label and after its
    last value; a blank inside the run of values is a real blank cell and is kept.
    """
    values = list(values)
    while len(values) > width and values and values[-1].kind == "blank":
        values.pop()
    while len(values) > width and values and values[0].kind == "blank":
        values.pop(0)
    return values
