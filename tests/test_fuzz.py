"""Property-based fuzzing of the readers and the rules engine (hypothesis).

For every target: arbitrary input never raises anything but the documented ``extractor.errors``
types, and never hangs (hypothesis' per-example deadline). Structured strategies build what the
readers actually meet: table-like text from the template's real labels with random numbers,
tabs, newlines and blank cells; HTML trees with spans, furniture and broken markup; damaged DOCX
packages; LLM answers of any shape.

Examples per target: ``OGI_FUZZ_EXAMPLES`` (default 200, and 100 for the targets that run the whole
rules engine: a few seconds each). A long run:
``OGI_FUZZ_EXAMPLES=10000 python -m pytest -q tests/test_fuzz.py -p no:cacheprovider``.
"""

from __future__ import annotations

import io
import os
import zipfile
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractor.contract import APPEAL_GROUPS, keys_for
from extractor.document import Document
from extractor.errors import ExtractError
from extractor.ingest.detect import sniff
from extractor.ingest.docx import read_docx
from extractor.ingest.html import read_html
from extractor.ingest.text import decode, read_text_bytes, rows_from_text
from extractor.read.rules import read_rules
from extractor.sections import find_sections
from extractor.textnorm import label_key, parse_number, squash
from extractor.validate import validate

from synth import ACTIVE_2021, ROW_LABELS

_SET = os.environ.get("OGI_FUZZ_EXAMPLES")
EXAMPLES = int(_SET or 200)  # per target
HEAVY = int(_SET or 100)  # per target that runs the whole rules engine on every example (default run stays fast)
DEADLINE_MS = int(os.environ.get("OGI_FUZZ_DEADLINE_MS", "5000"))  # generous: a hang is minutes, not ms

_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
fuzz = settings(max_examples=EXAMPLES, deadline=DEADLINE_MS, print_blob=True, suppress_health_check=_CHECKS)
fuzz_heavy = settings(max_examples=HEAVY, deadline=DEADLINE_MS, print_blob=True, suppress_health_check=_CHECKS)

SNIFFED = {"pdf", "docx", "zip", "corrupt-zip", "doc", "gzip", "image", "html", "text", "binary"}


def _spans_in_bounds(doc: Document) -> None:
    n = len(doc.text)
    for row in doc.rows:
        for c in row.cells:
            if c.loc.start is not None:
                assert 0 <= c.loc.start <= c.loc.end <= n, (c, n)


def _read_and_check(doc: Document) -> None:
    """The rules engine and the validator on a document: no exception, a complete, in-bounds reading."""
    reading = read_rules(doc)
    assert set(reading.fields) == set(keys_for(reading.fmt))
    for key, loc in reading.provenance.items():
        if loc.start is not None:
            assert 0 <= loc.start <= loc.end <= len(doc.text), key
    for v in reading.fields.values():
        assert v is None or isinstance(v, (int, float))
    validate(reading, doc)


# ---------------------------------------------------------------- strategies

REQUEST_LABELS = [label for _, label in ROW_LABELS]
ACTIVE_LABELS = ["规章", "行政规范性文件", "行政许可", "行政处罚", "行政强制", "行政事业性收费", "政府集中采购", "其他对外管理服务事项",
                 "信息内容", "本年制发件数", "本年废止件数", "现行有效件数", "本年处理决定数量", "本年收费金额（单位：万元）",
                 "第二十条第（一）项", "本年新制作数量", "本年新公开数量", "对外公开总数量", "上一年项目数量", "本年增/减"]
APPEAL_LABELS = ["行政复议", "行政诉讼", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "复议后起诉"]
HEADINGS = ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况",
            "五、存在的主要问题及改进情况", "六、其他需要报告的事项", "3、行政机关收到和处理政府信息公开申请情况",
            "（二）主动公开政府信息情况", "第三部分 收到和处理申请情况", "申请人情况", "自然人", "法人或其他组织", "商业企业",
            "科研机构", "社会公益组织", "法律服务机构", "其他", "总计", "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
            "共收到政府信息公开申请68件（其中上年结转12件）", "行政诉讼案件8件", "测试区人民政府2023年政府信息公开工作年度报告"]
LABELS = REQUEST_LABELS + ACTIVE_LABELS + APPEAL_LABELS + HEADINGS

