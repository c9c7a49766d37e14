"""DOCX -> Document, with python-docx (its OPC package layer) and lxml.

The body is walked in printed order: paragraphs and tables interleaved, content controls
(``w:sdt``) and custom-XML wrappers looked through. A paragraph is a row of one cell (a soft
line break starts a new row; tab-separated pieces become cells). A table row is a row of its
``w:tc`` cells: a horizontally merged cell (``gridSpan``) that prints something appears once, a
vertically merged continuation (``vMerge``) is an empty cell, and an empty cell spanning n grid
columns is n empty cells, so values keep their places after their row label.
A table nested in a cell (layout wrappers) is read as tables of its own.

Word's automatic list numbers ("一、", "（三）", "1.") are not in the text of a paragraph;
they are rendered from numbering.xml so that headings and row labels read as printed.
Text inside ``w:ins`` is kept, deleted text and field codes are not; text boxes are read once
(their ``mc:Fallback`` copy is skipped). An ``altChunk`` (HTML or MHT embedded by web editors)
is read with the HTML reader and spliced in place.

``Document.text`` is the rows joined (cells by tab, rows by newline); every cell's
``loc.start``/``loc.end`` is its span there and ``loc.table/row/col`` its place in the file
(``col`` is the grid column where the cell starts).
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import threading
import zipfile
from typing import Iterator

from extractor.document import Cell, Document, Location, Row, new_document, new_row

_new = object.__new__
from extractor.errors import CorruptFile, EmptyDocument, EncryptedFile, ExtractError, TooLarge, UnsupportedFormat
from extractor.ingest.text import normalise
from extractor.limits import check_deadline

MAX_DOCUMENT_XML = 50 * 1024 * 1024  # uncompressed word/document.xml
MAX_TOTAL_UNCOMPRESSED = 1024 * 1024 * 1024  # every part of the package together
MAX_TABLE_NESTING = 32

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


T_P, T_TBL, T_TR, T_TC, T_SDT, T_SDTCONTENT = _w("p"), _w("tbl"), _w("tr"), _w("tc"), _w("sdt"), _w("sdtContent")
T_CUSTOMXML, T_ALTCHUNK, T_BODY = _w("customXml"), _w("altChunk"), _w("body")
T_PPR, T_NUMPR, T_NUMID, T_ILVL, T_PSTYLE, T_VAL = _w("pPr"), _w("numPr"), _w("numId"), _w("ilvl"), _w("pStyle"), _w("val")
T_TCPR, T_GRIDSPAN, T_VMERGE, T_HMERGE = _w("tcPr"), _w("gridSpan"), _w("vMerge"), _w("hMerge")
T_TRPR, T_GRIDBEFORE = _w("trPr"), _w("gridBefore")
# Wrappers whose children are read as if they stood in the wrapper's place.
_WRAPPERS = {T_SDT, T_SDTCONTENT, T_CUSTOMXML, _w("ins"), _w("moveTo"), _w("smartTag"), _w("fldSimple"),
             _w("hyperlink"), f"{{{MC}}}AlternateContent", f"{{{MC}}}Choice"}
_BLOCK_WRAPPERS = _WRAPPERS - {_w("hyperlink"), _w("fldSimple"), _w("smartTag")}  # those that can hold paragraphs
# Subtrees whose text is not printed (or is printed elsewhere).
_SKIP = {_w("del"), _w("moveFrom"), f"{{{MC}}}Fallback", _w("pPr"), _w("rPr"), _w("tblPr"), _w("trPr"), _w("tcPr"),
         _w("instrText"), _w("delText"), _w("delInstrText"), _w("footnoteReference"), _w("endnoteReference"),
         _w("commentReference")}

Where = tuple[int, int, int] | None  # (table, row, grid column) of a table cell; None outside tables
RawCell = tuple[str, Where]
RawRow = list[RawCell]


# ====================================================================== shared with html.py

_WS = re.compile(r"\s+")


def clean(text: str) -> str:
    """Cell text as the rules reader wants it: NFKC (text.normalise), one line, single spaces."""
    if len(text) <= _CACHED_LENGTH:
        return _clean_short(text)
    return _WS.sub(" ", normalise(text)).strip()


_CACHED_LENGTH = 256  # cell texts repeat (numbers, row labels) within a report and across reports


@functools.lru_cache(maxsize=1 << 16)
def _clean_short(text: str) -> str:
    return _WS.sub(" ", normalise(text)).strip()


def _word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def join_lines(lines: list[str]) -> str:
    """Lines of one cell -> one string: no space where a CJK line wraps, one between two words/numbers."""
    out = ""
    for line in lines:
        line = clean(line)
        if not line:
            continue
        if out and _word_char(out[-1]) and _word_char(line[0]):
            out += " "
        out += line
    return out


def join_text(text: str) -> str:
    """``join_lines(text.split("\\n"))``: the lines of a cell's text joined (short texts remembered)."""
    if len(text) <= _CACHED_LENGTH:
        return _join_text_short(text)
    return join_lines(text.split("\n"))


