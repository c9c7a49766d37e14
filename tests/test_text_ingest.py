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


# ---------------------------------------------------------------- the document model

def test_document_model_validates_keyword_construction_like_pydantic():
    """Cells and locations are slotted classes (cheap to build by the thousand); built by keyword they
    still check and coerce their fields as the pydantic models they were did."""
    import pickle

    from pydantic import ValidationError

    from extractor.document import Cell, Document, Location, Row, new_cell, new_document, new_location, new_row

    loc = Location(start="3", end=5.0, page=1, bbox=[1, 2, 3, 4])
    assert (loc.start, loc.end, loc.bbox) == (3, 5, (1.0, 2.0, 3.0, 4.0))
    assert type(loc.bbox[0]) is float and loc.table is None
    assert loc.model_dump(exclude_none=True) == {"start": 3, "end": 5, "page": 1, "bbox": (1.0, 2.0, 3.0, 4.0)}
    assert list(Location().model_dump()) == ["start", "end", "page", "bbox", "table", "row", "col"]
    with pytest.raises(ValidationError):
        Location(start="three")
    with pytest.raises(ValidationError):
        Cell(loc=Location())  # text is required
    cell = Cell(text="1O?", unsure=True)
    assert cell.loc == Location() and cell.x is None and cell.unsure and not cell.blank

    # the readers' unchecked constructors build the same values
    fast = new_row([new_cell("12", new_location(0, 2, 1, 2, 3))])
    slow = Row(cells=[Cell(text="12", loc=Location(start=0, end=2, table=1, row=2, col=3))])
    assert fast == slow and fast.text == "12"
    doc = new_document("x.html", "html", "12\n", [fast], encoding="utf-8", notes=["n"])
    assert doc == Document(path="x.html", kind="html", text="12\n", rows=[slow], encoding="utf-8", notes=["n"])
    assert doc.pages == 1 and pickle.loads(pickle.dumps(doc)) == doc

    # a slice narrows the char span and keeps the rest; a location without a span is copied
    part = fast.cells[0].loc.sub(1, 1)
    assert (part.start, part.end, part.table, part.row, part.col) == (1, 2, 1, 2, 3)
    assert fast.cells[0].loc.start == 0
    boxed = Location(page=2, bbox=(0, 0, 1, 1))
    assert boxed.sub(3, 4) == boxed and boxed.sub(3, 4) is not boxed
    assert boxed.describe() == "page 2 bbox 0,0,1,1"


def test_text_cells_are_spans_of_the_text():
    raw = "一、总体情况\n\t规章\t0\t 1 \n\t（七）总计\n\t3\n\n| 规章 | 0 |\n"
    doc = read_text_bytes(raw.encode("utf-8"), "x.txt")
    assert all(doc.text[c.loc.start:c.loc.end] == c.text for r in doc.rows for c in r.cells)
    assert [[c.text for c in r.cells] for r in doc.rows] == [["一、总体情况"], ["规章", "0", "1"], ["(七)总计", "3"],
                                                              ["规章", "0"]]
    assert doc.kind == "text" and doc.pages == 1 and doc.notes == []
