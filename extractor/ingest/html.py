"""HTML (saved web pages, MHT archives, HTML chunks inside DOCX) -> Document.

Charset: a BOM; else bytes that are valid UTF-8 are UTF-8 (whatever the page declares: a page
saved from a browser is often re-encoded without its ``<meta charset>`` being updated); else the
``<meta charset>`` / ``http-equiv`` declaration, else a saved HTTP header at the top of the file
("Content-Type: text/html; charset=gbk"), each only if the bytes decode with it; else detection
(``text.decode``). GBK / GB2312 are decoded as GB18030, their superset.

Parsing is BeautifulSoup with the lxml builder (which, unlike ``lxml.html``, does not drop the
rest of a page nested deeper than 255 levels); every walk over the tree is iterative, so deeply
nested markup cannot exhaust the stack.

Dropped before anything becomes a row: script, style, forms' controls, ``nav``, ``footer``,
hidden elements, and elements whose class/id say navigation, menu, breadcrumb, footer (and
header / banner, unless they hold the report's title). Block elements, ``br`` and layout tables
give one-cell rows; each ``tr`` of a data table gives a row of its cells: a ``colspan`` cell
appears once, a ``rowspan`` cell in its first row only, with an empty cell at its position in
the rows below (as DOCX merged cells read); an empty cell spanning n columns is n empty cells,
so the values after it keep their columns. A table is layout, not data, when it holds another
table, has a single column, or a cell holds several paragraphs of running text.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import re
import warnings

from extractor.document import Document, Location
from extractor.errors import DecodeFailed, EmptyDocument
from extractor.ingest.docx import RawRow, assemble, blank_cells, clean, join_lines
from extractor.ingest.text import decode
from extractor.limits import check_deadline

_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_HTTP_LINE = re.compile(rb"^(?:HTTP/\d(?:\.\d)?\s+\d{3}[^\n]*|[A-Za-z][A-Za-z0-9\-]*:[^\n]*)\r?\n", re.M)
_HEADER_CHARSET = re.compile(rb"^content-type:[^\n]*?charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.I | re.M)

BLOCK = frozenset("""
    address article aside blockquote body caption center dd details dialog dir div dl dt fieldset figcaption
    figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu ol p pre section summary
    table tbody td tfoot th thead tr ul
""".split())
ALWAYS_DROP = frozenset("""
    script style noscript template nav iframe frame frameset object embed applet svg math canvas audio video
    select option optgroup button input textarea datalist head title meta link base map area
""".split())
# class / id words: whole words (after splitting on separators and camelCase) ...
_NAV_WORDS = {"nav", "navbar", "navigation", "navi", "menu", "menus", "menubar", "submenu", "breadcrumb",
              "breadcrumbs", "crumb", "crumbs", "position", "toolbar", "topbar", "sitemap", "share", "skip"}
_FOOT_WORDS = {"footer", "foot", "bottom", "copyright", "copy", "ft"}
_HEAD_WORDS = {"header", "head", "top", "banner", "logo", "masthead", "hd"}
# ... or fragments of a run-together word ("leftmenu", "pageFooter", "sitenav").
_NAV_FRAGMENTS = ("menu", "breadcrumb", "crumb", "navbar", "navigation")
_FOOT_FRAGMENTS = ("footer", "copyright")
_HEAD_FRAGMENTS = ("header", "banner")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def read_html(data: bytes, path: str) -> Document:
    hint = None
    if _looks_like_mime(data):
        extracted = mht_html(data)
        if extracted is None:
            raise EmptyDocument("the MHT archive holds no HTML part")
        data, hint = extracted
    rows, encoding, notes = html_rows(data, charset_hint=hint)
    return assemble(path, "html", rows, encoding=encoding, notes=notes)


def html_rows(data: bytes, table_offset: int = 0, charset_hint: str | None = None) -> tuple[list[RawRow], str, list[str]]:
    """Bytes of a page -> (rows of (text, location), encoding used, notes)."""
    body, header_charset = strip_http_header(data)
    text, encoding, notes = decode_html(body, header_charset or charset_hint)
    soup = _parse(text)
    walker = _Walker(table_offset)
    rows = walker.walk(soup)
    return rows, encoding, notes + walker.notes


# ---------------------------------------------------------------- bytes -> str

def strip_http_header(data: bytes) -> tuple[bytes, str | None]:
    """A saved HTTP response ("HTTP/1.1 200 OK", "Content-Type: …; charset=gbk", blank line, page)."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not _HTTP_LINE.match(head) or head[:1] == b"<":
        return data, None
    pos = 0
    while True:
        m = _HTTP_LINE.match(head, pos)
        if not m:
            break
        pos = m.end()
    header = head[:pos]
    rest = head[pos:]
    m = _HEADER_CHARSET.search(header)
    return rest, (m.group(1).decode("ascii", "replace") if m else None)


