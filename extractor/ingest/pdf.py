"""Born-digital PDFs -> Document, from the text layer's words and the page's ruling lines (pymupdf).

How a page becomes rows:

1. Words come from ``page.get_text("words")`` (fast; ``find_tables`` costs ~0.6 s a page and is
   not used). Words drawn twice on top of themselves (fake bold) are read once. A page with
   ``/Rotate`` is turned to the way it is shown.
2. Ruling lines come from ``page.get_cdrawings()`` (about as costly as the words, so only on pages
   that print a number): stroked lines, thin filled rectangles (Word and WPS draw borders that
   way) and the edges of stroked rectangles. Large filled rectangles are backgrounds and are
   ignored. Collinear pieces are merged; rules closer than a cell can be narrow (double borders)
   are one grid line; horizontal and vertical rules that touch form a grid.
3. A grid is cut into atomic cells at every grid line; neighbouring atomic cells with no rule
   between them are one (merged) cell. Every word goes to the cell its centre falls in (a word
   that runs over a column rule, "审结总计", is cut there first), so a label wrapped over two
   lines, or printed one character per line, is one cell; and a grid cell with no words is a
   blank cell: a blank 总计 keeps its place. A cell that holds one line of a label and numbers
   far apart (a table ruled only around its rows) is cut at the gaps.
4. A table row is one band between horizontal rules; a merged cell belongs to the first band it
   covers. Rows of nothing but blanks are dropped, and so are blank cells that continue a merged
   label cell (in the label columns, or before the label of a row of values). A grid cell that
   holds running text (a page frame) gives its words back as free text.
5. Words outside any grid are grouped into lines; a line is split into cells at wide gaps.
   Page numbers ("- 3 -", "第3页 共5页") and lines repeated at the same place on most pages are
   dropped as running headers/footers. In runs of such lines that form an unruled table, a label
   wrapped over lines is joined, and blank cells are put where a row prints nothing under a
   column that other rows (or the header line) show.
6. Rows are ordered by page, then top to bottom; a table that runs over a page break simply
   goes on. ``Document.text`` is the rows joined ("\t" between cells, "\n" between rows) and
   every cell's ``Location`` carries its span in that text as well as its page and box in PDF
   points (and, in a grid, its table / row / column numbers).

Errors: a password-protected file raises EncryptedFile (an owner password alone does not stop
reading), an unreadable or truncated one CorruptFile, one with no usable text layer (none, or
only page numbers and a scanner's watermark, or text in fonts without a Unicode map) NeedsOCR,
more than ``max_pages`` pages TooLarge.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import pymupdf

from extractor.document import Cell, Document, Location, Row
from extractor.errors import CorruptFile, EncryptedFile, ExtractError, TooLarge
from extractor.limits import OCR_PAGE_SECONDS, allow
from extractor.textnorm import has_cjk, is_dash, parse_number

DEFAULT_MAX_PAGES = 300


class NeedsOCR(ExtractError):
    code = "needs_ocr"


# A word: x0, y0, x1, y1, text.
Word = tuple[float, float, float, float, str]

_RULE_TOL = 2.0  # points: rule positions closer than this are the same rule
_THIN = 3.0  # a filled rectangle thinner than this is a rule
_CELL_MIN = 4.0  # points: no cell is narrower; rules closer than this are one grid line
_MARGIN = 0.12  # top/bottom fraction of the page where running headers/footers live
_PAGE_NUMBER = re.compile(
    r"^[\s\-—–－_·•.]*(?:第\s*)?(?:\d{1,4}|[ivxlcIVXLC]{1,6})\s*页?"
    r"(?:\s*(?:[/／]|of|共)\s*\d{1,4}\s*页?)?[\s\-—–－_·•.]*$"
    r"|^\s*(?:page|Page|PAGE)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$"
)


def read_pdf(data: bytes, path: str, max_pages: int = DEFAULT_MAX_PAGES, ocr: "OcrHook | None" = None) -> Document:
    """``ocr``: read pages without a text layer (and every page, when the text layer is unreadable)
    through this OCR hook instead of raising NeedsOCR (``extractor.ingest.ocr`` provides it)."""
    name = path.rsplit("/", 1)[-1]
    pdf = _open(data, name)
    try:
        return _read(pdf, path, name, max_pages, ocr)
    finally:
        pdf.close()


@dataclass
class OcrPage:
    """What an OCR hook reads off one page, in the page's coordinates as shown (points) after
    deskewing: words (a line of text or a run of it; a character OCR is unsure of is followed by
    ``UNSURE``), ruling lines (horizontal [y, x0, x1], vertical [x, y0, y1]), the matrix that maps
    that frame back onto the page as shown (None when the page was not turned), and a note."""

    words: list["Word"]
    hs: list[list[float]]
    vs: list[list[float]]
    to_page: tuple | None = None
    note: str = ""


OcrHook = Callable[[pymupdf.Page], OcrPage]
UNSURE = "\ufffd"  # follows a character OCR is unsure of; a cell holding one is Cell.unsure, shown as "?"


# ---------------------------------------------------------------- opening


def _open(data: bytes, name: str) -> pymupdf.Document:
    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception as e:  # mupdf raises FileDataError, RuntimeError, ValueError ...
        raise CorruptFile(f"{name}: not a readable PDF ({e})") from e
    if pdf.needs_pass:
        pdf.close()
        raise EncryptedFile(f"{name}: the PDF is password-protected; it cannot be read without the password")
    if _truncated(data):
        pdf.close()
        raise CorruptFile(f"{name}: the PDF is truncated (it stops before its end-of-file marker); download it again")
    if pdf.page_count == 0:
        pdf.close()
        raise CorruptFile(f"{name}: the PDF has no readable pages")
    return pdf


def _truncated(data: bytes) -> bool:
    """No %%EOF, or objects after the last one (a download cut inside an incremental update)."""
    at = data.rfind(b"%%EOF")
    if at < 0:
        return True
    return re.search(rb"\d+\s+\d+\s+obj\b", data[at + 5 :]) is not None


# ---------------------------------------------------------------- the document


@dataclass
class _Line:
    """Words outside any grid that share a baseline."""

    page: int
    words: list[Word]
    y0: float = 0.0
    y1: float = 0.0

    def __post_init__(self) -> None:
        self.y0 = min(w[1] for w in self.words)
        self.y1 = max(w[3] for w in self.words)


@dataclass
class _PageRows:
    number: int  # 1-based
    height: float
    lines: list[_Line] = field(default_factory=list)
    table_rows: list[tuple[float, float, list["_GridCell"]]] = field(default_factory=list)  # (top, left, cells)


class _GridCell:
    """A (merged) cell of a grid and the words inside it."""

    __slots__ = ("bbox", "words", "table", "row", "col", "last_col", "text")

    def __init__(self, bbox: tuple[float, float, float, float], row: int, col: int, last_col: int):
        self.bbox, self.row, self.col, self.last_col = bbox, row, col, last_col  # first atomic row/column covered
        self.words: list[Word] = []
        self.table = 0
        self.text = ""


def _read(pdf: pymupdf.Document, path: str, name: str, max_pages: int, ocr: OcrHook | None = None,
          ocr_all: bool = False) -> Document:
    if pdf.page_count > max_pages:
        raise TooLarge(f"{name}: {pdf.page_count} pages is over the limit of {max_pages} pages")
    notes: list[str] = []
    if pdf.is_repaired:
        notes.append("the PDF's cross-reference table was damaged and has been repaired")
    pages: list[_PageRows] = []
    n_chars = n_bad = 0
    tables = 0
    unrotate: dict[int, tuple] = {}  # page -> matrix from the page as shown back to PDF coordinates
    deskew: dict[int, tuple] = {}  # OCR'd page -> matrix from its deskewed frame back to the page as shown
    ocr_pages: list[int] = []
    ocr_notes: list[str] = []
    for page in pdf:
        if ocr_all:
            pr, text = _PageRows(page.number + 1, page.rect.height), ""
        else:
            pr, text, tables = _read_page(page, tables, name)
        if ocr is not None and (ocr_all or _textless(pr)):
            allow(OCR_PAGE_SECONDS)
            got = ocr(page)
            pr, tables = _layout(pr.number, page.rect.height, got.words, got.hs, got.vs, tables)
            text = ""
            ocr_pages.append(pr.number)
            if got.to_page is not None:
                deskew[pr.number] = got.to_page
            if got.note and got.note not in ocr_notes:
                ocr_notes.append(got.note)
        pages.append(pr)
        n_chars += len(text)
        n_bad += len(_UNREADABLE.findall(text))
        if page.rotation:
            unrotate[pr.number] = tuple(page.derotation_matrix)

    if n_chars and n_bad / n_chars > 0.3:
        if ocr is not None and not ocr_all:
            return _read(pdf, path, name, max_pages, ocr, ocr_all=True)
        raise NeedsOCR(f"{name}: the PDF's text layer is unreadable ({n_bad} of {n_chars} characters have no "
                       "Unicode mapping); it needs OCR")
    if ocr_pages:
        notes.append(f"pages read by OCR: {_ranges(ocr_pages)}" + "".join(f"; {n}" for n in ocr_notes))
    dropped = _drop_running_lines(pages)
    # A scan often carries a little text of its own: page numbers, a scanner app's watermark, a stamp.
    empty_pages = [p.number for p in pages if not (p.lines or p.table_rows)]
    content = sum(len(w[4]) for p in pages for ln in p.lines for w in ln.words) + sum(
        len(w[4]) for p in pages for _, _, cells in p.table_rows for c in cells for w in c.words)
    if len(empty_pages) == len(pages) or (2 * len(empty_pages) >= len(pages) and content < 50 * len(pages)):
        if ocr_pages:
            raise NeedsOCR(f"{name}: {'no' if content == 0 else f'only {content} characters of'} text on "
                           f"{len(pages)} pages, and OCR found no more: nothing here can be read")
        raise NeedsOCR(f"{name}: {'no' if content == 0 else f'only {content} characters of'} text on "
                       f"{len(pages)} pages: a scan without a text layer; it needs OCR")
    if empty_pages:
        notes.append(f"pages without a text layer (images only?): {_ranges(empty_pages)}")
    if dropped:
        notes.append(f"{dropped} running header/footer lines (page numbers, repeated lines) dropped")

    seq: list[tuple[int, float, list[_Piece], bool]] = []  # (page, top, cells, outside a grid) in reading order
    for pr in pages:
        items: list[tuple[float, float, list[_Piece], bool]] = []
        for line in pr.lines:
            cells = [_piece_of_words(ws, pr.number) for ws in _split_line(line.words)]
            items.append((line.y0, line.words[0][0], cells, True))
        for top, left, gcells in pr.table_rows:
            items.append((top, left, [p for c in gcells for p in _pieces_of_grid(c, pr.number)], False))
        items.sort(key=lambda it: (it[0], it[1]))
        seq.extend((pr.number, top, cells, outside) for top, _, cells, outside in items)
    filled = _fill_unruled_blanks(seq)
    if filled:
        notes.append(f"{filled} blank cells of unruled tables placed by column position")
    joined = _join_split_rows(seq)
    if joined:
        notes.append(f"{joined} table rows split by a page break joined to their first part")

    rows: list[Row] = []
    parts: list[str] = []
    pos = 0
    for _, _, pieces, _ in seq:
        cells = []
        for i, c in enumerate(pieces):
            if i:
                parts.append("\t")
                pos += 1
            end = pos + len(c.text)
            box = _map_corners(c.box, deskew[c.page]) if c.page in deskew else c.box
            box = _map_box(box, unrotate[c.page]) if c.page in unrotate else box
            loc = Location(start=pos, end=end, page=c.page, bbox=_round(box), table=c.table, row=c.row, col=c.col)
            unsure = UNSURE in c.text  # only OCR puts it there: the cell is left for review, shown as "?"
            text = c.text.replace(UNSURE, "?") if unsure else c.text
            cells.append(Cell(text=text, loc=loc, x=c.x, unsure=True) if unsure else Cell(text=text, loc=loc, x=c.x))
            parts.append(text)
            pos = end
        parts.append("\n")
        pos += 1
        rows.append(Row(cells=cells))
    return Document(path=path, kind="pdf", text="".join(parts), rows=rows, pages=pdf.page_count, notes=notes)


def _read_page(page: pymupdf.Page, tables: int, name: str) -> tuple[_PageRows, str, int]:
    """One page -> its grid rows and free lines, the text it holds, and the running count of grids."""
    number, height = page.number + 1, page.rect.height
    try:
        words = [(w[0], w[1], w[2], w[3], w[4]) for w in page.get_text("words") if w[4].strip()]
        m = tuple(page.rotation_matrix) if page.rotation else None
        if m:  # work on the page as it is shown; boxes are mapped back for Location
            words = [(*_map_box(w, m), w[4]) for w in words]
        drawings = page.get_cdrawings() if _has_values(words, height) else []
    except Exception as e:  # mupdf's errors on a damaged page (FileDataError, RuntimeError, ...)
        raise CorruptFile(f"{name}: page {number} cannot be read ({e})") from e
    if m:
        drawings = _map_drawings(drawings, m)
    words = _dedupe(words)
    pr, tables = _layout(number, height, words, *_rules(drawings), tables) if words else (_PageRows(number, height), tables)
    return pr, "".join(w[4] for w in words), tables


def _layout(number: int, height: float, words: list[Word], hs: list[list[float]], vs: list[list[float]],
            tables: int) -> tuple[_PageRows, int]:
    """A page's words and ruling lines -> its grid rows and free lines (and the running count of grids)."""
    pr = _PageRows(number, height)
    if not words:
        return pr, tables
    grids = _grids(hs, vs)
    for g in grids:
        g.number(tables)
        tables += 1
    free = [w for w in words if not any(g.place(w) for g in grids)]
    top, bottom = height * _MARGIN, height * (1 - _MARGIN)
    for g in grids:
        free.extend(g.release_prose())
        for row in g.rows():
            filled = [c for c in row[2] if c.words]
            if len(filled) == 1 and all(w[3] <= top or w[1] >= bottom for w in filled[0].words):
                free.extend(filled[0].words)  # a page header or footer inside a page frame
            else:
                pr.table_rows.append(row)
    pr.lines = [_Line(number, ws) for ws in _group_lines(free)]
    return pr, tables


