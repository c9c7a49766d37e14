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

import io
import re
import zipfile
from typing import Iterator

from extractor.document import Cell, Document, Location, Row
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
# Wrappers whose children are read as if they stood in the wrapper's place.
_WRAPPERS = {T_SDT, T_SDTCONTENT, T_CUSTOMXML, _w("ins"), _w("moveTo"), _w("smartTag"), _w("fldSimple"),
             _w("hyperlink"), f"{{{MC}}}AlternateContent", f"{{{MC}}}Choice"}
# Subtrees whose text is not printed (or is printed elsewhere).
_SKIP = {_w("del"), _w("moveFrom"), f"{{{MC}}}Fallback", _w("pPr"), _w("rPr"), _w("tblPr"), _w("trPr"), _w("tcPr"),
         _w("instrText"), _w("delText"), _w("delInstrText"), _w("footnoteReference"), _w("endnoteReference"),
         _w("commentReference")}

RawCell = tuple[str, Location]
RawRow = list[RawCell]


# ====================================================================== shared with html.py

_WS = re.compile(r"\s+")


def clean(text: str) -> str:
    """Cell text as the rules reader wants it: NFKC (text.normalise), one line, single spaces."""
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


def blank_cells(loc: Location, span: int) -> RawRow:
    """An empty cell spanning ``span`` grid columns, as that many empty cells.

    A merged blank over five value columns (法人或其他组织 printed blank) must still fill five
    cells, or the values after it move left; before a label, extra blanks are harmless.
    A cell that prints something appears once, whatever it spans.
    """
    return [("", loc.model_copy(update={"col": None if loc.col is None else loc.col + i}))
            for i in range(max(1, min(span, 64)))]


def assemble(path: str, kind: str, rows: list[RawRow], encoding: str | None = None,
             notes: list[str] | None = None) -> Document:
    """Rows of (text, location) -> Document whose text is the rows joined, spans set on every cell."""
    parts: list[str] = []
    out: list[Row] = []
    pos = 0
    for raw in rows:
        texts = [clean(t) for t, _ in raw]
        if not any(texts):
            continue  # a row with nothing printed carries nothing for any reader
        cells = []
        for i, (text, (_, loc)) in enumerate(zip(texts, raw)):
            if i:
                parts.append("\t")
                pos += 1
            loc = loc.model_copy(update={"start": pos, "end": pos + len(text)})
            cells.append(Cell(text=text, loc=loc))
            parts.append(text)
            pos += len(text)
        parts.append("\n")
        pos += 1
        out.append(Row(cells=cells))
    text = "".join(parts)
    if not text.strip():
        raise EmptyDocument("the file holds no text")
    return Document(path=path, kind=kind, text=text, rows=out, encoding=encoding, notes=list(notes or []))


# ====================================================================== DOCX

def read_docx(data: bytes, path: str, max_bytes: int = MAX_TOTAL_UNCOMPRESSED) -> Document:
    """``max_bytes``: the most the package's parts may unpack to together (a zip bomb is refused)."""
    pkg = _Package(data, max_bytes)
    walker = _Walker(pkg)
    rows = walker.walk(pkg.body)
    images = sum(1 for el in pkg.body.iter(_w("drawing"), _w("pict")))
    if images and not walker.tables:
        walker.notes.append(f"the DOCX shows {images} images and no table: its tables may be pictures")
    return assemble(path, "docx", rows, notes=walker.notes)


def check_zip(data: bytes, main: str = "word/document.xml", max_total: int = MAX_TOTAL_UNCOMPRESSED) -> None:
    """Refuse zip bombs and encrypted members before anything is decompressed.

    The sizes checked are those the package declares; a member that unpacks to more than it
    declares is cut at its declared size by ``zipfile`` and fails its CRC check (CorruptFile).
    """
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
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


def _safe_xml(blob: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    return etree.fromstring(blob, parser)


class _Package:
    """The parts of a DOCX package the walker needs: body, numbering, styles, related parts."""

    def __init__(self, data: bytes, max_bytes: int = MAX_TOTAL_UNCOMPRESSED):
        check_zip(data, max_total=max_bytes)
        try:
            from docx.opc.constants import RELATIONSHIP_TYPE as RT
            from docx.opc.package import OpcPackage

            pkg = OpcPackage.open(io.BytesIO(data))
            main = pkg.main_document_part
            root = getattr(main, "element", None)
            if root is None:  # .docm / .dotx / unknown content type: python-docx keeps only the blob
                root = _safe_xml(main.blob)
            body = root.find(T_BODY)
            if body is None:
                if "purl.oclc.org/ooxml" in str(root.tag):
                    raise UnsupportedFormat("a Strict Open XML DOCX; re-save it as a regular Word document (.docx)")
                raise CorruptFile("the DOCX has no document body")
            self.body = body
            self.main = main
            self.numbering = self._related_xml(RT.NUMBERING)
            self.styles = self._related_xml(RT.STYLES)
        except ExtractError:
            raise
        except zipfile.BadZipFile as e:  # a member inflating past its declared size fails its CRC here
            raise CorruptFile(f"not a readable DOCX: a part does not match its size or checksum in the zip "
                              f"(damaged, or a zip bomb): {e}") from e
        except Exception as e:  # KeyError for missing parts, lxml syntax errors, ...
            raise CorruptFile(f"not a readable DOCX: {type(e).__name__}: {e}") from e

    def _related_xml(self, reltype: str):
        for rel in self.main.rels.values():
            if rel.reltype == reltype and not rel.is_external:
                part = rel.target_part
                el = getattr(part, "element", None)
                return el if el is not None else _safe_xml(part.blob)
        return None

    def related(self, rid: str):
        rel = self.main.rels.get(rid)
        if rel is None or rel.is_external:
            return None
        return rel.target_part


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

    def __init__(self, numbering, styles):
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}  # numId -> (abstractNumId, start overrides)
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}  # abstractNumId -> ilvl -> (start, fmt, text)
        self.counters: dict[str, dict[int, int]] = {}
        self.style_num: dict[str, tuple[str | None, int | None]] = {}
        self.style_based: dict[str, str] = {}
        if numbering is not None:
            self._load_numbering(numbering)
        if styles is not None:
            self._load_styles(styles)

    def _load_numbering(self, root) -> None:
        for an in root.iter(_w("abstractNum")):
            aid = an.get(_w("abstractNumId"))
            levels = {}
            for lvl in an.findall(_w("lvl")):
                ilvl = _int(lvl.get(_w("ilvl")), 0)
                start = _int(_val(lvl.find(_w("start"))), 1)
                fmt = _val(lvl.find(_w("numFmt"))) or "decimal"
                text = _val(lvl.find(_w("lvlText")))
                levels[ilvl] = (start, fmt, "" if text is None else text)
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
        if not self.nums:
            return ""
        num_id, ilvl = None, None
        ppr = p.find(_w("pPr"))
        if ppr is not None:
            numpr = ppr.find(_w("numPr"))
            if numpr is not None:
                num_id = _val(numpr.find(_w("numId")))
                ilvl = _int(_val(numpr.find(_w("ilvl"))), None)
            style = _val(ppr.find(_w("pStyle")))
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