@functools.lru_cache(maxsize=1 << 15)
def _join_text_short(text: str) -> str:
    return join_lines(text.split("\n"))


def blank_cells(where: Where, span: int) -> RawRow:
    """An empty cell spanning ``span`` grid columns, as that many empty cells.

    A merged blank over five value columns (法人或其他组织 printed blank) must still fill five
    cells, or the values after it move left; before a label, extra blanks are harmless.
    A cell that prints something appears once, whatever it spans.
    """
    n = max(1, min(span, 64))
    if where is None:
        return [("", None)] * n
    table, row, col = where
    return [("", (table, row, col + i)) for i in range(n)]


def assemble(path: str, kind: str, rows: list[RawRow], encoding: str | None = None,
             notes: list[str] | None = None) -> Document:
    """Rows of (text, where) -> Document whose text is the rows joined, spans set on every cell."""
    lines: list[str] = []
    out: list[Row] = []
    pos = 0
    short, cached = _CACHED_LENGTH, _clean_short
    new = _new
    for raw in rows:
        texts = [cached(t) if len(t) <= short else clean(t) for t, _ in raw]
        if not any(texts):
            continue  # a row with nothing printed carries nothing for any reader
        cells = []
        for text, (_, where) in zip(texts, raw):
            end = pos + len(text)
            # new_location(pos, end, *where) and new_cell(text, loc), inline (a report has hundreds)
            loc = new(Location)
            loc.start = pos
            loc.end = end
            loc.page = loc.bbox = None
            if where is None:
                loc.table = loc.row = loc.col = None
            else:
                loc.table, loc.row, loc.col = where
            cell = new(Cell)
            cell.text = text
            cell.loc = loc
            cell.x = None
            cell.unsure = False
            cells.append(cell)
            pos = end + 1  # the tab after a cell, the newline after a row
        lines.append("\t".join(texts))
        out.append(new_row(cells))
    text = "\n".join(lines) + "\n" if lines else ""
    if not text.strip():
        raise EmptyDocument("the file holds no text")
    # the cells' values are this function's own strs and ints: built without validation
    return new_document(path, kind, text, out, encoding=encoding, notes=list(notes or []))


# ====================================================================== DOCX

def read_docx(data: bytes, path: str, max_bytes: int = MAX_TOTAL_UNCOMPRESSED) -> Document:
    """``max_bytes``: the most the package's parts may unpack to together (a zip bomb is refused)."""
    pkg = _Package(data, max_bytes)
    walker = _Walker(pkg)
    rows = walker.walk_body(pkg.body, pkg.plain_markup)
    images = 0 if walker.tables else sum(1 for el in pkg.body.iter(_w("drawing"), _w("pict")))
    if images:
        walker.notes.append(f"the DOCX shows {images} images and no table: its tables may be pictures")
    return assemble(path, "docx", rows, notes=walker.notes)


def check_zip(data: bytes, main: str = "word/document.xml", max_total: int = MAX_TOTAL_UNCOMPRESSED) -> zipfile.ZipFile:
    """Refuse zip bombs and encrypted members before anything is decompressed; the checked zip.

    The sizes checked are those the package declares; a member that unpacks to more than it
    declares is cut at its declared size by ``zipfile`` and fails its CRC check (CorruptFile).
    """
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        infos = package.infolist()
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError) as e:
        raise CorruptFile(f"not a readable DOCX (zip container is damaged: {e})") from e
    max_total = min(max_total, MAX_TOTAL_UNCOMPRESSED)
    total = 0
    for info in infos:
        total += info.file_size
        if info.flag_bits & 0x1:
            raise EncryptedFile("the DOCX package has encrypted members; remove the password and try again")
        if info.compress_type != zipfile.ZIP_STORED and info.compress_size > info.file_size * 1.02 + 1024:
            # Compression never grows data by more than a few bytes per block: the declared size lies, and
            # zipfile would inflate the member in one go (gigabytes, for a bomb) before finding out.
            raise CorruptFile(f"{info.filename} declares {info.file_size} bytes but holds {info.compress_size} "
                              "compressed: the zip's sizes lie (damaged, or a zip bomb)")
        if info.filename == main and info.file_size > MAX_DOCUMENT_XML:
            raise TooLarge(f"{main} unpacks to {info.file_size} bytes from {info.compress_size}, over the limit of "
                           f"{MAX_DOCUMENT_XML}: a zip bomb, or not a real report")
    if total > max_total:
        raise TooLarge(f"the DOCX package unpacks to {total} bytes from {len(data)}, over the limit of {max_total} "
                       "(--max-bytes): a zip bomb, or not a real report")
    return package


