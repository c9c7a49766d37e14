"""The template reader on every layout quirk of the seeds, and on synthetic variants."""

import json

import pytest

from extractor.ingest.text import read_text_bytes
from extractor.read.rules import read_rules
from extractor.sections import find_sections
from extractor.validate import validate

from conftest import GOLD, SEEDS
from synth import ACTIVE_2021, COLUMNS, consistent_rows, render


def read(text: str):
    doc = read_text_bytes(text.encode("utf-8"), "t.txt")
    return doc, read_rules(doc)


def row(reading, name):
    return [reading.fields[f"requests.{name}.{c}"] for c in COLUMNS]


def test_seeds_match_gold_on_every_scored_field(seed_paths):
    for path in seed_paths:
        gold = json.loads((GOLD / f"{path.stem}.json").read_text("utf-8"))
        reading = read_rules(read_text_bytes(path.read_bytes(), str(path)))
        assert reading.fmt == gold["meta"]["format"]
        wrong = {k: (v, reading.fields.get(k)) for k, v in gold["fields"].items()
                 if k not in gold["unscored"] and reading.fields.get(k) != v}
        assert wrong == {}, path.name


def test_tab_rows_and_blank_cells_read_by_position():
    rows = consistent_rows()
    rows["total_processed"] = [11, None, None, None, None, None, 11]
    rows["disclosed"] = [7, None, 0, 0, 0, 0, 7]
    rows["unable_not_held"] = [2, 2, 0, 0, 0, 0, 4]
    _, r = read(render(rows))
    assert row(r, "total_processed") == [11, None, None, None, None, None, 11]
    assert row(r, "disclosed") == [7, None, 0, 0, 0, 0, 7]
    blanks = [f for f in r.flags if f.rule == "BLANK"]
    assert {k for f in blanks for k in f.keys} == {
        "requests.disclosed.commercial", *(f"requests.total_processed.{c}" for c in COLUMNS[1:6])}
    assert all(f.severity == "warning" for f in blanks)


def test_one_cell_per_line_layout_with_split_label():
    rows = consistent_rows()
    text = render(rows)
    # Re-lay table 三 one cell per line, rows separated by blank lines, one label wrapped.
    out = []
    for line in text.split("\n"):
        if "\t" in line and any(ch.isdigit() for ch in line.split("\t")[-1] or "x"):
            cells = line.split("\t")
            out.append("\n".join("\t" + c for c in cells) + "\n")
        else:
            out.append(line)
    relaid = "\n".join(out).replace("\t一、本年新收政府信息公开申请数量", "\t一、本年新收政府信息公开申\n请数量")
    _, r = read(relaid)
    for name, values in rows.items():
        if name != "other_processing":
            assert row(r, name) == values, name


def test_label_and_numbers_on_one_line_like_pdf_to_text():
    rows = consistent_rows()
    text = render(rows).replace("1.本机关不掌握相关政府信息\t3\t1\t0\t0\t0\t0\t4", "1.本机关不掌握相关政府信息 3 1 0 0 0 0 4")
    doc, r = read(text)
    assert row(r, "unable_not_held") == [3, 1, 0, 0, 0, 0, 4]
    loc = r.provenance["requests.unable_not_held.total"]
    assert doc.text[loc.start:loc.end] == "4"


def test_a_row_with_one_number_too_many_is_an_error_naming_cells():
    text = render(consistent_rows(), appeals="0\t0\t0\t0\t0\t8\t0\t0\t0\t0\t8\t0\t0\t0\t0\t0")
    _, r = read(text)
    errors = [f for f in r.flags if f.severity == "error"]
    assert len(errors) == 1 and errors[0].rule == "SHAPE"
    assert "16 values printed for 15 cells" in errors[0].message
    # the cells whose value depends on where the spurious 0 sits are named for the reviewer
    assert errors[0].keys == ["appeals.admin_review.total", "appeals.lawsuit_direct.upheld",
                              "appeals.lawsuit_direct.total", "appeals.lawsuit_after_review.upheld"]
    assert r.fields["appeals.lawsuit_direct.upheld"] == 8 and r.fields["appeals.lawsuit_direct.total"] == 8


def test_too_many_values_is_always_an_error():
    text = render(consistent_rows(), appeals="1\t1\t0\t0\t2\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0")
    _, r = read(text)
    err = [f for f in r.flags if f.severity == "error"]
    assert err, "a spurious value must be an error"


