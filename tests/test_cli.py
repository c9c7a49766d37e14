"""`ogi-extract extract` as a user runs it: folders in, JSON lines out, bad files reported not fatal."""

import json
import subprocess
import sys

from click.testing import CliRunner

from extractor.cli import main

from conftest import SEEDS


def test_extract_a_folder_with_a_bad_file(tmp_path, seed_paths):
    for p in seed_paths:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "junk.pdf").write_bytes(b"\x00\x01\x02binary junk" * 10)
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(main, ["extract", str(tmp_path), "-o", str(out), "--engine", "rules"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert len(lines) == len(seed_paths) + 2
    by_doc = {x["doc"]: x for x in lines}
    assert by_doc["empty"]["status"] == "failed" and by_doc["empty"]["error"]["code"] == "empty_document"
    assert by_doc["junk"]["status"] == "failed"
    t = by_doc["zaozhuang_taierzhuang_govoffice_2020"]
    assert t["status"] == "flagged" and t["meta"]["format"] == "2019"
    assert set(t) >= {"file", "doc", "meta", "fields", "provenance", "flags", "engine", "timings"}
    assert by_doc["zibo_yiyuan_2023"]["status"] == "ok"
    assert "reports read" in res.stderr and "2 failed" in res.stderr


def test_console_script_help_explains_itself():
    out = subprocess.run([sys.executable, "-m", "extractor.cli", "extract", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "JSON line" in out.stdout