def _safe_xml(blob: bytes):
    """Parse a part as python-docx does (no entities, no network, blank text between tags dropped)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    return etree.fromstring(blob, parser)


_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_TYPES = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/",
              "http://purl.oclc.org/ooxml/officeDocument/relationships/")  # transitional, Strict


class _Part:
    def __init__(self, content_type: str, blob: bytes):
        self.content_type = content_type
        self.blob = blob


class _Package:
    """The parts of a DOCX package the walker needs: body, numbering, styles, related parts.

    Only these parts are read (python-docx would parse every part of the package): the main
    document found through the package relationships, and the parts it relates to by name.
    """

    def __init__(self, data: bytes, max_bytes: int = MAX_TOTAL_UNCOMPRESSED):
        package = check_zip(data, max_total=max_bytes)
        try:
            self.zip = package
            self.main = self._main_part_name()
            blob = self.zip.read(self.main)
            self.plain_markup = _plain_markup(blob)
            root = _safe_xml(blob)
            body = root.find(T_BODY)
            if body is None:
                if "purl.oclc.org/ooxml" in str(root.tag):
                    raise UnsupportedFormat("a Strict Open XML DOCX; re-save it as a regular Word document (.docx)")
                raise CorruptFile("the DOCX has no document body")
            self.body = body
            self.rels = self._rels(self.main)
            self.numbering = self._related_xml("numbering")
        except ExtractError:
            raise
        except zipfile.BadZipFile as e:  # a member inflating past its declared size fails its CRC here
            raise _bad_member(e) from e
        except Exception as e:  # KeyError for missing parts, lxml syntax errors, ...
            raise CorruptFile(f"not a readable DOCX: {type(e).__name__}: {e}") from e

    def _main_part_name(self) -> str:
        for rel_type, target, external in self._rels("").values():
            if rel_type == "officeDocument" and not external:
                return target
        raise KeyError("no relationship of type officeDocument in the package")

    def _rels(self, part: str) -> dict[str, tuple[str, str, bool]]:
        """rId -> (type's last word, member name of the target, external) for a part ("" for the package)."""
        folder, name = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", name + ".rels")
        try:
            rels = _safe_xml(self.zip.read(rels_name))
        except KeyError:  # a part without relationships
            return {}
        out = {}
        for rel in rels.iter(_PKG_REL):
            rel_type, target = rel.get("Type") or "", rel.get("Target") or ""
            if rel_type.startswith(_REL_TYPES):
                rel_type = rel_type.rsplit("/", 1)[1]
            external = rel.get("TargetMode") == "External"
            if not external:  # relative to the part's folder, or absolute from the package root
                target = posixpath.normpath(posixpath.join("/" + folder, target))[1:]
            out[rel.get("Id")] = (rel_type, target, external)
        return out

    def _related_xml(self, rel_type: str):
        for kind, target, external in self.rels.values():
            if kind == rel_type and not external:
                return _safe_xml(self.zip.read(target))
        return None

    def styles(self):
        """styles.xml (large in Word's templates): read only when a paragraph's number comes from its style."""
        try:
            return self._related_xml("styles")
        except zipfile.BadZipFile as e:
            raise _bad_member(e) from e
        except Exception as e:  # noqa: BLE001 - lxml syntax errors, a missing part
            raise CorruptFile(f"not a readable DOCX: {type(e).__name__}: {e}") from e

    def related(self, rid: str) -> _Part | None:
        """The part the main document relates to as ``rid``; None if there is none or it is a link."""
        rel = self.rels.get(rid)
        if rel is None or rel[2]:
            return None
        try:
            return _Part(self._content_type(rel[1]), self.zip.read(rel[1]))
        except zipfile.BadZipFile as e:
            raise _bad_member(e) from e
        except KeyError as e:
            raise CorruptFile(f"not a readable DOCX: KeyError: {e}") from e

    def _content_type(self, member: str) -> str:
        types = _safe_xml(self.zip.read("[Content_Types].xml"))
        for override in types.iter(f"{_CT}Override"):
            if (override.get("PartName") or "").lower() == "/" + member.lower():
                return override.get("ContentType") or ""
        ext = posixpath.splitext(member)[1][1:].lower()
        for default in types.iter(f"{_CT}Default"):
            if (default.get("Extension") or "").lower() == ext:
                return default.get("ContentType") or ""
        return ""


def _bad_member(e: Exception) -> CorruptFile:
    return CorruptFile(f"not a readable DOCX: a part does not match its size or checksum in the zip "
                       f"(damaged, or a zip bomb): {e}")


# ---------------------------------------------------------------- numbering

_CN_DIGITS = "零一二三四五六七八九"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_DIZHI = "子丑寅卯辰巳午未申酉戌亥"


def _chinese(n: int) -> str:
    if n < 0 or n >= 10000:
        return str(n)
    if n < 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    out, units = "", ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    zero = False
    for value, unit in units:
        d = n // value % 10
        if d:
            if zero and out:
                out += "零"
            out += _CN_DIGITS[d] + unit
            zero = False
        else:
            zero = True
    return out


def _roman(n: int) -> str:
    if not 0 < n < 4000:
        return str(n)
    out = ""
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                       (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + sym, n - value
    return out


def _letters(n: int) -> str:
    if n <= 0:
        return str(n)
    return chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def format_number(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "japaneseCounting",
               "taiwaneseCounting", "taiwaneseCountingThousand", "koreanCounting", "ideographLegalTraditional"):
        return _chinese(n)
    if fmt == "ideographTraditional":
        return _TIANGAN[(n - 1) % 10] if n > 0 else str(n)
    if fmt == "ideographZodiac":
        return _DIZHI[(n - 1) % 12] if n > 0 else str(n)
    if fmt == "upperLetter":
        return _letters(n)
    if fmt == "lowerLetter":
        return _letters(n).lower()
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if fmt == "decimalEnclosedParen":
        return f"({n})"
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt in ("none", "bullet"):
        return ""
    return str(n)  # decimal, decimalFullWidth (NFKC makes it ASCII anyway), anything unknown


class _Numbering:
    """Renders the automatic number of a numbered paragraph, counting as Word does (document order)."""

    def __init__(self, numbering, styles=None):
        """``styles``: a function that returns styles.xml, called the first time a style is looked up."""
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}  # numId -> (abstractNumId, start overrides)
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}  # abstractNumId -> ilvl -> (start, fmt, text)
        self.counters: dict[str, dict[int, int]] = {}
        self.style_num: dict[str, tuple[str | None, int | None]] = {}
        self.style_based: dict[str, str] = {}
        self.styles = styles
        self.pending = numbering  # numbering.xml, read the first time a paragraph with properties asks (load())

    def load(self) -> None:
        """Read numbering.xml into ``nums`` and ``levels`` (once; most paragraphs have no properties)."""
        if self.pending is not None:
            root, self.pending = self.pending, None
            self._load_numbering(root)

    def _load_numbering(self, root) -> None:
        for an in root.iter(_w("abstractNum")):
            aid = an.get(_w("abstractNumId"))
            levels = {}
            for lvl in an.iterchildren(_LVL):
                ilvl = _int(lvl.get(T_ILVL), 0)
                start, fmt, text = _first_children(lvl, _LVL_PARTS)  # lvl.find(...) of each, in one pass
                levels[ilvl] = (_int(_val(start), 1), _val(fmt) or "decimal", _val(text) or "")
            self.levels[aid] = levels
        for num in root.iter(_w("num")):
            nid = num.get(_w("numId"))
            aid = _val(num.find(_w("abstractNumId")))
            overrides = {}
            for ov in num.findall(_w("lvlOverride")):
                so = ov.find(_w("startOverride"))
                if so is not None:
                    overrides[_int(ov.get(_w("ilvl")), 0)] = _int(_val(so), 1)
            self.nums[nid] = (aid, overrides)

    def _load_styles(self, root) -> None:
        for st in root.iter(_w("style")):
            sid = st.get(_w("styleId"))
            based = _val(st.find(_w("basedOn")))
            if based:
                self.style_based[sid] = based
            numpr = st.find(f"{_w('pPr')}/{_w('numPr')}")
            if numpr is not None:
                self.style_num[sid] = (_val(numpr.find(_w("numId"))), _int(_val(numpr.find(_w("ilvl"))), None))

    def label(self, p) -> str:
        """The printed number of paragraph ``p`` ("" when it has none); advances the counters."""
        ppr = _child(p, T_PPR)
        if ppr is None:
            return ""
        if self.pending is not None:
            self.load()
        if not self.nums:
            return ""
        num_id, ilvl = None, None
        if ppr is not None:
            numpr = _child(ppr, T_NUMPR)
            if numpr is not None:
                num_id = _val(_child(numpr, T_NUMID))
                ilvl = _int(_val(_child(numpr, T_ILVL)), None)
            style = _val(_child(ppr, T_PSTYLE))
            if style and (num_id is None or ilvl is None) and self.styles is not None:
                root, self.styles = self.styles(), None
                if root is not None:
                    self._load_styles(root)
            seen = 0
            while style and (num_id is None or ilvl is None) and seen < 12:
                s_num, s_lvl = self.style_num.get(style, (None, None))
                num_id = num_id if num_id is not None else s_num
                ilvl = ilvl if ilvl is not None else s_lvl
                style, seen = self.style_based.get(style), seen + 1
        if not num_id or num_id == "0" or num_id not in self.nums:
            return ""
        ilvl = ilvl or 0
        aid, overrides = self.nums[num_id]
        levels = self.levels.get(aid, {})
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id if overrides else aid, {})
        start = overrides.get(ilvl, levels[ilvl][0])
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else start
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        _, fmt, text = levels[ilvl]
        if fmt == "bullet" or fmt == "none":
            return ""

        def sub(m: re.Match) -> str:
            lvl = int(m.group(1)) - 1
            if lvl not in levels:
                return ""
            value = counters.get(lvl, overrides.get(lvl, levels[lvl][0]))
            return format_number(value, levels[lvl][1])

        return re.sub(r"%(\d)", sub, text)


