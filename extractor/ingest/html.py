"""HTML (saved web pages, MHT archives, HTML chunks inside DOCX) -> Document.

Charset: a BOM; else bytes that are valid UTF-8 are UTF-8 (whatever the page declares: a page
saved from a browser is often re-encoded without its ``<meta charset>`` being updated); else the
``<meta charset>`` / ``http-equiv`` declaration, else a saved HTTP header at the top of the file
("Content-Type: text/html; charset=gbk"), each only if the bytes decode with it; else detection
(``text.decode``). GBK / GB2312 are decoded as GB18030, their superset.

Parsing is libxml2's HTML parser through ``lxml.etree`` (a page nested deeper than libxml2 builds
trees is rebuilt from the parser's events, see ``_parse``); every walk over the tree is iterative,
so deeply nested markup cannot exhaust the stack. Text is ``.text`` / ``.tail``; comments and
processing instructions are nodes without text.

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
import functools
import re

from extractor.document import Document
from extractor.errors import DecodeFailed, EmptyDocument
from extractor.ingest.docx import RawRow, assemble, blank_cells, clean, join_lines
from extractor.ingest.text import decode
from extractor.limits import check_deadline

try:
    from lxml.etree import tostring
except ImportError:  # pragma: no cover - lxml is a dependency
    tostring = None

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
_WS = re.compile(r"\s+")


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
    """Bytes of a page -> (rows of (text, where), encoding used, notes)."""
    body, header_charset = strip_http_header(data)
    text, encoding, notes = decode_html(body, header_charset or charset_hint)
    walker = _Walker(table_offset)
    rows = walker.walk(_parse(text))
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
        if not _CJK.search(text):  # a Western single-byte charset (latin-1 decodes anything) over Chinese bytes
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


_CJK = re.compile("[\u4e00-\u9fff]")


def _cjk(text: str) -> int:
    return len(_CJK.findall(text))


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


def _parse(text: str) -> list:
    """Text of a page -> its top-level nodes: the ``html`` element, and any that libxml2 opens for
    content after ``</html>``.

    libxml2 builds the tree itself (fast); it stops silently at 2048 levels of nesting, so a page
    whose last element sits that deep is parsed again into a tree built from the parser's events,
    which have no depth limit (and are what libxml2 builds its own tree from).
    """
    from lxml import etree

    declaration = _XML_DECLARATION.match(text)
    if declaration:
        text = text[declaration.end():]
    try:  # in one call (the feed interface below costs a fifth more, for the same tree)
        root = etree.fromstring(text, etree.HTMLParser(recover=True, huge_tree=True))
    except Exception:  # noqa: BLE001 - whatever it is, the feed interface says it as before
        root = _feed_parse(text)
    if root is None:
        return []
    top = [root, *root.itersiblings()]
    if _last_depth(top[-1]) >= _MAX_NATIVE_DEPTH:
        top = _parse_deep(text)
    for node in top:
        if not isinstance(node, str):
            _drop_ruby_text(node)
    return top


def _feed_parse(text: str):
    from lxml import etree

    parser = etree.HTMLParser(recover=True, huge_tree=True)
    try:
        parser.feed(text)
        return parser.close()
    except etree.LxmlError:
        return None


_XML_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>")
_MAX_NATIVE_DEPTH = 2000  # libxml2 stops at 2048 levels with huge_tree


def _last_depth(root) -> int:
    """Depth of the last node in document order: where a parse cut off by the depth limit stopped."""
    depth, el = 1, root
    while len(el) and depth < _MAX_NATIVE_DEPTH:
        el, depth = el[-1], depth + 1
    return depth


class _DeepTree:
    """Parser target that builds an lxml tree from the parse events, at any depth.

    Only the attributes this reader looks at are kept; a tag lxml cannot name (Word's ``o:p``)
    gets a neutral name, as none of the names that matter here has a colon.
    """

    ATTRS = ("class", "id", "style", "hidden", "colspan", "rowspan")

    def __init__(self):
        from lxml import etree

        self.etree = etree
        self.document = etree.Element("x-document")  # holds the top-level nodes; never read itself
        self.stack = [self.document]
        self.last = None  # the node whose .tail takes the next text; None: the open element's .text

    def start(self, tag, attrib) -> None:
        el = self.etree.SubElement(self.stack[-1], self._name(tag))
        for name in self.ATTRS:
            if name in attrib:
                el.set(name, _xml_safe(attrib[name]))
        self.stack.append(el)
        self.last = None

    def end(self, tag) -> None:
        if len(self.stack) > 1:
            self.last = self.stack.pop()

    def data(self, data: str) -> None:
        if self.last is None:
            self.stack[-1].text = (self.stack[-1].text or "") + _xml_safe(data)
        else:
            self.last.tail = (self.last.tail or "") + _xml_safe(data)

    def comment(self, text) -> None:
        self.last = self.etree.SubElement(self.stack[-1], "x-comment")  # a node without text

    def close(self) -> list:
        return _contents(self.document)

    @staticmethod
    def _name(tag: str) -> str:
        return tag if _XML_NAME.fullmatch(tag) else "x-" + re.sub(r"[^A-Za-z0-9_.-]", "_", tag)


_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _parse_deep(text: str) -> list:
    from lxml import etree

    parser = etree.HTMLParser(target=_DeepTree(), recover=True, huge_tree=True)
    parser.feed(text)
    return parser.close()


def _drop_ruby_text(root) -> None:
    """Ruby annotations (pronunciation above the characters) are not part of the printed text."""
    for ruby in root.iter("rt", "rp"):
        ruby.text = None
        for el in ruby.iterdescendants():
            el.text = el.tail = None


# ---------------------------------------------------------------- tree -> rows

def _contents(el) -> list:
    """An element's children in order: text (str) and nodes (elements, comments)."""
    out: list = [el.text] if el.text else []
    for child in el:
        out.append(child)
        if child.tail:
            out.append(child.tail)
    return out


def _words(tag) -> tuple[set[str], str]:
    joined = " ".join(((tag.get("class") or "").split()) + [tag.get("id") or ""])
    words = {w.lower() for part in _SPLIT.split(joined) for w in _CAMEL.split(part) if w}
    return words, joined.lower()


def _kind(tag) -> str | None:
    """nav / footer / header when the element looks like page furniture, else None."""
    name = tag.tag
    if name == "footer":
        return "footer"
    if name == "header":
        return "header"
    if tag.get("class") is None and tag.get("id") is None:
        return None
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


def _dropped(tag, furniture: bool = True, budget: int = 20000, in_pre: bool = False) -> bool:
    """Not content: never-printed elements, hidden ones, and (``furniture``) page navigation/header/footer.

    Furniture is judged on at most ``budget`` nodes of the element; one larger than that is kept.
    ``in_pre``: the element stands inside a ``pre`` (whose blank text is kept as it is).
    """
    if _hidden(tag):
        return True
    name = tag.tag
    if not furniture or name in ("html", "body", "thead", "tbody", "tfoot", "caption", "colgroup", "col"):
        return False
    kind = _kind(tag)
    if kind is None:
        return False
    own, link, has_table, truncated = _stats(tag, budget, in_pre)
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


def _hidden(tag) -> bool:
    """Never printed: scripts, controls and the like, and elements hidden by style or attribute."""
    return tag.tag in ALWAYS_DROP or _hidden_attrs(tag)


def _hidden_attrs(tag, names: list | None = None) -> bool:
    """Hidden by its style or its ``hidden`` attribute (``names``: the element's attribute names, if known).

    The names are asked for first: most elements have no attributes, or neither of these.
    """
    if names is None:
        names = tag.keys()
    if not names:
        return False
    if "style" in names:
        style = tag.get("style")
        if style and (_hidden_style(style) if len(style) < 256 else _HIDDEN.search(style)):
            return True
    return "hidden" in names


@functools.lru_cache(maxsize=4096)
def _hidden_style(style: str) -> bool:
    """Style attributes repeat on every cell of a page saved from Word: judged once each."""
    return _HIDDEN.search(style) is not None


def _blank(text: str) -> bool:
    return not text.strip(" \t\n\r\f")


def _stats(tag, limit: int, in_pre: bool = False) -> tuple[str, int, bool, bool]:
    """(text outside links, length of link text, holds a table, more than ``limit`` nodes) of an element.

    Blank text outside ``pre`` counts as one space or newline (as the page's layout whitespace).
    """
    own: list[str] = []
    link = 0
    has_table = False
    pre = in_pre or tag.tag in ("pre", "textarea")
    stack: list[tuple[object, bool, bool]] = [(c, False, pre) for c in reversed(_contents(tag))]
    seen = 0
    while stack and seen < limit:
        node, in_link, pre = stack.pop()
        seen += 1
        if isinstance(node, str):
            if in_link:
                link += len(node.strip())
            elif not pre and _blank(node):
                own.append("\n" if "\n" in node else " ")
            else:
                own.append(node)
            continue
        name = node.tag
        if not isinstance(name, str) or name in ALWAYS_DROP:
            continue
        has_table = has_table or name == "table"
        inner = in_link or name == "a"
        inner_pre = pre or name in ("pre", "textarea")
        stack.extend((c, inner, inner_pre) for c in reversed(_contents(node)))
    return "".join(own), link, has_table, bool(stack)


_ROW_GROUPS = frozenset(("thead", "tbody", "tfoot", "form", "div", "span"))


def _table_rows(table) -> list:
    out = []
    stack = [iter(table)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif node.tag == "tr":
            out.append(node)
        elif node.tag in _ROW_GROUPS:
            stack.append(iter(node))
    return out


def _row_cells(tr) -> list:
    return [c for c in tr if c.tag == "td" or c.tag == "th"]


def _grid(table) -> list[list]:
    """The cells of each row of a table."""
    return [_row_cells(tr) for tr in _table_rows(table)]


def _span(tag, attr: str, default: int, top: int) -> int:
    value = tag.get(attr)
    if not value:
        return default
    n = _span_value(value) if len(value) < 64 else _parse_span(value)
    return default if n is None else max(0, min(n, top))


_SPAN = re.compile(r"\s*(\d+)")


def _parse_span(value: str) -> int | None:
    m = _SPAN.match(value)
    return int(m.group(1)) if m else None


_span_value = functools.lru_cache(maxsize=1024)(_parse_span)  # "2", "3": the same few values on every page


class _Walker:
    def __init__(self, table_offset: int = 0):
        self.rows: list[RawRow] = []
        self.tables = self.first_table = table_offset
        self.images = 0
        self.inner_checks = 0
        self.notes: list[str] = []
        self.line: list[tuple[str, bool]] = []  # inline text pieces of the open line; bool: preformatted
        # A table cell's markup (lxml's serialisation, its own tail left out) -> what _td_read reads from it:
        # cells repeat within a page (the same "0", styled the same way), and reading one costs
        # several times more than writing it out.
        self.cell_reads: dict[str, tuple[int, int, str] | object] = {}
        self.cell_running: dict[str, bool] = {}  # the same, for _is_layout's test of a cell

    def walk(self, top: list) -> list[RawRow]:
        """``top``: the page's top-level nodes (elements and text)."""
        # (node, closing, inside page furniture that was kept); a node is an element, a comment or text
        stack: list[tuple[object, bool, bool]] = [(node, False, False) for node in reversed(top)]
        pre = 0
        steps = 0
        while stack:
            steps += 1
            if not steps & 4095:
                check_deadline()
            node, closing, kept = stack.pop()
            if isinstance(node, str):
                self.line.append((node, pre > 0))
                continue
            name = node.tag
            if closing:
                if name == "pre":
                    pre -= 1
                if name in BLOCK:
                    self.flush()
                continue
            if not isinstance(name, str):  # a comment or processing instruction
                continue
            # Inside furniture that was kept, inner furniture is judged on a small budget, a limited
            # number of times (nested "header" wrappers would otherwise be re-read from every level).
            kind = _kind(node)
            if kept and kind is not None:
                self.inner_checks += 1
            judge = not kept or self.inner_checks <= 200
            if _dropped(node, judge, 300 if kept else 20000, pre > 0):
                continue
            if name == "br":
                self.flush()
                continue
            if name == "img":
                self.images += 1
                continue
            if name == "table":
                grid = _grid(node)
                keys = self._data_keys(node, grid)
                if keys is not None:
                    self.flush()
                    self._data_table(node, grid, keys)
                    continue
            if name in BLOCK:
                self.flush()
            if name == "pre":
                pre += 1
            kept = kept or kind is not None
            stack.append((node, True, kept))
            stack.extend((c, False, kept) for c in reversed(_contents(node)))
        self.flush()
        if self.images and self.tables == self.first_table:
            self.notes.append(f"the page shows {self.images} images and no data table: its tables may be pictures")
        return self.rows

    def flush(self) -> None:
        if not self.line:
            return
        text = "".join(t if keep else _WS.sub(" ", t) for t, keep in self.line)
        self.line = []
        for line in text.split("\n"):
            pieces = line.split("\t")
            while pieces and not pieces[0].strip():
                pieces.pop(0)
            while pieces and not pieces[-1].strip():
                pieces.pop()
            if pieces:
                self.rows.append([(p, None) for p in pieces])

    def _data_keys(self, table, grid: list[list]) -> list[list] | None:
        """None if the table is layout (``_is_layout``), else its cells' markup (``_cell_key``).

        Whether a cell holds several blocks of running text (which makes the table layout) is
        judged once per page for each way a cell is written.
        """
        if next(table.iterdescendants("table"), None) is not None:
            return None
        if all(len(tds) <= 1 for tds in grid):
            return None
        running = self.cell_running
        keys = []
        for tds in grid:
            row = []
            for td in tds:
                if not len(td):  # text only (most value cells): its text and attributes say what it reads as
                    row.append((td.text, tuple(td.items())))
                    continue
                key = _cell_key(td)
                row.append(key)
                found = running.get(key) if key is not None else None
                if found is None:
                    found = bool(_blocks_at_least(td, 3) and _text_length(td) >= 300)
                    if key is not None:
                        running[key] = found
                if found:
                    return None
            keys.append(row)
        return keys

    def _data_table(self, table, grid: list[list], keys: list[list]) -> None:
        t = self.tables
        self.tables += 1
        caption = next((c for c in table if c.tag == "caption"), None)
        if caption is not None:
            text = _cell_text(caption)
            if text:
                self.rows.append([(text, None)])
        pending: dict[int, list[int]] = {}  # start column -> [rows still covered, width]
        for r, tds in enumerate(grid):
            if not r & 255:
                check_deadline()
            self.rows.append(self._table_row(tds, keys[r], t, r, len(grid), pending))

    def _table_row(self, tds: list, keys: list, t: int, r: int, n_rows: int, pending: dict[int, list[int]]) -> RawRow:
        """One row's cells -> cells; ``pending``: rowspan cells from rows above, updated for the rows below."""
        cells: RawRow = []
        col = 0
        cache = self.cell_reads
        # Empty cells stand where rowspan cells from rows above do, in column order: each one
        # once the row has reached its column, the rest after the row's last cell. (A cell of
        # this row never starts at such a column: it is covered, and the column moved past it,
        # before the cell is placed.)
        above = sorted(pending) if pending else ()
        n_above = len(above)
        a = 0
        for td, key in zip(tds, keys):
            while a < n_above and above[a] <= col:
                start = above[a]
                a += 1
                width = pending[start][1]
                cells.extend(blank_cells((t, r, start), width))
                col = max(col, start + width)
            read = cache.get(key) if key is not None else None  # read once per page for each way a cell is written
            if read is None:
                read = _td_read(td)
                if key is not None:
                    cache[key] = read
            if read is _HIDDEN_CELL:
                continue
            cs, rs, text = read
            if text:
                cells.append((text, (t, r, col)))
            else:
                cells.extend(blank_cells((t, r, col), cs))
            if rs != 1:
                if rs == 0:  # rowspan="0": to the end of the table
                    rs = n_rows - r
                if rs > 1:
                    pending[col] = [rs, cs]  # decremented below, this row included
            col += cs
        for start in above[a:]:
            width = pending[start][1]
            cells.extend(blank_cells((t, r, start), width))
            col = max(col, start + width)
        if pending:
            for start in list(pending):
                pending[start][0] -= 1
                if pending[start][0] <= 0:
                    del pending[start]
        return cells


_HIDDEN_CELL = object()


def _cell_key(td) -> str | None:
    """A table cell's markup as lxml writes it (its tail left out): what it reads as depends on
    nothing else. None where lxml cannot write it."""
    try:
        return tostring(td, encoding=str, with_tail=False)
    except Exception:  # noqa: BLE001
        return None


def _td_read(td) -> tuple[int, int, str] | object:
    """(colspan, rowspan (0: to the end of the table), text) of a table cell; _HIDDEN_CELL if it is hidden.

    A function of the cell's own markup (tag, attributes, what it holds), not of where it stands.
    """
    names = td.keys()
    if td.tag in ALWAYS_DROP or _hidden_attrs(td, names):  # _hidden(td)
        return _HIDDEN_CELL
    cs = (_span(td, "colspan", 1, 1000) or 1) if "colspan" in names else 1
    rs = _span(td, "rowspan", 1, 65534) if "rowspan" in names else 1
    return cs, rs, _cell_text(td)


_LAYOUT_BLOCKS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li")
_NOT_TEXT = ("script", "style", "template")  # their text is code, never printed


def _is_layout(table, grid: list[list]) -> bool:
    if next(table.iterdescendants("table"), None) is not None:
        return True
    if all(len(tds) <= 1 for tds in grid):
        return True
    for tds in grid:
        for td in tds:
            if len(td) and _blocks_at_least(td, 3) and _text_length(td) >= 300:
                return True
    return False


_LAYOUT_BLOCK_SET = frozenset(_LAYOUT_BLOCKS)


def _blocks_at_least(el, n: int) -> bool:
    """At least ``n`` layout blocks inside ``el`` (at any depth). One plain iterator over its
    descendants, stopping at the n-th block: an lxml iterator told to match several tags costs more
    to set up than a table cell takes to walk."""
    found = 0
    for node in el.iterdescendants():
        if node.tag in _LAYOUT_BLOCK_SET:
            found += 1
            if found >= n:
                return True
    return False


def _text_length(el) -> int:
    """Length of an element's text, each piece stripped (what is printed, hidden parts included)."""
    total = 0
    stack = [el]
    while stack:
        node = stack.pop()
        if node is not el and node.tail:
            total += len(node.tail.strip())
        if not isinstance(node.tag, str) or node.tag in _NOT_TEXT:
            continue
        if node.text:
            total += len(node.text.strip())
        stack.extend(node)
    return total


def _cell_text(cell) -> str:
    """A table cell's text: its lines (blocks, br) joined without a space where CJK text wraps."""
    ws = _WS.sub
    if not len(cell):  # text only (most value cells): one line
        return _cell_lines(ws(" ", cell.text or ""))
    # Depth first through the cell in document order: an element's text, its children, a newline
    # before and after a block, then its tail. Hidden elements, comments and processing
    # instructions print nothing, but their tail does; ``br`` is a newline. The walk follows
    # ``el[0]``, ``getnext()`` and ``getparent()``: an lxml iterator per element costs more.
    text = cell.text
    pieces: list[str] = [ws(" ", text)] if text else []
    node = cell[0]
    while node is not None:
        name = node.tag
        if name.__class__ is str and name not in ALWAYS_DROP and not _hidden_attrs(node):
            if name == "br":
                pieces.append("\n")
            else:
                block = name in BLOCK
                if block:
                    pieces.append("\n")
                text = node.text
                if text:
                    pieces.append(ws(" ", text))
                if len(node):
                    node = node[0]
                    continue
                if block:
                    pieces.append("\n")
        while True:  # after ``node``'s subtree: its tail, then the next node, closing the elements left
            tail = node.tail
            if tail:
                pieces.append(ws(" ", tail))
            following = node.getnext()
            if following is not None:
                node = following
                break
            node = node.getparent()
            if node is cell:
                node = None
                break
            if node.tag in BLOCK:  # an element the walk entered: shown, and not a br
                pieces.append("\n")
    return _cell_lines("".join(pieces))


def _cell_lines(text: str) -> str:
    """A cell's text (lines split by blocks and ``br``) -> one line; short ones remembered (they repeat)."""
    if len(text) <= 256:
        return _cell_lines_short(text)
    return join_lines([clean(s) for s in text.split("\n")])


@functools.lru_cache(maxsize=1 << 15)
def _cell_lines_short(text: str) -> str:
    return join_lines([clean(s) for s in text.split("\n")])