def _textless(pr: _PageRows) -> bool:
    """A page with no text of its own: nothing, or only a few characters in the margins (a page
    number, a scanner app's watermark) over what must be an image of the page."""
    top, bottom = pr.height * _MARGIN, pr.height * (1 - _MARGIN)
    body = sum(len(w[4]) for ln in pr.lines for w in ln.words if ln.y1 > top and ln.y0 < bottom)
    return not pr.table_rows and body < 10


def _map_corners(b, m) -> tuple[float, float, float, float]:
    """A box through any affine matrix (a small deskewing turn) -> the upright box around its four corners."""
    a, bb, c, d, e, f = m
    pts = [(x, y) for x in (b[0], b[2]) for y in (b[1], b[3])]
    xs = [a * x + c * y + e for x, y in pts]
    ys = [bb * x + d * y + f for x, y in pts]
    return (min(xs), min(ys), max(xs), max(ys))


# Characters a font without a Unicode map extracts as: replacement, private use, controls.
_UNREADABLE = re.compile("[\ufffd\ue000-\uf8ff\x00-\x1f]")


def _map_box(b, m) -> tuple[float, float, float, float]:
    """An upright box through a matrix (a quarter-turn rotation here) -> the upright box around it."""
    a, bb, c, d, e, f = m
    xs = (a * b[0] + c * b[1] + e, a * b[2] + c * b[3] + e)
    ys = (bb * b[0] + d * b[1] + f, bb * b[2] + d * b[3] + f)
    return (min(xs), min(ys), max(xs), max(ys))