_LVL = _w("lvl")
_LVL_PARTS = (_w("start"), _w("numFmt"), _w("lvlText"))


def _first_children(el, tags: tuple[str, ...]) -> list:
    """The first child of ``el`` with each of ``tags`` (None where there is none)."""
    found = [None] * len(tags)
    for child in el:
        tag = child.tag
        if tag in tags:
            i = tags.index(tag)
            if found[i] is None:
                found[i] = child
    return found


def _val(el) -> str | None:
    return None if el is None else el.get(T_VAL)


def _int(text: str | None, default):
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


# ---------------------------------------------------------------- body walk

class _Walker:
    def __init__(self, pkg: _Package):
        self.pkg = pkg
        self.numbering = _Numbering(pkg.numbering, pkg.styles)
        self.rows: list[RawRow] = []
        self.tables = 0
        self.notes: list[str] = []

    def walk(self, container) -> list[RawRow]:
        for n, el in enumerate(_iter_blocks(container)):
            if not n & 255:
                check_deadline()
            if el.tag == T_P:
                self._paragraph(el)
            elif el.tag == T_TBL:
                self._table(el, 0)
            elif el.tag == T_ALTCHUNK:
                self._alt_chunk(el)
        return self.rows

    def walk_body(self, body, plain_markup: bool = False) -> list[RawRow]:
        """``walk(body)``, by ``_walk_plain`` where the body has the plain shape it checks for.

        ``plain_markup``: the part holds no comment, CDATA, DTD or processing instruction.
        """
        if plain_markup:
            rows = self._walk_plain(body)
            if rows is not None:
                return rows
            self.__init__(self.pkg)  # what the plain walk did is dropped (numbering counters included)
        return self.walk(body)

    def _walk_plain(self, body) -> list[RawRow] | None:
        """``walk`` over a body where Word puts things; None (having read and numbered some
        paragraphs, maybe) where the body is not so.

        Where Word puts things: every paragraph a child of the body or of a cell (``w:tc`` child of a
        ``w:tr`` child of a ``w:tbl`` child of the body), every table, row and cell where that says;
        every text node in a ``w:t`` that holds no element and is the child of a run (``w:r``) child
        of a paragraph; no other printing element (tab, break, ...) and no altChunk. The body's blocks
        are then its p and tbl children in order (wrappers hold none), a table's rows its tr children,
        a row's cells its tc children, a cell's blocks its p children, and a paragraph's or a cell's
        text its text nodes joined (``tostring(method="text")``): what ``walk`` reads from them.

        One pass in C over the body (``iter`` with tags) finds what would stop the walk, the paragraphs
        with properties (numbering) and the cells and rows with merges or ``gridBefore``; only those
        are read element by element. Whether paragraphs, tables, rows and cells all stand where
        the walk looked for them is checked after it, by counting them in C.
        """
        from lxml.etree import tostring

        numbered_ps = set()
        merged = set()  # cells with a gridSpan, vMerge or hMerge in their properties (and others)
        before = set()  # rows with a gridBefore in their properties (and others)
        for el in body.iter(*_PLAIN_SCAN):
            tag = el.tag
            if tag == T_PPR:
                numbered_ps.add(el.getparent())
            elif tag == T_GRIDBEFORE:
                before.add(el.getparent().getparent())
            elif tag in _MERGES:
                merged.add(el.getparent().getparent())
            else:  # a printing element other than w:t, or an altChunk
                return None
        if numbered_ps:
            self.numbering.load()
            if not self.numbering.nums:
                numbered_ps = ()  # label() is "" for every paragraph
        numbered_cells = {p.getparent() for p in numbered_ps}
        counts, second_paragraphs = _plain_xpaths()
        multi = {p.getparent() for p in second_paragraphs(body)}
        label = self.numbering.label
        rows = self.rows
        body_ps = tables = n_rows = n_cells = 0
        for el in body:
            tag = el.tag
            if tag == T_P:
                if not (body_ps + tables) & 255:
                    check_deadline()
                body_ps += 1
                text = tostring(el, method="text", encoding=str, with_tail=False)
                if el in numbered_ps:
                    text = label(el) + text
                for line in text.split("\n"):
                    pieces = [s for s in line.split("\t") if s.strip()]
                    if pieces:
                        rows.append([(s, None) for s in pieces])
            elif tag == T_TBL:
                if not (body_ps + tables) & 255:
                    check_deadline()
                tables += 1
                t = self.tables
                self.tables += 1
                r = 0
                for tr in el.iterchildren(T_TR):
                    if not r & 255:
                        check_deadline()
                    tcs = list(tr.iterchildren(T_TC))
                    n_cells += len(tcs)
                    col = 0
                    if tr in before:
                        col = _int(_val(_grid_before([c for c in tr if c.tag == T_TRPR])), 0)
                    cells: RawRow = []
                    for tc in tcs:
                        if tc in merged:
                            span, vmerge, hmerge = _cell_merge(_child(tc, T_TCPR))
                            where = (t, r, col)
                            col += span
                            if hmerge is not None and _val(hmerge) != "restart":
                                continue
                            if vmerge is not None and _val(vmerge) != "restart":
                                cells += blank_cells(where, span)
                                continue
                        else:
                            span = 1
                            where = (t, r, col)
                            col += 1
                        if tc in multi or tc in numbered_cells:
                            paragraphs = []
                            for child in tc.iterchildren(T_P):
                                text = tostring(child, method="text", encoding=str, with_tail=False)
                                paragraphs.append(label(child) + text if child in numbered_ps else text)
                            text = join_text("\n".join(paragraphs))
                        else:  # one paragraph, or none: the cell's text nodes are the paragraph's
                            text = join_text(tostring(tc, method="text", encoding=str, with_tail=False))
                        if text:
                            cells.append((text, where))
                        else:
                            cells += blank_cells(where, span)
                    rows.append(cells)
                    r += 1
                n_rows += r
        if counts(body) != f"{body_ps},{tables},{n_rows},{n_cells},1":
            return None
        return rows

    def _paragraph(self, p) -> None:
        text = self.numbering.label(p) + paragraph_text(p)
        for line in text.split("\n"):
            pieces = [s for s in line.split("\t") if s.strip()]
            if pieces:
                self.rows.append([(s, None) for s in pieces])

    def _table(self, tbl, depth: int) -> None:
        t = self.tables
        self.tables += 1
        label = self.numbering.label
        for r, tr in enumerate(_iter_children(tbl, T_TR)):
            if not r & 255:
                check_deadline()
            tcs, props = _row_parts(tr)
            col = _int(_val(_grid_before(props)), 0)
            cells: RawRow = []
            nested: list = []
            for tc in tcs:
                span, vmerge, hmerge = _cell_merge(_child(tc, T_TCPR))
                where = (t, r, col)
                col += span
                if hmerge is not None and _val(hmerge) != "restart":
                    continue  # legacy horizontal merge: the text is in the restart cell
                if vmerge is not None and _val(vmerge) != "restart":
                    cells += blank_cells(where, span)  # continuation of the cell above
                    continue
                paragraphs = []
                for el in _blocks(tc):
                    if el.tag == T_P:
                        paragraphs.append(label(el) + paragraph_text(el))
                    elif el.tag == T_TBL:
                        nested.append(el)
                text = join_text("\n".join(paragraphs))
                cells += [(text, where)] if text else blank_cells(where, span)
            self.rows.append(cells)
            for inner in nested:
                if depth >= MAX_TABLE_NESTING:
                    self.notes.append("tables nested deeper than %d levels were not read" % MAX_TABLE_NESTING)
                    continue
                self._table(inner, depth + 1)

    def _alt_chunk(self, el) -> None:
        part = self.pkg.related(el.get(f"{{{R}}}id") or "")
        if part is None:
            return
        from extractor.ingest.html import html_rows, mht_html

        ctype = (part.content_type or "").lower()
        blob, hint = part.blob, None
        try:
            if "rfc822" in ctype or "mhtml" in ctype or blob.lstrip()[:13].lower() == b"mime-version:":
                extracted = mht_html(blob)
                if extracted is None:
                    return
                blob, hint = extracted
                ctype = "text/html"
            if "html" in ctype or b"<html" in blob[:2048].lower():
                rows, _, _ = html_rows(blob, table_offset=self.tables, charset_hint=hint)
            else:  # plain text chunk
                from extractor.ingest.text import decode

                rows = [[(line, None)] for line in decode(blob)[0].splitlines()]
        except ExtractError as e:
            self.notes.append(f"an embedded chunk could not be read: {e}")
            return
        self.tables = max([self.tables] + [where[0] + 1 for row in rows for _, where in row if where is not None])
        self.rows.extend(rows)
        self.notes.append("read an embedded HTML chunk (altChunk)")


