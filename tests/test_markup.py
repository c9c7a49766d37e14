"""Text files that hold HTML: an article body saved without its page, and markdown whose tables a
PDF converter wrote as HTML (MinerU and others). Both read as the HTML they hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

from extractor.ingest import read_document
from extractor.ingest.markup import as_html, holds_markup
from extractor.read.rules import read_rules
from tools import fixtures

ROOT = Path(__file__).resolve().parents[1]
GOLD = json.loads((ROOT / "gold" / "zibo_zhangdian_govoffice_2023.json").read_text("utf-8"))


def _body() -> str:
    page = fixtures.render_html(GOLD, 0).decode("utf-8")
    body = re.search(r"(?s)<body[^>]*>(.*)</body>", page).group(1)
    return re.sub(r"(?s)<ul>.*?</ul>|当前位置：.*?\n", "", body)  # the site's navigation is not the article


def _wrong(path: Path) -> dict:
    reading = read_rules(read_document(path))
    return {k: (v, reading.fields.get(k)) for k, v in GOLD["fields"].items() if reading.fields.get(k) != v}


def test_an_article_body_fragment_saved_as_text_reads_as_html(tmp_path):
    path = tmp_path / "zhangdian.txt"
    path.write_text(_body(), encoding="utf-8")
    assert read_document(path).kind == "html"
    assert _wrong(path) == {}


def test_markdown_with_html_tables_keeps_its_headings_and_cells(tmp_path):
    md = re.sub(r"<h\d[^>]*>(.*?)</h\d>", r"\n## \1\n", _body())
    md = re.sub(r"<p[^>]*>(.*?)</p>", r"\n\1\n", md)
    md = re.sub(r"</?div[^>]*>", "", md)
    assert "<table" in md and "<p" not in md
    path = tmp_path / "zhangdian.md"
    path.write_text(md, encoding="utf-8")
    doc = read_document(path)
    assert doc.kind == "html" and any(r.text.startswith("## 二、主动公开") for r in doc.rows)
    assert _wrong(path) == {}
    reading = read_rules(doc)
    assert reading.meta.organ == GOLD["meta"]["organ"]


def test_plain_text_and_markdown_pipe_tables_stay_text():
    assert not holds_markup("一、总体情况\n| 规章 | 0 | 0 | 0 |\n| 行政规范性文件 | 5 | 0 | 48 |\n")
    assert not holds_markup("全年收到申请 12 件，其中 <5 件 当场答复。")
    assert holds_markup("<p>一、总体情况</p><table><tr><td>规章</td><td>0</td></tr></table><p>二</p><p>三</p>")
    page = as_html("# 标题\n<table><tr><td>a<table><tr><td>b</td></tr></table></td></tr></table>\n尾 <x>")
    assert page.count("<table>") == 2 and "<p># 标题</p>" in page and "<p>尾 &lt;x&gt;</p>" in page
