"""The template reader: fills tables 二, 三 and 四 from a Document by matching printed labels.

Rows are found by their labels (never by counting numbers from the top of the table), values
are the value cells that follow a row's label up to the next label. A row whose count of
values does not fit its cells goes to the solver; whatever cannot be placed with certainty is
left null with an error flag naming the cells.
"""

from __future__ import annotations

import re

from extractor.contract import (
    APPEAL_GROUPS,
    APPEAL_OUTCOMES,
    APPLICANT_COLUMNS,
    Format,
    Meta,
    keys_for,
)
from extractor.document import Document
from extractor.flags import Flag
from extractor.read.base import Reading
from extractor.read.cells import Token, fit_blanks, tokens_of
from extractor.read.labels import (
    ACTIVE_COLUMN_FRAGMENTS,
    ACTIVE_DEFAULT_COLUMNS,
    ACTIVE_ROW_FRAGMENTS,
    APPEAL_GROUP_FRAGMENTS,
    REQUEST_GROUP_FRAGMENTS,
    REQUEST_ROW_FRAGMENTS,
    is_request_header,
    match,
)
from extractor.read.solver import agreed, groups_total_ok, readings, row_total_ok
from extractor.sections import Section, find_sections
from extractor.textnorm import label_key, squash


def read_rules(doc: Document) -> Reading:
    sections = find_sections(doc)
    fmt = detect_format(doc, sections)
    reading = Reading.empty(fmt, meta=read_meta(doc, fmt))
    for part in ("active", "requests", "appeals"):
        sec = sections.get(part)
        if sec is None:
            reading.flag(Flag(rule="READ", severity="error", keys=[k for k in reading.fields if k.startswith(part + ".")],
                              message=f"table {part} was not found in the document"))
            reading.unread.add(part)
            continue
        tokens = tokens_of(sec.rows(doc), sec.start)
        {"active": _read_active, "requests": _read_requests, "appeals": _read_appeals}[part](tokens, reading)
    return reading


# ---------------------------------------------------------------- format and meta

def detect_format(doc: Document, sections: dict[str, Section]) -> Format:
    sec = sections.get("active")
    text = squash(" ".join(r.text for r in (sec.rows(doc) if sec else doc.rows)))
    if any(w in text for w in ("本年制发", "现行有效", "本年废止")):
        return "2021"
    if any(w in text for w in ("本年新制作", "对外公开总", "上一年项目", "本年新公开")):
        return "2019"
    whole = squash(doc.text)
    if "逾期不补正" in whole or "收费通知" in whole:
        return "2021"
    year = read_meta(doc, None).year
    return "2019" if year is not None and year <= 2020 else "2021"


_TITLE = re.compile(r"^(?P<organ>.*?)(?P<year>(?:19|20)\d{2})年(?:度)?(?:的)?政府信息公开(?:工作)?年度?报告")


def read_meta(doc: Document, fmt: Format | None) -> Meta:
    head = ""
    for row in doc.rows[:6]:
        head += squash(row.text)
        m = _TITLE.search(head)
        if m:
            organ = m.group("organ").strip("《》\"'：:") or None
            return Meta(organ=organ, year=int(m.group("year")), format=fmt)
        if "年度报告" in head or len(head) > 200:
            break
    m = re.search(r"((?:19|20)\d{2})年(?:度)?政府信息公开", squash(doc.text[:3000]))
    return Meta(organ=None, year=int(m.group(1)) if m else None, format=fmt)


# ---------------------------------------------------------------- table 二

def _read_active(tokens: list[Token], reading: Reading) -> None:
    fmt = reading.fmt
    header: list[str | None] = []
    header_open = True  # a header keeps growing until a row reads values
    row: str | None = None
    values: list[Token] = []

    def finish():
        if row is not None:
            _place_active(row, values, header, reading)

    for tok in tokens:
        if tok.kind == "label":
            col = match(tok.text, ACTIVE_COLUMN_FRAGMENTS)
            name = None if col else match(tok.text, ACTIVE_ROW_FRAGMENTS)
            if col or label_key(tok.text) in ("信息内容",) or "第二十条" in squash(tok.text):
                finish()
                row, values = None, []
                if not header_open or "第二十条" in squash(tok.text):
                    header, header_open = [], True
                if col:
                    header.append(col)
            elif name:
                finish()
                row, values, header_open = name, [], False
        elif row is not None:
            values.append(tok)
        elif tok.kind == "blank" and header:
            header.append(None)  # an empty header cell keeps later columns in place
    finish()
    for name, cols in ACTIVE_DEFAULT_COLUMNS[fmt].items():
        if all(reading.fields.get(f"active.{name}.{c}") is None and f"active.{name}.{c}" not in reading.provenance
               for c in cols) and not reading.seen(f"active.{name}"):
            reading.flag(Flag(rule="READ", severity="warning", keys=[f"active.{name}.{c}" for c in cols],
                              message=f"table 二 row {name} was not found; its cells are null"))


