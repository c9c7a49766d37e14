"""R8 across reports: the same body's reports in consecutive years must chain up.

- ``requests.carried_forward.*`` of year t = ``requests.carried_over.*`` of year t+1 (error).
- ``active.<row>.in_force`` of t+1 = in_force of t + issued − repealed of t+1 (warning only: bodies
  also clear out documents in bulk, and say so in the narrative, not the table).

Reports are matched by a normalised organ name (``organ_key``): no spaces, NFKC, 人民 dropped,
long forms folded to the short form of a small alias table (市科学技术委员会 -> 市科委,
办公室 -> 办). The checks are pure functions over report summaries; callers store the flags on the
later report.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from extractor.contract import APPLICANT_COLUMNS
from extractor.flags import Flag
from extractor.textnorm import squash

# Long form -> short form. Folding to the short form is safe against overlaps: a short form is
# never re-expanded, so "政府办公室" and "政府办" both end as "政府办".
ALIASES: tuple[tuple[str, str], ...] = (
    ("科学技术委员会", "科委"),
    ("科学技术局", "科技局"),
    ("发展和改革委员会", "发改委"),
    ("发展改革委员会", "发改委"),
    ("发展和改革局", "发改局"),
    ("经济和信息化委员会", "经信委"),
    ("卫生健康委员会", "卫健委"),
    ("卫生和计划生育委员会", "卫计委"),
    ("住房和城乡建设委员会", "住建委"),
    ("住房和城乡建设局", "住建局"),
    ("教育委员会", "教委"),
    ("人力资源和社会保障局", "人社局"),
    ("市场监督管理局", "市场监管局"),
    ("办公室", "办"),
    ("办公厅", "办"),
)

_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_YEAR_NOISE = re.compile(r"\d{4}年?(?:度)?")


def organ_key(name: str | None) -> str:
    """A body's name reduced so that the spellings of one body compare equal.

    >>> organ_key("台儿庄区人民政府办公室") == organ_key("台儿庄区政府办")
    True
    """
    if not name:
        return ""
    s = squash(name)
    s = _BRACKETED.sub("", s)
    s = _YEAR_NOISE.sub("", s)
    s = s.replace("人民", "")
    for long, short in ALIASES:
        s = s.replace(long, short)
    return s


def _n(v) -> float:
    return 0 if v is None else v


def _row(fields: dict, row: str) -> list:
    return [fields.get(f"requests.{row}.{c}") for c in APPLICANT_COLUMNS]


def check_pair(prev: dict, cur: dict) -> list[Flag]:
    """R8 between one report (year t) and the same body's next report (year t+1)."""
    out: list[Flag] = []
    pf, cf = prev.get("fields") or {}, cur.get("fields") or {}
    ref = f"{prev.get('doc')} (report #{prev.get('id')}, {prev.get('year')})"
    fwd, over = _row(pf, "carried_forward"), _row(cf, "carried_over")
    if any(v is not None for v in fwd) and any(v is not None for v in over):
        bad = [(c, a, b) for c, a, b in zip(APPLICANT_COLUMNS, fwd, over) if abs(_n(a) - _n(b)) > 1e-6]
        if bad:
            out.append(Flag(
                rule="R8", severity="error", keys=[f"requests.carried_over.{c}" for c, _, _ in bad],
                expected=fwd[-1], printed=over[-1],
                message=f"上年结转 does not match 结转下年度继续办理 of {ref}: "
                        + ", ".join(f"{c} {b} vs {a}" for c, a, b in bad)))
    for row in ("regulations", "normative_docs"):
        k = {c: f"active.{row}.{c}" for c in ("issued", "repealed", "in_force")}
        before, issued, repealed, now = pf.get(k["in_force"]), cf.get(k["issued"]), cf.get(k["repealed"]), cf.get(k["in_force"])
        if None in (before, now) or (issued is None and repealed is None):
            continue
        want = before + _n(issued) - _n(repealed)
        if abs(want - now) > 1e-6:
            out.append(Flag(
                rule="R8", severity="warning", keys=[k["in_force"], k["issued"], k["repealed"]],
                expected=want, printed=now,
                message=f"{row} 现行有效 {now}, but {ref} had {before} in force and this year "
                        f"issued {_n(issued):g} and repealed {_n(repealed):g} (expected {want:g})"))
    return out


def check_across(reports: Iterable[dict]) -> dict[int, list[Flag]]:
    """R8 flags for every report that has the same body's report of the previous year.

    ``reports`` are dicts with ``id``, ``doc``, ``organ``, ``year``, ``status`` and ``fields``.
    Several reports of one body and year (the same report scraped twice) are all compared: a later
    report is flagged only when it agrees with none of them. Returns {later report id: flags}.
    """
    groups: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in reports:
        key = organ_key(r.get("organ"))
        if not key or r.get("year") is None or r.get("status") == "failed":
            continue
        groups[key][int(r["year"])].append(r)
    out: dict[int, list[Flag]] = {}
    for by_year in groups.values():
        for year, current in by_year.items():
            previous = sorted(by_year.get(year - 1, []), key=lambda r: r["id"])
            if not previous:
                continue
            for cur in current:
                candidates = [check_pair(p, cur) for p in previous]
                best = min(candidates, key=lambda fl: (sum(f.severity == "error" for f in fl), len(fl)))
                if best:
                    out[cur["id"]] = best
    return out