numbers = st.one_of(
    st.integers(0, 200).map(str),
    st.integers(-10**6, 10**12).map(str),
    st.floats(0, 1e6, allow_nan=False).map(lambda f: f"{f:.2f}"),
    st.sampled_from(["—", "-", "/", "无", "－", "～", "0", "00", "1,234", "1,23", "12件", "１２", "1.2.3", "NaN", "inf", "1e5",
                     "٣", "²", "Ⅻ", "⑤", "(1)", "+3", "−5", "0x10", ".5", "5.", "1 2", "12 34 56"]),
)
cell = st.one_of(numbers, numbers, st.just(""), st.just(" "), st.sampled_from(LABELS), st.text(max_size=12))
sep = st.sampled_from(["\t", "\t", "\t\t", " ", "  ", "|", "\u3000", "\xa0"])
eol = st.sampled_from(["\n", "\n", "\n\n", "\r\n", "\r", "\n\t\n"])


@st.composite
def table_text(draw) -> str:
    """Report-like text: headings and labelled rows in one of the layouts scrapers produce, damaged at random."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 24))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(draw(st.sampled_from(HEADINGS)))
        elif kind <= 5:  # a row: label + cells on one line
            label = draw(st.sampled_from(LABELS))
            cells = draw(st.lists(cell, max_size=9))
            s = draw(sep)
            lead = draw(st.sampled_from(["", "\t", "| "]))
            lines.append(lead + label + s + s.join(cells))
        elif kind <= 7:  # one cell per line, led by a tab, ended by a blank line
            label = draw(st.sampled_from(LABELS))
            cells = draw(st.lists(cell, max_size=8))
            lines.append("\n".join(["\t" + label] + ["\t" + c for c in cells]) + "\n")
        elif kind == 8:  # label and numbers glued in one cell (a PDF-to-text line)
            label = draw(st.sampled_from(LABELS))
            lines.append(label + " " + " ".join(draw(st.lists(numbers, max_size=8))))
        else:
            lines.append(draw(st.text(max_size=40)))
    if draw(st.booleans()):
        lines.insert(0, "二、主动公开政府信息情况\n" + ACTIVE_2021)
    return draw(eol).join(lines)


@st.composite
def encoded(draw, texts) -> bytes:
    text = draw(texts)
    enc = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le", "utf-16-be"]))
    return text.encode(enc, errors="replace")


TAGS = ["div", "p", "span", "table", "tbody", "thead", "tr", "td", "th", "br", "pre", "nav", "header", "footer", "script",
        "style", "ul", "li", "h1", "h2", "caption", "a", "img", "font", "center", "form", "section", "iframe", "b"]
ATTRS = st.one_of(
    st.builds(lambda n: f' colspan="{n}"', st.sampled_from(["0", "1", "2", "3", "7", "99999", "-1", "x", "2.5", "", "1e9"])),
    st.builds(lambda n: f' rowspan="{n}"', st.sampled_from(["0", "1", "2", "3", "65534", "-3", "abc", "", "9" * 30])),
    st.sampled_from([' class="nav"', ' class="leftmenu"', ' id="footer"', ' class="header"', ' style="display:none"',
                     " hidden", ' class="content"', ' class="banner"', ' style="visibility: hidden"', ' class=""']),
    st.just(""),
)


@st.composite
def html_tree(draw, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 6 if depth < 3 else 2))):
        kind = draw(st.integers(0, 4))
        if kind <= 1 or depth >= 5:
            parts.append(draw(cell).replace("<", "&lt;"))
        else:
            tag = draw(st.sampled_from(TAGS))
            attrs = "".join(draw(st.lists(ATTRS, max_size=3)))
            inner = draw(html_tree(depth + 1))
            close = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", f"</{tag}>", "", "</td>", "</table>"]))
            parts.append(f"<{tag}{attrs}>{inner}{close}")
    return "".join(parts)


@st.composite
def html_page(draw) -> bytes:
    meta = draw(st.sampled_from(["", '<meta charset="utf-8">', '<meta charset="gbk">', '<meta charset="big5">',
                                 '<meta charset="iso-8859-1">', '<meta charset="bogus-enc">',
                                 '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">']))
    head = draw(st.sampled_from(["", "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\n\r\n",
                                 "MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\n"
                                 "Content-Type: text/html\r\n\r\n"]))
    body = draw(html_tree())
    page = f"{head}<html><head>{meta}<title>t</title></head><body>{body}</body></html>"
    return page.encode(draw(st.sampled_from(["utf-8", "gb18030", "utf-16"])), errors="replace")


@cache
def _small_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("三、收到和处理政府信息公开申请情况")
    t = d.add_table(rows=3, cols=4)
    for r, row in enumerate([["一、本年新收政府信息公开申请数量", "1", "2", "3"], ["（七）总计", "", "—", "4"], ["规章", "0", "0", "0"]]):
        for c, text in enumerate(row):
            t.cell(r, c).text = text
    t.cell(1, 1).merge(t.cell(1, 2))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@st.composite
def damaged_docx(draw) -> bytes:
    data = bytearray(_small_docx())
    how = draw(st.integers(0, 3))
    if how == 0:  # flip bytes anywhere
        for _ in range(draw(st.integers(1, 20))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif how == 1:  # cut
        data = data[: draw(st.integers(0, len(data)))]
    elif how == 2:  # a document.xml of our choosing in a real package
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        xml = parts["word/document.xml"].decode()
        body_at = xml.index("<w:body>") + len("<w:body>")
        junk = draw(st.text(max_size=200)).replace("]]>", "")
        inject = draw(st.sampled_from([
            f"<w:p><w:r><w:t>{junk.replace('<', '&lt;').replace('&', '&amp;')}</w:t></w:r></w:p>",
            "<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val=\"99999\"/><w:vMerge/></w:tcPr></w:tc></w:tr></w:tbl>",
            "<w:tbl><w:tr><w:trPr><w:gridBefore w:val=\"-5\"/></w:trPr><w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc></w:tr></w:tbl>",
            "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"x\"/><w:numId w:val=\"7\"/></w:numPr></w:pPr></w:p>",
            "<w:altChunk r:id=\"rIdNope\"/>", "<w:sdt><w:sdtContent><w:p/></w:sdtContent></w:sdt>", "<w:tbl/>", "<w:p",
            junk,
        ]))
        parts["word/document.xml"] = (xml[:body_at] + inject + xml[body_at:]).encode()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for n, b in parts.items():
                z.writestr(n, b)
        data = bytearray(buf.getvalue())
    else:
        data = bytearray(b"PK\x03\x04" + draw(st.binary(max_size=400)))
    return bytes(data)


# ---------------------------------------------------------------- targets: readers


@fuzz
@given(st.one_of(st.binary(max_size=4096), st.binary(max_size=600).map(lambda b: b"PK\x03\x04" + b), damaged_docx(),
                 st.binary(max_size=600).map(lambda b: b"%PDF-1.7\n" + b)),
       st.sampled_from(["", ".pdf", ".txt", ".docx", ".html", ".doc"]))
def test_sniff_any_bytes(data, suffix):
    assert sniff(data, suffix) in SNIFFED


@fuzz
@given(st.one_of(st.binary(max_size=4096), encoded(st.text(max_size=800)), encoded(table_text())))
def test_text_reader_any_bytes(data):
    try:
        doc = read_text_bytes(data, "f.txt")
    except ExtractError:
        return
    _spans_in_bounds(doc)
    assert doc.text.strip()


@fuzz
@given(st.one_of(st.text(max_size=2000), table_text()))
def test_text_rows_any_unicode(text):
    for row in rows_from_text(text):
        for c in row.cells:
            assert 0 <= c.loc.start <= c.loc.end <= len(text)


@fuzz_heavy
@given(st.one_of(st.binary(max_size=4096), html_page(), st.text(max_size=1000).map(lambda t: t.encode("utf-8", "replace"))))
def test_html_reader_any_bytes(data):
    try:
        doc = read_html(data, "p.html")
    except ExtractError:
        return
    for row in doc.rows:
        for c in row.cells:
            assert doc.text[c.loc.start:c.loc.end] == c.text  # assemble's spans are exact
    _read_and_check(doc)


@fuzz_heavy
@given(damaged_docx())
def test_docx_reader_damaged_packages(data):
    try:
        doc = read_docx(data, "d.docx")
    except ExtractError:
        return
    _spans_in_bounds(doc)
    _read_and_check(doc)


@fuzz
@given(st.binary(max_size=2048))
def test_decode_any_bytes(data):
    try:
        text, enc = decode(data)
    except ExtractError:
        return
    assert isinstance(text, str) and enc


# ---------------------------------------------------------------- targets: rules engine and validator


@fuzz_heavy
@given(st.one_of(table_text(), st.text(max_size=1500)))
def test_rules_engine_any_text(text):
    try:
        doc = read_text_bytes(text.encode("utf-8", "replace"), "r.txt")
    except ExtractError:
        return
    find_sections(doc)
    _read_and_check(doc)


@fuzz
@given(st.text(max_size=300))
def test_textnorm_any_unicode(text):
    squash(text)
    label_key(text)
    v = parse_number(text)
    assert v is None or isinstance(v, (int, float))


# ---------------------------------------------------------------- target: an LLM answer of any shape


@cache
def _seed_doc():
    from conftest import SEEDS

    path = SEEDS / "zibo_yiyuan_2023.txt"
    if not path.is_file():
        return None
    doc = read_text_bytes(path.read_bytes(), str(path))
    return doc, read_rules(doc)


values = st.lists(st.one_of(st.none(), st.integers(-5, 200), st.integers(-10**15, 10**15),
                            st.floats(allow_nan=True, allow_infinity=True)), max_size=12)
labels = st.one_of(st.sampled_from(LABELS + ["其他", "其它", "（六）其他处理", "3.其他", ""]), st.text(max_size=20))


@fuzz_heavy
@given(st.sampled_from(["requests", "active", "appeals"]),
       st.lists(st.tuples(labels, values, st.lists(st.one_of(st.sampled_from(ACTIVE_LABELS), st.text(max_size=8)), max_size=6)),
                max_size=30))
def test_llm_answer_mapping_any_shape(part, rows):
    from extractor.engines.llm import ActiveAnswer, AppealsAnswer, RequestsAnswer, _findings, chunk_text, map_answer
    from extractor.read.base import Reading

    seed = _seed_doc()
    if seed is None:
        pytest.skip("../shared/seeds is not beside this checkout")
    doc, rules_reading = seed
    if part == "requests":
        answer = RequestsAnswer(rows=[{"label": lab, "values": v} for lab, v, _ in rows])
    elif part == "active":
        answer = ActiveAnswer(rows=[{"label": lab, "columns": cols, "values": v} for lab, v, cols in rows])
    else:
        answer = AppealsAnswer(groups=[{"label": lab, "values": v} for lab, v, _ in rows[: len(APPEAL_GROUPS) + 2]])
    reading = Reading.empty(rules_reading.fmt, rules_reading.meta)
    _, tokens = chunk_text(doc, part)
    cells = map_answer(part, answer, tokens, reading, doc.text)
    _findings(part, cells)
    for key in cells.values:
        assert key in reading.fields


# ---------------------------------------------------------------- target: the whole pipeline, any file


@cache
def _small_pdf() -> bytes:
    import badinputs

    return badinputs.pdf([["三、收到和处理政府信息公开申请情况", "一、本年新收政府信息公开申请数量 1 2 0 0 0 0 3", "（七）总计 1 2 0 0 0 0 3"]])


@st.composite
def damaged_pdf(draw) -> bytes:
    data = bytearray(_small_pdf())
    for _ in range(draw(st.integers(1, 12))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


_DIR = None


@fuzz_heavy
@given(st.one_of(st.binary(max_size=2048), damaged_docx(), damaged_pdf(), html_page(), encoded(table_text())),
       st.sampled_from([".txt", ".pdf", ".docx", ".html", ".md"]))
def test_pipeline_any_file_ends_in_a_known_state(data, suffix):
    import tempfile
    from pathlib import Path

    from extractor.limits import Limits
    from extractor.pipeline import run_file

    global _DIR
    _DIR = _DIR or tempfile.mkdtemp(prefix="ogi-fuzz-")
    path = Path(_DIR) / f"f{suffix}"
    path.write_bytes(data)
    result, _, _ = run_file(path, "rules", limits=Limits(max_seconds=20))
    assert result.status in ("ok", "flagged", "failed")
    if result.status == "failed":
        assert result.error["code"] not in ("internal_error", "timeout"), result.error
