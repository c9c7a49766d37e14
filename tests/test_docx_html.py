"""DOCX, HTML and legacy .doc readers: the gold corpus rendered into each format scores 100%,
and the reader-level cases real files bring (merged cells, blanks, dashes, full-width digits,
charsets, site furniture, deep nesting, corrupt and oversized packages)."""

from __future__ import annotations

import copy
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

docx = pytest.importorskip("docx")

from eval.harness import evaluate  # noqa: E402
from extractor.errors import CorruptFile, EmptyDocument, MissingTool, TooLarge, UnsupportedFormat  # noqa: E402
from extractor.ingest import read_document  # noqa: E402
from extractor.ingest.docx import format_number, read_docx  # noqa: E402
from extractor.ingest.html import read_html  # noqa: E402
from extractor.pipeline import run_file  # noqa: E402
from tools import fixtures  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "gold"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _gold(name: str = "zibo_zhangdian_govoffice_2023") -> dict:
    return json.loads((GOLD / f"{name}.json").read_text(encoding="utf-8"))


def _spans_ok(doc) -> bool:
    return all(doc.text[c.loc.start:c.loc.end] == c.text for r in doc.rows for c in r.cells)


def _docx_bytes(d) -> bytes:
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- the rendered gold corpus

@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fixtures")
    made = fixtures.build(out, GOLD)
    assert len(made) == 3 * len(list(GOLD.glob("*.json")))
    return out


def test_fixture_corpus_scores_full_in_every_format(corpus):
    report = evaluate(corpus, corpus / "gold", engine="rules")
    assert not report["errors"] and not report["unpaired"]
    assert report["reports"] == 3 * len(list(GOLD.glob("*.json")))
    wrong = [(p["file"], p["wrong"][:3]) for p in report["per_report"] if p["wrong"]]
    assert report["field_accuracy"] == 1.0, wrong
    assert report["by_format"] == {"docx": 1.0, "html": 1.0, "txt": 1.0}
    assert report["meta_accuracy"] == 1.0
    # the rendered copies print consistent tables, so nothing needs review and nothing is flagged
    assert report["flags"]["fp"] == 0 and report["flags"]["fn"] == 0


def test_rendered_gold_keeps_values_and_recomputes_consistency(corpus):
    seed = _gold("zaozhuang_taierzhuang_govoffice_2020")
    rendered = json.loads((corpus / "gold" / "zaozhuang_taierzhuang_govoffice_2020.json").read_text(encoding="utf-8"))
    assert seed["unscored"] and not seed["source_consistent"]
    assert rendered["fields"] == seed["fields"] and rendered["meta"] == seed["meta"]
    assert rendered["unscored"] == [] and rendered["source_consistent"] is True
    broken = dict(seed, fields=dict(seed["fields"], **{"appeals.lawsuit_direct.total": 9}))
    out = fixtures.rendered_gold(broken)
    assert out["source_consistent"] is False and "lawsuit_direct" in out["notes"]


@pytest.mark.parametrize("suffix", [".docx", ".html", ".gb18030.txt"])
def test_every_value_is_grounded_in_the_document_text(corpus, suffix):
    for path in sorted(corpus.glob(f"*{suffix}")):
        result, doc, reading = run_file(path, "rules")
        assert _spans_ok(doc), path
        for key, value in result.fields.items():
            if value is None:
                continue
            loc = reading.provenance[key]
            assert float(doc.text[loc.start:loc.end]) == pytest.approx(value), (path, key)
        assert not [f for f in result.flags if f.rule == "R7"], path


def test_docx_and_html_cells_know_their_table_position(corpus):
    for suffix in (".docx", ".html"):
        _, doc, reading = run_file(corpus / f"zibo_zhangdian_govoffice_2023{suffix}", "rules")
        loc = reading.provenance["requests.new_received.total"]
        assert (loc.table, loc.col) == (1, 9), suffix  # table 三, the 总计 column of a 10-column grid
        assert doc.text[loc.start:loc.end] == "56"


def test_html_fixture_in_gbk_with_a_layout_table_is_read(corpus):
    raw = (corpus / "zibo_zhangdian_govoffice_2023.html").read_bytes()
    assert b'charset=gbk' in raw
    doc = read_html(raw, "x.html")
    assert doc.encoding == "gb18030"
    assert doc.rows[0].text == "张店区人民政府办公室2023年政府信息公开工作年度报告"


