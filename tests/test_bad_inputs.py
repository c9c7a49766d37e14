"""Bad inputs end in a clear error for that file, within the per-file limits; nothing else is lost.

The corpus is generated (tests/badinputs.py). One real ``ogi-extract extract`` run reads all of it
plus two good seeds; every case is then checked against its line of output.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner

import badinputs
from badinputs import CASES, GOOD_SEEDS
from conftest import SEEDS
from extractor import pipeline
from extractor.cli import main
from extractor.errors import ExtractError, TimeLimitExceeded
from extractor.limits import Limits, check_deadline, paused, time_limit
from extractor.pipeline import run_file

KNOWN_STATUS = {"ok", "flagged", "failed"}


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "extractor.cli", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list]:
    dest = tmp_path_factory.mktemp("bad")
    cases = badinputs.build(dest)
    return dest, cases


@pytest.fixture(scope="module")
def batch(corpus, tmp_path_factory):
    """``ogi-extract extract`` over the bad corpus plus two good seeds, default limits."""
    dest, cases = corpus
    seeds = [SEEDS / s for s in GOOD_SEEDS if (SEEDS / s).is_file()]
    good = tmp_path_factory.mktemp("good")
    for s in seeds:
        shutil.copy(s, good / s.name)
    out = tmp_path_factory.mktemp("out") / "out.jsonl"
    t0 = time.monotonic()
    proc = _cli("extract", str(dest), str(good), "-o", str(out), "--engine", "rules", "--no-progress")
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    return {"cases": cases, "seeds": seeds, "lines": lines, "stderr": proc.stderr, "seconds": took}


def test_batch_completes_with_every_file_accounted_for(batch):
    names = [c.name for c in batch["cases"]] + [s.name for s in batch["seeds"]]
    got = [Path(x["file"]).name for x in batch["lines"]]
    assert sorted(got) == sorted(names)  # exactly one line per file: none lost, none doubled
    assert all(x["status"] in KNOWN_STATUS for x in batch["lines"])
    by = {Path(x["file"]).name: x for x in batch["lines"]}
    for s in batch["seeds"]:
        assert by[s.name]["status"] == "ok", by[s.name]["flags"]
    failed = sum(c.status == "failed" for c in batch["cases"])
    assert f"{len(names)} reports read" in batch["stderr"] and f"{failed} failed" in batch["stderr"]
    assert "Traceback" not in batch["stderr"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_bad_input_gets_its_specific_error(batch, case):
    by = {Path(x["file"]).name: x for x in batch["lines"]}
    if case.name not in by:
        pytest.skip(f"{case.needs} not available")
    line = by[case.name]
    assert line["status"] == case.status, (case.what, line.get("error"), [f["message"] for f in line["flags"]][:5])
    if case.status == "failed":
        err = line["error"]
        assert err["code"] in case.codes, (case.what, err)
        msg = err["message"]
        assert case.name in msg and "\n" not in msg and "Traceback" not in msg and len(msg) < 600
        assert line["fields"] == {}
    assert line["timings"]["total_ms"] < 60_000  # inside the default per-file time limit


def test_messages_say_what_is_wrong(batch):
    by = {Path(x["file"]).name: x["error"]["message"] for x in batch["lines"] if x.get("error")}
    expect = {
        "empty.txt": "empty", "password.pdf": "password", "truncated.pdf": "truncated", "archive.pdf": "zip archive",
        "gzipped.html": "gzip", "bomb.docx": "zip bomb", "lying_bomb.docx": "sizes lie", "locked.docx": "password",
        "gazette_1000_pages.pdf": "300 pages", "scanned.pdf": "OCR", "error_page.pdf": "error page",
        "huge_line.txt": "line breaks were lost", "image.pdf": "image", "junk.txt": "binary",
    }
    for name, words in expect.items():
        if name in by:
            assert words in by[name], (name, by[name])


# ---------------------------------------------------------------- the limits, configurable


@pytest.mark.shared
def test_cli_limits_are_configurable(tmp_path):
    (tmp_path / "long.txt").write_bytes("规章\t1\t2\t3\n".encode() * 100_000)  # 100,000 table rows: ~30 s of work
    (tmp_path / "big.txt").write_bytes(b"\xe6\x8a\xa5\xe5\x91\x8a\n" * 800_000)  # 5.6 MB
    (tmp_path / "five_pages.pdf").write_bytes(badinputs.pdf([["第一页"], ["第二页"], ["第三页"], ["第四页"], ["第五页"]]))
    shutil.copy(SEEDS / GOOD_SEEDS[0], tmp_path / GOOD_SEEDS[0])
    out = tmp_path / "out.jsonl"
    run = CliRunner().invoke(main, ["extract", str(tmp_path), "-o", str(out), "--engine", "rules", "--no-progress",
                                    "--max-seconds", "0.3", "--max-bytes", "5M", "--max-pages", "4"])
    assert run.exit_code == 0, run.output
    by = {Path(x["file"]).name: x for x in map(json.loads, out.read_text("utf-8").splitlines())}
    assert by["long.txt"]["error"]["code"] == "timeout" and "0.3 s" in by["long.txt"]["error"]["message"]
    assert by["long.txt"]["timings"]["total_ms"] < 10_000
    assert by["big.txt"]["error"]["code"] == "too_large" and "--max-bytes" in by["big.txt"]["error"]["message"]
    assert by["five_pages.pdf"]["error"]["code"] == "too_large" and "4 pages" in by["five_pages.pdf"]["error"]["message"]
    assert by[GOOD_SEEDS[0]]["status"] == "ok"
    assert CliRunner().invoke(main, ["extract", "--help"]).output.count("--max-") >= 3
    assert "--max-seconds" in CliRunner().invoke(main, ["eval", "--help"]).output


def test_limits_switch_off_with_zero_and_parse_sizes():
    from extractor.cli import _size, make_limits

    assert make_limits(0, "0", 0) == Limits(None, None, None)
    assert _size("200M") == 200 * 1024**2 and _size("1.5G") == int(1.5 * 1024**3) and _size("512") == 512
    assert _size("10MiB") == 10 * 1024**2 and _size("64kb") == 64 * 1024


def test_max_bytes_covers_what_a_docx_unpacks_to(tmp_path):
    path = tmp_path / "fat.docx"
    parts = badinputs._docx_parts(badinputs.NOTICE)
    parts["word/media/image1.png"] = b"\x00" * (3 * 1024 * 1024)
    path.write_bytes(badinputs._zip(parts))
    assert path.stat().st_size < 100_000
    r, _, _ = run_file(path, "rules", limits=Limits(max_bytes=2 * 1024 * 1024))
    assert r.error["code"] == "too_large" and "unpacks to" in r.error["message"]
    r, _, _ = run_file(path, "rules")
    assert r.error["code"] == "not_a_report"  # under the default limit it is read


# ---------------------------------------------------------------- the time limit stops runaway work


def _runaway(monkeypatch, body):
    monkeypatch.setattr(pipeline, "read_document", lambda path, limits=None: body())


def test_a_loop_that_never_checks_is_stopped_on_the_main_thread(monkeypatch, tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("x")

    def spin():
        n = 0
        while True:  # pure Python, never calls check_deadline
            n += 1

    _runaway(monkeypatch, spin)
    t0 = time.monotonic()
    r, _, _ = run_file(path, "rules", limits=Limits(max_seconds=0.3))
    assert time.monotonic() - t0 < 3
    assert r.status == "failed" and r.error["code"] == "timeout" and "r.txt" in r.error["message"]
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0  # the alarm is off again
    time.sleep(0.7)  # no late alarm fires after the file is done


def test_a_reader_that_swallows_exceptions_cannot_swallow_the_stop(monkeypatch, tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("x")

    def stubborn():
        while True:
            try:
                while True:
                    pass
            except Exception:  # noqa: BLE001 - what a careless reader does
                continue

    _runaway(monkeypatch, stubborn)
    r, _, _ = run_file(path, "rules", limits=Limits(max_seconds=0.3))
    assert r.error["code"] == "timeout"


def test_cooperative_deadline_works_off_the_main_thread(monkeypatch, tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("x")

    def checking():
        while True:
            check_deadline()

    _runaway(monkeypatch, checking)
    out = {}
    t = threading.Thread(target=lambda: out.update(r=run_file(path, "rules", limits=Limits(max_seconds=0.3))[0]))
    t.start()
    t.join(10)
    assert not t.is_alive() and out["r"].error["code"] == "timeout"


def test_real_readers_check_the_deadline_in_a_thread(tmp_path):
    """Off the main thread there is no alarm: the readers' own checks must stop a slow file."""
    path = tmp_path / "long.txt"
    path.write_bytes("规章\t1\t2\t3\n".encode() * 100_000)  # 100,000 table rows: ~30 s of work
    out = {}
    t = threading.Thread(target=lambda: out.update(r=run_file(path, "rules", limits=Limits(max_seconds=0.3))[0]))
    t.start()
    t.join(60)
    assert out["r"].error["code"] == "timeout", out["r"].error
    assert out["r"].timings["total_ms"] < 5000