_NS = {"w": W}
_MERGES = frozenset((T_GRIDSPAN, T_VMERGE, T_HMERGE))
# What _walk_plain's first pass looks for: paragraph properties, merges, gridBefore; printing
# elements other than w:t and altChunk (it does not read a body holding those).
_PLAIN_SCAN = (T_PPR, T_GRIDSPAN, T_VMERGE, T_HMERGE, T_GRIDBEFORE, _w("tab"), _w("ptab"), _w("br"), _w("cr"),
               _w("noBreakHyphen"), T_ALTCHUNK)
_compiled = threading.local()  # an XPath evaluator is used by one thread at a time


def _plain_xpaths() -> tuple:
    """_walk_plain's XPath evaluators (this thread's): counts and second paragraphs of cells."""
    xpaths = getattr(_compiled, "plain", None)
    if xpaths is None:
        from lxml import etree

        # Paragraphs that are not a cell's child, tables, rows and cells in the body, and 1 if every
        # text node is a w:t's, every w:t (holding no element) the child of a run child of a paragraph.
        counts = etree.XPath(
            "concat(count(.//w:p) - count(.//w:tc/w:p), ',', count(.//w:tbl), ',', count(.//w:tr), ',',"
            " count(.//w:tc), ',', number(count(.//text()) = count(.//w:p/w:r/w:t/text()) and not(.//w:t/*)))",
            namespaces=_NS)
        xpaths = _compiled.plain = (counts, etree.XPath(".//w:tc/w:p[2]", namespaces=_NS))
    return xpaths