def _place_active(row: str, values: list[Token], header: list[str | None], reading: Reading) -> None:
    fmt = reading.fmt
    cols = [c for c in header] if any(header) else list(ACTIVE_DEFAULT_COLUMNS[fmt].get(row, ()))
    while cols and cols[-1] is None:
        cols.pop()
    if not cols:
        cols = list(ACTIVE_DEFAULT_COLUMNS[fmt].get(row, ()))
    reading.mark_seen(f"active.{row}")
    values = fit_blanks(values, len(cols))
    keys = [f"active.{row}.{c}" if c else None for c in cols]
    if len(values) != len(cols):
        bad = [k for k in keys if k]
        reading.flag(Flag(rule="READ", severity="error", keys=bad,
                          message=f"table 二 row {row}: {len(values)} values printed for {len(cols)} cells; left null"))
        return
    allowed = set(keys_for(fmt))
    for key, tok in zip(keys, values):
        if key is None:
            continue
        if key not in allowed:
            if tok.kind == "number":
                reading.flag(Flag(rule="R5", severity="warning", keys=[key],
                                  message=f"table 二 prints a value for {key}, a cell format {fmt} does not have",
                                  printed=tok.value))
            continue
        reading.put(key, tok, "table 二")


# ---------------------------------------------------------------- table 三

def _read_requests(tokens: list[Token], reading: Reading) -> None:
    rows: dict[str, list[Token]] = {}
    order: list[str] = []
    current: str | None = None
    group: str | None = None
    pending = ""  # an unmatched label fragment that the next one may complete

    def start(name: str) -> None:
        nonlocal current
        if name in rows and rows[name]:
            reading.flag(Flag(rule="READ", severity="warning", keys=[f"requests.{name}.{c}" for c in APPLICANT_COLUMNS],
                              message=f"table 三 row {name} is printed twice; the first one is kept"))
            current = "__dup__"
            rows.setdefault(current, [])
            rows[current] = []
            return
        current = name
        rows[name] = []
        order.append(name)

    for tok in tokens:
        if tok.kind != "label":
            if current is not None:
                rows[current].append(tok)
            continue
        text = tok.text
        key = label_key(text)
        name = match(text, REQUEST_ROW_FRAGMENTS)
        if name is None and pending:
            name = match(pending + text, REQUEST_ROW_FRAGMENTS)
        if name == "total_processed" and not order:
            name = None  # the 总计 column header, not the （七）总计 row
        if name is None and group == "other" and key in ("其他", "其它"):
            name = "other_other"
        if name is not None:
            if name.startswith("other_") and current == "other_processing" and not rows.get("other_processing"):
                rows.pop("other_processing", None)
                order.remove("other_processing")
            pending = ""
            start(name)
            continue
        grp = match(text, REQUEST_GROUP_FRAGMENTS)
        if grp is not None:
            group, pending = grp, ""
            if grp == "other":  # （六）其他处理 is a row itself when no sub-rows follow
                start("other_processing")
            continue
        if is_request_header(text) and not order:
            continue
        # A fragment of a wrapped label: only joins the next label while no value came between.
        pending = (pending + text) if (current is None or not rows.get(current)) else text

    rows.pop("__dup__", None)
    for name in order:
        _place_request_row(name, rows[name], reading)
    for name in ("new_received", "carried_over", "disclosed", "total_processed", "carried_forward"):
        if name not in rows:
            reading.flag(Flag(rule="READ", severity="error", keys=[f"requests.{name}.{c}" for c in APPLICANT_COLUMNS],
                              message=f"table 三 row {name} was not found"))
            reading.unread.add("requests")


def _place_request_row(name: str, values: list[Token], reading: Reading) -> None:
    keys = [f"requests.{name}.{c}" for c in APPLICANT_COLUMNS]
    width = len(keys)
    fitted = fit_blanks(values, width)
    if len(fitted) == width:
        for key, tok in zip(keys, fitted):
            reading.put(key, tok, "table 三")
        return
    printed = [t for t in fitted if t.kind != "blank"]
    _solve(keys, printed, width, row_total_ok, reading,
           what=f"table 三 row {name}: {len(printed)} values printed for {width} cells")


