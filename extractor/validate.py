"""The deterministic validator: rules R1-R7 of the contract re-checked on a reading -> flags.

It never changes a value. A printed total that does not add up stays as printed and is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from extractor.contract import (
    AMOUNT_KEYS,
    APPEAL_GROUPS,
    APPEAL_OUTCOMES,
    APPLICANT_COLUMNS,
    APPLICANT_PARTS,
    REQUEST_ROWS,
    RESULT_ROWS,
)
from extractor.document import Document
from extractor.flags import Flag
from extractor.read.base import Reading
from extractor.read.evidence import LAWSUIT_FIGURE, REVIEW_FIGURE, prose_text  # R6 reads what the reader reads
from extractor.textnorm import parse_number

_EPS = 1e-6


def validate(reading: Reading, doc: Document) -> list[Flag]:
    f = reading.fields
    flags: list[Flag] = []
    flags += check_row_totals(f)
    flags += check_results_totals(f)
    flags += check_balance(f)
    flags += check_appeals(f)
    flags += check_values(f)
    flags += check_narrative(f, doc)
    flags += check_grounding(reading, doc)
    return flags


def _n(v) -> float:
    return 0 if v is None else v


def _sum(values: Iterable) -> float:
    return sum(_n(v) for v in values)


def _printed(f: dict, keys: list[str]) -> bool:
    return any(f.get(k) is not None for k in keys)


def check_row_totals(f: dict) -> list[Flag]:
    out = []
    for row in REQUEST_ROWS:
        keys = [f"requests.{row}.{c}" for c in APPLICANT_COLUMNS]
        if not _printed(f, keys):
            continue
        parts, total = _sum(f.get(k) for k in keys[:-1]), _n(f.get(keys[-1]))
        if abs(parts - total) > _EPS:
            out.append(Flag(rule="R1", severity="error", keys=keys, expected=parts, printed=f.get(keys[-1]),
                            message=f"row {row}: total {f.get(keys[-1])} but the six applicant columns sum to {parts:g}"))
    return out


def check_results_totals(f: dict) -> list[Flag]:
    out = []
    for col in APPLICANT_COLUMNS:
        total_key = f"requests.total_processed.{col}"
        keys = [f"requests.{r}.{col}" for r in RESULT_ROWS]
        if not _printed(f, keys + [total_key]):
            continue
        parts = _sum(f.get(k) for k in keys)
        if abs(parts - _n(f.get(total_key))) > _EPS:
            out.append(Flag(rule="R2", severity="error", keys=[total_key] + [k for k in keys if f.get(k)],
                            expected=parts, printed=f.get(total_key),
                            message=f"column {col}: （七）总计 is {f.get(total_key)} but the result rows sum to {parts:g}"))
    return out


def check_balance(f: dict) -> list[Flag]:
    out = []
    for col in APPLICANT_COLUMNS:
        k = {r: f"requests.{r}.{col}" for r in ("new_received", "carried_over", "total_processed", "carried_forward")}
        if not _printed(f, list(k.values())):
            continue
        left = _n(f.get(k["new_received"])) + _n(f.get(k["carried_over"]))
        right = _n(f.get(k["total_processed"])) + _n(f.get(k["carried_forward"]))
        if abs(left - right) > _EPS:
            out.append(Flag(rule="R3", severity="error", keys=list(k.values()), expected=left, printed=right,
                            message=f"column {col}: 新收 + 上年结转 = {left:g} but 总计 + 结转下年 = {right:g}"))
    return out


def check_appeals(f: dict) -> list[Flag]:
    out = []
    for g in APPEAL_GROUPS:
        keys = [f"appeals.{g}.{o}" for o in APPEAL_OUTCOMES]
        if not _printed(f, keys):
            continue
        parts = _sum(f.get(k) for k in keys[:-1])
        if abs(parts - _n(f.get(keys[-1]))) > _EPS:
            out.append(Flag(rule="R4", severity="error", keys=keys, expected=parts, printed=f.get(keys[-1]),
                            message=f"appeals {g}: 总计 {f.get(keys[-1])} but the outcomes sum to {parts:g}"))
    return out


# Amounts are in 万元. A whole number this large is more often an amount in 元 printed under the
# 万元 header (a known publisher slip) than 1 亿元 or more of fees: a warning, never a change.
_YUAN_SUSPECT = 10000


def check_values(f: dict) -> list[Flag]:
    out = []
    for key, v in f.items():
        if v is None:
            continue
        if key in AMOUNT_KEYS:
            if v < 0:
                out.append(Flag(rule="R5", severity="error", keys=[key], printed=v, message=f"{key} is negative"))
            elif v >= _YUAN_SUSPECT and float(v).is_integer():
                out.append(Flag(rule="R5", severity="warning", keys=[key], printed=v,
                                message=f"{key} prints {v:g} in 万元, that is {v / 10000:g} 亿元, as a whole number: "
                                        "check whether the report gives it in 元 under a 万元 header"))
            continue
        if isinstance(v, float) and not v.is_integer():
            out.append(Flag(rule="R5", severity="error", keys=[key], printed=v, message=f"{key} is a count but reads {v}"))
        elif v < 0 and not key.endswith(".change"):
            out.append(Flag(rule="R5", severity="error", keys=[key], printed=v, message=f"{key} is a count but negative"))
    return out


# ---------------------------------------------------------------- R6: narrative vs tables

_RECEIVED = re.compile(
    r"(?:共|累计|全年)?(?:收到|受理|接收)[^。；;，,\d]{0,24}?申请[^。；;\d]{0,8}?(\d+)件"
    r"(?:[(（]其中[^)）\d]{0,8}?上年(?:度)?结转[^)）\d]{0,6}?(\d+)件)?"
)
_CARRIED_FORWARD = re.compile(r"结转(?:至|到)?下(?:一)?年(?:度)?(?:继续)?(?:办理)?(?:的)?(?:申请)?[^。；;，,\d]{0,4}?(\d+)件")


def check_narrative(f: dict, doc: Document) -> list[Flag]:
    out: list[Flag] = []
    text = prose_text(doc)
    new_total = f.get("requests.new_received.total")
    carried = f.get("requests.carried_over.total")
    for m in _RECEIVED.finditer(text):
        said, said_carried = int(m.group(1)), m.group(2)
        if new_total is None:
            break
        fits = {_n(new_total), _n(new_total) + _n(carried)}
        if said_carried is not None:
            fits = {_n(new_total) + _n(carried)} if int(said_carried) == _n(carried) else set()
        if said not in fits:
            out.append(Flag(rule="R6", severity="error", keys=["requests.new_received.total", "requests.carried_over.total"],
                            expected=said, printed=new_total,
                            message=f"the narrative says 「{m.group(0)}」 but table 三 has 新收 {new_total}, 上年结转 {carried}"))
        break  # the first statement of the year's applications is the one the table must match
    forward = f.get("requests.carried_forward.total")
    m = _CARRIED_FORWARD.search(text)
    if m and forward is not None and int(m.group(1)) != forward:
        out.append(Flag(rule="R6", severity="error", keys=["requests.carried_forward.total"], expected=int(m.group(1)),
                        printed=forward,
                        message=f"the narrative says 「{m.group(0)}」 but table 三 has 结转下年度继续办理 {forward:g}"))
    lawsuits = [f.get("appeals.lawsuit_direct.total"), f.get("appeals.lawsuit_after_review.total")]
    m = LAWSUIT_FIGURE.search(text)
    if m and any(v is not None for v in lawsuits) and int(m.group(1)) != _sum(lawsuits):
        out.append(Flag(rule="R6", severity="error", keys=["appeals.lawsuit_direct.total", "appeals.lawsuit_after_review.total"],
                        expected=int(m.group(1)), printed=_sum(lawsuits),
                        message=f"the narrative says 「{m.group(0)}」 but table 四 has {_sum(lawsuits):g} lawsuits"))
    m = REVIEW_FIGURE.search(text)
    review = f.get("appeals.admin_review.total")
    if m and review is not None and int(m.group(1)) != review:
        out.append(Flag(rule="R6", severity="error", keys=["appeals.admin_review.total"], expected=int(m.group(1)),
                        printed=review, message=f"the narrative says 「{m.group(0)}」 but table 四 has {review} 行政复议"))
    return out


# ---------------------------------------------------------------- R7: grounding

def check_grounding(reading: Reading, doc: Document) -> list[Flag]:
    """Every non-null value must point at a printed number equal to it."""
    out = []
    for key, v in reading.fields.items():
        loc = reading.provenance.get(key)
        if v is None:
            printed = _printed_at(doc, loc)
            if printed is not None:
                out.append(Flag(rule="R7", severity="error", keys=[key], expected=printed,
                                message=f"{key} is null but the source prints {printed:g} at {loc.describe()}"))
            continue
        if loc is None:
            out.append(Flag(rule="R7", severity="error", keys=[key], printed=v,
                            message=f"{key} = {v} is not tied to any printed number"))
            continue
        if loc.start is None or loc.end is None:
            continue  # located by page/box or table cell: the reader checked the cell text
        printed = parse_number(doc.text[loc.start : loc.end])
        if printed is None or abs(printed - v) > _EPS:
            shown = doc.text[loc.start : loc.end]
            out.append(Flag(rule="R7", severity="error", keys=[key], printed=v, expected=printed,
                            message=f"{key} = {v} but the source prints 「{shown}」 at {loc.describe()}"))
    return out


def _printed_at(doc: Document, loc) -> float | None:
    if loc is None or loc.start is None or loc.end is None:
        return None
    return parse_number(doc.text[loc.start : loc.end])