# ---------------------------------------------------------------- DOCX reader

def _merged_docx() -> bytes:
    d = docx.Document()
    d.add_paragraph("表前的段落")
    t = d.add_table(rows=3, cols=4)
    a = t.cell(0, 0).merge(t.cell(0, 2))  # horizontal: three columns, one cell
    a.text = "申请人情况"
    t.cell(0, 3).text = "总计"
    v = t.cell(1, 0).merge(t.cell(2, 0))  # vertical: two rows
    v.text = "（三）不予公开"
    t.cell(1, 1).text = "１２"
    t.cell(1, 2).text = ""
    t.cell(1, 3).text = "—"
    t.cell(2, 1).text = "3"
    t.cell(2, 2).text = "4"
    t.cell(2, 3).text = "7"
    d.add_paragraph("表后的段落")
    return _docx_bytes(d)


def test_docx_merged_cells_blank_cells_and_body_order():
    doc = read_docx(_merged_docx(), "m.docx")
    shape = [[(c.text, c.loc.table, c.loc.row, c.loc.col) for c in r.cells] for r in doc.rows]
    assert shape[0] == [("表前的段落", None, None, None)]
    assert shape[1] == [("申请人情况", 0, 0, 0), ("总计", 0, 0, 3)]  # horizontal merge appears once
    assert shape[2] == [("(三)不予公开", 0, 1, 0), ("12", 0, 1, 1), ("", 0, 1, 2), ("—", 0, 1, 3)]
    assert shape[3] == [("", 0, 2, 0), ("3", 0, 2, 1), ("4", 0, 2, 2), ("7", 0, 2, 3)]  # vertical continuation
    assert shape[4] == [("表后的段落", None, None, None)]
    assert doc.text.split("\n")[2] == "(三)不予公开\t12\t\t—"
    assert _spans_ok(doc)


def _tweaked_report(changes: dict) -> dict:
    gold = copy.deepcopy(_gold())
    gold["fields"].update(changes)
    return gold


@pytest.mark.parametrize("render,suffix", [(fixtures.render_docx, ".docx"), (lambda g: fixtures.render_html(g, 0), ".html"),
                                           (lambda g: fixtures.render_html(g, 1), ".html")])
def test_dash_reads_null_and_full_width_digits_read_as_numbers(tmp_path, render, suffix):
    gold = _tweaked_report({"requests.new_received.commercial": "—", "requests.carried_over.natural_person": "１２",
                            "requests.disclosed.research": "/"})
    path = tmp_path / f"r{suffix}"
    path.write_bytes(render(gold))
    result, _, _ = run_file(path, "rules")
    assert result.fields["requests.new_received.commercial"] is None
    assert result.fields["requests.carried_over.natural_person"] == 12
    assert result.fields["requests.disclosed.research"] is None
    assert result.fields["requests.new_received.natural_person"] == 51  # neighbours keep their places
    assert result.fields["requests.new_received.research"] == 0


def test_docx_blank_cells_keep_columns(tmp_path):
    gold = _tweaked_report({f"requests.total_processed.{c}": None for c in ("commercial", "research", "social_welfare")})
    path = tmp_path / "b.docx"
    path.write_bytes(fixtures.render_docx(gold))
    result, _, _ = run_file(path, "rules")
    assert result.fields["requests.total_processed.commercial"] is None
    assert result.fields["requests.total_processed.legal_service"] == 0
    assert result.fields["requests.total_processed.other_org"] == 2
    assert result.fields["requests.total_processed.total"] == 67


def _chinese_numbering(d) -> None:
    """List Number paragraphs of ``d`` numbered 一、 二、 …"""
    from docx.oxml.ns import qn

    for lvl in d.part.numbering_part.element.iter(qn("w:lvl")):
        if lvl.get(qn("w:ilvl")) == "0":
            lvl.find(qn("w:numFmt")).set(qn("w:val"), "chineseCounting")
            lvl.find(qn("w:lvlText")).set(qn("w:val"), "%1、")


