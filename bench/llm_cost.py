"""LLM cost per report: the LLM-only engine against the hybrid, on the same documents.

Either live (an endpoint configured through ``OPENAI_BASE_URL`` etc., with a fresh response cache
so every call is really made and counted) or from ``ogi-extract eval --json`` files written
earlier (a long local-model run need not be repeated to print its table).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path


def summarise(report: dict) -> dict:
    n = report["reports"] or 1
    llm = report["llm"]
    return {
        "engine": report["engine"], "reports": report["reports"],
        "calls_per_report": llm["calls"] / n,
        "input_tokens_per_report": llm["input_tokens"] / n,
        "output_tokens_per_report": llm["output_tokens"] / n,
        "tokens_per_report": (llm["input_tokens"] + llm["output_tokens"]) / n,
        "field_accuracy": report["field_accuracy"],
        "flag_recall": report["flags"]["recall"],
        "seconds": report["seconds"],
    }


def from_eval_json(paths: list[Path]) -> list[dict]:
    return [dict(summarise(json.loads(Path(p).read_text(encoding="utf-8"))), source=str(p)) for p in paths]


def live(docs: Path, gold: Path, engines: tuple[str, ...] = ("llm", "hybrid")) -> list[dict]:
    from eval.harness import evaluate
    from extractor.engines.llm import LLMReader
    from extractor.limits import Limits
    from extractor.llm.config import LLMConfig

    out = []
    with tempfile.TemporaryDirectory(prefix="ogi-bench-llm-") as cache:
        for engine in engines:
            cfg = LLMConfig.from_env(cache_dir=str(Path(cache) / engine))
            if not cfg.configured:
                raise SystemExit("bench --llm: no endpoint configured (set OPENAI_BASE_URL and OPENAI_API_KEY)")
            report = evaluate(docs, gold, engine=engine, llm_reader=LLMReader(cfg), limits=Limits(max_seconds=None))
            out.append(dict(summarise(report), source=f"live: {cfg.model} at {cfg.base_url}"))
    return out


def saving(rows: list[dict]) -> float | None:
    """Hybrid tokens as a share of LLM-only tokens (None without both)."""
    by = {r["engine"]: r for r in rows}
    if "llm" not in by or "hybrid" not in by or not by["llm"]["tokens_per_report"]:
        return None
    return by["hybrid"]["tokens_per_report"] / by["llm"]["tokens_per_report"]