def _plain_markup(blob: bytes) -> bool:
    """No comment, CDATA section, DTD or processing instruction (but the XML declaration) in a part."""
    if b"<!" in blob:
        return False
    first = blob.find(b"<?")
    return first < 0 or (blob.find(b"<?", first + 2) < 0 and not blob[:first].strip(b"\xef\xbb\xbf \t\r\n"))


def _blocks(container) -> list:
    """Paragraphs, tables and altChunks of a container in order, looking through wrappers (no recursion):
    a list, made in one pass over a container without wrappers (a table cell, nearly always)."""
    out = []
    el = container[0] if len(container) else None
    while el is not None:
        tag = el.tag
        if tag == T_P or tag == T_TBL or tag == T_ALTCHUNK:
            out.append(el)
        elif tag in _BLOCK_WRAPPERS:
            out.extend(_iter_blocks(el))
        el = el.getnext()
    return out


def _iter_blocks(container) -> Iterator:
    """``_blocks`` one at a time."""
    stack = [iter(container)]
    while stack:
        el = next(stack[-1], None)
        if el is None:
            stack.pop()
            continue
        tag = el.tag
        if tag in (T_P, T_TBL, T_ALTCHUNK):
            yield el
        elif tag in _BLOCK_WRAPPERS:
            stack.append(iter(el))


