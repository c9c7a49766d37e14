"""Batch runs into the run store: a 500+ file corpus, kill -9 and resume, duplicates, R8, PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractor import batch
from extractor.batch import sha256_file
from extractor.cli import main
from extractor.store import Store

from conftest import ROOT, SEEDS, skip_without_shared
from pgtest import fresh_schema, pg_url_or_skip

BAD_FILES = {
    "bad/empty.txt": b"",
    "bad/junk.pdf": b"\x00\x01\x02binary junk" * 10,
    "bad/archive.docx": (b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + b"\x00" * 20),
    "bad/not_a_docx.docx": b"PK\x03\x04 this is not a zip at all",
    "bad/error_page.pdf": b"<html><head><title>404</title></head><body>Not Found</body></html>",
    "bad/hello.txt": "你好，这不是年度报告。".encode(),
    "bad/nul.html": b"\x00" * 64,
}


def build_corpus(root: Path, copies: int) -> list[Path]:
    """``copies`` seed copies, each with a line added at the end (so every file has its own sha256),
    spread over nested folders, plus the bad files above."""
    skip_without_shared()
    seeds = sorted(SEEDS.glob("*.txt"))
    paths = []
    for i in range(copies):
        src = seeds[i % len(seeds)]
        p = root / f"batch{i % 7}" / f"d{i % 3}" / f"{src.stem}.copy{i:04d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(src.read_bytes() + f"\n（抄送副本 {i}）\n".encode())
        paths.append(p)
    for name, data in BAD_FILES.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        paths.append(p)
    return paths


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return c.execute("SELECT count(*) FROM reports").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "extractor.cli", *args]


def test_kill_9_mid_run_then_resume_accounts_for_every_file_once(tmp_path):
    corpus = tmp_path / "corpus"
    files = build_corpus(corpus, 500)
    total = len(files)
    db = tmp_path / "runs.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["extract", str(corpus), "--store", str(db), "--engine", "rules", "--workers", "2", "--progress"]

    err1 = tmp_path / "run1.err"
    with open(err1, "wb") as err:
        proc = subprocess.Popen(_cli(*args, "-o", str(tmp_path / "run1.jsonl")), stdout=subprocess.DEVNULL,
                                stderr=err, env=env, start_new_session=True, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while _count(db) < 60 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # `kill -9` on the CLI's process: its workers must follow it
        proc.wait()
        survivors = True
        for _ in range(100):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                survivors = False
                break
            time.sleep(0.1)
        if survivors:
            os.killpg(proc.pid, signal.SIGKILL)
        assert not survivors, "worker processes outlived the killed CLI"
    assert proc.returncode == -signal.SIGKILL
    stored = _count(db)
    assert 0 < stored < total, f"kill landed at {stored} of {total}: the test needs it mid-run"
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = dict(c.execute("SELECT sha256, created_at FROM reports"))

    run2 = subprocess.run(_cli(*args, "-o", str(tmp_path / "run2.jsonl")), capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert run2.returncode == 0, run2.stderr[-2000:]
    assert f"{total} reports read" in run2.stderr
    assert f"({stored} already in the store)" in run2.stderr  # nothing done twice...
    assert f"{len(BAD_FILES)} failed" in run2.stderr
    # the progress bar: files/s, flagged, failed, ETA
    assert "file/s" in run2.stderr and "flagged=" in run2.stderr and "failed=" in run2.stderr and "<" in run2.stderr

    with sqlite3.connect(db) as c:
        reports = c.execute("SELECT sha256, status, created_at, doc FROM reports").fetchall()
        paths = [r[0] for r in c.execute("SELECT path FROM files")]
        file_sha = dict(c.execute("SELECT path, sha256 FROM files"))
    shas = [r[0] for r in reports]
    assert len(reports) == total and len(set(shas)) == total  # ...and nothing lost
    assert sorted(paths) == sorted(str(p) for p in files)  # every file accounted for, exactly once
    assert set(file_sha.values()) == set(shas)
    assert all(dict((r[0], r[2]) for r in reports)[sha] == at for sha, at in before.items())  # kept, not redone
    statuses = {r[3]: r[1] for r in reports if r[1] != "failed"}
    assert statuses["zaozhuang_taierzhuang_govoffice_2020"] == "flagged" and statuses["zibo_yiyuan_2023"] == "ok"
    lines = [json.loads(x) for x in (tmp_path / "run2.jsonl").read_text("utf-8").splitlines()]
    assert sorted(x["file"] for x in lines) == sorted(str(p) for p in files)


def test_store_skips_done_files_and_counts_duplicates_once(tmp_path, seed_paths):
    docs = tmp_path / "docs"
    docs.mkdir()
    for p in seed_paths:
        (docs / p.name).write_bytes(p.read_bytes())
    (docs / "again.txt").write_bytes(seed_paths[0].read_bytes())  # same bytes, another name
    (docs / "empty.txt").write_bytes(b"")
    db = tmp_path / "runs.sqlite"
    out1, out2 = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    r1 = CliRunner().invoke(main, ["extract", str(docs), "--engine", "rules", "--store", str(db), "-o", str(out1)])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(main, ["extract", str(docs), "--engine", "rules", "--store", str(db), "-o", str(out2)])
    assert r2.exit_code == 0, r2.output
    n = len(seed_paths) + 2
    assert f"{n} reports read" in r2.stderr and f"({n} already in the store)" in r2.stderr
    one = {json.loads(x)["file"]: json.loads(x) for x in out1.read_text("utf-8").splitlines()}
    two = {json.loads(x)["file"]: json.loads(x) for x in out2.read_text("utf-8").splitlines()}
    assert len(one) == n and set(one) == set(two)
    for f in one:  # the stored line comes back as it was written
        assert {k: v for k, v in one[f].items() if k != "timings"} == {k: v for k, v in two[f].items() if k != "timings"}
    assert two[str(docs / "again.txt")]["doc"] == "again"
    with Store(db) as s:
        assert s.count() == len(seed_paths) + 1  # the duplicate shares its twin's report
        assert len(s.file_rows()) == n


def test_retry_failed_extracts_failed_files_again(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "empty.txt").write_bytes(b"")
    db = tmp_path / "runs.sqlite"
    base = ["extract", str(docs), "--engine", "rules", "--store", str(db), "-o", str(tmp_path / "o.jsonl")]
    assert CliRunner().invoke(main, base).exit_code == 0
    r = CliRunner().invoke(main, base)
    assert "already in the store" in r.stderr
    r = CliRunner().invoke(main, base + ["--retry-failed"])
    assert "already in the store" not in r.stderr and "1 failed" in r.stderr
    with Store(db) as s:
        assert s.count() == 1


SAMPLE = ROOT / "extractor" / "samples" / "zaozhuang_taierzhuang_govoffice_2020.txt"


@pytest.fixture
def no_llm(monkeypatch):
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OGI_MODEL"):
        monkeypatch.delenv(var, raising=False)


def test_a_rerun_by_another_engine_or_version_extracts_again(tmp_path, no_llm, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / SAMPLE.name).write_bytes(SAMPLE.read_bytes())
    db = tmp_path / "runs.sqlite"

    def run(*flags: str):
        r = CliRunner().invoke(main, ["extract", str(tmp_path / "docs"), "--store", str(db),
                                      "-o", str(tmp_path / "o.jsonl"), *flags])
        assert r.exit_code == 0, r.output
        with Store(db) as s:
            [stored] = s.stored([sha256_file(SAMPLE)]).values()
        return r.stderr, stored["producer"]

    err, made_by = run("--engine", "rules")
    assert made_by == {"engine": "rules", "model": None, "version": batch.VERSION}
    err, _ = run("--engine", "rules")
    assert "(1 already in the store)" in err and "re-extracted" not in err
    err, made_by = run("--progress")  # the default engine, hybrid
    assert "re-extracting 1 stored reports (engine changed)" in err  # said at the start, and at the end
    assert "re-extracted 1 stored reports (engine changed)" in err and "already in the store" not in err
    assert made_by["engine"] == "hybrid" and json.loads((tmp_path / "o.jsonl").read_text())["engine"] == "hybrid"
    monkeypatch.setattr(batch, "VERSION", "99.0")
    err, made_by = run()
    assert "re-extracted 1 stored reports (version changed)" in err and made_by["version"] == "99.0"
    with Store(db) as s:
        s.approve(s.count(), "ann")
    err, made_by = run("--engine", "rules")
    assert "kept 1 reviewed reports as stored" in err and made_by["engine"] == "hybrid"


def test_a_store_from_before_producers_were_recorded_compares_the_engine_only(tmp_path, no_llm):
    db = tmp_path / "runs.sqlite"
    base = ["extract", str(SAMPLE), "--store", str(db), "-o", str(tmp_path / "o.jsonl")]
    assert CliRunner().invoke(main, base + ["--engine", "rules"]).exit_code == 0
    with sqlite3.connect(db) as c:
        c.execute("ALTER TABLE reports DROP COLUMN producer")
    r = CliRunner().invoke(main, base + ["--engine", "rules"])  # model and version unknown: as now
    assert "(1 already in the store)" in r.stderr
    r = CliRunner().invoke(main, base)
    assert "re-extracted 1 stored reports (engine changed)" in r.stderr


def test_what_produces_a_result_and_when_a_stored_one_is_redone(monkeypatch, no_llm):
    assert batch.producer("hybrid", {"model": "a"})["model"] is None  # no endpoint: no LLM is used
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    a, b = batch.producer("hybrid", {"model": "a"}), batch.producer("hybrid", {"model": "b"})
    assert a["model"] == "a" and batch.producer("rules", {"model": "a"})["model"] is None

    def stored(producer, status="ok"):
        return {"status": status, "producer": producer, "reviewed": False}

    assert batch.redo_reason(stored(a), a) is None
    assert batch.redo_reason(stored(a), b) == "model changed"
    assert batch.redo_reason(stored(a), {**b, "engine": "llm"}) == "engine and model changed"
    assert batch.redo_reason(stored({"engine": "hybrid"}), b) is None  # stored before producers were recorded
    assert batch.redo_reason(stored({}), b) is None
    assert batch.redo_reason(stored(a, "failed"), a) is None
    assert batch.redo_reason(stored(a, "failed"), a, retry_failed=True) == "failed before"


@pytest.mark.shared
def test_r8_across_years_after_a_run(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    src = SEEDS / "zibo_yiyuan_2023.txt"
    (docs / src.name).write_bytes(src.read_bytes())
    # next year's report of the same body, titled 县政府 instead of 县人民政府: 上年结转 printed 0
    # although 2023 carried 3 forward; 规范性文件 in force stays 48 although 5 were issued
    text = src.read_text("utf-8").replace("2023", "2024").replace("沂源县人民政府2024年", "沂源县政府2024年")
    (docs / "zibo_yiyuan_2024.txt").write_text(text, "utf-8")
    db = tmp_path / "runs.sqlite"
    r = CliRunner().invoke(main, ["extract", str(docs), "--engine", "rules", "--store", str(db), "-o",
                                  str(tmp_path / "o.jsonl")])
    assert r.exit_code == 0, r.output
    assert "R8 across years: 1 reports flagged (1 with errors)" in r.stderr
    with Store(db) as s:
        q = s.queue(flagged=True)
        assert [x["doc"] for x in q] == ["zibo_yiyuan_2024"] and q[0]["rules"] == ["R8"] and q[0]["year"] == 2024
        view = s.get(q[0]["id"])
        r8 = {f["severity"]: f for f in view["flags"] if f["rule"] == "R8"}
        assert r8["error"]["keys"] == ["requests.carried_over.natural_person", "requests.carried_over.total"]
        assert r8["warning"]["expected"] == 53 and r8["warning"]["printed"] == 48


def test_a_run_on_postgresql(tmp_path, seed_paths):
    url, drop = fresh_schema(pg_url_or_skip())
    try:
        args = ["extract", *map(str, seed_paths), "--engine", "rules", "--store", url, "--workers", "2",
                "-o", str(tmp_path / "o.jsonl")]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, r.output
        assert "postgresql+psycopg://" in r.stderr and "***" in r.stderr  # the password is not printed
        r = CliRunner().invoke(main, args)
        assert f"({len(seed_paths)} already in the store)" in r.stderr
        csv = tmp_path / "x.csv"
        r = CliRunner().invoke(main, ["export", "--store", url, "--format", "csv", "-o", str(csv)])
        assert r.exit_code == 0, r.output
        pd = pytest.importorskip("pandas")
        df = pd.read_csv(csv)
        assert len(df) == len(seed_paths) and "requests.new_received.total" in df.columns
    finally:
        drop()


def test_a_bad_store_url_is_a_clear_error(tmp_path, seed_paths):
    r = CliRunner().invoke(main, ["extract", str(seed_paths[0]), "--engine", "rules", "--store",
                                  "postgresql://nobody:x@127.0.0.1:1/none?connect_timeout=2"])
    assert r.exit_code == 2 and "cannot open the store" in r.output