def _solve(keys: list[str], printed: list[Token], width: int, check, reading: Reading, what: str) -> None:
    """Place a run of values that does not fit its cells; flag, and fill only what is certain."""
    value_of = lambda t: t.value  # noqa: E731
    cands = readings(printed, width, value_of, check)
    shown = "; ".join("[" + " ".join("_" if c is None else c.text for c in cand) + "]" for cand in cands[:6])
    if not cands:
        reading.flag(Flag(rule="READ", severity="error", keys=keys,
                          message=f"{what}; no placement adds up, cells left null"))
        reading.unread.add(keys[0].split(".")[0])
        return
    sure = agreed(cands, value_of)
    for key, ok, tok in zip(keys, sure, cands[0]):
        if ok and tok is not None:
            reading.put(key, tok, "placed by arithmetic")
    unsure = [k for k, ok in zip(keys, sure) if not ok]
    if len(printed) > width:
        # Which cells move depending on where the spurious value sits (ignoring arithmetic)?
        drops = [printed[:i] + printed[i + 1 :] for i in range(len(printed))]
        moving = [k for j, k in enumerate(keys) if len({d[j].value for d in drops}) > 1]
        if not unsure:
            msg = (f"{what}: one printed value is spurious and its position cannot be seen; the only reading "
                   f"that adds up was taken: {shown}. Cells whose value depends on where the spurious value is: "
                   f"{', '.join(moving)}")
            reading.flag(Flag(rule="SHAPE", severity="error", keys=moving or keys, message=msg))
        else:
            msg = (f"{what}: one printed value is spurious; readings that add up: {shown}. "
                   f"Cells not placed: {', '.join(unsure)}")
            reading.flag(Flag(rule="READ", severity="error", keys=unsure, message=msg))
    elif len(cands) == 1:
        reading.flag(Flag(rule="READ", severity="warning", keys=keys,
                          message=f"{what}; the only placement that adds up was taken: {shown}"))
    else:
        reading.flag(Flag(rule="READ", severity="error", keys=unsure,
                          message=f"{what}; {len(cands)} placements add up ({shown}); cells left null: {', '.join(unsure)}"))


# ---------------------------------------------------------------- table 四

def _read_appeals(tokens: list[Token], reading: Reading) -> None:
    by_group: dict[str, list[Token]] = {}
    loose: list[Token] = []
    rows: dict[int, list[Token]] = {}
    for tok in tokens:
        rows.setdefault(tok.row, []).append(tok)
    for r in sorted(rows):
        toks = rows[r]
        nums = [t for t in toks if t.kind in ("number", "dash")]
        if not nums:
            continue
        labels = [t for t in toks if t.kind == "label"]
        group = next((g for t in labels if (g := match(t.text, _APPEAL_GROUPS_ORDERED))), None)
        first_value = next(i for i, t in enumerate(toks) if t.kind != "label")
        values = [t for t in toks[first_value:] if t.kind != "label"]
        if group and len(labels) <= 2 and len(nums) <= 5:
            by_group[group] = values
        else:
            loose.extend(values)
    width = len(APPEAL_GROUPS) * len(APPEAL_OUTCOMES)
    keys = [f"appeals.{g}.{o}" for g in APPEAL_GROUPS for o in APPEAL_OUTCOMES]
    if by_group and not loose:
        for g in APPEAL_GROUPS:
            gkeys = [f"appeals.{g}.{o}" for o in APPEAL_OUTCOMES]
            vals = fit_blanks(by_group.get(g, []), 5)
            if len(vals) == 5:
                for k, t in zip(gkeys, vals):
                    reading.put(k, t, "table 四")
            else:
                _solve(gkeys, [t for t in vals if t.kind != "blank"], 5, row_total_ok, reading,
                       what=f"table 四 {g}: {len(vals)} values printed for 5 cells")
        return
    vals = fit_blanks(loose, width)
    if len(vals) == width:
        for k, t in zip(keys, vals):
            reading.put(k, t, "table 四")
        return
    if not vals:
        reading.flag(Flag(rule="READ", severity="error", keys=keys, message="table 四 has no values"))
        reading.unread.add("appeals")
        return
    _solve(keys, [t for t in vals if t.kind != "blank"], width, groups_total_ok, reading,
           what=f"table 四: {len([t for t in vals if t.kind != 'blank'])} values printed for {width} cells")


# 未经复议直接起诉 must be tried before 行政复议 (its label contains 复议).
_APPEAL_GROUPS_ORDERED = {
    "lawsuit_direct": APPEAL_GROUP_FRAGMENTS["lawsuit_direct"],
    "lawsuit_after_review": APPEAL_GROUP_FRAGMENTS["lawsuit_after_review"],
    "admin_review": APPEAL_GROUP_FRAGMENTS["admin_review"],
}