def _map_drawings(drawings: list[dict], m) -> list[dict]:
    a, b, c, d, e, f = m

    def pt(p):
        return (a * p[0] + c * p[1] + e, b * p[0] + d * p[1] + f)

    out = []
    for dr in drawings:
        items = []
        for it in dr.get("items", ()):
            if it[0] == "l":
                items.append(("l", pt(it[1]), pt(it[2])))
            elif it[0] == "re":
                items.append(("re", _map_box(it[1], m)) + tuple(it[2:]))
            elif it[0] == "qu":
                items.append(("qu", tuple(pt(p) for p in it[1])))
        out.append({**dr, "items": items})
    return out


def _has_values(words: list[Word], height: float) -> bool:
    """Could the page hold a table's values? (Ruling lines cost as much to get as the words.)

    A value of a table stands apart from the words beside it; a year or a count in running text
    ("2024年", "2024 年") is set close to its neighbours, and pages of prose need no rules.
    """
    top, bottom = height * _MARGIN, height * (1 - _MARGIN)
    for w in words:
        if top < w[1] and w[3] < bottom and _is_value(w[4]):
            cy, h = (w[1] + w[3]) / 2, (w[3] - w[1]) / 2
            if not any(o is not w and abs((o[1] + o[3]) / 2 - cy) < h and o[0] - 6 < w[2] and w[0] < o[2] + 6
                       for o in words):
                return True
    return False