@pytest.mark.shared
def test_a_foreign_alarm_handler_is_left_alone(monkeypatch, tmp_path):
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        seed = tmp_path / GOOD_SEEDS[0]
        shutil.copy(SEEDS / GOOD_SEEDS[0], seed)
        r, _, _ = run_file(seed, "rules", limits=Limits(max_seconds=5))
        assert r.status == "ok"
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    finally:
        signal.signal(signal.SIGALRM, old)


def test_time_limit_and_pause():
    with pytest.raises(TimeLimitExceeded) as e:
        with time_limit(0.1, "x.pdf"):
            time.sleep(5)  # interrupted by the alarm (a C call that checks signals)
    assert isinstance(e.value, ExtractError) and e.value.code == "timeout" and "x.pdf" in str(e.value)
    with time_limit(0.2, "y"):
        with paused():
            time.sleep(0.4)  # waiting on an LLM endpoint does not count
        check_deadline()
    with time_limit(None):
        check_deadline()  # no limit, no stop
    check_deadline()  # outside any limit: a no-op


def test_an_ocr_page_adds_time_to_the_deadline(monkeypatch):
    from extractor import limits
    from extractor.ingest import pdf

    with time_limit(0.3, "scan.pdf"):
        limits.allow(0.5)
        time.sleep(0.5)  # past the first deadline, inside the allowance (the alarm was moved too)
        check_deadline()
    limits.allow(5)  # outside a limit: a no-op
    calls = []
    monkeypatch.setattr(pdf, "allow", lambda s: calls.append(s))
    page = pymupdf.open()
    page.new_page()
    with pytest.raises(Exception):
        pdf.read_pdf(page.tobytes(), "blank.pdf", ocr=lambda p: (_ for _ in ()).throw(RuntimeError("ocr ran")))
    assert calls == [limits.OCR_PAGE_SECONDS]


def test_limits_default_to_the_documented_values():
    assert Limits() == Limits(max_pages=300, max_bytes=200 * 1024 * 1024, max_seconds=60.0)
