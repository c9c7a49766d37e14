"""The scorer itself, on hand-built extraction/gold pairs with known figures."""

import json

import pytest

from extractor.contract import GoldReport, keys_for
from extractor.flags import Flag
from extractor.pipeline import Result

from eval.harness import evaluate, score_report

from conftest import GOLD, SEEDS


def gold(**kw):
    fields = {k: 0 for k in keys_for("2021")}
    return GoldReport(doc="d", meta={"organ": "某区人民政府", "year": 2023, "format": "2021"}, fields=fields, **kw)


def result(fields, flags=(), status="ok"):
    return Result(file="d.txt", doc="d", status=status, meta={"organ": "某区 人民政府", "year": 2023, "format": "2021"},
                  fields=fields, flags=list(flags))


def test_exact_report_scores_all_correct():
    g = gold()
    s = score_report(g, result(dict(g.fields)))
    assert (s["scored"], s["correct"], s["needs_review"], s["flagged"]) == (207, 207, False, False)
    assert s["meta"] == [3, 3]  # organ compared without spaces


def test_wrong_cells_and_where_they_came_from():
    g = gold()
    got = dict(g.fields)
    got["requests.disclosed.total"] = 5
    got["appeals.admin_review.total"] = None
    r = result(got)
    r.provenance["requests.disclosed.total"] = {"start": 10, "end": 11}
    s = score_report(g, r)
    assert s["correct"] == 205 and s["needs_review"]
    w = {x["key"]: x for x in s["wrong"]}
    assert w["requests.disclosed.total"]["where"] == "chars 10-11"
    assert w["appeals.admin_review.total"]["got"] is None


def test_unscored_keys_are_skipped_but_make_the_report_need_review():
    g = gold(unscored=["requests.disclosed.total"])
    got = dict(g.fields)
    got["requests.disclosed.total"] = 99
    s = score_report(g, result(got))
    assert s["scored"] == 206 and s["correct"] == 206 and s["needs_review"]


def test_amounts_compare_to_two_decimals_and_null_equals_null_only():
    g = gold()
    g.fields["active.fees.amount"] = 7730.28
    g.fields["active.regulations.issued"] = None
    got = dict(g.fields)
    got["active.fees.amount"] = 7730.2800001
    assert score_report(g, result(got))["correct"] == 207
    got["active.regulations.issued"] = 0
    assert score_report(g, result(got))["correct"] == 206


def test_failed_document_counts_all_wrong_and_flagged():
    s = score_report(gold(), result({}, status="failed"))
    assert s["correct"] == 0 and s["flagged"] and s["needs_review"]


def test_warnings_do_not_count_as_flagged():
    g = gold()
    s = score_report(g, result(dict(g.fields), [Flag(rule="BLANK", severity="warning", message="x")]))
    assert not s["flagged"]
    s = score_report(g, result(dict(g.fields), [Flag(rule="R1", severity="error", message="x")]))
    assert s["flagged"] and not s["needs_review"]  # a false positive


@pytest.mark.shared
def test_recall_precision_and_pairing_on_a_folder(tmp_path):
    docs, gdir = tmp_path / "docs", tmp_path / "gold"
    docs.mkdir(), gdir.mkdir()
    for name in ("zibo_yiyuan_2023", "zaozhuang_taierzhuang_govoffice_2020"):
        (docs / f"{name}.txt").write_bytes((SEEDS / f"{name}.txt").read_bytes())
        (gdir / f"{name}.json").write_text((GOLD / f"{name}.json").read_text("utf-8"), "utf-8")
    (docs / "no_gold_here.txt").write_text("随便", "utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    g = json.loads((GOLD / "zibo_yiyuan_2023.json").read_text("utf-8"))
    g["doc"] = "broken"
    (gdir / "broken.json").write_text(json.dumps(g, ensure_ascii=False), "utf-8")
    r = evaluate(docs, gdir, engine="rules")
    assert r["reports"] == 3
    assert [e["doc"] for e in r["errors"]] == ["broken"]
    assert any("no_gold_here" in u for u in r["unpaired"])
    # yiyuan exact; taierzhuang needs review and is flagged; broken is all wrong and counts as flagged
    assert r["flags"] == {"precision": 1.0, "recall": 1.0, "tp": 2, "fp": 0, "fn": 0}
    assert r["field_accuracy"] == round((207 + 217) / (207 + 217 + 207), 6)
    assert r["report_exact"] == round(2 / 3, 6)
    assert set(r) >= {"engine", "by_section", "by_format", "meta_accuracy", "llm", "seconds", "per_report"}


def test_seed_eval_is_exact_and_mutations_are_caught(seed_paths):
    r = evaluate(SEEDS, GOLD, engine="rules", mutate=40)
    assert r["field_accuracy"] == 1.0 and r["flags"]["recall"] == 1.0 and r["flags"]["precision"] == 1.0
    assert r["mutation_detect_rate"] >= 0.99, r["mutation"]["misses"]