def _ranges(nums: list[int]) -> str:
    out, start = [], None
    for i, n in enumerate(nums):
        if start is None:
            start = n
        if i + 1 == len(nums) or nums[i + 1] != n + 1:
            out.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(out)


def _dedupe(words: list[Word]) -> list[Word]:
    """Drop words drawn again on top of themselves (fake bold, shadow text)."""
    seen: dict[tuple[str, int], list[Word]] = {}
    out = []
    for w in words:
        x0, y0, text = w[0], w[1], w[4]
        by = int(y0 // 2)
        if _near(seen.get((text, by)), x0, y0) or _near(seen.get((text, by - 1)), x0, y0) \
                or _near(seen.get((text, by + 1)), x0, y0):
            continue
        lst = seen.get((text, by))
        if lst is None:
            seen[(text, by)] = [w]
        else:
            lst.append(w)
        out.append(w)
    return out


def _near(words: list[Word] | None, x0: float, y0: float) -> bool:
    if words:
        for o in words:
            if -1.5 < o[0] - x0 < 1.5 and -1.5 < o[1] - y0 < 1.5:
                return True
    return False


# ---------------------------------------------------------------- ruling lines and grids


def _rules(drawings: list[dict]) -> tuple[list[list[float]], list[list[float]]]:
    """Horizontal rules [y, x0, x1] and vertical rules [x, y0, y1], merged."""
    hs: list[list[float]] = []
    vs: list[list[float]] = []

    def rect(x0, y0, x1, y1, stroked, filled):
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        w, h = x1 - x0, y1 - y0
        if w <= _THIN and h > w:
            vs.append([(x0 + x1) / 2, y0, y1])
        elif h <= _THIN and w > h:
            hs.append([(y0 + y1) / 2, x0, x1])
        elif stroked:
            hs.extend(([y0, x0, x1], [y1, x0, x1]))
            vs.extend(([x0, y0, y1], [x1, y0, y1]))

    for d in drawings:
        typ = d.get("type") or ""
        stroked = "s" in typ and not _white(d.get("color"))
        filled = "f" in typ and not _white(d.get("fill"))
        if not stroked and not filled:
            continue
        for item in d.get("items", ()):
            op = item[0]
            if op == "l" and stroked:
                (x0, y0), (x1, y1) = item[1], item[2]
                if abs(y1 - y0) <= 1.0 and abs(x1 - x0) > 1.0:
                    hs.append([(y0 + y1) / 2, min(x0, x1), max(x0, x1)])
                elif abs(x1 - x0) <= 1.0 and abs(y1 - y0) > 1.0:
                    vs.append([(x0 + x1) / 2, min(y0, y1), max(y0, y1)])
            elif op == "re":
                rect(*item[1], stroked, filled)
            elif op == "qu":
                pts = item[1]
                xs = [p[0] for p in pts]
                ys = [p[1] for p in pts]
                rect(min(xs), min(ys), max(xs), max(ys), stroked, filled)
    return _merge(hs), _merge(vs)


def _white(color) -> bool:
    return color is None or (len(color) >= 3 and min(color[:3]) >= 0.95)


def _merge(segs: list[list[float]]) -> list[list[float]]:
    """Collinear pieces (same position within tolerance, touching) -> one rule."""
    segs.sort()
    out: list[list[float]] = []
    groups: list[list[list[float]]] = []
    for s in segs:
        if groups and s[0] - groups[-1][-1][0] <= _RULE_TOL / 2:
            groups[-1].append(s)
        else:
            groups.append([s])
    for g in groups:
        pos = sum(s[0] for s in g) / len(g)
        spans = sorted((s[1], s[2]) for s in g)
        a, b = spans[0]
        for c, d in spans[1:]:
            if c <= b + _RULE_TOL:
                b = max(b, d)
            else:
                out.append([pos, a, b])
                a, b = c, d
        out.append([pos, a, b])
    return out


class _Grid:
    """One ruled table: rule positions, atomic cells merged where no rule separates them."""

    def __init__(self, hs: list[list[float]], vs: list[list[float]]):
        self.table = 0
        xs = self.xs = _positions([v[0] for v in vs] + [min(h[1] for h in hs), max(h[2] for h in hs)])
        ys = self.ys = _positions([h[0] for h in hs] + [min(v[1] for v in vs), max(v[2] for v in vs)])
        nx, ny = self.nx, self.ny = len(xs) - 1, len(ys) - 1
        # the rules lying at each position: spans of vertical rules at xs[j], horizontal ones at ys[i]
        self._v_at = _spans_at(xs, vs)
        h_at = _spans_at(ys, hs)
        parent = list(range(nx * ny))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for j in range(1, nx):  # no rule between columns j-1 and j in band i: one cell
            spans = self._v_at[j]
            for i in range(ny):
                if not _covered(spans, ys[i], ys[i + 1]):
                    parent[find(i * nx + j - 1)] = find(i * nx + j)
        for i in range(1, ny):  # no rule between bands i-1 and i in column j: one cell
            spans = h_at[i]
            for j in range(nx):
                if not _covered(spans, xs[j], xs[j + 1]):
                    parent[find((i - 1) * nx + j)] = find(i * nx + j)
        # merged cells: extent in atomic rows/columns, keyed by root
        ext: dict[int, list[int]] = {}
        cell_of: list[int] = []
        for a in range(nx * ny):
            r = find(a)
            cell_of.append(r)
            i, j = divmod(a, nx)
            e = ext.get(r)
            if e is None:
                ext[r] = [i, j, i, j]
            else:
                if j < e[1]:
                    e[1] = j
                if i > e[2]:
                    e[2] = i
                if j > e[3]:
                    e[3] = j
        self._cells = {r: _GridCell((xs[e[1]], ys[e[0]], xs[e[3] + 1], ys[e[2] + 1]), row=e[0], col=e[1], last_col=e[3])
                       for r, e in ext.items()}
        self._cell_of = [self._cells[r] for r in cell_of]

    def number(self, table: int) -> None:
        self.table = table
        for c in self._cells.values():
            c.table = table

    def place(self, w: Word) -> bool:
        """Put a word into the cell under its centre (split first where it runs over a rule); False if outside."""
        xs, ys = self.xs, self.ys
        cy = (w[1] + w[3]) / 2
        cx = (w[0] + w[2]) / 2
        if not (xs[0] <= cx <= xs[-1] and ys[0] <= cy <= ys[-1]):
            return False
        i = min(max(bisect.bisect_right(ys, cy) - 1, 0), self.ny - 1)
        j0 = self._slot(w[0] + 1.0)
        j1 = self._slot(w[2] - 1.0)
        pieces = [w] if j0 == j1 or len(w[4]) < 2 else self._split(w, j0, j1)
        row = i * self.nx
        for p in pieces:
            self._cell_of[row + self._slot((p[0] + p[2]) / 2)].words.append(p)
        return True

    def release_prose(self) -> list[Word]:
        """Words of cells that hold running text (a page frame, a boxed paragraph), handed back as free text."""
        out: list[Word] = []
        for c in self._cells.values():
            if len(c.words) > 6 and sum(len(w[4]) for w in c.words) > 120 and len(_group_lines(c.words)) > 5:
                out.extend(c.words)
                c.words = []
        return out

    def _slot(self, x: float) -> int:
        return min(max(bisect.bisect_right(self.xs, x) - 1, 0), self.nx - 1)

    def _split(self, w: Word, j0: int, j1: int) -> list[Word]:
        """A word that runs over a vertical rule (text of two cells with no space between) -> pieces."""
        text = w[4]
        weights = [1.0 if _wide(ch) else 0.55 for ch in text]
        unit = (w[2] - w[0]) / sum(weights)
        edges = [w[0]]
        for wt in weights:
            edges.append(edges[-1] + wt * unit)
        cuts: list[int] = []
        for j in range(j0 + 1, j1 + 1):
            x = self.xs[j]
            if not _covered(self._v_at[j], w[1], w[3]):
                continue
            k = min(range(1, len(text)), key=lambda k: abs(edges[k] - x))
            if abs(edges[k] - x) < 0.6 * unit and (not cuts or k > cuts[-1]):
                cuts.append(k)
        if not cuts:
            return [w]
        out, prev = [], 0
        for k in cuts + [len(text)]:
            if text[prev:k].strip():
                out.append((edges[prev], w[1], edges[k], w[3], text[prev:k].strip()))
            prev = k
        return out

    def rows(self) -> list[tuple[float, float, list[_GridCell]]]:
        """Table rows top to bottom: (top, left, cells); a merged cell sits in the first row it covers.

        A blank cell in the label columns (those holding the row labels of rows that print numbers),
        or before the label of a row of values, is the continuation of a merged label cell, not a
        value cell, and is left out.
        """
        by_row: dict[int, list[_GridCell]] = {}
        for c in self._cells.values():
            c.text = _text_of(c.words) if c.words else ""
            by_row.setdefault(c.row, []).append(c)
        label_slots: set[int] = set()
        for cells in by_row.values():
            if any(_is_value(c.text) for c in cells):
                for c in cells:
                    if _is_label(c.text):
                        label_slots.update(range(c.col, c.last_col + 1))
        out = []
        for i in sorted(by_row):
            cells = by_row[i]
            if not any(c.words for c in cells):
                continue
            cells = sorted((c for c in cells if c.words or not label_slots.issuperset(range(c.col, c.last_col + 1))),
                           key=lambda c: c.col)
            if any(_is_value(c.text) for c in cells):
                # in a row of values, a blank before the row's label is a merged label cell running on
                last = max((k for k, c in enumerate(cells) if _is_label(c.text)), default=-1)
                cells = [c for k, c in enumerate(cells) if k > last or c.text]
            out.append((self.ys[i], self.xs[0], cells))
        return out


def _positions(values: list[float]) -> list[float]:
    """Rule positions -> grid lines. Rules closer than a cell can be narrow (a double border, a
    border drawn twice a little apart) are one line."""
    values = sorted(values)
    out: list[list[float]] = []
    for v in values:
        if out and v - out[-1][0] <= _CELL_MIN:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(g) / len(g) for g in out]


