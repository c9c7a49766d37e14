"""Text input: every encoding scrapers produce reads back to the same report; residue is removed."""

import pytest

from extractor.ingest import read_document
from extractor.ingest.text import decode, read_text_bytes
from extractor.read.rules import read_rules


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig", "utf-16-le"])
def test_each_seed_reads_the_same_in_every_encoding(seed_paths, tmp_path, encoding):
    for path in seed_paths:
        text = path.read_text("utf-8")
        want = read_rules(read_document(path)).fields
        data = text.encode(encoding)
        if encoding == "utf-16-le":  # no BOM at all: the detector has to find it
            pass
        out = tmp_path / f"{path.stem}.{encoding}.txt"
        out.write_bytes(data)
        doc = read_document(out)
        assert read_rules(doc).fields == want, (path.name, encoding, doc.encoding)


def test_gb18030_is_detected_not_guessed():
    text = "二、主动公开政府信息情况\n规章\t0\t0\t0\n行政规范性文件\t5\t0\t48\n" * 3
    decoded, enc = decode(text.encode("gb18030"))
    assert decoded == text
    assert enc in ("gb18030", "gbk", "gb2312")


def test_residue_is_stripped_and_spans_point_into_the_normalised_text():
    raw = "[bookmark: _GoBack]**一是**制度建设\n\t（七）总计\n\t１２\n"
    doc = read_text_bytes(raw.encode("utf-8"), "x.txt")
    assert "bookmark" not in doc.text and "**" not in doc.text
    cell = doc.rows[-1].cells[-1]
    assert cell.text == "12"  # full-width digits normalised
    assert doc.text[cell.loc.start : cell.loc.end] == "12"


def test_one_cell_per_line_groups_into_rows_and_joins_wrapped_labels():
    raw = "\t5.要求行政机关确认或重新\n出具已获取信息\n\t0\n\t1\n\n\t（七）总计\n\t3\n"
    doc = read_text_bytes(raw.encode("utf-8"), "x.txt")
    assert [c.text for c in doc.rows[0].cells] == ["5.要求行政机关确认或重新出具已获取信息", "0", "1"]
    assert [c.text for c in doc.rows[1].cells] == ["(七)总计", "3"]


def test_tab_rows_keep_blank_cells():
    raw = "\t(七) 总计\t11\t\t\t\t\t\t11\t\n"
    doc = read_text_bytes(raw.encode("utf-8"), "x.txt")
    assert [c.text for c in doc.rows[0].cells] == ["(七) 总计", "11", "", "", "", "", "", "11", ""]


def test_markdown_table_rows_split_on_pipes():
    raw = "| 规章 | 0 | 1 | 2 |\n|---|---|---|---|\n| 行政规范性文件 | 3 | 4 | 5 |\n"
    doc = read_text_bytes(raw.encode("utf-8"), "x.md")
    assert [c.text for c in doc.rows[0].cells] == ["规章", "0", "1", "2"]
    assert len(doc.rows) == 2