def test_six_values_for_seven_cells_is_placed_only_when_arithmetic_is_unique():
    rows = consistent_rows()
    text = render(rows).replace("一、本年新收政府信息公开申请数量\t8\t2\t0\t0\t0\t0\t10",
                                "一、本年新收政府信息公开申请数量 8 2 0 0 0 10")
    _, r = read(text)
    # 8 2 0 0 0 10 in 7 cells: R1 holds wherever the blank goes (even before the 8); R3 (new +
    # carried = processed + carried forward, per column) then fixes 自然人 8 and 商业企业 2, but
    # not which of the four zero cells is the blank: they read 0 (three of them print 0) under a
    # BLANK error naming them and saying one of them is the blank.
    vals = row(r, "new_received")
    assert vals == [8, 2, 0, 0, 0, 0, 10]
    err = [f for f in r.flags if f.severity == "error" and "requests.new_received.research" in f.keys]
    assert len(err) == 1 and err[0].rule == "BLANK"
    assert "placements add up" in err[0].message and "1 of them is printed blank" in err[0].message
    assert err[0].keys == [f"requests.new_received.{c}" for c in ("research", "social_welfare", "legal_service",
                                                                   "other_org")]


def test_other_processing_single_row_vs_three_sub_rows():
    _, r = read(render(consistent_rows()))
    assert row(r, "other_processing") == [0] * 7
    assert row(r, "other_other") == [None] * 7
    text = render(consistent_rows()).replace(
        "（六）其他处理\t0\t0\t0\t0\t0\t0\t0",
        "（六）其他处理\t1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请\t0\t0\t0\t0\t0\t0\t0\n"
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请\t0\t0\t0\t0\t0\t0\t0\n"
        "3.其他\t1\t0\t0\t0\t0\t0\t1")
    _, r = read(text)
    assert row(r, "other_processing") == [None] * 7
    assert row(r, "other_other") == [1, 0, 0, 0, 0, 0, 1]
    assert row(r, "other_overdue_fee") == [0] * 7


def test_2019_table_two_columns_follow_the_printed_header_order():
    active = """二、主动公开政府信息情况
第二十条第（一）项
信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量
规章\t1\t2\t3
规范性文件\t4\t5\t6
第二十条第（五）项
信息内容\t处理决定数量\t上一年项目数量\t本年增/减
行政许可\t70\t10\t-2
其他对外管理服务事项\t0\t0\t0
第二十条第（六）项
信息内容\t上一年项目数量\t本年增/减\t处理决定数量
行政处罚\t5\t1\t40
行政强制\t0\t0\t0
第二十条第（八）项
信息内容\t上一年项目数量\t本年增/减
行政事业性收费\t3\t0
第二十条第（九）项
信息内容\t采购项目数量\t采购总金额
政府集中采购\t2\t24252.311082
"""
    _, r = read(render(consistent_rows(), active=active, title="某县人民政府2020年政府信息公开工作年度报告"))
    assert r.fmt == "2019"
    f = r.fields
    assert (f["active.licensing.decisions"], f["active.licensing.prev_items"], f["active.licensing.change"]) == (70, 10, -2)
    assert (f["active.penalty.prev_items"], f["active.penalty.change"], f["active.penalty.decisions"]) == (5, 1, 40)
    assert f["active.procurement.amount"] == 24252.311082
    assert f["active.normative_docs.public_total"] == 6


def test_renumbered_headings_and_a_narrative_heading_that_is_not_a_table():
    text = render(consistent_rows(), requests_heading="3、 行政机关收到和处理政府信息公开申请情况",
                  narrative="二、工作机制保障\n本机关建立了工作机制。")
    doc, r = read(text)
    secs = find_sections(doc)
    assert set(secs) >= {"active", "requests", "appeals"}
    assert doc.rows[secs["active"].heading_row].text.startswith("二、主动公开")
    assert row(r, "new_received") == [8, 2, 0, 0, 0, 0, 10]


def test_spaces_inside_labels_do_not_hide_a_row():
    text = render(consistent_rows()).replace("1.属于国家秘密", "1. 属 于 国 家 秘 密").replace("（七）总计", "（七） 总 计")
    _, r = read(text)
    assert row(r, "total_processed") == [9, 2, 0, 0, 0, 0, 11]
    assert row(r, "withheld_state_secret") == [0] * 7


@pytest.mark.shared
def test_taierzhuang_seed_flags_exactly_the_appeals_row():
    path = SEEDS / "zaozhuang_taierzhuang_govoffice_2020.txt"
    r = read_rules(read_text_bytes(path.read_bytes(), str(path)))
    errors = [f for f in r.flags if f.severity == "error"]
    assert len(errors) == 1 and errors[0].keys and all(k.startswith("appeals.") for k in errors[0].keys)
    assert {k for f in r.flags if f.rule == "BLANK" for k in f.keys} == {
        *(f"requests.total_processed.{c}" for c in COLUMNS[1:6]), "requests.carried_forward.natural_person"}