def _cell_merge(tcpr) -> tuple[int, object, object]:
    """(grid columns spanned, vMerge element, hMerge element) from a cell's properties (may be None)."""
    span = vmerge = hmerge = None  # the first of each
    prop = tcpr[0] if tcpr is not None and len(tcpr) else None
    while prop is not None:
        tag = prop.tag
        if tag == T_GRIDSPAN:
            if span is None:
                span = prop
        elif tag == T_VMERGE:
            if vmerge is None:
                vmerge = prop
        elif tag == T_HMERGE:
            if hmerge is None:
                hmerge = prop
        prop = prop.getnext()
    return (1 if span is None else max(1, _int(_val(span), 1))), vmerge, hmerge


def _child(el, tag: str):
    """The first child called ``tag`` (``find`` without its path machinery).

    Children are visited by ``el[0]`` and ``getnext()`` (the same nodes ``for child in el`` gives):
    making an lxml iterator costs more than the few steps it takes, properties come first.
    """
    child = el[0] if len(el) else None
    while child is not None:
        if child.tag == tag:
            return child
        child = child.getnext()
    return None


_ROW_WRAPPERS = (T_SDT, T_SDTCONTENT, T_CUSTOMXML)


def _iter_children(el, tag: str) -> Iterator:
    """Direct children with ``tag``, looking through content controls and custom XML."""
    stack = [iter(el)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if child.tag == tag:
            yield child
        elif child.tag in _ROW_WRAPPERS:
            stack.append(iter(child))


def _row_parts(tr) -> tuple[list, list]:
    """A row's cells (``_iter_children(tr, T_TC)``) and its ``w:trPr`` children, in one pass over it."""
    cells, props = [], []
    for child in tr:
        tag = child.tag
        if tag == T_TC:
            cells.append(child)
        elif tag == T_TRPR:
            props.append(child)
        elif tag in _ROW_WRAPPERS:
            cells.extend(_iter_children(child, T_TC))
    return cells, props


def _grid_before(props: list):
    """``tr.find("w:trPr/w:gridBefore")`` given the row's trPr children."""
    for trpr in props:
        for child in trpr:
            if child.tag == T_GRIDBEFORE:
                return child
    return None


_T, _TAB, _PTAB, _BR, _CR = _w("t"), _w("tab"), _w("ptab"), _w("br"), _w("cr")
_NBH, _SOFTH, _SYM = _w("noBreakHyphen"), _w("softHyphen"), _w("sym")


def paragraph_text(p) -> str:
    """The printed text of a paragraph: runs (inserted ones too), tabs as tabs, breaks as newlines.

    Text boxes anchored in the paragraph are read once, as lines of their own.
    """
    text = _runs_text(p)
    return _boxed_paragraph_text(p) if text is None else text


_NOT_PRINTED = frozenset(_SKIP | {T_TBL})


def _runs_text(p) -> str | None:
    """``paragraph_text`` of a paragraph without text boxes (nearly all of them), in one pass over its
    descendants in document order, not entering those not printed; None if it holds a text box's
    paragraph. The walk follows ``el[0]``, ``getnext()`` and ``getparent()`` (cheaper than an lxml
    iterator per element, or one over the whole paragraph that has to be told what to skip)."""
    out: list[str] = []
    el = p[0] if len(p) else None
    while el is not None:
        tag = el.tag
        if tag not in _NOT_PRINTED:
            if tag == _T:
                out.append(el.text or "")
            elif tag == _TAB or tag == _PTAB:
                out.append("\t")
            elif tag == _BR or tag == _CR:
                out.append("\n")
            elif tag == _NBH:
                out.append("-")
            elif tag == T_P:
                return None
            if len(el):
                el = el[0]
                continue
        while True:  # the next node after ``el``'s subtree, or None at the end of the paragraph
            following = el.getnext()
            if following is not None:
                el = following
                break
            el = el.getparent()
            if el is p:
                el = None
                break
    return "".join(out)


def _boxed_paragraph_text(p) -> str:
    from lxml import etree

    out: list[str] = []
    walker = etree.iterwalk(p, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if event == "end":
            if tag == T_P and el is not p:
                out.append("\n")  # paragraph of a text box
            continue
        if tag in _NOT_PRINTED:
            walker.skip_subtree()
        elif tag == _T:
            out.append(el.text or "")
        elif tag in (_TAB, _PTAB):
            out.append("\t")
        elif tag in (_BR, _CR):
            out.append("\n")
        elif tag == _NBH:
            out.append("-")
    return "".join(out)