def _spans_at(lines: list[float], rules: list[list[float]]) -> list[list[tuple[float, float]]]:
    """The spans of the rules that make each grid line (each rule to its nearest line)."""
    at: list[list[tuple[float, float]]] = [[] for _ in lines]
    for p, s, e in rules:
        k = bisect.bisect_left(lines, p)
        if k == len(lines) or (k > 0 and p - lines[k - 1] < lines[k] - p):
            k -= 1
        if abs(lines[k] - p) <= _CELL_MIN:
            at[k].append((s, e))
    return at


def _covered(spans: list[tuple[float, float]], a: float, b: float) -> bool:
    """Do the rules at one position (their spans) cover most of [a, b]?"""
    need = (b - a) * 0.6
    for s, e in spans:
        if min(b, e) - max(a, s) >= need:
            return True
    return False


def _grids(hs: list[list[float]], vs: list[list[float]]) -> list[_Grid]:
    """Rules that touch -> grids; one with fewer than two cells is a box or an underline, not a table."""
    n = len(hs) + len(vs)
    if not hs or not vs:
        return []
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    t = _RULE_TOL
    for i, (y, hx0, hx1) in enumerate(hs):
        for k, (x, vy0, vy1) in enumerate(vs):
            if hx0 - t <= x <= hx1 + t and vy0 - t <= y <= vy1 + t:
                parent[find(i)] = find(len(hs) + k)
    comps: dict[int, tuple[list, list]] = {}
    for i, h in enumerate(hs):
        comps.setdefault(find(i), ([], []))[0].append(h)
    for k, v in enumerate(vs):
        comps.setdefault(find(len(hs) + k), ([], []))[1].append(v)
    out = []
    for ch, cv in comps.values():
        if len(ch) < 2 or len(cv) < 2 or len(ch) + len(cv) < 5:
            continue
        g = _Grid(ch, cv)
        if g.nx * g.ny >= 2:
            out.append(g)
    return out


