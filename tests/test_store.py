"""The run store on SQLite and on a real PostgreSQL server; R8 across reports; exports; gold export."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from extractor.across import check_across, organ_key
from extractor.batch import recompute_across, sha256_file
from extractor.contract import field_specs, keys_for
from extractor.export import columns, export, gold_of, recheck, write_gold
from extractor.pipeline import run_file
from extractor.store import Store, StoreError

from conftest import GOLD, ROOT, SEEDS
from pgtest import fresh_schema, pg_url_or_skip

T2020 = SEEDS / "zaozhuang_taierzhuang_govoffice_2020.txt"
YIYUAN = SEEDS / "zibo_yiyuan_2023.txt"
SAMPLE = ROOT / "extractor" / "samples" / "zaozhuang_taierzhuang_govoffice_2020.txt"  # in the checkout


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(tmp_path / "runs.sqlite")
        yield s
        s.close()
    else:
        url, drop = fresh_schema(pg_url_or_skip())
        s = Store(url)
        assert s.engine.dialect.name == "postgresql"
        yield s
        s.close()
        drop()


def put(store: Store, path, producer: dict | None = None, **changes) -> int:
    """Extract a file (rules engine) and store it; ``changes`` alter the result first (fields/meta)."""
    result, doc, _ = run_file(path, "rules")
    d = json.loads(result.model_dump_json())
    sha = sha256_file(path)
    for k, v in changes.items():
        if k == "fields":  # as if the engine had misread them: the validator's sums then flag them
            d["fields"].update(v)
            d["flags"] += [f.model_dump() for f in recheck(d["fields"])]
            d["status"] = "flagged"
        elif k == "meta":
            d["meta"].update(v)
        elif k == "sha":
            sha = v
        else:
            d[k] = v
    return store.put_result(d, sha, text=doc.text if doc else None, kind=doc.kind if doc else None,
                            paths=[(str(path), path.stat().st_size)], producer=producer)


def test_put_is_keyed_by_content_and_first_write_wins(store, seed_paths):
    rid = put(store, T2020)
    again = put(store, T2020, fields={"requests.disclosed.total": 999})
    assert again == rid and store.count() == 1
    assert store.get(rid)["fields"]["requests.disclosed.total"] == 9  # first write kept
    assert store.get(rid)["error_count"] == 1
    sha = sha256_file(T2020)
    assert store.done([sha, "f" * 64]) == {sha}
    view = store.get(rid, with_text=True)
    assert view["status"] == "flagged" and view["meta"]["format"] == "2019" and view["kind"] == "text"
    loc = view["provenance"]["requests.disclosed.total"]
    assert view["text"][loc["start"]:loc["end"]] == "9"
    assert store.file_rows()[0]["sha256"] == sha


@pytest.mark.shared
def test_a_failed_report_is_replaced_on_retry(store, tmp_path):
    bad = {"file": "x.txt", "doc": "x", "status": "failed", "error": {"code": "timeout", "message": "slow"},
           "flags": [], "fields": {}, "meta": {}}
    sha = sha256_file(YIYUAN)
    rid = store.put_result(bad, sha)
    assert store.done([sha]) == {sha} and store.done([sha], retry_failed=True) == set()
    assert put(store, YIYUAN) == rid
    assert store.get(rid)["status"] == "ok" and store.count() == 1


def test_a_result_records_what_produced_it_and_is_replaced_only_when_asked_and_unreviewed(store):
    sha = sha256_file(SAMPLE)
    rules = {"engine": "rules", "model": None, "version": "1"}
    rid = put(store, SAMPLE, producer=rules)
    assert store.stored([sha, "f" * 64]) == {sha: {"status": "flagged", "producer": rules, "reviewed": False}}
    llm = {"engine": "llm", "model": "m", "version": "1"}
    result = {**store.get(rid)["extracted"], "file": str(SAMPLE), "doc": "x", "status": "ok", "engine": "llm",
              "flags": []}
    assert store.put_result(result, sha, producer=llm) == rid  # first write wins...
    assert store.stored([sha])[sha]["producer"] == rules
    assert store.put_result(result, sha, producer=llm, replace=True) == rid  # ...unless replacing
    assert store.stored([sha])[sha]["producer"] == llm
    assert store.get(rid)["engine"] == "llm" and store.get(rid)["status"] == "ok" and store.count() == 1
    store.correct(rid, "requests.disclosed.total", 8, "ann")  # a reviewer's work is never overwritten
    assert store.stored([sha])[sha]["reviewed"] is True
    store.put_result({**result, "engine": "rules"}, sha, producer=rules, replace=True)
    assert store.get(rid)["engine"] == "llm" and store.get(rid)["fields"]["requests.disclosed.total"] == 8


def test_a_store_from_before_producers_were_recorded_is_migrated(store):
    rid = put(store, SAMPLE)
    with store.engine.begin() as c:  # the reports table as older versions made it
        c.execute(sa.text("ALTER TABLE reports DROP COLUMN producer"))
    with Store(store.url) as old:
        sha = sha256_file(SAMPLE)
        assert old.stored([sha])[sha]["producer"] == {"engine": "rules"}  # model and version unknown
        assert old.get(rid)["status"] == "flagged"
        old.put_result(old.stored_result(sha), sha, producer={"engine": "rules", "model": None, "version": "1"},
                       replace=True)
        assert old.stored([sha])[sha]["producer"]["version"] == "1"
    Store(store.url).close()  # opening a migrated store again changes nothing


def test_queue_sorts_by_errors_and_approval_leaves_it(store, seed_paths):
    ids = {p.stem: put(store, p) for p in seed_paths}
    # one more report with three broken rows (R1 errors): it must come first
    worse = put(store, YIYUAN, sha="e" * 64, fields={"requests.disclosed.total": 1, "requests.new_received.total": 1})
    q = store.queue(flagged=True)
    assert [r["id"] for r in q][:2] == [worse, ids["zaozhuang_taierzhuang_govoffice_2020"]]
    assert q[0]["error_count"] > q[1]["error_count"] >= 1 and "SHAPE" in q[1]["rules"]
    assert all(r["status"] == "flagged" for r in q)
    store.approve(worse, "ann")
    assert worse not in [r["id"] for r in store.queue(flagged=True)]
    assert worse in [r["id"] for r in store.queue(flagged=True, include_approved=True)]
    assert len(store.queue(flagged=None, include_approved=True)) == len(seed_paths) + 1


@pytest.mark.shared
def test_corrections_are_logged_with_time_and_reviewer(store):
    rid = put(store, T2020)
    view = store.correct(rid, "requests.disclosed.total", "8", "ann")
    assert view["fields"]["requests.disclosed.total"] == 8
    assert view["extracted"]["fields"]["requests.disclosed.total"] == 9
    store.correct(rid, "requests.carried_forward.natural_person", "", "bob")
    store.correct(rid, "meta.organ", "台儿庄区政府办", "bob")
    view = store.approve(rid, "ann", source_consistent=False, notes="checked against the PDF")
    log = view["log"]
    assert [(x["action"], x["key"], x["old"], x["new"], x["reviewer"]) for x in log[:3]] == [
        ("correct", "requests.disclosed.total", 9, 8, "ann"),
        ("correct", "requests.carried_forward.natural_person", None, None, "bob"),
        ("correct", "meta.organ", "台儿庄区人民政府办公室", "台儿庄区政府办", "bob")]
    assert log[3]["action"] == "approve" and all(x["at"].endswith("Z") for x in log)
    assert view["review"]["status"] == "approved" and view["review"]["reviewer"] == "ann"
    # an edit after approval puts the report back in the queue
    store.correct(rid, "requests.disclosed.total", 9, "ann")
    assert store.get(rid)["review"]["status"] == "pending"
    for key, value in [("active.regulations.issued", 1), ("requests.disclosed.total", "abc"), ("meta.year", "20x")]:
        with pytest.raises(StoreError):
            store.correct(rid, key, value, "ann")  # a 2021-format key on a 2019 report, not numbers
    with pytest.raises(StoreError):
        store.correct(rid, "requests.disclosed.total", 1, " ")  # a reviewer name is required


# ---------------------------------------------------------------------- R8

def test_organ_names_normalise():
    assert organ_key("台儿庄区人民政府") == organ_key("台儿庄区政府")
    assert organ_key("淄博市科学技术委员会") == organ_key("淄博市科委")
    assert organ_key("台儿庄区人民政府办公室") == organ_key("台儿庄区政府办")
    assert organ_key("张 店 区 人民政府") == organ_key("张店区政府")
    assert organ_key("张店区政府") != organ_key("临淄区政府")
    assert organ_key(None) == ""


def _rep(id_, organ, year, **fields):
    return {"id": id_, "doc": f"d{id_}", "organ": organ, "year": year, "status": "ok", "fields": fields}


def test_r8_checks_consecutive_years_only():
    cols = ("natural_person", "commercial", "research", "social_welfare", "legal_service", "other_org", "total")
    fwd = {f"requests.carried_forward.{c}": v for c, v in zip(cols, (3, 0, 0, 0, 0, 0, 3))}
    good = {f"requests.carried_over.{c}": v for c, v in zip(cols, (3, 0, 0, 0, 0, 0, 3))}
    bad = {f"requests.carried_over.{c}": v for c, v in zip(cols, (2, 0, 0, 0, 0, 0, 2))}
    reports = [
        _rep(1, "沂源县人民政府", 2022, **fwd, **{"active.normative_docs.in_force": 48}),
        _rep(2, "沂源县政府", 2023, **bad, **{"active.normative_docs.issued": 5, "active.normative_docs.repealed": 1,
                                          "active.normative_docs.in_force": 50}),
        _rep(3, "沂源县人民政府", 2025, **bad),  # 2024 missing: nothing to compare with
        _rep(4, "临淄区人民政府", 2023, **bad),  # another body
    ]
    out = check_across(reports)
    assert set(out) == {2}
    err = [f for f in out[2] if f.severity == "error"]
    warn = [f for f in out[2] if f.severity == "warning"]
    assert len(err) == 1 and err[0].rule == "R8"
    assert err[0].keys == ["requests.carried_over.natural_person", "requests.carried_over.total"]
    assert err[0].expected == 3 and err[0].printed == 2 and "d1" in err[0].message
    assert len(warn) == 1 and warn[0].expected == 52 and warn[0].printed == 50
    # the same body's report of the previous year scraped twice: agreeing with one of them is enough
    reports.append(_rep(5, "沂源县人民政府", 2022, **{k.replace("carried_over", "carried_forward"): v
                                                 for k, v in bad.items()}, **{"active.normative_docs.in_force": 48}))
    assert [f.severity for f in check_across(reports)[2]] == ["warning"]
    fixed = {**reports[1], "fields": {**reports[1]["fields"], **good}}
    assert [f.severity for f in check_across([reports[0], fixed])[2]] == ["warning"]


@pytest.mark.shared
def test_r8_flags_are_stored_on_the_later_report_and_shown_in_the_queue(store):
    prev = put(store, YIYUAN)
    nxt = put(store, YIYUAN, sha="a" * 64, meta={"year": 2024, "organ": "沂源县政府"},
              fields={"active.normative_docs.issued": 2})
    flags = recompute_across(store)
    assert set(flags) == {nxt}
    view = store.get(nxt)
    r8 = [f for f in view["flags"] if f["rule"] == "R8"]
    assert {f["severity"] for f in r8} == {"error", "warning"}
    assert view["status"] == "flagged" and store.get(prev)["status"] == "ok"
    q = store.queue(flagged=True)
    assert [r["id"] for r in q] == [nxt] and "R8" in q[0]["rules"]
    # the reviewer fixes 上年结转 to chain up: the R8 error goes, the warning stays
    for c in ("natural_person", "total"):
        store.correct(nxt, f"requests.carried_over.{c}", 3, "ann")
    recompute_across(store, [organ_key("沂源县政府")])
    r8 = [f for f in store.get(nxt)["flags"] if f["rule"] == "R8"]
    assert [f["severity"] for f in r8] == ["warning"]
    # ...and the corrected values are re-checked: 上年结转 3 now breaks the balance (R3) of those columns
    q = store.queue(flagged=True)
    assert [r["id"] for r in q] == [nxt] and q[0]["rules"] == ["R3"] and q[0]["error_count"] == 2


# ---------------------------------------------------------------------- exports

def test_wide_exports_load_in_pandas(store, seed_paths, tmp_path):
    pd = pytest.importorskip("pandas")
    for p in seed_paths:
        put(store, p)
    rid = store.queue(flagged=True)[0]["id"]
    store.correct(rid, "requests.disclosed.total", 8, "ann")
    keys = [f.key for f in field_specs()]
    frames = {}
    for fmt in ("csv", "parquet"):
        out = tmp_path / f"x.{fmt}"
        assert export(store, fmt, out) == len(seed_paths)
        frames[fmt] = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    for fmt, df in frames.items():
        assert len(df) == len(seed_paths) and df["sha256"].is_unique, fmt
        assert list(df.columns) == columns() and list(df.columns[-len(keys):]) == keys, fmt
        assert {"organ", "year", "format", "file", "doc", "status", "flag_count", "error_count"} <= set(df.columns)
        row = df.set_index("doc").loc["zaozhuang_taierzhuang_govoffice_2020"]
        assert row["requests.disclosed.total"] == 8 and str(row["format"]) == "2019" and row["organ"] == "台儿庄区人民政府办公室"
        assert pd.isna(row["active.regulations.issued"])  # a 2021-only key on a 2019 report
        yi = df.set_index("doc").loc["zibo_yiyuan_2023"]
        assert yi["requests.new_received.total"] == 106 and yi["status"] == "ok" and yi["error_count"] == 0
    import pyarrow.parquet as pq

    schema = pq.read_schema(tmp_path / "x.parquet")
    assert str(schema.field("requests.new_received.total").type) == "int64"
    assert str(schema.field("active.fees.amount").type) == "double"
    out = tmp_path / "x.jsonl"
    export(store, "jsonl", out)
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert len(lines) == len(seed_paths) and all({"file", "doc", "status", "meta", "fields", "flags", "sha256"} <= set(x)
                                                  for x in lines)
    copy_path = tmp_path / "copy.sqlite"
    export(store, "sqlite", copy_path)
    with Store(copy_path) as c:
        assert c.count() == len(seed_paths) and c.get(rid)["log"][0]["new"] == 8


@pytest.mark.shared
def test_export_gold_writes_approved_reports_in_the_contract_form(store, tmp_path):
    rid = put(store, T2020)
    put(store, YIYUAN)  # not approved: not exported
    store.approve(rid, "ann", notes="SHAPE row checked by hand")
    paths = write_gold(store, tmp_path / "gold")
    assert [p.name for p in paths] == ["zaozhuang_taierzhuang_govoffice_2020.json"]
    g = json.loads(paths[0].read_text("utf-8"))
    assert list(g) == ["doc", "meta", "fields", "unscored", "source_consistent", "notes"]
    assert list(g["fields"]) == list(keys_for("2019")) and g["unscored"] == []
    hand = json.loads((GOLD / "zaozhuang_taierzhuang_govoffice_2020.json").read_text("utf-8"))
    assert g["meta"] == hand["meta"] and g["fields"] == hand["fields"]
    assert g["source_consistent"] is False  # the SHAPE anomaly: the printed row has a value too many
    assert "SHAPE row checked by hand" in g["notes"] and "ann" in g["notes"]


@pytest.mark.shared
def test_default_source_consistency_follows_the_values(store):
    rid = put(store, YIYUAN)
    assert gold_of(store.approve(rid, "ann"))["source_consistent"] is True
    store.correct(rid, "requests.disclosed.total", 0, "ann")  # now R1/R2 break
    assert gold_of(store.approve(rid, "ann"))["source_consistent"] is False
    assert gold_of(store.approve(rid, "ann", source_consistent=True))["source_consistent"] is True


def test_store_urls(tmp_path):
    from extractor.store import store_url

    assert store_url(tmp_path / "a" / "b.sqlite") == f"sqlite:///{tmp_path}/a/b.sqlite"
    assert store_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert store_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert store_url("sqlite:///x.db") == "sqlite:///x.db"
    assert copy.copy(store_url(str(tmp_path / "c.db"))).startswith("sqlite:///")
