"""Damaged tables read by their own arithmetic: seeds damaged every way, and random tables glued.

The promise under test: every cell is either what the report printed, or left null (or placed
under an error) with an error flag that names it. Never a wrong value without a flag.
"""

import json
import random
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractor.contract import APPEAL_GROUPS, APPEAL_OUTCOMES, APPLICANT_COLUMNS, RESULT_ROWS
from extractor.ingest.text import read_text_bytes
from extractor.read.rules import read_rules
from extractor.validate import validate

from conftest import GOLD, ROOT, SEEDS
from synth import ROW_LABELS, render

sys.path.insert(0, str(ROOT))
from tools import damage  # noqa: E402

# Cells that neither the arithmetic nor the evidence can decide once digits run together; they
# must be flagged (null, or 0 under a BLANK error where only 0-or-blank is in doubt).
# - table 二 has no sum over its columns: sifangtai's "5915" is 5|9|15 or 5|91|5 (现行有效 ≥ 本年制发
#   − 本年废止 rules out 59|1|5; the document prints 0, never blank, so no blank is assumed); the 2020
#   seed's "2211" (新制作/新公开/对外公开总数量) reads several ways, and that document prints blanks.
# - taierzhuang: "000000" for 结转下年's 7 cells: one is a printed blank, which one no sum can tell;
#   all seven read 0 under a BLANK error, so the blank cell (自然人) is the one wrong.
# (yiyuan's "5048" and "001010002200000" and zhangdian's "1111" are decided by the document's practice,
#  the bound and the narrative: see the tests below.)
GLUED_AMBIGUOUS = {
    "zibo_yiyuan_2023": set(),
    "zibo_zhangdian_govoffice_2023": set(),
    "shuangyashan_sifangtai_2023": {"active.normative_docs.repealed", "active.normative_docs.in_force"},
    "zaozhuang_gaoxin_zhangfan_2023": set(),
    "zaozhuang_taierzhuang_govoffice_2020": {
        "active.normative_docs.made", "active.normative_docs.published", "active.normative_docs.public_total",
        "requests.carried_forward.natural_person",
    },
}
NORMATIVE_ORDER = ["active.normative_docs.issued", "active.normative_docs.repealed", "active.normative_docs.in_force"]
NORMATIVE = set(NORMATIVE_ORDER)


def read(text: str):
    doc = read_text_bytes(text.encode("utf-8"), "t.txt")
    reading = read_rules(doc)
    return reading, reading.flags + validate(reading, doc)


def error_keys(flags) -> set[str]:
    return {k for f in flags if f.severity == "error" for k in f.keys}


def check_against_gold(doc_name: str, text: str) -> tuple[set[str], list]:
    """Wrong keys; asserts each is named by an error flag and READ errors only name null cells."""
    gold = json.loads((GOLD / f"{doc_name}.json").read_text("utf-8"))
    reading, flags = read(text)
    assert reading.fmt == gold["meta"]["format"]
    wrong = {k for k, v in gold["fields"].items() if k not in gold["unscored"] and reading.fields.get(k) != v}
    assert wrong <= error_keys(flags), (doc_name, sorted(wrong - error_keys(flags)))
    for f in flags:
        if f.rule == "READ" and f.severity == "error":
            assert all(reading.fields[k] is None for k in f.keys if k in reading.fields), f.message
        if f.rule == "BLANK" and f.severity == "error":  # 0-or-blank: read 0, one of them is the blank
            assert all(reading.fields[k] == 0 for k in f.keys if k in reading.fields), f.message
    return wrong, flags


def damaged(kind: str):
    for path in sorted(SEEDS.glob("*.txt")):
        made = damage.damage_file(path, [kind])
        if kind in made:
            yield path.stem, made[kind]


def test_glued_digits_are_split_by_the_sums(seed_paths):
    for name, text in damaged("glued"):
        wrong, flags = check_against_gold(name, text)
        assert wrong == GLUED_AMBIGUOUS[name], (name, sorted(wrong))
        assert any(f.severity == "warning" and "recovered by arithmetic" in f.message for f in flags)


