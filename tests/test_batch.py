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

from extractor import batch, workers
from extractor.batch import sha256_file
from extractor.pipeline import run_file
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


def _lines_in(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
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


# ---------------------------------------------------------------- a worker that dies or hangs on one file
# The hook replaces pipeline.read_document (inside run_file's time limit) in this process before the
# pool starts; the workers are forked from it, so they run the hook. Each attempt on the culprit is
# logged to a file, which the parent can read after the workers are gone.


def _docs(tmp_path: Path, n: int = 6, culprits: tuple[str, ...] = ("boom.txt",)) -> Path:
    """``n`` copies of the bundled sample (distinct bytes), plus each culprit (a copy too)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, name in enumerate([f"r{i:02d}.txt" for i in range(n)] + list(culprits)):
        (docs / name).write_bytes(SAMPLE.read_bytes() + f"\n（副本 {i}）\n".encode())
    return docs


def _hook(monkeypatch, tmp_path: Path, actions: dict) -> Path:
    """On a file named in ``actions``: log the attempt, then run its action (which may return)."""
    from extractor import pipeline

    log = tmp_path / "attempts.log"
    log.touch()
    real = pipeline.read_document

    def read(path, limits=None):
        action = actions.get(Path(path).name)
        if action is not None:
            with open(log, "a") as f:
                f.write(Path(path).name + "\n")
            action(log)
        return real(path, limits)

    monkeypatch.setattr(pipeline, "read_document", read)
    return log


def _segfault(log):
    import faulthandler
    import resource

    faulthandler.disable()  # pytest's handler would print a traceback first
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.kill(os.getpid(), signal.SIGSEGV)


def _hang(log):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # like one long C call: the backstop cannot stop it
    time.sleep(30)  # the watchdog kills it long before; were it not to, the test fails instead of hanging


def _attempts(log: Path) -> list[str]:
    return log.read_text().split()


def _lines(out: Path) -> dict[str, dict]:
    return {Path(x["file"]).name: x for x in map(json.loads, out.read_text("utf-8").splitlines())}


def _expected() -> dict:
    r = run_file(SAMPLE, "rules")[0]
    return {"status": r.status, "fields": r.fields}


def test_a_worker_that_segfaults_fails_that_file_only_and_a_rerun_leaves_it(tmp_path, monkeypatch):
    docs = _docs(tmp_path)
    log = _hook(monkeypatch, tmp_path, {"boom.txt": _segfault})
    db, out = tmp_path / "runs.sqlite", tmp_path / "o.jsonl"
    args = ["extract", str(docs), "--engine", "rules", "--store", str(db), "-o", str(out), "--workers", "2"]
    t0 = time.monotonic()
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert time.monotonic() - t0 < 20
    lines = _lines(out)
    assert len(lines) == 7
    boom = lines.pop("boom.txt")
    assert boom["status"] == "failed" and boom["error"]["code"] == "worker_crashed"
    assert "boom.txt" in boom["error"]["message"] and "(SIGSEGV)" in boom["error"]["message"]
    assert set(boom) == set(lines["r00.txt"])  # the shape of every other result
    want = _expected()
    assert all({"status": x["status"], "fields": x["fields"]} == want for x in lines.values())
    assert "7 reports read: 0 ok, 6 flagged, 1 failed" in r.stderr
    assert "boom.txt: worker_crashed: boom.txt: the extractor's process died reading this file (SIGSEGV)" in r.stderr
    assert "a worker process died (SIGSEGV) reading" in r.stderr  # said as it happens
    assert _attempts(log) == ["boom.txt", "boom.txt"]  # once in the pool, once alone
    with Store(db) as s:
        assert s.count() == 7
        [stored] = [v for v in s.stored([sha256_file(docs / "boom.txt")]).values()]
        assert stored["status"] == "failed"

    r = CliRunner().invoke(main, args)  # nothing more to do: the culprit is not tried again...
    assert r.exit_code == 0 and "(7 already in the store)" in r.stderr and "1 failed" in r.stderr
    assert _attempts(log) == ["boom.txt", "boom.txt"]
    r = CliRunner().invoke(main, args + ["--retry-failed"])  # ...unless asked
    assert r.exit_code == 0 and "worker_crashed" in r.stderr
    assert _attempts(log) == ["boom.txt"] * 4


def test_one_worker_that_exits_is_isolated_too_and_counted(tmp_path, monkeypatch):
    """--workers 1 runs in a worker process as well: a crash costs that file, not the run."""
    docs = _docs(tmp_path, n=4)
    log = _hook(monkeypatch, tmp_path, {"boom.txt": lambda log: os._exit(3)})
    out = []
    with Store(tmp_path / "runs.sqlite") as store:
        stats = batch.run_batch(sorted(docs.iterdir()), engine="rules", store=store, workers=1, emit=out.append)
        assert store.count() == 5
    assert stats.status == {"flagged": 4, "failed": 1} and stats.not_done == 0 and stats.worker_deaths == 2
    assert len(stats.failures) == 1 and "exit code 3" in stats.failures[0]
    assert [Path(json.loads(x)["file"]).name for x in out] == ["boom.txt", "r00.txt", "r01.txt", "r02.txt", "r03.txt"]
    assert _attempts(log) == ["boom.txt", "boom.txt"]


def test_a_file_whose_worker_died_once_but_not_alone_gets_its_normal_result(tmp_path, monkeypatch):
    """The worker died once (its neighbour ate the memory, say): read alone, the file is fine."""
    docs = _docs(tmp_path, n=4, culprits=("victim.txt",))

    def die_the_first_time(log):
        if len(_attempts(log)) == 1:
            os.kill(os.getpid(), signal.SIGKILL)

    log = _hook(monkeypatch, tmp_path, {"victim.txt": die_the_first_time})
    out = tmp_path / "o.jsonl"
    r = CliRunner().invoke(main, ["extract", str(docs), "--engine", "rules", "-o", str(out), "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert "a worker process died (SIGKILL, killed from outside: often the kernel's out-of-memory killer)" in r.stderr
    lines = _lines(out)
    assert len(lines) == 5 and {x["status"] for x in lines.values()} == {"flagged"}
    assert {"status": lines["victim.txt"]["status"], "fields": lines["victim.txt"]["fields"]} == _expected()
    assert _attempts(log) == ["victim.txt", "victim.txt"]


def test_a_file_stuck_in_an_uninterruptible_call_is_killed_and_fails_timeout(tmp_path, monkeypatch):
    docs = _docs(tmp_path, n=4, culprits=("stuck.txt",))
    log = _hook(monkeypatch, tmp_path, {"stuck.txt": _hang})
    monkeypatch.setattr(workers, "WATCHDOG_GRACE", 0.5)
    db, out = tmp_path / "runs.sqlite", tmp_path / "o.jsonl"
    args = ["extract", str(docs), "--engine", "rules", "--store", str(db), "-o", str(out), "--workers", "2",
            "--max-seconds", "1"]
    t0 = time.monotonic()
    r = CliRunner().invoke(main, args)
    took = time.monotonic() - t0
    assert r.exit_code == 0, r.output
    assert 1.5 <= took < 10
    lines = _lines(out)
    stuck = lines.pop("stuck.txt")
    assert stuck["status"] == "failed" and stuck["error"]["code"] == "timeout"
    assert "stuck.txt" in stuck["error"]["message"] and "worker process was killed" in stuck["error"]["message"]
    assert len(lines) == 4 and {x["status"] for x in lines.values()} == {"flagged"}
    assert "5 reports read: 0 ok, 4 flagged, 1 failed" in r.stderr and "stuck.txt: timeout:" in r.stderr
    r = CliRunner().invoke(main, args)
    assert "(5 already in the store)" in r.stderr and _attempts(log) == ["stuck.txt"]


def test_the_watchdog_follows_a_deadline_the_file_moved(tmp_path, monkeypatch):
    """An OCR page's allowance and time waiting on the LLM move the file's deadline: no kill before it."""
    from extractor import limits

    def ocr_page(log):
        limits.allow(2.5)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(2)  # past max-seconds + grace, inside the allowance
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})

    def waits_on_llm(log):
        with limits.paused():
            time.sleep(2)

    docs = _docs(tmp_path, n=1, culprits=("scan.txt", "llm.txt"))
    log = _hook(monkeypatch, tmp_path, {"scan.txt": ocr_page, "llm.txt": waits_on_llm})
    monkeypatch.setattr(workers, "WATCHDOG_GRACE", 0.5)
    out = []
    stats = batch.run_batch(sorted(docs.iterdir()), engine="rules", workers=2, emit=out.append,
                            file_opts={"limits": limits.Limits(max_seconds=1)})
    assert stats.status == {"flagged": 3} and stats.worker_deaths == 0, stats.failures
    assert sorted(_attempts(log)) == ["llm.txt", "scan.txt"]


def test_ctrl_c_stops_the_run_and_its_worker_then_a_rerun_finishes(tmp_path):
    n_files = 80
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(n_files):
        (docs / f"r{i:03d}.txt").write_bytes(SAMPLE.read_bytes() + f"\n（副本 {i}）\n".encode())
    db = tmp_path / "runs.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["extract", str(docs), "--store", str(db), "--engine", "rules", "-o", str(tmp_path / "o.jsonl")]
    # Ctrl-C as a terminal delivers it; a shell's background job (`cmd &`) would have it ignored
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            start_new_session=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = tmp_path / "o.jsonl"  # a line per stored result, flushed as it is written
    deadline = time.monotonic() + 30
    while (_lines_in(out) < 10 and proc.poll() is None and time.monotonic() < deadline):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group gets it
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert "files not done; run the same command again to resume" in err.decode()
    for _ in range(50):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("a worker outlived the interrupted CLI")
    stored = _count(db)
    assert 0 < stored < n_files
    r = subprocess.run(_cli(*args), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and f"{n_files} reports read: 0 ok, {n_files} flagged, 0 failed ({stored} already" in r.stderr