# ---------------------------------------------------------------- lines, cells, text


def _group_lines(words: list[Word]) -> list[list[Word]]:
    """Words -> lines (by vertical centre), each sorted left to right; lines top to bottom."""
    lines: list[list] = []  # [centre, height, words]
    for w in sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0])):
        cy, h = (w[1] + w[3]) / 2, w[3] - w[1]
        if lines and abs(cy - lines[-1][0]) <= 0.4 * max(h, lines[-1][1]):
            ln = lines[-1]
            ln[2].append(w)
            ln[0] = (ln[0] * (len(ln[2]) - 1) + cy) / len(ln[2])
            ln[1] = max(ln[1], h)
        else:
            lines.append([cy, h, [w]])
    return [sorted(ln[2], key=lambda w: w[0]) for ln in lines]


def _split_line(words: list[Word]) -> list[list[Word]]:
    """A line outside a grid -> cells, cut where the gap between words is wide."""
    cells = [[words[0]]]
    for a, b in zip(words, words[1:]):
        h = min(a[3] - a[1], b[3] - b[1])
        if b[0] - a[2] > max(6.0, 0.8 * h):
            cells.append([b])
        else:
            cells[-1].append(b)
    return cells


_ORDINAL_LABEL = re.compile(r"^\d{1,2}\s*[.、．,，)）]\s*\D")


@functools.lru_cache(maxsize=4096)
def _is_value(text: str) -> bool:
    return parse_number(text) is not None or is_dash(text)


def _is_label(text: str) -> bool:
    """Row-label text: CJK words, possibly led by an ordinal ("1.属于国家秘密"), not a number with a unit."""
    if not text or _is_value(text) or not has_cjk(text):
        return False
    return not text[0].isdigit() or bool(_ORDINAL_LABEL.match(text))


def _wide(ch: str) -> bool:
    return ord(ch) >= 0x2E80 or ch in "“”‘’—…·"


def _join(a: str, b: str) -> str:
    if not a:
        return b
    if not b:
        return a
    return a + ("" if _wide(a[-1]) or _wide(b[0]) else " ") + b


def _clean(text: str) -> str:
    if text.isascii():
        return " ".join(text.split())
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u3000", " ").replace("\xa0", " ").replace("\t", " ").replace("\n", " ")
    return text.strip()


def _text_of(words: list[Word]) -> str:
    if len(words) == 1:
        return _clean(words[0][4])
    text = ""
    for line in _group_lines(words):
        part = ""
        for w in line:
            part = _join(part, w[4].strip())
        # a number wrapped in a narrow cell ("10" over "5") is one number
        text = text + part if text[-1:].isdigit() and part[:1].isdigit() else _join(text, part)
    return _clean(text)


def _box(words: list[Word]) -> tuple[float, float, float, float]:
    if len(words) == 1:
        return words[0][:4]  # type: ignore[return-value]
    return (min(w[0] for w in words), min(w[1] for w in words), max(w[2] for w in words), max(w[3] for w in words))


class _Piece:
    """A cell before it gets its span in Document.text."""

    __slots__ = ("text", "page", "box", "x", "table", "row", "col")

    def __init__(self, text: str, page: int, box, table: int | None = None, row: int | None = None,
                 col: int | None = None):
        self.text, self.page, self.box, self.x = text, page, box, (box[0] + box[2]) / 2
        self.table, self.row, self.col = table, row, col


def _piece_of_words(words: list[Word], page: int) -> _Piece:
    return _Piece(_text_of(words), page, _box(words))


def _pieces_of_grid(c: _GridCell, page: int) -> list[_Piece]:
    """A grid cell -> its piece; a cell holding one line of a label and numbers far apart (a table
    ruled only around its rows) -> a piece each, as if the missing column rules were there."""
    if len(c.words) > 1:
        lines = _group_lines(c.words)
        if len(lines) == 1:
            parts = _split_line(lines[0])
            if len(parts) > 1 and all(_is_value(_text_of(p)) for p in parts[1:]):
                return [_Piece(_text_of(p), page, _box(p), c.table, c.row, c.col) for p in parts]
    return [_Piece(c.text, page, _box(c.words) if c.words else c.bbox, c.table, c.row, c.col)]


# ---------------------------------------------------------------- rows split by a page break


