"""The document model every reader produces and every engine consumes.

A Document is its normalised text plus rows of cells in reading order. A narrative paragraph is
a row of one cell; a table row is a row of several. Every cell keeps where it was printed: a char
span of ``Document.text`` (text-like input), a page and box (PDF), or a table cell (DOCX/HTML).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Location(BaseModel):
    start: int | None = None  # char span in Document.text
    end: int | None = None
    page: int | None = None  # 1-based page of the original file
    bbox: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in PDF points
    table: int | None = None  # table / row / column index in the original file
    row: int | None = None
    col: int | None = None

    def describe(self) -> str:
        parts = []
        if self.page is not None:
            parts.append(f"page {self.page}")
        if self.bbox is not None:
            parts.append("bbox " + ",".join(f"{v:.0f}" for v in self.bbox))
        if self.table is not None:
            parts.append(f"table {self.table} row {self.row} col {self.col}")
        if self.start is not None:
            parts.append(f"chars {self.start}-{self.end}")
        return " ".join(parts) or "unknown"

    def sub(self, offset: int, length: int) -> "Location":
        """The location of a slice of this cell's text (char spans only narrow)."""
        if self.start is None:
            return self.model_copy()
        return self.model_copy(update={"start": self.start + offset, "end": self.start + offset + length})


class Cell(BaseModel):
    text: str
    loc: Location = Field(default_factory=Location)
    x: float | None = None  # horizontal centre, where the reader knows it (PDF words)
    unsure: bool = False  # OCR could not read this cell's characters with certainty: its value is left null, flagged

    @property
    def blank(self) -> bool:
        return not self.text.strip()


class Row(BaseModel):
    cells: list[Cell]

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.cells)


class Document(BaseModel):
    path: str
    kind: str  # text, pdf, docx, html, ...
    text: str = ""  # normalised full text; char spans point here
    rows: list[Row] = Field(default_factory=list)
    pages: int = 1
    encoding: str | None = None
    notes: list[str] = Field(default_factory=list)  # what the reader did that a reviewer may want to know