def test_docx_automatic_numbering_is_rendered():
    d = docx.Document()
    _chinese_numbering(d)
    d.add_paragraph("总体情况", style="List Number")
    d.add_paragraph("主动公开政府信息情况", style="List Number")
    doc = read_docx(_docx_bytes(d), "n.docx")
    assert [r.text for r in doc.rows] == ["一、总体情况", "二、主动公开政府信息情况"]
    assert [format_number(n, "chineseCounting") for n in (1, 10, 12, 20, 35)] == ["一", "十", "十二", "二十", "三十五"]


def test_docx_tracked_changes_and_breaks():
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    p = d.add_paragraph("二、主动公开")
    p._p.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="1" w:author="a"><w:r><w:t>政府信息情况</w:t></w:r></w:ins>'))
    p._p.append(parse_xml(f'<w:del {nsdecls("w")} w:id="2" w:author="a"><w:r><w:delText>删掉的</w:delText></w:r></w:del>'))
    q = d.add_paragraph("第一行")
    q.runs[0].add_break()
    q.add_run("第二行")
    doc = read_docx(_docx_bytes(d), "t.docx")
    assert [r.text for r in doc.rows] == ["二、主动公开政府信息情况", "第一行", "第二行"]


def test_docx_cells_through_wrappers_grid_before_and_text_not_printed():
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    w = nsdecls("w")
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    d = docx.Document()
    d.add_paragraph("表前")
    d.element.body.insert(len(d.element.body) - 1, parse_xml(
        f'<w:tbl {w} {mc}><w:tblPr/>'
        '<w:tr><w:trPr><w:jc w:val="center"/></w:trPr><w:trPr><w:gridBefore w:val="1"/></w:trPr>'
        '<w:tc><w:tcPr><w:tcW w:w="1"/><w:gridSpan w:val="2"/><w:gridSpan w:val="5"/></w:tcPr>'
        '<w:p><w:pPr><w:rPr><w:t>不是正文</w:t></w:rPr></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>规</w:t></w:r>'
        '<w:r><w:instrText>PAGE</w:instrText><w:t>章</w:t></w:r></w:p></w:tc>'
        '<w:sdt><w:sdtContent><w:tc><w:p><w:r><w:t>1</w:t><w:tab/><w:t>2</w:t></w:r></w:p>'
        '<w:sdt><w:sdtContent><w:p><w:r><w:t>3</w:t></w:r></w:p></w:sdtContent></w:sdt></w:tc></w:sdtContent></w:sdt>'
        '<w:tc><w:p><w:r><w:t>框</w:t><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent>'
        '<w:p><w:r><w:t>文本框</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict>'
        '<w:txbxContent><w:p><w:r><w:t>文本框</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r></w:p></w:tc>'
        '<w:tc><w:tcPr><w:hMerge/></w:tcPr><w:p><w:r><w:t>合并</w:t></w:r></w:p></w:tc>'
        '</w:tr></w:tbl>'))
    doc = read_docx(_docx_bytes(d), "w.docx")
    # gridBefore from the second trPr, the first gridSpan; a tab inside a cell is a space; an hMerge
    # continuation prints nothing; the text box is read once (not its Fallback copy)
    assert [(c.text, c.loc.col) for c in doc.rows[1].cells] == [("规章", 1), ("1 2 3", 3), ("框文本框", 4)]
    assert _spans_ok(doc)


def test_docx_nested_layout_table_is_read_as_its_own_table():
    d = docx.Document()
    outer = d.add_table(rows=1, cols=1)
    cell = outer.cell(0, 0)
    cell.text = "外层"
    inner = cell.add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "规章"
    inner.cell(0, 1).text = "5"
    doc = read_docx(_docx_bytes(d), "n.docx")
    assert [[c.text for c in r.cells] for r in doc.rows] == [["外层"], ["规章", "5"]]
    assert doc.rows[1].cells[1].loc.table == 1


def test_docx_alt_chunk_html_is_read_in_place():
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    d = docx.Document()
    d.add_paragraph("前面")
    chunk = ('<html><head><meta charset="gbk"></head><body><p>二、主动公开政府信息情况</p>'
             "<table><tr><td>规章</td><td>3</td></tr></table></body></html>").encode("gbk")
    rid = d.part.relate_to(Part(PackURI("/word/afchunk1.htm"), "text/html", chunk, d.part.package), RT.A_F_CHUNK)
    d.element.body.insert(len(d.element.body) - 1, parse_xml(f'<w:altChunk {nsdecls("w", "r")} r:id="{rid}"/>'))
    d.add_table(rows=1, cols=2).cell(0, 0).text = "后表"
    doc = read_docx(_docx_bytes(d), "a.docx")
    assert [[(c.text, c.loc.table) for c in r.cells] for r in doc.rows] == [
        [("前面", None)], [("二、主动公开政府信息情况", None)], [("规章", 0), ("3", 0)], [("后表", 1), ("", 1)]]