def _val(el) -> str | None:
    return None if el is None else el.get(_w("val"))


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
        for n, el in enumerate(_blocks(container)):
            if not n & 255:
                check_deadline()
            if el.tag == T_P:
                self._paragraph(el)
            elif el.tag == T_TBL:
                self._table(el, 0)
            elif el.tag == T_ALTCHUNK:
                self._alt_chunk(el)
        return self.rows

    def _paragraph(self, p) -> None:
        text = self.numbering.label(p) + paragraph_text(p)
        for line in text.split("\n"):
            pieces = [s for s in line.split("\t") if s.strip()]
            if pieces:
                self.rows.append([(s, Location()) for s in pieces])

    def _table(self, tbl, depth: int) -> None:
        t = self.tables
        self.tables += 1
        for r, tr in enumerate(_children(tbl, T_TR)):
            if not r & 255:
                check_deadline()
            col = _int(_val(tr.find(f"{_w('trPr')}/{_w('gridBefore')}")), 0)
            cells: RawRow = []
            nested: list = []
            for tc in _children(tr, T_TC):
                tcpr = tc.find(_w("tcPr"))
                span = max(1, _int(_val(tcpr.find(_w("gridSpan"))) if tcpr is not None else None, 1))
                vmerge = tcpr.find(_w("vMerge")) if tcpr is not None else None
                hmerge = tcpr.find(_w("hMerge")) if tcpr is not None else None
                loc = Location(table=t, row=r, col=col)
                col += span
                if hmerge is not None and _val(hmerge) != "restart":
                    continue  # legacy horizontal merge: the text is in the restart cell
                if vmerge is not None and _val(vmerge) != "restart":
                    cells += blank_cells(loc, span)  # continuation of the cell above
                    continue
                lines = []
                for el in _blocks(tc):
                    if el.tag == T_P:
                        lines.append(self.numbering.label(el) + paragraph_text(el))
                    elif el.tag == T_TBL:
                        nested.append(el)
                text = join_lines([s for line in lines for s in line.split("\n")])
                cells += [(text, loc)] if text else blank_cells(loc, span)
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

                rows = [[(line, Location())] for line in decode(blob)[0].splitlines()]
        except ExtractError as e:
            self.notes.append(f"an embedded chunk could not be read: {e}")
            return
        self.tables = max([self.tables] + [loc.table + 1 for row in rows for _, loc in row if loc.table is not None])
        self.rows.extend(rows)
        self.notes.append("read an embedded HTML chunk (altChunk)")


def _blocks(container) -> Iterator:
    """Paragraphs, tables and altChunks of a container in order, looking through wrappers (no recursion)."""
    stack = [iter(container)]
    while stack:
        el = next(stack[-1], None)
        if el is None:
            stack.pop()
            continue
        tag = el.tag
        if tag in (T_P, T_TBL, T_ALTCHUNK):
            yield el
        elif tag in _WRAPPERS and tag not in (_w("hyperlink"), _w("fldSimple"), _w("smartTag")):
            stack.append(iter(el))


def _children(el, tag: str) -> Iterator:
    """Direct children with ``tag``, looking through content controls and custom XML."""
    stack = [iter(el)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if child.tag == tag:
            yield child
        elif child.tag in (T_SDT, T_SDTCONTENT, T_CUSTOMXML):
            stack.append(iter(child))


_T, _TAB, _PTAB, _BR, _CR = _w("t"), _w("tab"), _w("ptab"), _w("br"), _w("cr")
_NBH, _SOFTH, _SYM = _w("noBreakHyphen"), _w("softHyphen"), _w("sym")


def paragraph_text(p) -> str:
    """The printed text of a paragraph: runs (inserted ones too), tabs as tabs, breaks as newlines.

    Text boxes anchored in the paragraph are read once, as lines of their own.
    """
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
        if tag in _SKIP or tag == T_TBL:
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
