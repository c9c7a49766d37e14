"""The document model every reader produces and every engine consumes.

A Document is its normalised text plus rows of cells in reading order. A narrative paragraph is
a row of one cell; a table row is a row of several. Every cell keeps where it was printed: a char
span of ``Document.text`` (text-like input), a page and box (PDF), or a table cell (DOCX/HTML).

A report has hundreds of cells, each with a location, so these are plain classes with slots,
not pydantic models (validating two models per cell cost more than reading the cells). Built
with keywords (``Cell(text=..., loc=Location(start=...))``) they are still validated and coerced
as pydantic does, by the pydantic models at the end of this module that declare their fields;
readers whose values are already of the right types build them with ``new_location``,
``new_cell``, ``new_row`` and ``new_document``, which check nothing. ``model_dump`` and
``model_copy`` work as pydantic's do.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Record:
    """Equality, repr and pydantic-style dump/copy over the fields named in ``__slots__``."""

    __slots__ = ()
    __hash__ = None  # mutable, like the pydantic models these were

    def __eq__(self, other) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self.__slots__)})"

    def __getstate__(self):
        return {f: getattr(self, f) for f in self.__slots__}

    def __setstate__(self, state) -> None:
        for f in self.__slots__:
            _set(self, f, state[f])

    def model_dump(self, *, exclude_none: bool = False) -> dict:
        out = {}
        for f in self.__slots__:
            v = getattr(self, f)
            if isinstance(v, _Record):
                v = v.model_dump(exclude_none=exclude_none)
            elif isinstance(v, list):
                v = [x.model_dump(exclude_none=exclude_none) if isinstance(x, _Record) else x for x in v]
            if v is not None or not exclude_none:
                out[f] = v
        return out

    def model_copy(self, *, update: dict | None = None):
        """A shallow copy, with ``update`` applied unchecked (as pydantic's ``model_copy`` does)."""
        new = _new(self.__class__)
        for f in self.__slots__:
            _set(new, f, getattr(self, f))
        for f, v in (update or {}).items():
            setattr(new, f, v)
        return new


_new = object.__new__
_set = object.__setattr__


def _validated(model: type[BaseModel], record: _Record, data: dict) -> None:
    """Fill ``record``'s fields from ``data`` as the pydantic ``model`` validates them."""
    fields = model.__pydantic_validator__.validate_python(data).__dict__
    for f in record.__slots__:
        _set(record, f, fields[f])


class Location(_Record):
    __slots__ = ("start", "end", "page", "bbox", "table", "row", "col")
    start: int | None  # char span in Document.text
    end: int | None
    page: int | None  # 1-based page of the original file
    bbox: tuple[float, float, float, float] | None  # x0, y0, x1, y1 in PDF points
    table: int | None  # table / row / column index in the original file
    row: int | None
    col: int | None

    def __init__(self, **data) -> None:
        _validated(_LocationFields, self, data)

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
        loc = _new(Location)
        start = self.start
        if start is None:  # a copy
            _set(loc, "start", None)
            _set(loc, "end", self.end)
        else:
            _set(loc, "start", start + offset)
            _set(loc, "end", start + offset + length)
        _set(loc, "page", self.page)
        _set(loc, "bbox", self.bbox)
        _set(loc, "table", self.table)
        _set(loc, "row", self.row)
        _set(loc, "col", self.col)
        return loc


class Cell(_Record):
    __slots__ = ("text", "loc", "x", "unsure")
    text: str
    loc: Location
    x: float | None  # horizontal centre, where the reader knows it (PDF words)
    unsure: bool  # OCR could not read this cell's characters with certainty: its value is left null, flagged

    def __init__(self, **data) -> None:
        _validated(_CellFields, self, data)

    @property
    def blank(self) -> bool:
        return not self.text.strip()


class Row(_Record):
    __slots__ = ("cells",)
    cells: list[Cell]

    def __init__(self, **data) -> None:
        _validated(_RowFields, self, data)

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.cells)


class Document(_Record):
    __slots__ = ("path", "kind", "text", "rows", "pages", "encoding", "notes")
    path: str
    kind: str  # text, pdf, docx, html, ...
    text: str  # normalised full text; char spans point here
    rows: list[Row]
    pages: int
    encoding: str | None
    notes: list[str]  # what the reader did that a reviewer may want to know

    def __init__(self, **data) -> None:
        _validated(_DocumentFields, self, data)


# ---------------------------------------------------------------- unchecked constructors

def new_location(start: int | None, end: int | None, table: int | None = None, row: int | None = None,
             col: int | None = None) -> Location:
    """A Location from values already of its fields' types (a reader's own ints): nothing is checked."""
    loc = _new(Location)
    loc.start = start
    loc.end = end
    loc.page = loc.bbox = None
    loc.table = table
    loc.row = row
    loc.col = col
    return loc


def new_cell(text: str, loc: Location) -> Cell:
    """A Cell (no x, sure) from a str and a Location: nothing is checked."""
    c = _new(Cell)
    c.text = text
    c.loc = loc
    c.x = None
    c.unsure = False
    return c


def new_row(cells: list[Cell]) -> Row:
    """A Row that takes ``cells`` as it is (the caller hands the list over)."""
    r = _new(Row)
    r.cells = cells
    return r


def new_document(path: str, kind: str, text: str, rows: list[Row], encoding: str | None = None,
             notes: list[str] | None = None, pages: int = 1) -> Document:
    """A Document from a reader's own values (``rows`` and ``notes`` are taken as they are): nothing is checked."""
    d = _new(Document)
    d.path = path
    d.kind = kind
    d.text = text
    d.rows = rows
    d.pages = pages
    d.encoding = encoding
    d.notes = [] if notes is None else notes
    return d


# ---------------------------------------------------------------- the fields, as pydantic checks them

class _LocationFields(BaseModel):
    start: int | None = None
    end: int | None = None
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    table: int | None = None
    row: int | None = None
    col: int | None = None


class _CellFields(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    text: str
    loc: Location = Field(default_factory=Location)
    x: float | None = None
    unsure: bool = False


class _RowFields(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    cells: list[Cell]


class _DocumentFields(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    path: str
    kind: str
    text: str = ""
    rows: list[Row] = Field(default_factory=list)
    pages: int = 1
    encoding: str | None = None
    notes: list[str] = Field(default_factory=list)