def test_a_line_of_numbers_alone_is_a_row_of_cells_not_one_number():
    """pdftotext and copied text put table 四's values, or a wrapped label's numbers, on a line of
    their own: "1 0 0 0 1 …" is fifteen cells, not the number 100010…"""
    rows = consistent_rows()
    appeals = "1 0 0 0 1 0 0 0 1 1 0 0 0 0 0"
    text = render(rows, appeals=appeals).replace("1.本机关不掌握相关政府信息\t3\t1\t0\t0\t0\t0\t4",
                                                 "1.本机关不掌握相关政府\n3 1 0 0 0 0 4\n信息")
    doc, r = read(text)
    assert row(r, "unable_not_held") == [3, 1, 0, 0, 0, 0, 4]
    assert r.fields["appeals.admin_review.upheld"] == 1 and r.fields["appeals.admin_review.total"] == 1
    assert r.fields["appeals.lawsuit_direct.total"] == 1 and r.fields["appeals.lawsuit_after_review.total"] == 0
    assert not [f for f in r.flags if f.severity == "error"], r.flags


def test_markdown_marks_and_breadcrumbs_are_not_part_of_the_organ():
    for title, organ in (("# 威海市教育局2023年政府信息公开工作年度报告", "威海市教育局"),
                         ("当前位置：首页 > 政务公开 > 某某区人民政府2023年政府信息公开工作年度报告", "某某区人民政府"),
                         ("**某某街道办事处2023年度政府信息公开工作年度报告**", "某某街道办事处"),
                         ("当前位置：首页>年度报告\n2023年政府信息公开工作年度报告", None),
                         ("某某县人民政府办公室\n\n2023年政府信息公开工作年度报告", "某某县人民政府办公室"),
                         ("关于某某镇2023年政府信息公开工作年度报告的公告", "某某镇"),
                         ("首页\n政务公开\n政府信息公开年度报告\n互动交流\n当前位置：首页 > 政务公开 > 年度报告\n"
                          "某某区人民政府2023年政府信息公开工作年度报告", "某某区人民政府")):
        _, r = read(render(consistent_rows(), title=title))
        assert (r.meta.organ, r.meta.year) == (organ, 2023), title


def test_a_narrative_sub_heading_naming_a_table_part_does_not_take_the_table():
    """A report that renumbers its parts (第一部分 总体情况 … ) can say "一、主动公开情况" in its
    overview; the table part's heading is the one its table follows."""
    narrative = "一、主动公开情况\n全年主动公开政府信息120条。\n二、工作机制保障\n本机关建立了工作机制。"
    doc, r = read(render(consistent_rows(), narrative=narrative))
    secs = find_sections(doc)
    assert doc.rows[secs["active"].heading_row].text.startswith("二、主动公开政府信息情况")
    assert secs["overview"].end == secs["active"].heading_row  # the overview keeps its narrative
    assert row(r, "new_received") == [8, 2, 0, 0, 0, 0, 10]


def test_text_rows_read_thousands_dashes_and_flag_digits_mixed_with_letters():
    """A line of text with its label: "23,561" is one number; "—" and "无" are printed empties;
    "1O", "l", "2356l" (OCR text: letters that look like digits) keep their cell and are left null
    under an error naming it -- never read as blanks, never guessed."""
    rows = consistent_rows()
    text = (render(rows)
            .replace("行政许可\t77", "行政许可 23,561")
            .replace("1.本机关不掌握相关政府信息\t3\t1\t0\t0\t0\t0\t4", "1.本机关不掌握相关政府信息 3 1 — — — 无 4")
            .replace("（一）予以公开\t6\t1\t0\t0\t0\t0\t7", "（一）予以公开 6 l 0 0 0 0 7"))
    _, r = read(text)
    assert r.fields["active.licensing.decisions"] == 23561
    assert row(r, "unable_not_held") == [3, 1, None, None, None, None, 4]
    assert row(r, "disclosed") == [6, None, 0, 0, 0, 0, 7]
    [ocr] = [f for f in r.flags if f.rule == "OCR"]
    assert ocr.severity == "error" and ocr.keys == ["requests.disclosed.commercial"] and "「l」" in ocr.message
    assert not [f for f in r.flags if f.severity == "error" and f.rule not in ("OCR", "R1")], r.flags