def _join_split_rows(seq: list[tuple[int, float, list[_Piece], bool]]) -> int:
    """A ruled row that a page break cuts in two ("（三）不予公" | "1.属于国家秘" at the foot of a
    page, "开" | "密" and blank value cells at the head of the next): the second part's text is
    joined to the cells above it (or to a label merged down the rows above) and the part dropped. Only when the part prints no value and
    every text of it sits under a label of the row above (a header row repeated on the new page
    prints its text over the value columns, and is left alone)."""
    joined = 0
    keep = [True] * len(seq)
    for i in range(1, len(seq)):
        page, _, cells, outside = seq[i]
        prev_page = seq[i - 1][0]
        if outside or page == prev_page or not seq[i - 1][2] or seq[i - 1][3]:
            continue
        above = seq[i - 1][2]
        texts = [c for c in cells if c.text]
        if not texts or any(_is_value(c.text) for c in cells) or not any(_is_value(c.text) for c in above):
            continue
        rows_above = []  # the table's rows at the foot of the previous page, nearest first
        for k in range(i - 1, -1, -1):
            if seq[k][0] != prev_page or seq[k][3] or not keep[k]:
                break
            rows_above.append(seq[k][2])
        targets = []
        for c in texts:
            # the cell above it: in the row above, or (a label merged down its rows) in a row further up
            over = next((o for row in rows_above if (o := [a for a in row if a.box[0] - 2 <= c.x <= a.box[2] + 2])),
                        [])
            if len(over) != 1 or not over[0].text or _is_value(over[0].text):
                break
            targets.append((over[0], c))
        else:
            for a, c in targets:
                a.text = _join(a.text, c.text)
            keep[i] = False
            joined += 1
    seq[:] = [item for item, k in zip(seq, keep) if k]
    return joined


# ---------------------------------------------------------------- tables without rules


def _fill_unruled_blanks(seq: list[tuple[int, float, list[_Piece], bool]]) -> int:
    """Unruled tables: join wrapped labels, and put blank cells where a row prints nothing under a column.

    An unruled table is a run of lines outside any grid with no paragraph, heading or ruled row
    between them (a page break does not end it). See ``_join_wrapped`` and ``_fill_run``.
    Returns how many blank cells were added.
    """
    added = 0
    run: list[tuple[int, float, list[_Piece], bool]] = []
    for item in seq:
        if item[3] and not _is_prose(item[2]):
            run.append(item)
            continue
        _join_wrapped(run)
        added += _fill_run([cells for _, _, cells, _ in run])
        run = []
    _join_wrapped(run)
    added += _fill_run([cells for _, _, cells, _ in run])
    seq[:] = [item for item in seq if item[2]]
    return added


def _join_wrapped(run: list[tuple[int, float, list[_Piece], bool]]) -> None:
    """A label wrapped over lines of an unruled table -> one cell, on the line where it starts.

    A label cell continues the label cell just above it (same page, aligned left edges or centres,
    the gap under it less than ~half a line) when it does not start with an ordinal of its own:
    "（二）部分公开（区分处理的，只计这一情形，不" + "计其他情形）", or a label printed one
    character per line. Labels that start with "1." or "（三）" begin rows and are never joined.
    """
    open_: list[_Piece] = []  # label cells that a fragment below may continue
    bottom: dict[int, float] = {}
    for page, _, cells, _ in run:
        keep = []
        for c in cells:
            if not (_is_label(c.text) or _PUNCT.match(c.text)):
                keep.append(c)
                continue
            h = c.box[3] - c.box[1]
            above = next((a for a in reversed(open_) if a.page == page
                          and -h * 0.2 <= c.box[1] - bottom[id(a)] <= h * 0.6
                          and (abs(a.box[0] - c.box[0]) <= 3 or abs(a.x - c.x) <= 3)), None)
            if above is not None and not _STARTS_ROW.match(c.text):
                above.text = _join(above.text, c.text)
                above.box = (min(above.box[0], c.box[0]), above.box[1], max(above.box[2], c.box[2]), c.box[3])
                bottom[id(above)] = c.box[3]
                continue
            keep.append(c)
            open_.append(c)
            bottom[id(c)] = c.box[3]
        cells[:] = keep


_PUNCT = re.compile(r"^[、，。；：）)]+$")  # a lone mark of a label printed one character per line
# Labels that begin a row: ordinals "1." "（三）" "三、" "第二十条…"
_STARTS_ROW = re.compile(r"^\s*(?:\d{1,2}\s*[.、．]|[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|第)")


def _is_prose(cells: list[_Piece]) -> bool:
    """A paragraph line or a heading: it ends an unruled table."""
    if len(cells) != 1:
        return False
    text = cells[0].text
    return len(text) > 30 or bool(_HEADING.match(text))


_HEADING = re.compile(r"^[一二三四五六七八九十]+、")