def test_glued_ambiguity_is_listed_for_the_reviewer(seed_paths):
    texts = dict(damaged("glued"))
    reading, flags = read(texts["shuangyashan_sifangtai_2023"])
    read_err = [f for f in flags if f.severity == "error" and f.rule == "READ"]
    assert len(read_err) == 1
    assert "[5 9 15]; [5 91 5]" in read_err[0].message and "现行有效 ≥ 本年制发 − 本年废止" in read_err[0].message
    assert set(read_err[0].keys) == NORMATIVE - {"active.normative_docs.issued"}
    assert reading.fields["active.normative_docs.issued"] == 5  # what both readings agree on is kept
    # taierzhuang's 结转下年 "000000" for seven cells: all read 0, and the error says one of them is blank.
    reading, flags = read(texts["zaozhuang_taierzhuang_govoffice_2020"])
    keys = [f"requests.carried_forward.{c}" for c in APPLICANT_COLUMNS]
    assert [reading.fields[k] for k in keys] == [0] * 7
    blank = [f for f in flags if f.rule == "BLANK" and f.severity == "error"]
    assert len(blank) == 1 and blank[0].keys == keys and "1 of them is printed blank" in blank[0].message


def test_glued_rows_decided_by_the_documents_practice_bounds_and_narrative(seed_paths):
    texts = dict(damaged("glued"))
    reading, flags = read(texts["zibo_yiyuan_2023"])
    rec = {k: f.message for f in flags if f.severity == "warning" and "recovered by arithmetic" in f.message
           for k in f.keys}
    # table 四 "001010002200000": R4 leaves 17 readings; 16 assume blanks that left no trace, and this
    # document prints 0 in every cell that holds nothing.
    assert [reading.fields[k] for k in APPEAL_KEYS] == YIYUAN_APPEALS
    assert "document's own practice" in rec["appeals.admin_review.total"]
    # table 二 "5048": 50|4|8 breaks 现行有效 ≥ 本年制发 − 本年废止.
    assert [reading.fields[k] for k in NORMATIVE_ORDER] == [5, 0, 48]
    assert "现行有效 ≥ 本年制发 − 本年废止" in rec["active.normative_docs.issued"]
    # zhangdian's "1111": the narrative's 「保留…规范性文件11件」 leaves 1|1|11.
    reading, flags = read(texts["zibo_zhangdian_govoffice_2023"])
    assert [reading.fields[k] for k in NORMATIVE_ORDER] == [1, 1, 11]
    assert not error_keys(flags)


def test_the_documents_practice_says_nothing_when_it_prints_blanks():
    # The same glued table 四, in a report whose table 三 prints a blank cell: the 17 readings stay.
    reading, flags = read(_appeals_text("001010002200000", blank=True))
    assert all(reading.fields[f"appeals.admin_review.{o}"] is None for o in ("other", "pending", "total"))
    err = [f for f in flags if f.rule == "READ" and f.severity == "error" and "appeals.admin_review.total" in f.keys]
    assert err and "17 placements add up" in err[0].message and "practice" not in err[0].message
    # Cells whose readings differ only between a printed 0 and a vanished blank read 0, under a BLANK error.
    blank = {k for f in flags if f.rule == "BLANK" and f.severity == "error" for k in f.keys}
    assert "appeals.admin_review.corrected" in blank and reading.fields["appeals.admin_review.corrected"] == 0


APPEAL_KEYS = [f"appeals.{g}.{o}" for g in APPEAL_GROUPS for o in APPEAL_OUTCOMES]
TAIERZHUANG_LAWSUITS = "因依申请公开引发的行政诉讼案件8件。"