def codec_name(label: str | None) -> str | None:
    """A declared charset label -> a Python codec name (GBK family -> gb18030); None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in ("gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936", "ms936", "windows-936", "euc-cn",
                 "csgb2312", "iso-ir-58", "chinese"):
        return "gb18030"
    if label in ("big5", "big5-hkscs", "x-x-big5"):
        return "big5hkscs"
    if label == "utf8":
        label = "utf-8"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_html(data: bytes, header_charset: str | None = None) -> tuple[str, str, list[str]]:
    notes: list[str] = []
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name, notes
    m = _META_CHARSET.search(data[:16384])
    meta = m.group(1).decode("ascii", "replace") if m else None
    declared = [(codec_name(meta), meta), (codec_name(header_charset), header_charset)]
    try:
        text = data.decode("utf-8")
        for name, label in declared:
            if name and name != "utf-8" and not data.isascii():
                notes.append(f"the page declares charset {label} but its bytes are UTF-8; read as UTF-8")
                break
        return text, "utf-8", notes
    except UnicodeDecodeError:
        pass
    for name, label in declared:
        if not name or name == "utf-8":
            continue
        try:
            text = data.decode(name)
        except (UnicodeDecodeError, LookupError):
            notes.append(f"the page declares charset {label} but does not decode with it")
            continue
        if not _cjk(text):  # a Western single-byte charset (latin-1 decodes anything) over Chinese bytes
            try:
                found, enc = decode(data)
            except DecodeFailed:
                found, enc = "", ""
            if _cjk(found) > 20:
                notes.append(f"the page declares charset {label} but its bytes read as Chinese in {enc}; read as {enc}")
                return found, enc, notes
        return text, name, notes
    try:
        text, enc = decode(data)
        if any(n for n, _ in declared):
            notes.append(f"charset detected as {enc}")
        return text, enc, notes
    except DecodeFailed:
        notes.append("the charset could not be determined; read as GB18030 with undecodable bytes replaced")
        return data.decode("gb18030", errors="replace"), "gb18030", notes


def _cjk(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def _looks_like_mime(data: bytes) -> bool:
    head = data[:4096].lstrip().lower()
    mime_head = head.startswith((b"mime-version:", b"from:", b"content-type: multipart", b"subject:", b"date:"))
    return mime_head and (b"multipart/related" in head or b"text/html" in data[:65536].lower())


def mht_html(data: bytes) -> tuple[bytes, str | None] | None:
    """The first HTML part of an MHT (MIME web archive) and its declared charset."""
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - a broken archive has no HTML to give
        return None
    for part in msg.walk():
        if part.get_content_type() in ("text/html", "application/xhtml+xml"):
            payload = part.get_payload(decode=True)
            if payload:
                return payload, part.get_content_charset()
    return None


def _parse(text: str):
    from bs4 import BeautifulSoup

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bs4's "looks like a URL / like XML" advice
        try:
            return BeautifulSoup(text, "lxml")
        except Exception:  # noqa: BLE001 - fall back to the pure-Python parser
            return BeautifulSoup(text, "html.parser")


# ---------------------------------------------------------------- tree -> rows

def _is_text(node) -> bool:
    from bs4 import CData, NavigableString

    return isinstance(node, NavigableString) and (type(node) is NavigableString or isinstance(node, CData))


def _words(tag) -> tuple[set[str], str]:
    raw = tag.get("class") or []
    if isinstance(raw, str):
        raw = raw.split()
    ident = tag.get("id") or ""
    joined = " ".join(list(raw) + [ident if isinstance(ident, str) else ""])
    words = {w.lower() for part in _SPLIT.split(joined) for w in _CAMEL.split(part) if w}
    return words, joined.lower()


def _kind(tag) -> str | None:
    """nav / footer / header when the element looks like page furniture, else None."""
    name = tag.name
    if name == "footer":
        return "footer"
    if name == "header":
        return "header"
    words, joined = _words(tag)
    if not words:
        return None
    if words & _NAV_WORDS or any(f in joined for f in _NAV_FRAGMENTS):
        return "nav"
    if words & _FOOT_WORDS or any(f in joined for f in _FOOT_FRAGMENTS):
        return "footer"
    if words & _HEAD_WORDS or any(f in joined for f in _HEAD_FRAGMENTS):
        return "header"
    return None


def _dropped(tag, furniture: bool = True, budget: int = 20000) -> bool:
    """Not content: never-printed elements, hidden ones, and (``furniture``) page navigation/header/footer.

    Furniture is judged on at most ``budget`` nodes of the element; one larger than that is kept.
    """
    name = tag.name
    if name in ALWAYS_DROP:
        return True
    style = tag.get("style")
    if isinstance(style, str) and _HIDDEN.search(style):
        return True
    if tag.has_attr("hidden"):
        return True
    if not furniture or name in ("html", "body", "thead", "tbody", "tfoot", "caption", "colgroup", "col"):
        return False
    kind = _kind(tag)
    if kind is None:
        return False
    own, link, has_table, truncated = _stats(tag, budget)
    if truncated:
        return False
    if kind == "header":
        # a page header that carries the report's title (outside links) is content
        return not ("报告" in own or "年报" in own)
    plain = len(own.strip())
    # A wrapper misnamed "menu-content" that holds the report is not navigation.
    if plain > 500 and has_table:
        return False
    return not (plain > 1500 and link < plain * 0.3)


def _stats(tag, limit: int) -> tuple[str, int, bool, bool]:
    """(text outside links, length of link text, holds a table, more than ``limit`` nodes) of an element."""
    from bs4 import Tag

    own: list[str] = []
    link = 0
    has_table = False
    stack: list[tuple[object, bool]] = [(c, False) for c in reversed(tag.contents)]
    seen = 0
    while stack and seen < limit:
        node, in_link = stack.pop()
        seen += 1
        if isinstance(node, Tag):
            if node.name in ALWAYS_DROP:
                continue
            has_table = has_table or node.name == "table"
            inner = in_link or node.name == "a"
            stack.extend((c, inner) for c in reversed(node.contents))
        elif _is_text(node):
            if in_link:
                link += len(node.strip())
            else:
                own.append(str(node))
    return "".join(own), link, has_table, bool(stack)


def _table_rows(table) -> list:
    from bs4 import Tag

    out = []
    stack = [iter(table.contents)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        if not isinstance(node, Tag):
            continue
        if node.name == "tr":
            out.append(node)
        elif node.name in ("thead", "tbody", "tfoot", "form", "div", "span"):
            stack.append(iter(node.contents))
    return out


def _row_cells(tr) -> list:
    from bs4 import Tag

    return [c for c in tr.contents if isinstance(c, Tag) and c.name in ("td", "th")]


def _span(tag, attr: str, default: int, top: int) -> int:
    m = re.match(r"\s*(\d+)", str(tag.get(attr) or ""))
    if not m:
        return default
    return max(0, min(int(m.group(1)), top))


class _Walker:
    def __init__(self, table_offset: int = 0):
        self.rows: list[RawRow] = []
        self.tables = self.first_table = table_offset
        self.images = 0
        self.inner_checks = 0
        self.notes: list[str] = []
        self.line: list[tuple[str, bool]] = []  # inline text pieces of the open line; bool: preformatted

    def walk(self, soup) -> list[RawRow]:
        from bs4 import Tag

        # (node, closing, inside page furniture that was kept)
        stack: list[tuple[object, bool, bool]] = [(soup, False, False)]
        pre = 0
        steps = 0
        while stack:
            steps += 1
            if not steps & 4095:
                check_deadline()
            node, closing, kept = stack.pop()
            if closing:
                if node.name == "pre":
                    pre -= 1
                if node.name in BLOCK:
                    self.flush()
                continue
            if not isinstance(node, Tag):
                if _is_text(node):
                    self.line.append((str(node), pre > 0))
                continue
            # Inside furniture that was kept, inner furniture is judged on a small budget, a limited
            # number of times (nested "header" wrappers would otherwise be re-read from every level).
            if kept and node.name != "[document]" and _kind(node) is not None:
                self.inner_checks += 1
            judge = not kept or self.inner_checks <= 200
            if node.name not in ("[document]",) and _dropped(node, judge, 300 if kept else 20000):
                continue
            name = node.name
            if name == "br":
                self.flush()
                continue
            if name == "img":
                self.images += 1
                continue
            if name == "table" and not _is_layout(node):
                self.flush()
                self._data_table(node)
                continue
            if name in BLOCK:
                self.flush()
            if name == "pre":
                pre += 1
            kept = kept or _kind(node) is not None
            stack.append((node, True, kept))
            stack.extend((c, False, kept) for c in reversed(node.contents))
        self.flush()
        if self.images and self.tables == self.first_table:
            self.notes.append(f"the page shows {self.images} images and no data table: its tables may be pictures")
        return self.rows

    def flush(self) -> None:
        if not self.line:
            return
        text = "".join(t if keep else re.sub(r"\s+", " ", t) for t, keep in self.line)
        self.line = []
        for line in text.split("\n"):
            pieces = [p for p in line.split("\t")]
            while pieces and not pieces[0].strip():
                pieces.pop(0)
            while pieces and not pieces[-1].strip():
                pieces.pop()
            if pieces:
                self.rows.append([(p, Location()) for p in pieces])

    def _data_table(self, table) -> None:
        from bs4 import Tag

        t = self.tables
        self.tables += 1
        caption = next((c for c in table.contents if isinstance(c, Tag) and c.name == "caption"), None)
        if caption is not None:
            text = _cell_text(caption)
            if text:
                self.rows.append([(text, Location())])
        trs = _table_rows(table)
        pending: dict[int, list[int]] = {}  # start column -> [rows still covered, width]
        for r, tr in enumerate(trs):
            if not r & 255:
                check_deadline()
            cells: RawRow = []
            col = 0

            emitted: set[int] = set()

            def cover(final: bool) -> None:
                """Empty cells where rowspan cells from rows above stand, up to the current column."""
                nonlocal col
                for start in sorted(pending):
                    if start in emitted:
                        continue
                    if not final and start > col:
                        break
                    emitted.add(start)
                    cells.extend(blank_cells(Location(table=t, row=r, col=start), pending[start][1]))
                    col = max(col, start + pending[start][1])

            for td in _row_cells(tr):
                cover(False)
                if _dropped(td, furniture=False):
                    continue
                cs = _span(td, "colspan", 1, 1000) or 1
                rs = _span(td, "rowspan", 1, 65534)
                if rs == 0:  # rowspan="0": to the end of the table
                    rs = len(trs) - r
                text = _cell_text(td)
                loc = Location(table=t, row=r, col=col)
                cells.extend([(text, loc)] if text else blank_cells(loc, cs))
                if rs > 1:
                    pending[col] = [rs, cs]  # decremented below, this row included
                    emitted.add(col)
                col += cs
            cover(True)
            for start in list(pending):
                pending[start][0] -= 1
                if pending[start][0] <= 0:
                    del pending[start]
            self.rows.append(cells)


def _contains(tag, name: str) -> bool:
    """Whether a descendant element is called ``name`` (depth-first, stops at the first; bs4's
    ``find`` first walks to the subtree's last descendant, quadratic on deeply nested tables)."""
    from bs4 import Tag

    stack = [iter(tag.contents)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif isinstance(node, Tag):
            if node.name == name:
                return True
            stack.append(iter(node.contents))
    return False


def _is_layout(table) -> bool:
    from bs4 import Tag

    if _contains(table, "table"):
        return True
    rows = _table_rows(table)
    if all(len(_row_cells(tr)) <= 1 for tr in rows):
        return True
    for tr in rows:
        for td in _row_cells(tr):
            blocks = [b for b in td.find_all(("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li")) if isinstance(b, Tag)]
            if len(blocks) >= 3 and len(td.get_text(strip=True)) >= 300:
                return True
    return False


def _cell_text(cell) -> str:
    """A table cell's text: its lines (blocks, br) joined without a space where CJK text wraps."""
    from bs4 import Tag

    pieces: list[str] = []
    stack: list[tuple[object, bool]] = [(cell, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            pieces.append("\n")
            continue
        if not isinstance(node, Tag):
            if _is_text(node):
                pieces.append(re.sub(r"\s+", " ", str(node)))
            continue
        if node is not cell and _dropped(node, furniture=False):
            continue
        if node.name == "br":
            pieces.append("\n")
            continue
        if node is not cell and node.name in BLOCK:
            pieces.append("\n")
            stack.append((node, True))
        stack.extend((c, False) for c in reversed(node.contents))
    return join_lines([clean(s) for s in "".join(pieces).split("\n")])