def test_a_sum_row_added_to_table_two_is_not_read_into_a_cell():
    active = ACTIVE_2021.replace("行政规范性文件\t5\t0\t48\n", "行政规范性文件\t5\t0\t48\n合计\t5\t0\t48\n").replace(
        "行政强制\t6\n", "行政强制\t6\n小计\t53\n")
    _, r = read(render(consistent_rows(), active=active))
    f = r.fields
    assert [f[f"active.normative_docs.{c}"] for c in ("issued", "repealed", "in_force")] == [5, 0, 48]
    assert (f["active.penalty.decisions"], f["active.coercion.decisions"], f["active.fees.amount"]) == (47, 6, 7730.28)
    assert not [fl for fl in r.flags if fl.severity == "error"], r.flags
    assert any("合计" in fl.message for fl in r.flags if fl.rule == "READ" and fl.severity == "warning")


def test_a_file_holding_two_reports_reads_the_first_and_says_so():
    first = render(consistent_rows(), title="甲区人民政府2023年政府信息公开工作年度报告")
    rows = consistent_rows()
    rows["new_received"] = [18, 2, 0, 0, 0, 0, 20]
    second = render(rows, title="甲区人民政府办公室2023年政府信息公开工作年度报告",
                    narrative="因政府信息公开被提起行政诉讼10件。")
    doc, r = read(first + "\n" + second)
    assert r.meta.organ == "甲区人民政府" and row(r, "new_received") == [8, 2, 0, 0, 0, 0, 10]
    [note] = [f for f in r.flags if "another report" in f.message]
    assert note.severity == "warning" and "甲区人民政府办公室" in note.message
    assert not [f for f in r.flags if f.severity == "error"]  # the second report's narrative is not this one's
    assert not [f for f in validate(r, doc) if f.severity == "error"]
    # the title repeated as a running header, with no second set of tables after it, cuts nothing
    doc, r = read(first.replace("五、存在的主要问题及改进情况", "甲区人民政府2023年政府信息公开工作年度报告\n五、存在的主要问题及改进情况"))
    assert not [f for f in r.flags if "another report" in f.message]


def test_extra_columns_after_the_total_in_table_three_are_not_read():
    rows = consistent_rows()
    text = render(rows).replace("\t自然人\t法人或其他组织\t\t\t\t\t其他\t总计", "\t自然人\t法人或其他组织\t\t\t\t\t其他\t总计\t上年同期总计\t增减")
    for name, label in (("new_received", "一、本年新收政府信息公开申请数量"), ("disclosed", "（一）予以公开")):
        cells = "\t".join(str(v) for v in rows[name])
        text = text.replace(f"{label}\t{cells}\n", f"{label}\t{cells}\t5\t+{rows[name][-1] - 5}\n")
    _, r = read(text)
    assert row(r, "new_received") == rows["new_received"] and row(r, "disclosed") == rows["disclosed"]
    assert any("上年同期总计" in f.message for f in r.flags if f.severity == "warning")
    assert not [f for f in r.flags if f.severity == "error"], r.flags


def test_a_format_taken_from_the_year_says_so():
    bare = render(consistent_rows(), active="二、主动公开政府信息情况\n本年无相关数据。\n")
    _, r = read(bare.replace("2023年", "2020年"))
    notes = [f for f in r.flags if "taken from the report's year" in f.message]
    assert r.fmt == "2019" and len(notes) == 1 and notes[0].severity == "warning"
    _, r = read(render(consistent_rows()))
    assert not [f for f in r.flags if "taken from the report's year" in f.message]


def test_labels_wrapped_under_their_numbers_keep_their_own_numbers():
    """pdfplumber and sorted pymupdf text print a wrapped label's first line with the row's numbers
    and the rest of the label on the lines below ("3.危 1 0 0 0 0 0 1" / "及“三安" / "全一稳" / "定”").
    Each row keeps its own numbers -- none slides to the row above or below."""
    from synth import ROW_LABELS

    rows = consistent_rows()
    for k, (name, _) in enumerate(ROW_LABELS):
        if name.startswith("withheld_"):
            rows[name] = [k, 0, 0, 0, 0, 0, k]  # a different total in every row: a shift cannot hide
    lines = render(rows).split("\n")
    out = []
    for line in lines:
        label, *values = line.split("\t")
        if line.startswith(("2.", "3.", "4.", "5.", "6.", "7.", "8.")) and values:
            out.append(f"{label[:3]} {' '.join(values)}")
            out += [label[i:i + 3] for i in range(3, len(label), 3)]
        else:
            out.append(line)
    _, r = read("\n".join(out) + "\n")
    for k, (name, _) in enumerate(ROW_LABELS):
        if name.startswith("withheld_") and name != "withheld_state_secret":
            assert row(r, name) == [k, 0, 0, 0, 0, 0, k], name