def _fill_run(run: list[list[_Piece]]) -> int:
    """Columns are learnt from rows that print at least three values: rows whose value cells sit
    at the same positions (two or more of them) define a column layout, and so does a header line
    of three or more labels (its cells after the first). A row with fewer values, every one under
    a distinct column of exactly one layout, gets a blank cell for each column it leaves empty."""
    values_of = [[c for c in cells if _is_value(c.text)] for cells in run]
    layouts: list[list] = []  # [centres, support count]
    for vals in values_of:
        if len(vals) < 3:
            continue
        xs = [c.x for c in vals]
        for lay in layouts:
            if len(lay[0]) == len(xs) and all(abs(a - b) <= _col_tol(lay[0]) for a, b in zip(lay[0], xs)):
                lay[1] += 1
                break
        else:
            layouts.append([xs, 1])
    for k, cells in enumerate(run[:-1]):  # a header line right above a row of values
        if len(cells) >= 3 and all(_is_label(c.text) for c in cells) and values_of[k + 1]:
            layouts.append([[c.x for c in cells[1:]], 2])
    layouts = [lay for lay in layouts if lay[1] >= 2]
    header = _header_columns(run, values_of)
    if header is not None:  # it names every column: layouts that are a part of it would only compete
        tol = _col_tol(header)
        layouts = [lay for lay in layouts if not all(min(abs(x - h) for h in header) <= tol for x in lay[0])]
        layouts.append([header, 2])
    added = 0
    for cells, vals in zip(run, values_of):
        if not vals or not layouts:
            continue
        first = cells.index(vals[0])
        if any(c.text and not _is_value(c.text) for c in cells[first:]):
            continue  # a label between the values: not a plain table row
        fits = [(centres, cols) for centres, _ in layouts
                if len(centres) > len(vals) and (cols := _place(vals, centres)) is not None]
        if len(fits) != 1:
            continue  # no layout, or more than one, takes this row: leave it as printed
        centres, cols = fits[0]
        box = vals[0].box
        by_col = dict(zip(cols, vals))
        out = cells[:first]
        for j, cx in enumerate(centres):
            if j in by_col:
                out.append(by_col[j])
            else:
                out.append(_Piece("", vals[0].page, (cx - 3.0, box[1], cx + 3.0, box[3])))
                added += 1
        cells[:] = out
    return added


def _header_columns(run: list[list[_Piece]], values_of: list[list[_Piece]]) -> list[float] | None:
    """The columns a run's header names: the centres of the header labels (lines above its first
    row of values) right of the row labels, clustered. A header over several columns is centred
    on the middle one, or off the columns (an even span, a block title): a centre with no value
    under it that is closer to another than any two columns with values are is dropped. None
    unless there are three or more and every value cell of the run sits under one of them -- a
    header that ``_join_wrapped`` could not piece together, or a table with columns that move, has
    no say."""
    first = next((k for k, vals in enumerate(values_of) if vals), 0)
    values = [c for vals in values_of for c in vals]
    if not first or not values:
        return None
    # where the row labels end: a header starting left of it spans the label column too (第二十条第（一）项)
    labels_end = max((c.box[2] for cells, vals in zip(run, values_of) if vals
                      for c in cells[:cells.index(vals[0])] if _is_label(c.text)), default=None)
    if labels_end is None:
        return None
    xs = sorted(c.x for cells in run[:first] for c in cells if c.box[0] >= labels_end - 1 and _is_label(c.text))
    groups: list[list[float]] = []
    for x in xs:
        if groups and x - groups[-1][-1] <= 4:
            groups[-1].append(x)
        else:
            groups.append([x])
    centres = [sum(g) / len(g) for g in groups]
    if len(centres) < 3:
        return None
    near = min(10.0, 0.45 * min(b - a for a, b in zip(centres, centres[1:])))
    valued = [x for x in centres if any(abs(x - c.x) <= near for c in values)]
    if len(valued) < 2:
        return None
    pitch = min(b - a for a, b in zip(valued, valued[1:]))  # columns are at least this far apart
    # a centre with no value under it, closer to another than that, is no column
    centres = [x for x in centres if x in valued or min(abs(x - y) for y in centres if y != x) >= 0.6 * pitch]
    tol = _col_tol(centres)
    if len(centres) < 3 or any(min(abs(x - c.x) for x in centres) > tol for c in values):
        return None
    return centres


def _col_tol(centres: list[float]) -> float:
    gaps = [b - a for a, b in zip(centres, centres[1:])]
    return min(10.0, 0.45 * min(gaps)) if gaps else 10.0


def _place(vals: list[_Piece], centres: list[float]) -> list[int] | None:
    """The column of each value cell (distinct, in order), or None if one is under no column."""
    tol = _col_tol(centres)
    cols = []
    for c in vals:
        j = min(range(len(centres)), key=lambda j: abs(centres[j] - c.x))
        if abs(centres[j] - c.x) > tol or (cols and j <= cols[-1]):
            return None
        cols.append(j)
    return cols


def _round(box) -> tuple[float, float, float, float]:
    f = math.floor
    return (f(box[0] * 100 + 0.5) / 100, f(box[1] * 100 + 0.5) / 100, f(box[2] * 100 + 0.5) / 100,
            f(box[3] * 100 + 0.5) / 100)


# ---------------------------------------------------------------- running headers and footers


def _drop_running_lines(pages: list[_PageRows]) -> int:
    """Drop page numbers and lines repeated at the same place on most pages; return how many."""
    cands: list[tuple[_PageRows, _Line, str]] = []
    for pr in pages:
        top, bottom = pr.height * _MARGIN, pr.height * (1 - _MARGIN)
        for line in pr.lines:
            if line.y1 <= top or line.y0 >= bottom:
                text = _text_of(line.words)
                cands.append((pr, line, text))
    drop: set[int] = set()
    for pr, line, text in cands:
        if _PAGE_NUMBER.match(text):
            drop.add(id(line))
    n_pages = sum(1 for p in pages if p.lines or p.table_rows)
    if n_pages >= 3:
        need = max(3, (n_pages + 1) // 2)
        by_key: dict[str, list[tuple[_PageRows, _Line]]] = {}
        for pr, line, text in cands:
            key = re.sub(r"\d+", "#", re.sub(r"\s+", "", text))
            by_key.setdefault(key, []).append((pr, line))
        for group in by_key.values():
            if len({pr.number for pr, _ in group}) < need:
                continue
            for pr, line in group:
                near = {p.number for p, o in group if abs(o.y0 - line.y0) <= 4}
                if len(near) >= need:
                    drop.add(id(line))
    for pr in pages:
        pr.lines = [ln for ln in pr.lines if id(ln) not in drop]
    return len(drop)
