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
from extractor.textnorm import has_cjk, is_dash, parse_number

Kind = Literal["label", "number", "dash", "blank", "unsure"]  # unsure: a cell OCR could not read with certainty

_TRAILING_NUMBERS = re.compile(r"^(?P<label>.*?[^\d\s.,\-])\s+(?P<nums>(?:[-−]?\d+(?:\.\d+)?\s+)*[-−]?\d+(?:\.\d+)?)\s*$")
_NUMBER_RUN = re.compile(r"^(?:[-−]?\d+(?:\.\d+)?\s+)+[-−]?\d+(?:\.\d+)?$")
_TOKEN = re.compile(r"\S+")


@dataclass
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
    text = cell.text.strip()
    if cell.unsure:  # OCR flagged it: a value cell whose digits are not certain, never guessed
        return [Token("unsure", text, cell.loc, None, row, cell.x)]
    if not text:
        return [Token("blank", "", cell.loc, None, row, cell.x)]
    value = parse_number(text)
    if value is not None:
        return [Token("number", text, cell.loc, value, row, cell.x)]
    if is_dash(text):
        return [Token("dash", text, cell.loc, None, row, cell.x)]
    lead = cell.text.find(text)
    if _NUMBER_RUN.match(text):
        return [_number_token(m, cell, lead, row) for m in _TOKEN.finditer(text)]
    m = _TRAILING_NUMBERS.match(text)
    if m and has_cjk(m.group("label")):
        label = m.group("label")
        toks = [Token("label", label, cell.loc.sub(lead, len(label)), None, row, cell.x)]
        base = lead + m.start("nums")
        toks += [_number_token(n, cell, base, row) for n in _TOKEN.finditer(m.group("nums"))]
        return toks
    return [Token("label", text, cell.loc, None, row, cell.x)]


def _number_token(m: re.Match, cell: Cell, base: int, row: int) -> Token:
    text = m.group()
    return Token("number", text, cell.loc.sub(base + m.start(), len(text)), parse_number(text), row, cell.x)


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
