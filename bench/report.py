"""Figures from worker runs, and the markdown the README carries."""

from __future__ import annotations

import statistics


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def figures(run: dict) -> dict:
    """One worker run -> reports/s per core, median/p95 ms, CPU s per page, peak RSS, accuracy."""
    n = len(run["files"])
    pass_cpu_s = [sum(r) / 1000 for r in run["cpu_ms"]]
    pooled_wall = [ms for r in run["wall_ms"] for ms in r]
    median_pass_cpu = statistics.median(pass_cpu_s)
    pages = sum(run["pages"]) or None
    out = {
        "what": run["what"], "reports": n, "runs": run["runs"], "pages": pages,
        "reports_per_s_per_core": n / median_pass_cpu if median_pass_cpu else None,
        "median_ms": statistics.median(pooled_wall), "p95_ms": _pct(pooled_wall, 0.95),
        "cpu_s_per_page": median_pass_cpu / pages if pages else None,
        "rss_peak_mb": run["rss_peak_kb"] / 1024, "rss_warm_mb": run["rss_warm_kb"] / 1024,
    }
    scores = run.get("scores")
    if scores:
        scored = sum(s["scored"] for s in scores)
        tp = sum(s["flagged"] and s["needs_review"] for s in scores)
        fn = sum(s["needs_review"] and not s["flagged"] for s in scores)
        out.update(field_accuracy=sum(s["correct"] for s in scores) / scored if scored else None,
                   flag_recall=tp / (tp + fn) if tp + fn else None,
                   failed=sum(s["status"] == "failed" for s in scores))
    return out


def _f(v, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def markdown(machine: dict, rows: list[dict], llm_rows: list[dict], llm_saving: float | None) -> str:
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"pymupdf {machine['pymupdf']}; load average {machine['load']} at start; {machine['date']}. "
        f"Medians over {machine['runs']} runs (scans: 1 run) after one warm-up report per process; "
        "one process, one worker; per core = reports / CPU seconds of a pass.",
        "",
        "| set | engine | reports | reports/s per core | median ms | p95 ms | × floor | CPU s/page | peak RSS MB | field accuracy | flag recall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['engine']} | {r['reports']} | {_f(r['reports_per_s_per_core'], '.1f')} | "
            f"{_f(r['median_ms'], '.1f')} | {_f(r['p95_ms'], '.1f')} | {_f(r.get('x_floor'), '.2f')} | "
            f"{_f(r['cpu_s_per_page'], '.3f')} | {_f(r['rss_peak_mb'], '.0f')} | "
            f"{_f(r.get('field_accuracy') and 100 * r['field_accuracy'], '.2f')}{'%' if r.get('field_accuracy') is not None else ''} | "
            f"{_f(r.get('flag_recall'), '.2f')} |")
    if llm_rows:
        lines += [
            "",
            "| LLM engine | reports | calls / report | input tokens / report | output tokens / report | field accuracy | flag recall | seconds | source |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in llm_rows:
            lines.append(
                f"| {r['engine']} | {r['reports']} | {r['calls_per_report']:.1f} | {r['input_tokens_per_report']:.0f} | "
                f"{r['output_tokens_per_report']:.0f} | {_f(r['field_accuracy'] and 100 * r['field_accuracy'], '.2f')}% | "
                f"{_f(r['flag_recall'], '.2f')} | {r['seconds']:.0f} | {r['source']} |")
        if llm_saving is not None:
            lines += ["", f"Hybrid tokens are {100 * llm_saving:.1f}% of LLM-only tokens on these documents."]
    return "\n".join(lines) + "\n"