def test_a_pipe_row_split_by_a_page_break_is_joined_to_its_values():
    """pdfplumber's extract_tables as markdown: a row broken by a page break arrives as its first
    half with the numbers and, after the next page's table rule, a second half with no values."""
    rows = consistent_rows()
    rows["withheld_state_secret"] = [2, 0, 0, 0, 0, 0, 2]
    rows["disclosed"] = [4, 1, 0, 0, 0, 0, 5]
    text = render(rows)
    pipes = []
    for line in text.split("\n"):
        cells = line.split("\t")
        if line.startswith("（三）不予公开"):
            pipes.append("| （三 | 1.属 | " + " | ".join(cells[2:]) + " |")
            pipes.append("")
            pipes.append("|  | ）不予公开 | 于国家秘密 | " + " | ".join("" for _ in cells[2:]) + " |")
            pipes.append("|---|---|---|" + "---|" * len(cells[2:]))
        elif len(cells) > 2 and any(c.strip().isdigit() for c in cells):
            pipes.append("| " + " | ".join(cells) + " |")
        else:
            pipes.append(line)
    _, r = read("\n".join(pipes))
    assert row(r, "withheld_state_secret") == [2, 0, 0, 0, 0, 0, 2]
    assert row(r, "withheld_prohibited") == [0] * 7 and row(r, "disclosed") == [4, 1, 0, 0, 0, 0, 5]


def test_a_row_label_wrapped_beside_its_wrapped_group_label():
    """pdfplumber text of a narrow two-column label: each line holds a piece of the group's label
    and a piece of the row's ("(三 1.属 2 0 0 0 0 0 2" / ")不 于国" / "予公 家秘" / "开 密")."""
    rows = consistent_rows()
    rows["withheld_state_secret"] = [2, 0, 0, 0, 0, 0, 2]
    rows["disclosed"] = [4, 1, 0, 0, 0, 0, 5]
    text = render(rows).replace("（三）不予公开\t1.属于国家秘密\t2\t0\t0\t0\t0\t0\t2",
                                "(三 1.属 2 0 0 0 0 0 2\n)不 于国\n予公 家秘\n开 密")
    assert "开 密" in text
    _, r = read(text)
    assert row(r, "withheld_state_secret") == [2, 0, 0, 0, 0, 0, 2]
    assert row(r, "withheld_prohibited") == [0] * 7 and row(r, "partially_disclosed") == rows["partially_disclosed"]


def test_a_label_printed_around_its_numbers_one_piece_per_line():
    """pymupdf's plain text of a narrow label column: a piece per line, the row's numbers (a value per
    line) in the middle of its label, as the cell centres them ("2.没" "有现" "成信" "息需" 3 0 … "要另" "行制" "作").
    A label that names its row before it ends ("2.没有现成" …) does not name it twice with its rest."""
    rows = consistent_rows()
    rows["unable_needs_creation"] = [3, 0, 0, 0, 0, 0, 3]
    rows["unable_unclear"] = [1, 0, 0, 0, 0, 0, 1]
    out = []
    for line in render(rows).split("\n"):
        label, *values = line.split("\t")
        if values and label.startswith(("1.本机关", "2.没有", "3.补正")):
            pieces = [label[:3]] + [label[i:i + 2] for i in range(3, len(label), 2)]  # "2.没" "有现" …
            half = len(pieces) // 2
            out += pieces[:half] + values + pieces[half:]
        else:
            out.append(line)
    _, r = read("\n".join(out) + "\n")
    for name in ("unable_not_held", "unable_needs_creation", "unable_unclear"):
        assert row(r, name) == rows[name], name


def test_a_table_printed_column_by_column_is_not_read():
    """pdfminer's text of a ruled table: the row labels one after another, then the numbers column
    by column. No number can be tied to its row, so none is read, and an error says why."""
    rows = consistent_rows()
    text = render(rows)
    lines = text.split("\n")
    start = next(k for k, line in enumerate(lines) if line.startswith("一、本年新收"))
    end = next(k for k, line in enumerate(lines) if line.startswith("四、政府信息公开行政复议"))
    table = [line.split("\t") for line in lines[start:end]]
    labels = [cells[0] if cells[0] else cells[1] for cells in table]
    columns = ["\n".join(cells[-7:][c] for cells in table) for c in range(7)]
    _, r = read("\n".join(lines[:start] + labels + columns + lines[end:]))
    assert all(v is None for k, v in r.fields.items() if k.startswith("requests."))
    assert any(f.severity == "error" and any(k.startswith("requests.") for k in f.keys) for f in r.flags)