def test_macro_enabled_docx_is_read():
    d = docx.Document()
    d.add_paragraph("宏文档")
    src = zipfile.ZipFile(io.BytesIO(_docx_bytes(d)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                                    b"application/vnd.ms-word.document.macroEnabled.main+xml")
            z.writestr(info, data)
    assert [r.text for r in read_docx(out.getvalue(), "m.docm").rows] == ["宏文档"]


def test_docx_tables_nested_too_deep_are_cut_off_with_a_note():
    d = docx.Document()
    cell = d.add_table(rows=1, cols=1).cell(0, 0)
    for i in range(60):
        cell.text = f"层{i}"
        cell = cell.add_table(rows=1, cols=2).cell(0, 0)
    doc = read_docx(_docx_bytes(d), "deep.docx")
    assert doc.rows[0].text == "层0" and any("nested deeper" in n for n in doc.notes)


def test_corrupt_docx_raises_corrupt_file(tmp_path):
    good = _merged_docx()
    with pytest.raises(CorruptFile):
        read_docx(good[: len(good) // 2], "half.docx")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document><w:body><w:p>not xml")
    with pytest.raises(CorruptFile):
        read_docx(buf.getvalue(), "broken.docx")
    path = tmp_path / "broken.docx"
    path.write_bytes(buf.getvalue())
    result, _, _ = run_file(path, "rules")
    assert result.status == "failed" and result.error["code"] in ("corrupt_file", "unsupported_format")


def _rewritten_docx(replace: dict[bytes, bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(_merged_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info.filename)
            for old, new in replace.items():
                data = data.replace(old, new)
            z.writestr(info, data)
    return out.getvalue()


def test_strict_ooxml_docx_is_named_unsupported():
    strict = _rewritten_docx({b"http://schemas.openxmlformats.org/wordprocessingml/2006/main":
                              b"http://purl.oclc.org/ooxml/wordprocessingml/main",
                              b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
                              b"http://purl.oclc.org/ooxml/officeDocument/relationships"})
    with pytest.raises(UnsupportedFormat, match="Strict"):
        read_docx(strict, "strict.docx")


def test_docx_reads_only_the_parts_it_needs():
    # damaged settings (never read) do not make the report unreadable; a damaged body does
    doc = read_docx(_rewritten_docx({b"<w:settings": b"<w:settings <<"}), "t.docx")
    assert doc.rows[0].text == "表前的段落"
    with pytest.raises(CorruptFile):
        read_docx(_rewritten_docx({b"<w:body>": b"<w:body><<"}), "b.docx")


def test_docx_zip_bomb_is_refused_before_reading():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b" " * (51 * 1024 * 1024))
    data = buf.getvalue()
    assert len(data) < 1024 * 1024
    with pytest.raises(TooLarge):
        read_docx(data, "bomb.docx")


def test_empty_docx_raises_empty_document():
    with pytest.raises(EmptyDocument):
        read_docx(_docx_bytes(docx.Document()), "empty.docx")


# ---------------------------------------------------------------- HTML reader

_PAGE = ("<html><head>{meta}<title>标题</title></head><body><h1>张店区2023年政府信息公开工作年度报告</h1>"
         "<table><tr><td>规章</td><td>１２</td><td>—</td></tr></table></body></html>")


@pytest.mark.parametrize("meta,encoding,expect", [
    ('<meta charset="gbk">', "gbk", "gb18030"),
    ('<meta http-equiv="Content-Type" content="text/html; charset=gb2312">', "gbk", "gb18030"),  # pages labelled gb2312 use GBK
    ("", "gb18030", "gb18030"),  # no declaration: detected
    ('<meta charset="utf-8">', "gbk", "gb18030"),  # declared UTF-8, bytes are GBK
    ('<meta charset="gbk">', "utf-8", "utf-8"),  # declared GBK, bytes are UTF-8
])
def test_html_charsets(meta, encoding, expect):
    raw = _PAGE.format(meta=meta).encode(encoding)
    doc = read_html(raw, "p.html")
    assert doc.encoding == expect
    assert [r.text for r in doc.rows] == ["张店区2023年政府信息公开工作年度报告", "规章 12 —"]


def test_html_charset_from_a_saved_http_header():
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\n\r\n" + _PAGE.format(meta="").encode("gbk")
    doc = read_html(raw, "p.html")
    assert doc.encoding == "gb18030"
    assert doc.rows[0].text == "张店区2023年政府信息公开工作年度报告"


def test_html_site_furniture_is_ignored(corpus):
    for path in sorted(corpus.glob("*.html")):
        doc = read_html(path.read_bytes(), str(path))
        text = doc.text
        for junk in ("首页", "当前位置", "网站标识码", "版权所有", "999", "document.write", "机构职能", "互动交流"):
            assert junk not in text, (path.name, junk)
        assert doc.rows[0].text.endswith("年政府信息公开工作年度报告")


def test_html_rowspan_and_colspan():
    page = """<html><body><table>
    <tr><td rowspan="3" colspan="2">勾稽关系</td><td colspan="3">申请人情况</td><td rowspan="2">总计</td></tr>
    <tr><td>自然人</td><td colspan="2">法人或其他组织</td></tr>
    <tr><td>a</td><td>b</td><td>c</td><td>9</td></tr>
    <tr><th rowspan="2">三、本年度办理结果</th><td>（一）予以公开</td><td>1</td><td></td><td>2</td><td>3</td></tr>
    <tr><td>（二）部分公开</td><td>4</td><td>5</td><td>&nbsp;</td><td>9</td></tr>
    </table></body></html>""".encode()
    doc = read_html(page, "t.html")
    shape = [[(c.text, c.loc.col) for c in r.cells] for r in doc.rows]
    assert shape == [
        [("勾稽关系", 0), ("申请人情况", 2), ("总计", 5)],
        [("", 0), ("", 1), ("自然人", 2), ("法人或其他组织", 3), ("", 5)],  # an empty 2-wide cell is 2 cells
        [("", 0), ("", 1), ("a", 2), ("b", 3), ("c", 4), ("9", 5)],
        [("三、本年度办理结果", 0), ("(一)予以公开", 1), ("1", 2), ("", 3), ("2", 4), ("3", 5)],
        [("", 0), ("(二)部分公开", 1), ("4", 2), ("5", 3), ("", 4), ("9", 5)],
    ]
    assert all(r.cells[0].loc.table == 0 for r in doc.rows)
    assert _spans_ok(doc)


def test_merged_blank_value_cells_keep_the_columns_after_them():
    page = ("<html><body><table><tr><td colspan=2>（七）总计</td><td>11</td><td colspan=5></td><td>11</td></tr>"
            "</table></body></html>").encode()
    assert [c.text for c in read_html(page, "b.html").rows[0].cells] == ["(七)总计", "11", "", "", "", "", "", "11"]
    d = docx.Document()
    t = d.add_table(rows=1, cols=9)
    t.cell(0, 0).merge(t.cell(0, 1)).text = "（七）总计"
    t.cell(0, 2).text = "11"
    t.cell(0, 3).merge(t.cell(0, 7))
    t.cell(0, 8).text = "11"
    row = read_docx(_docx_bytes(d), "b.docx").rows[0]
    assert [(c.text, c.loc.col) for c in row.cells] == [("(七)总计", 0), ("11", 2), ("", 3), ("", 4), ("", 5), ("", 6),
                                                         ("", 7), ("11", 8)]


def test_html_word_export_cells_join_wrapped_lines():
    page = ("<html><body><table><tr><td><p class=MsoNormal>结果</p><p class=MsoNormal>维持</p></td>"
            "<td><p>12<br>件</p></td><td>1<br>2</td></tr></table></body></html>").encode()
    doc = read_html(page, "w.html")
    assert [c.text for c in doc.rows[0].cells] == ["结果维持", "12件", "1 2"]


def test_html_cell_text_skips_what_is_not_printed_but_keeps_its_tail():
    page = ("<html><body><table><tr>"
            "<td><p style='text-align:center'><span>一、<span style='DISPLAY : none'>隐藏</span>总体</span></p>"
            "<!-- 注释 -->情况<script>x()</script><span hidden>藏</span></td>"
            "<td><div><b>12</b><br><i>件</i></div>\n<p>3</p></td>"
            "<td>(<span style='visibility:hidden'>9</span>)</td>"
            "<td style='display:none'>不见</td><td>7</td>"
            "</tr></table></body></html>").encode()
    doc = read_html(page, "h.html")
    assert [(c.text, c.loc.col) for c in doc.rows[0].cells] == [("一、总体情况", 0), ("12件3", 1), ("()", 2), ("7", 3)]
    assert _spans_ok(doc)


def test_html_rowspan_from_rows_above_after_the_last_cell_and_past_hidden_cells():
    page = """<html><body><table>
    <tr><td>标签</td><td rowspan="3">甲</td><td>1</td><td rowspan="2" colspan="2">乙</td></tr>
    <tr><td>标签二</td><td style="display:none">x</td><td>2</td></tr>
    <tr><td>标签三</td><td>3</td><td>4</td><td>5</td></tr>
    </table></body></html>""".encode()
    shape = [[(c.text, c.loc.col) for c in r.cells] for r in read_html(page, "r.html").rows]
    assert shape == [
        [("标签", 0), ("甲", 1), ("1", 2), ("乙", 3)],
        [("标签二", 0), ("", 1), ("2", 2), ("", 3), ("", 4)],  # the 2-wide rowspan cell covers after the last cell
        [("标签三", 0), ("", 1), ("3", 2), ("4", 3), ("5", 4)],
    ]


def test_html_table_whose_cell_holds_paragraphs_of_running_text_is_layout():
    long = "本机关认真贯彻落实政府信息公开条例" * 8
    cell = "".join(f"<div><p>{long}</p></div>" for _ in range(3))
    page = (f"<html><body><table><tr><td>栏目</td><td>{cell}</td></tr></table>"
            "<table><tr><td>规章</td><td><p>1</p><p>2</p><p>3</p></td></tr></table></body></html>").encode()
    doc = read_html(page, "l.html")
    assert all(c.loc.table is None for r in doc.rows[:-1] for c in r.cells)  # layout: one-cell rows, no table
    assert sum(1 for r in doc.rows if r.cells[0].text == long) == 3
    assert [(c.text, c.loc.table) for c in doc.rows[-1].cells] == [("规章", 0), ("1 2 3", 0)]  # short blocks: data


def test_deeply_nested_html_does_not_crash_and_keeps_what_follows():
    page = ("<html><body>" + "<div>" * 5000 + "<p>一、总体情况</p>" + "</div>" * 5000
            + "<table><tr><td>规章</td><td>3</td></tr></table><p>结尾</p></body></html>").encode()
    doc = read_html(page, "deep.html")
    assert [r.text for r in doc.rows] == ["一、总体情况", "规章 3", "结尾"]
    page = ("<html><body>" + "<span><b><div><table><tr><td>" * 1500 + "深处").encode()
    doc = read_html(page, "deeper.html")
    assert doc.rows[-1].text == "深处"


def test_html_after_the_closing_html_tag_is_read():
    page = ("<html><body><p>一、总体情况</p></body></html>\n<p>正文</p>"
            "<table><tr><td>规章</td><td>3</td></tr></table>").encode()
    assert [r.text for r in read_html(page, "after.html").rows] == ["一、总体情况", "正文", "规章 3"]


def test_html_through_read_document(tmp_path):
    path = tmp_path / "report.htm"
    path.write_bytes(_PAGE.format(meta='<meta charset="gbk">').encode("gbk"))
    doc = read_document(path)
    assert doc.kind == "html" and doc.rows[-1].text == "规章 12 —"


def test_mht_archive_is_read():
    html_part = _PAGE.format(meta="").encode("gbk")
    import base64

    mht = (b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"XX\"\r\n\r\n--XX\r\n"
           b"Content-Type: text/html; charset=\"gbk\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(html_part) + b"\r\n--XX--\r\n")
    doc = read_html(mht, "p.mht")
    assert doc.rows[-1].text == "规章 12 —"


# ---------------------------------------------------------------- legacy .doc via LibreOffice

def test_doc_without_libreoffice_names_the_package(monkeypatch):
    from extractor.ingest import office

    monkeypatch.setattr(office, "find_soffice", lambda: None)
    fake = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100 + "WordDocument".encode("utf-16-le")
    with pytest.raises(MissingTool, match="libreoffice"):
        office.read_doc(fake, "old.doc")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_doc_converted_with_libreoffice_scores_full(tmp_path, corpus):
    src = corpus / "zaozhuang_taierzhuang_govoffice_2020.docx"
    conv = tmp_path / "conv"
    subprocess.run([SOFFICE, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", "doc", "--outdir", str(conv), str(src)],
                   check=True, timeout=180, capture_output=True)
    docs = tmp_path / "docs"
    docs.mkdir()
    (conv / src.with_suffix(".doc").name).rename(docs / src.with_suffix(".doc").name)
    report = evaluate(docs, GOLD, engine="rules")
    assert report["reports"] == 1 and not report["errors"]
    assert report["field_accuracy"] == 1.0
    assert report["by_format"] == {"doc": 1.0}


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_damaged_doc_fails_cleanly(tmp_path):
    from extractor.ingest import office

    fake = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000 + "WordDocument".encode("utf-16-le")
    with pytest.raises(CorruptFile):
        office.read_doc(fake, "bad.doc", timeout_s=60)


# ---------------------------------------------------------------- the readers' fast paths read as the general ones

def _plain_walk_cases() -> dict[str, tuple[bytes, bool]]:
    """DOCX bodies -> (bytes, whether _walk_plain reads them itself or leaves them to walk)."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    cases = {"merged cells": (_merged_docx(), True)}
    d = docx.Document()
    _chinese_numbering(d)
    d.add_paragraph("总体情况", style="List Number")
    t = d.add_table(rows=2, cols=3)
    t.cell(0, 0).add_paragraph("（一）编号", style="List Number")  # a numbered paragraph in a cell, after its first
    t.cell(0, 1).text = "1"
    t.cell(1, 2).text = "2"
    t.rows[1]._tr.get_or_add_trPr().append(parse_xml(f'<w:gridBefore {nsdecls("w")} w:val="1"/>'))
    d.add_paragraph("主动公开政府信息情况", style="List Number")
    cases["numbering, two paragraphs in a cell, gridBefore"] = (_docx_bytes(d), True)
    d = docx.Document()
    d.add_paragraph("制表").runs[0].add_tab()
    cases["a tab"] = (_docx_bytes(d), False)
    d = docx.Document()
    p = d.add_paragraph("二、主动公开")
    p._p.append(parse_xml(f'<w:hyperlink {nsdecls("w")}><w:r><w:t>链接</w:t></w:r></w:hyperlink>'))
    cases["text outside a run of the paragraph"] = (_docx_bytes(d), False)
    d = docx.Document()
    d.add_table(rows=1, cols=1).cell(0, 0).add_table(rows=1, cols=2).cell(0, 1).text = "5"
    cases["a nested table"] = (_docx_bytes(d), False)
    return cases


@pytest.mark.parametrize("name", list(_plain_walk_cases()))
def test_docx_plain_walk_reads_as_the_general_walk(name):
    from extractor.ingest.docx import _Package, _Walker

    data, plain = _plain_walk_cases()[name]
    pkg = _Package(data)
    assert pkg.plain_markup
    general = _Walker(pkg).walk(pkg.body)
    fast = _Walker(pkg)._walk_plain(pkg.body)
    assert (fast is not None) == plain
    if plain:
        assert fast == general
    assert _Walker(pkg).walk_body(pkg.body, True) == general


def test_html_cells_written_alike_read_alike_and_hidden_ones_stay_hidden():
    cell = '<td style="x"><p class=MsoNormal><span>{}</span></p></td>'
    rows = "".join(f"<tr><td>行{r}</td>{cell.format(r % 2)}<td style='display:none'>9</td>{cell.format('')}</tr>"
                   for r in range(4))
    doc = read_html(f"<table>{rows}</table>".encode(), "c.html")
    assert [[c.text for c in r.cells] for r in doc.rows] == [[f"行{r}", str(r % 2), ""] for r in range(4)]
    assert [c.loc.col for c in doc.rows[3].cells] == [0, 1, 2]
