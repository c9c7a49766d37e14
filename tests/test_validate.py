"""Each validator rule with a passing and a failing case."""

from extractor.contract import keys_for
from extractor.ingest.text import read_text_bytes
from extractor.read.rules import read_rules
from extractor.validate import (
    check_appeals,
    check_balance,
    check_grounding,
    check_narrative,
    check_results_totals,
    check_row_totals,
    check_values,
    validate,
)

from synth import consistent_rows, render


def fields_of(rows):
    f = {k: None for k in keys_for("2021")}
    for name, values in rows.items():
        for col, v in zip(("natural_person", "commercial", "research", "social_welfare", "legal_service", "other_org", "total"), values):
            f[f"requests.{name}.{col}"] = v
    for g in ("admin_review", "lawsuit_direct", "lawsuit_after_review"):
        for o in ("upheld", "corrected", "other", "pending", "total"):
            f[f"appeals.{g}.{o}"] = 0
    return f


def rules(flags):
    return sorted({f.rule for f in flags})


def test_r1_row_total():
    f = fields_of(consistent_rows())
    assert check_row_totals(f) == []
    f["requests.disclosed.total"] = 8
    out = check_row_totals(f)
    assert rules(out) == ["R1"] and out[0].severity == "error" and "requests.disclosed.total" in out[0].keys
    assert out[0].expected == 7 and out[0].printed == 8


def test_r2_results_total():
    f = fields_of(consistent_rows())
    assert check_results_totals(f) == []
    f["requests.disclosed.natural_person"] = 7
    out = check_results_totals(f)
    assert rules(out) == ["R2"] and "requests.total_processed.natural_person" in out[0].keys


def test_r3_balance():
    f = fields_of(consistent_rows())
    assert check_balance(f) == []
    f["requests.carried_forward.natural_person"] = 2
    assert rules(check_balance(f)) == ["R3"]


def test_r4_appeals_total():
    f = fields_of(consistent_rows())
    f.update({"appeals.lawsuit_direct.upheld": 2, "appeals.lawsuit_direct.total": 2})
    assert check_appeals(f) == []
    f["appeals.lawsuit_direct.total"] = 0  # printed 0 beside non-zero parts
    out = check_appeals(f)
    assert rules(out) == ["R4"] and out[0].printed == 0 and out[0].expected == 2


def test_r5_value_sanity():
    f = fields_of(consistent_rows())
    assert check_values(f) == []
    f["requests.disclosed.research"] = -1
    f["active.fees.amount"] = 7730.28  # amounts may have decimals
    f["requests.disclosed.commercial"] = 1.5
    out = check_values(f)
    assert {k for fl in out for k in fl.keys} == {"requests.disclosed.research", "requests.disclosed.commercial"}


def test_r6_narrative_vs_table():
    ok = render(consistent_rows(), narrative="2023年共收到政府信息公开申请12件（其中上年结转2件）。")
    doc = read_text_bytes(ok.encode(), "t.txt")
    r = read_rules(doc)
    assert check_narrative(r.fields, doc) == []
    bad = render(consistent_rows(), narrative="全年受理政府信息公开申请17件。因依申请公开引发的行政诉讼案件8件。")
    doc = read_text_bytes(bad.encode(), "t.txt")
    r = read_rules(doc)
    out = check_narrative(r.fields, doc)
    assert rules(out) == ["R6"] and len(out) == 2
    assert all(f.severity == "error" for f in out)


def test_r7_grounding_catches_a_value_not_printed_there():
    doc = read_text_bytes(render(consistent_rows()).encode(), "t.txt")
    r = read_rules(doc)
    assert check_grounding(r, doc) == []
    r.fields["requests.disclosed.natural_person"] = 60  # e.g. an LLM's "fix"
    out = check_grounding(r, doc)
    assert rules(out) == ["R7"] and out[0].keys == ["requests.disclosed.natural_person"]
    r.fields["requests.disclosed.natural_person"] = None  # a printed 6 read as null
    assert rules(check_grounding(r, doc)) == ["R7"]
    del r.provenance["requests.disclosed.total"]
    assert any("not tied" in f.message for f in check_grounding(r, doc))


def test_a_consistent_synthetic_report_has_no_error_flags():
    doc = read_text_bytes(render(consistent_rows()).encode(), "t.txt")
    r = read_rules(doc)
    assert [f for f in r.flags + validate(r, doc) if f.severity == "error"] == []


def test_printed_errors_are_kept_as_printed_and_flagged():
    rows = consistent_rows()
    rows["total_processed"] = [9, 2, 0, 0, 0, 0, 12]  # publisher's arithmetic slip
    doc = read_text_bytes(render(rows).encode(), "t.txt")
    r = read_rules(doc)
    assert r.fields["requests.total_processed.total"] == 12
    assert "R1" in rules(validate(r, doc))


def test_a_whole_amount_of_a_hundred_million_or_more_is_a_unit_warning():
    f = fields_of(consistent_rows())
    for ok in (18637.42, 9999, 12000.5):  # a province's fees in 万元 print decimals
        f["active.fees.amount"] = ok
        assert check_values(f) == [], ok
    f["active.fees.amount"] = 86400  # 元 under a 万元 header
    [flag] = check_values(f)
    assert (flag.rule, flag.severity, flag.keys) == ("R5", "warning", ["active.fees.amount"])
    assert "元" in flag.message and flag.printed == 86400


def test_r6_carried_forward_in_the_narrative():
    ok = render(consistent_rows(), narrative="全年办结11件，结转下年度继续办理1件。")
    doc = read_text_bytes(ok.encode(), "t.txt")
    assert check_narrative(read_rules(doc).fields, doc) == []
    bad = render(consistent_rows(), narrative="全年办结11件，结转下年度继续办理的申请9件。")
    doc = read_text_bytes(bad.encode(), "t.txt")
    out = check_narrative(read_rules(doc).fields, doc)
    assert rules(out) == ["R6"] and out[0].keys == ["requests.carried_forward.total"]
    assert (out[0].expected, out[0].printed) == (9, 1)