def test_glued_appeals_with_a_spurious_digit_are_read_with_the_narrative(seed_paths):
    # "0000080000800000": 16 digits for 15 cells. By R4 alone 875 readings add up (80 | 800 split
    # off the run, blanks anywhere); the narrative's 8 lawsuits (what the validator checks as R6)
    # rules out every one of them, and among the readings with one spurious digit only
    # 0 0 0 0 0 | 8 0 0 0 8 | 0 0 0 0 0 has 8 lawsuits. A spurious value stays an error.
    name = "zaozhuang_taierzhuang_govoffice_2020"
    text = dict(damaged("glued"))[name]
    assert TAIERZHUANG_LAWSUITS in text
    reading, flags = read(text)
    assert [reading.fields[k] for k in APPEAL_KEYS] == [0, 0, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 0, 0]
    shape = [f for f in flags
             if f.rule == "SHAPE" and f.severity == "error" and "appeals.lawsuit_direct.total" in f.keys]
    assert shape and "「行政诉讼案件8件」" in shape[0].message and "spurious" in shape[0].message
    assert not [f for f in flags if f.rule == "R6"]
    # Without the narrative's figure nothing tells the readings apart: null (or 0 where the readings
    # differ only between 0 and a vanished blank, under a BLANK error), listed for the reviewer.
    reading, flags = read(text.replace(TAIERZHUANG_LAWSUITS, ""))
    blank = {k for f in flags if f.rule == "BLANK" and f.severity == "error" for k in f.keys}
    assert all(reading.fields[k] is None or (reading.fields[k] == 0 and k in blank) for k in APPEAL_KEYS)
    assert any(reading.fields[k] is None for k in APPEAL_KEYS)
    err = [f for f in flags if f.rule == "READ" and f.severity == "error" and "appeals.lawsuit_direct.total" in f.keys]
    assert err and "875 placements add up" in err[0].message and "narrative" not in err[0].message


def _appeals_text(appeals: str, narrative: str = "", blank: bool = False) -> str:
    """A report with the given table 四 and narrative; ``blank``: its table 三 prints a 0 as a blank
    cell (so the document's practice with empty cells says nothing about vanished blanks)."""
    from synth import consistent_rows
    rows = consistent_rows()
    if blank:
        rows["disclosed"] = [*rows["disclosed"][:2], None, *rows["disclosed"][3:]]
    return render(rows, appeals=appeals, narrative=narrative)


YIYUAN_APPEALS = [0, 0, 1, 0, 1, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0]


def test_a_narrative_figure_rules_out_glued_appeals_readings():
    # yiyuan's glued table 四: R4 alone leaves 0 0 1 0 1 | … and 0 0 10 _ 10 | … (blanks leave no
    # trace); a narrative that states 行政复议1件 rules the 10s out, and what is left is one reading.
    reading, flags = read(_appeals_text("001010002200000", "本机关本年度发生政府信息公开行政复议1件。"))
    assert [reading.fields[k] for k in APPEAL_KEYS] == YIYUAN_APPEALS
    assert not error_keys(flags) & set(APPEAL_KEYS)
    rec = [f for f in flags if f.severity == "warning" and "recovered by arithmetic" in f.message
           and "appeals.admin_review.total" in f.keys]
    assert rec and "「行政复议1件」" in rec[0].message and "rules out 16 more" in rec[0].message
    # 行政复议10件 keeps the readings with 10s: still several (where the blanks were), so null and listed.
    reading, flags = read(_appeals_text("001010002200000", "本机关本年度发生政府信息公开行政复议10件。"))
    assert reading.fields["appeals.admin_review.total"] == 10 and reading.fields["appeals.admin_review.pending"] is None
    assert "appeals.admin_review.pending" in error_keys(flags)
    assert [reading.fields[f"appeals.lawsuit_after_review.{o}"] for o in APPEAL_OUTCOMES] == [0] * 5


def test_a_narrative_figure_no_reading_fits_is_not_used():
    # 行政复议3件 fits no reading of the run: the figure may speak of something else, so it rules
    # nothing out (the 17 readings stay, and so does the error listing them).
    reading, flags = read(_appeals_text("001010002200000", "本机关本年度发生政府信息公开行政复议3件。", blank=True))
    assert all(reading.fields[f"appeals.admin_review.{o}"] is None for o in ("other", "pending", "total"))
    err = [f for f in flags if f.rule == "READ" and f.severity == "error" and "appeals.admin_review.total" in f.keys]
    assert err and "17 placements add up" in err[0].message and "narrative" not in err[0].message


def test_a_clear_appeals_row_is_never_changed_by_the_narrative():
    printed = "\t".join(str(v) for v in YIYUAN_APPEALS)
    reading, flags = read(_appeals_text(printed, "本机关本年度发生政府信息公开行政复议10件。"))
    assert [reading.fields[k] for k in APPEAL_KEYS] == YIYUAN_APPEALS
    assert any(f.rule == "R6" and f.keys == ["appeals.admin_review.total"] for f in flags)


