"""Scoring extraction against hand-labelled gold files (the eval contract in the README).

The harness imports the extractor; the extractor never imports the harness.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from extractor.contract import GoldReport, section_of
from extractor.flags import has_error
from extractor.pipeline import Result, doc_name, find_documents, run_file
from extractor.read.base import Reading
from extractor.textnorm import squash
from extractor.validate import validate

SECTIONS = ("active", "requests", "appeals")
_MISSING = object()


def load_gold(folder: Path) -> dict[str, GoldReport]:
    gold = {}
    for p in sorted(folder.glob("*.json")):
        g = GoldReport(**json.loads(p.read_text(encoding="utf-8")))
        gold[doc_name(p)] = g
    return gold


def same(gold_value, got) -> bool:
    if got is _MISSING:
        return False
    if gold_value is None or got is None:
        return gold_value is None and got is None
    return round(float(gold_value), 2) == round(float(got), 2)


def meta_same(field: str, gold_value, got) -> bool:
    if field == "organ" and gold_value is not None and got is not None:
        return squash(str(gold_value)) == squash(str(got))
    return gold_value == got


def score_report(gold: GoldReport, result: Result) -> dict:
    """Per-report scores: scored/correct, per section, misses with where the value came from."""
    failed = result.status == "failed"
    skip = set(gold.unscored)
    per_section = defaultdict(lambda: [0, 0])
    wrong = []
    for key, want in gold.fields.items():
        if key in skip:
            continue
        got = _MISSING if failed else result.fields.get(key, _MISSING)
        ok = same(want, got)
        sec = per_section[section_of(key)]
        sec[0] += 1
        sec[1] += ok
        if not ok:
            where = result.provenance.get(key)
            wrong.append({"key": key, "gold": want, "got": None if got is _MISSING else got,
                          "where": _describe(where) if where else ("no value" if not failed else "document failed")})
    scored = sum(v[0] for v in per_section.values())
    correct = sum(v[1] for v in per_section.values())
    meta_total = meta_ok = 0
    for field in ("organ", "year", "format"):
        meta_total += 1
        meta_ok += (not failed) and meta_same(field, getattr(gold.meta, field), result.meta.get(field))
    needs_review = bool(wrong) or not gold.source_consistent or bool(gold.unscored)
    flagged = failed or has_error(result.flags)
    return {
        "doc": gold.doc, "file": result.file, "scored": scored, "correct": correct,
        "flagged": flagged, "needs_review": needs_review, "status": result.status,
        "sections": {k: list(v) for k, v in per_section.items()},
        "meta": [meta_ok, meta_total],
        "wrong": wrong,
        "flags": [str(f) for f in result.flags if f.severity == "error"],
    }


def _describe(where: dict) -> str:
    parts = []
    if "page" in where:
        parts.append(f"page {where['page']}")
    if "bbox" in where:
        parts.append("bbox " + ",".join(f"{v:.0f}" for v in where["bbox"]))
    if "table" in where:
        parts.append(f"table {where['table']} row {where.get('row')} col {where.get('col')}")
    if "start" in where:
        parts.append(f"chars {where['start']}-{where['end']}")
    return " ".join(parts)


def evaluate(docs: Path, gold_dir: Path, engine: str = "hybrid", mutate: int = 0, seed: int = 0, llm_reader=None,
             limits=None, progress: bool = False) -> dict:
    t0 = time.perf_counter()
    gold = load_gold(gold_dir)
    per_report, errors, unpaired = [], [], []
    by_format = defaultdict(lambda: [0, 0])
    llm = {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
    mutation_inputs = []
    paths = find_documents([docs])
    for path in tqdm(paths, disable=not progress or len(paths) < 2, unit="doc", desc="eval", file=sys.stderr,
                     leave=False, dynamic_ncols=True):
        name = doc_name(path)
        if name not in gold:
            unpaired.append(str(path))
            continue
        result, doc, reading = run_file(path, engine, llm_reader, limits)
        if result.status == "failed":
            errors.append({"doc": name, "file": str(path), **(result.error or {})})
        for k in llm:
            llm[k] += result.llm.get(k, 0)
        rep = score_report(gold[name], result)
        per_report.append(rep)
        fmt = path.suffix.lower().lstrip(".") or "none"
        by_format[fmt][0] += rep["scored"]
        by_format[fmt][1] += rep["correct"]
        if mutate and doc is not None and gold[name].source_consistent and not gold[name].unscored:
            mutation_inputs.append((gold[name], doc, reading))

    scored = sum(r["scored"] for r in per_report)
    correct = sum(r["correct"] for r in per_report)
    sec_tot = {s: [0, 0] for s in SECTIONS}
    for r in per_report:
        for s, (n, ok) in r["sections"].items():
            sec_tot.setdefault(s, [0, 0])
            sec_tot[s][0] += n
            sec_tot[s][1] += ok
    tp = sum(r["flagged"] and r["needs_review"] for r in per_report)
    fp = sum(r["flagged"] and not r["needs_review"] for r in per_report)
    fn = sum((not r["flagged"]) and r["needs_review"] for r in per_report)
    meta_n = sum(r["meta"][1] for r in per_report)
    report = {
        "engine": engine,
        "reports": len(per_report),
        "fields_scored": scored,
        "field_accuracy": _ratio(correct, scored),
        "report_exact": _ratio(sum(r["scored"] == r["correct"] for r in per_report), len(per_report)),
        "by_section": {s: _ratio(ok, n) for s, (n, ok) in sec_tot.items()},
        "by_format": {f: _ratio(ok, n) for f, (n, ok) in sorted(by_format.items())},
        "meta_accuracy": _ratio(sum(r["meta"][0] for r in per_report), meta_n),
        "flags": {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "tp": tp, "fp": fp, "fn": fn},
        "llm": llm,
        "seconds": 0.0,
        "errors": errors,
        "unpaired": unpaired,
        "per_report": per_report,
    }
    if mutate:
        report["mutation"] = mutation_test(mutation_inputs, mutate, seed)
        report["mutation_detect_rate"] = report["mutation"]["detect_rate"]
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return report


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 6) if b else None


# ---------------------------------------------------------------- validator sensitivity

def mutate_fields(fields: dict, keys: list[str], rng: random.Random) -> tuple[dict, str] | None:
    """One random change to one cell: ±1…±10, two digits swapped, or a value moved to its neighbour."""
    key = rng.choice(keys)
    value = fields[key]
    out = dict(fields)
    kind = rng.choice(("delta", "swap", "move"))
    if kind == "swap" and value is not None and len(set(str(int(value)))) > 1:
        digits = list(str(int(value)))
        i, j = rng.sample(range(len(digits)), 2)
        digits[i], digits[j] = digits[j], digits[i]
        new = int("".join(digits))
        if new == value:
            return None
        out[key] = new
        return out, f"{key}: digits swapped {value} -> {new}"
    if kind == "move":
        idx = keys.index(key)
        if idx + 1 >= len(keys) or value is None:
            return None
        nxt = keys[idx + 1]
        if section_of(nxt) != section_of(key) or fields[nxt] == value:
            return None
        out[nxt], out[key] = value, None
        return out, f"{key}={value} moved to {nxt} (was {fields[nxt]})"
    delta = rng.choice([d for d in range(-10, 11) if d])
    base = 0 if value is None else value
    out[key] = base + delta
    return out, f"{key}: {value} -> {out[key]}"


def mutation_test(inputs: list, per_report: int, seed: int) -> dict:
    rng = random.Random(seed)
    tried = detected = 0
    misses = []
    for gold, doc, reading in inputs:
        keys = [k for k in gold.fields if k not in gold.unscored]
        base = Reading(fmt=gold.meta.format or reading.fmt, meta=reading.meta, fields=dict(gold.fields),
                       provenance=reading.provenance)
        before = {(f.rule, tuple(f.keys)) for f in validate(base, doc) if f.severity == "error"}
        done = 0
        attempts = 0
        while done < per_report and attempts < per_report * 20:
            attempts += 1
            m = mutate_fields(gold.fields, keys, rng)
            if m is None:
                continue
            fields, what = m
            done += 1
            tried += 1
            altered = Reading(fmt=base.fmt, meta=base.meta, fields=fields, provenance=reading.provenance)
            after = {(f.rule, tuple(f.keys)) for f in validate(altered, doc) if f.severity == "error"}
            if after - before:
                detected += 1
            else:
                misses.append({"doc": gold.doc, "mutation": what})
    return {"tried": tried, "detected": detected, "detect_rate": _ratio(detected, tried), "misses": misses[:50]}


# ---------------------------------------------------------------- rendering

def render_table(r: dict) -> str:
    def pct(v):
        return "  n/a" if v is None else f"{v * 100:6.2f}%"

    lines = [
        f"engine {r['engine']}: {r['reports']} reports, {r['fields_scored']} fields scored, {r['seconds']}s",
        f"  field accuracy  {pct(r['field_accuracy'])}    report exact {pct(r['report_exact'])}    meta {pct(r['meta_accuracy'])}",
        "  by section      " + "  ".join(f"{k} {pct(v)}" for k, v in r["by_section"].items()),
        "  by format       " + "  ".join(f"{k} {pct(v)}" for k, v in r["by_format"].items()),
        f"  flags           recall {pct(r['flags']['recall'])}  precision {pct(r['flags']['precision'])}  "
        f"(tp {r['flags']['tp']}, fp {r['flags']['fp']}, fn {r['flags']['fn']})",
        f"  llm             {r['llm']['calls']} calls, {r['llm']['input_tokens']} in / {r['llm']['output_tokens']} out tokens, "
        f"${r['llm']['cost_usd']:.4f}",
    ]
    if "mutation" in r:
        m = r["mutation"]
        lines.append(f"  mutations       {m['detected']}/{m['tried']} detected ({pct(m['detect_rate'])})")
    lines.append("")
    lines.append(f"  {'doc':44} {'correct':>9} {'flagged':>8} {'review?':>8}")
    for p in r["per_report"]:
        lines.append(f"  {p['doc'][:44]:44} {p['correct']:>4}/{p['scored']:<4} {'yes' if p['flagged'] else 'no':>8} "
                     f"{'yes' if p['needs_review'] else 'no':>8}")
        for w in p["wrong"][:10]:
            lines.append(f"      wrong {w['key']}: gold {w['gold']} got {w['got']} ({w['where']})")
        if len(p["wrong"]) > 10:
            lines.append(f"      … {len(p['wrong']) - 10} more wrong")
    for e in r["errors"]:
        lines.append(f"  failed {e['file']}: {e.get('code')}: {e.get('message')}")
    for u in r["unpaired"]:
        lines.append(f"  no gold for {u}")
    return "\n".join(lines)


def render_markdown(r: dict) -> str:
    out = [f"# eval: engine {r['engine']}", "", "| metric | value |", "|---|---|"]
    for k in ("reports", "fields_scored", "field_accuracy", "report_exact", "meta_accuracy", "seconds"):
        out.append(f"| {k} | {r[k]} |")
    for k, v in r["by_section"].items():
        out.append(f"| section {k} | {v} |")
    for k, v in r["by_format"].items():
        out.append(f"| format {k} | {v} |")
    out.append(f"| flag recall | {r['flags']['recall']} |")
    out.append(f"| flag precision | {r['flags']['precision']} |")
    out.append(f"| llm tokens in/out | {r['llm']['input_tokens']} / {r['llm']['output_tokens']} |")
    if "mutation" in r:
        out.append(f"| mutation_detect_rate | {r['mutation_detect_rate']} |")
    out += ["", "| doc | correct | flagged | needs review |", "|---|---|---|---|"]
    for p in r["per_report"]:
        out.append(f"| {p['doc']} | {p['correct']}/{p['scored']} | {p['flagged']} | {p['needs_review']} |")
    return "\n".join(out) + "\n"
