"""The benchmark runs end to end on a small corpus and its figures add up (no timing asserted)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus as bench_corpus, llm_cost, report  # noqa: E402
from bench.__main__ import main  # noqa: E402
from bench.peers import cell_text, pymupdf_find_tables  # noqa: E402
from bench.worker import run  # noqa: E402
from conftest import SAMPLE_PDF as SAMPLE, SHARED  # noqa: E402

SEED = ROOT / "extractor" / "samples" / "zaozhuang_taierzhuang_govoffice_2020.txt"


def test_worker_times_scores_and_measures_memory():
    out = run({"what": "extract", "files": [str(SEED)], "gold": str(ROOT / "gold"), "runs": 2})
    assert len(out["wall_ms"]) == 2 and len(out["wall_ms"][0]) == 1
    assert out["rss_peak_kb"] >= out["rss_start_kb"] > 0
    [score] = out["scores"]
    assert score["scored"] == 217 and score["correct"] == 217 and score["flagged"]
    fig = report.figures(out)
    assert fig["reports"] == 1 and fig["reports_per_s_per_core"] > 0 and fig["p95_ms"] >= fig["median_ms"] > 0
    assert fig["field_accuracy"] == 1.0 and fig["flag_recall"] == 1.0


def test_figures_pool_runs_and_take_the_median_pass():
    run_ = {"what": "x", "files": ["a", "b"], "runs": 3, "pages": [2, 3], "rss_peak_kb": 2048, "rss_warm_kb": 1024,
            "wall_ms": [[10, 20], [30, 40], [50, 60]], "cpu_ms": [[100, 100], [400, 400], [200, 200]]}
    fig = report.figures(run_)
    assert fig["reports_per_s_per_core"] == pytest.approx(2 / 0.4)  # median pass is 400 ms of CPU
    assert fig["median_ms"] == 35 and fig["p95_ms"] == pytest.approx(57.5)
    assert fig["cpu_s_per_page"] == pytest.approx(0.4 / 5) and fig["rss_peak_mb"] == 2


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the shared sample PDF is not here")
def test_a_peer_feeds_the_same_template_mapping():
    from extractor.read.rules import read_rules

    doc = pymupdf_find_tables(SAMPLE)
    assert doc.pages == 5 and any(len(r.cells) >= 7 for r in doc.rows)
    reading = read_rules(doc)
    assert reading.fields["requests.new_received.total"] is not None


def test_cell_text_joins_wrapped_cjk_without_spaces():
    assert cell_text("行政\n复议") == "行政复议"
    assert cell_text("10\n5") == "105"
    assert cell_text("a\nb") == "a b"
    assert cell_text(None) == ""


def test_llm_saving_is_a_ratio_of_tokens_per_report():
    rows = [{"engine": "llm", "tokens_per_report": 4000}, {"engine": "hybrid", "tokens_per_report": 100}]
    assert llm_cost.saving(rows) == pytest.approx(0.025)
    assert llm_cost.saving(rows[:1]) is None


@pytest.mark.shared
def test_bench_command_prints_the_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench_corpus, "SHARED", SHARED)
    corpus = tmp_path / "corpus"
    (corpus / "rendered" / "gold").mkdir(parents=True)  # a corpus already built: text only
    shutil.copy(ROOT / "gold" / "zibo_yiyuan_2023.json", corpus / "rendered" / "gold")
    out = tmp_path / "bench.json"
    assert main(["--corpus", str(corpus), "--formats", "text", "--runs", "1", "--json", str(out),
                 "--markdown", str(tmp_path / "bench.md")]) == 0
    table = capsys.readouterr().out
    assert "| text: seeds as scraped | ogi-extract | 5 |" in table
    data = json.loads(out.read_text())
    assert data["rows"][0]["field_accuracy"] == 1.0 and data["machine"]["cores"]
    assert (tmp_path / "bench.md").read_text() == table.rstrip("\n") + "\n"