def test_labels_stripped_or_drifted_rows_go_in_template_order(seed_paths):
    for kind in ("nolabels", "drifted"):
        for name, text in damaged(kind):
            wrong, flags = check_against_gold(name, text)
            assert not wrong, (kind, name, sorted(wrong))
            assert any("template" in f.message and f.severity == "warning" for f in flags)


def test_headers_lost(seed_paths):
    for name, text in damaged("noheaders"):
        wrong, _ = check_against_gold(name, text)
        assert not wrong, (name, sorted(wrong))


def test_a_deleted_blank_separator_is_recovered_by_the_column_rules(seed_paths):
    texts = dict(damaged("blanksep"))
    assert set(texts) == {"zaozhuang_taierzhuang_govoffice_2020"}  # the only seed that prints blank cells
    wrong, flags = check_against_gold("zaozhuang_taierzhuang_govoffice_2020", texts["zaozhuang_taierzhuang_govoffice_2020"])
    assert not wrong
    rec = [f for f in flags if "recovered by arithmetic" in f.message]
    assert rec and "requests.total_processed.natural_person" in rec[0].keys and "ruled out" in rec[0].message


def test_a_stray_number_is_found_but_always_an_error(seed_paths):
    for name, text in damaged("stray"):
        wrong, flags = check_against_gold(name, text)
        assert not wrong, (name, sorted(wrong))
        assert any(f.rule == "SHAPE" and f.severity == "error" and any(k.startswith("requests.") for k in f.keys)
                   for f in flags), name


def test_a_blank_separator_deleted_inside_a_row_of_a_seed():
    # Blank the zero cells of yiyuan's 新收 row (105 _ 1 _ _ _ 106) and lose one of the blanks' separators.
    path = SEEDS / "zibo_yiyuan_2023.txt"
    if not path.exists():
        return
    text = path.read_text("utf-8")
    row = "\t一、本年新收政府信息公开申请数量\n\t105\n\t0\n\t1\n\t0\n\t0\n\t0\n\t106"
    assert row in text
    damaged_text = text.replace(row, "\t一、本年新收政府信息公开申请数量\n\t105\n\t\n\t1\n\t\n\t\n\t106")
    reading, flags = read(damaged_text)
    got = [reading.fields[f"requests.new_received.{c}"] for c in APPLICANT_COLUMNS]
    # Three values for seven cells: R1 allows 105 and 1 almost anywhere, but R3 per column
    # (自然人 105 + 0 = 102 + 3; 科研机构 1 + 0 = 1 + 0; the others 0 + 0 = 0 + 0) leaves one reading.
    assert got == [105, None, 1, None, None, None, 106]
    assert not any(f.severity == "error" for f in flags)
    assert any("recovered by arithmetic" in f.message and "requests.new_received.research" in f.keys for f in flags)


def test_a_clear_printed_error_is_never_repaired():
    rows = _consistent()
    rows["disclosed"] = [6, 1, 0, 0, 0, 0, 8]  # printed total off by one: clear, right count
    text = render(rows)
    text = _glue_line(text, "（七）总计")  # and another row damaged
    reading, flags = read(text)
    assert [reading.fields[f"requests.disclosed.{c}"] for c in APPLICANT_COLUMNS] == [6, 1, 0, 0, 0, 0, 8]
    assert any(f.rule == "R1" and "requests.disclosed.total" in f.keys for f in flags)


# ---------------------------------------------------------------- random consistent tables, glued

def _consistent():
    from synth import consistent_rows
    return consistent_rows()


def _glue_line(text: str, label_start: str) -> str:
    out = []
    for line in text.split("\n"):
        if line.startswith(label_start) or (label_start in line.split("\t")[0] and "\t" in line):
            line = "".join(line.split("\t"))
        out.append(line)
    return "\n".join(out)


def glue_tables(text: str) -> str:
    """Every table 三 and 四 row's cells run together (labels included), as stripped HTML prints them."""
    out, inside = [], False
    for line in text.split("\n"):
        if line.startswith("三、收到"):
            inside = True
        elif line.startswith("五、"):
            inside = False
        if inside and "\t" in line and any(ch.isdigit() for ch in line.split("\t")[-1] + line.split("\t")[-2:][0]):
            line = "".join(line.split("\t"))
        out.append(line)
    return "\n".join(out)


@st.composite
def tables(draw):
    size = st.one_of(st.just(0), st.just(0), st.integers(1, 9), st.integers(10, 120), st.integers(100, 3000))
    # A publisher either prints 0 in every cell that holds nothing, or leaves some of them blank
    # (in any table): the reader takes the document's practice as evidence when a run is ambiguous.
    prints_blanks = draw(st.booleans())

    def blanked(v):
        return None if v == 0 and prints_blanks and draw(st.integers(0, 5)) == 0 else v

    def parts():
        return [blanked(draw(size)) for _ in range(6)]

    rows: dict[str, list] = {}
    for name, _ in ROW_LABELS:
        if name in RESULT_ROWS:
            p = parts()
            rows[name] = p + [sum(v or 0 for v in p)]
    total = [sum(rows[r][c] or 0 for r in rows) for c in range(6)]
    rows["total_processed"] = total + [sum(total)]
    carried = [draw(st.integers(0, t)) if t and draw(st.booleans()) else 0 for t in total]
    forward = [draw(st.integers(0, 20)) if draw(st.integers(0, 3)) == 0 else 0 for _ in range(6)]
    new = [t + f - c for t, f, c in zip(total, forward, carried)]
    for name, p in (("carried_over", carried), ("carried_forward", forward), ("new_received", new)):
        rows[name] = p + [sum(p)]
    appeals = []
    for _ in APPEAL_GROUPS:
        p = [draw(st.one_of(st.just(0), st.integers(0, 12))) for _ in range(4)]
        appeals += [blanked(v) for v in p] + [blanked(sum(p))]
    return rows, appeals


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.booleans())
def test_random_consistent_tables_glued_are_recovered_or_flagged(table, told):
    rows, appeals = table
    # Half the reports state their appeals in the narrative too (what R6 checks), as the table has them.
    n = [v or 0 for v in appeals]
    narrative = f"本年度行政复议{n[4]}件，行政诉讼{n[9] + n[14]}件。" if told else ""
    text = glue_tables(render(rows, appeals="\t".join("" if v is None else str(v) for v in appeals),
                              narrative=narrative))
    reading, flags = read(text)
    errs = error_keys(flags)
    for name, values in rows.items():
        for c, v in zip(APPLICANT_COLUMNS, values):
            key = f"requests.{name}.{c}"
            assert reading.fields[key] == v or key in errs, (key, v, reading.fields[key])
    for i, v in enumerate(appeals):
        key = f"appeals.{APPEAL_GROUPS[i // 5]}.{APPEAL_OUTCOMES[i % 5]}"
        assert reading.fields[key] == v or key in errs, (key, v, reading.fields[key])


def test_a_full_glued_table_three_resolves_well_under_a_second():
    rng = random.Random(3)
    rows = {}
    for name, _ in ROW_LABELS:
        if name in RESULT_ROWS:
            p = [rng.choice([0, 0, rng.randint(1, 9), rng.randint(10, 99), rng.randint(100, 999)]) for _ in range(6)]
            rows[name] = p + [sum(p)]
    total = [sum(rows[r][c] for r in rows) for c in range(6)]
    rows["total_processed"] = total + [sum(total)]
    rows["carried_over"] = [0] * 7
    rows["carried_forward"] = [0] * 7
    rows["new_received"] = list(rows["total_processed"])
    text = glue_tables(render(rows))
    doc = read_text_bytes(text.encode(), "t.txt")
    t = time.perf_counter()
    reading = read_rules(doc)
    took = time.perf_counter() - t
    assert took < 1.0, took
    wrong = [k for name, v in rows.items() for c, x in zip(APPLICANT_COLUMNS, v)
             if reading.fields[(k := f"requests.{name}.{c}")] != x]
    assert not wrong or set(wrong) <= error_keys(reading.flags + validate(reading, doc))


def test_the_narrative_figures_are_read_from_the_prose(seed_paths):
    from extractor.read import evidence as e

    doc = read_text_bytes((SEEDS / "zaozhuang_taierzhuang_govoffice_2020.txt").read_bytes(), "t.txt")
    assert [(f.keys, f.value) for f in e.narrative_figures(e.prose_text(doc))] == [
        (("appeals.lawsuit_direct.total", "appeals.lawsuit_after_review.total"), 8)]
