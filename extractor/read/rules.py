"""The template reader: fills tables 二, 三 and 四 from a Document by matching printed labels.

Rows are found by their labels (never by counting numbers from the top of the table), values
are the value cells that follow a row's label up to the next label. A row whose count of
values does not fit its cells goes to the solver; whatever cannot be placed with certainty is
left null with an error flag naming the cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

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
from extractor.read.damaged import (
    Tiebreak,
    active_cell_ok,
    block_rows,
    header_columns,
    is_run,
    place_requests,
    place_row,
    read_unlabeled_requests,
    unglue,
    unlabeled_rows,
)
from extractor.read.evidence import (
    Figure,
    active_bounds,
    active_figures,
    blank_convention,
    figures_check,
    narrative_figures,
    prose_text,
)
from extractor.sections import NEXT_REPORT, Section, find_sections
from extractor.textnorm import label_key, squash


def read_rules(doc: Document) -> Reading:
    sections = find_sections(doc)
    printed = format_from_tables(doc, sections)
    fmt = printed or _format_from_year(doc)
    reading = Reading.empty(fmt, meta=read_meta(doc, fmt))
    prose = cache(lambda: prose_text(doc))  # read once, only if a damaged row needs the narrative
    if printed is None:
        reading.flag(Flag(rule="READ", severity="warning", keys=[],
                          message=f"no table header says which format this is; format {fmt} was taken from the "
                                  "report's year"))
    if NEXT_REPORT in sections:
        nxt = sections[NEXT_REPORT].heading_row
        reading.flag(Flag(rule="READ", severity="warning", keys=[],
                          message=f"the file holds another report after this one, from 「{doc.rows[nxt].text[:60]}」 "
                                  f"({doc.rows[nxt].cells[0].loc.describe()}); only the first is read: split the file "
                                  "to read the other"))

    def practice() -> list[Tiebreak]:
        return [t for t in (blank_convention(*reading.zeros_and_empties()),) if t]

    def active_evidence(row: str, cols: list[str | None]) -> list[Tiebreak]:
        return practice() + [t for t in (active_bounds(cols),) if t] + active_figures(prose(), row, cols)

    # Table 三 first: its cells (and table 四's) tell how this document prints an empty cell, which
    # damaged rows of tables 四 and 二 may need.
    for part in ("requests", "appeals", "active"):
        sec = sections.get(part)
        if sec is None:
            reading.flag(Flag(rule="READ", severity="error", keys=[k for k in reading.fields if k.startswith(part + ".")],
                              message=f"table {part} was not found in the document"))
            reading.unread.add(part)
            continue
        tokens = tokens_of(sec.rows(doc), sec.start)
        if part == "appeals":
            _read_appeals(tokens, reading, cache(lambda: narrative_figures(prose())), practice)
        elif part == "active":
            _read_active(tokens, reading, active_evidence)
        else:
            _read_requests(tokens, reading)
    return reading


# ---------------------------------------------------------------- format and meta

def detect_format(doc: Document, sections: dict[str, Section]) -> Format:
    """From table 二's headers, or table 三's 2021 rows; from the year only when neither is printed."""
    return format_from_tables(doc, sections) or _format_from_year(doc)


def _format_from_year(doc: Document) -> Format:
    year = read_meta(doc, None).year
    return "2019" if year is not None and year <= 2020 else "2021"


def format_from_tables(doc: Document, sections: dict[str, Section]) -> Format | None:
    sec = sections.get("active")
    text = squash(" ".join(r.text for r in (sec.rows(doc) if sec else doc.rows)))
    if any(w in text for w in ("本年制发", "现行有效", "本年废止")):
        return "2021"
    if any(w in text for w in ("本年新制作", "对外公开总", "上一年项目", "本年新公开")):
        return "2019"
    whole = squash(doc.text)
    if "逾期不补正" in whole or "收费通知" in whole:
        return "2021"
    return None


_TITLE = re.compile(r"^(?P<organ>.*?)(?P<year>(?:19|20)\d{2})年(?:度)?(?:的)?政府信息公开(?:工作)?年度?报告")


# What may precede the body's name on its title row: markdown marks, a site's breadcrumb trail
# ("当前位置：首页>政务公开>"), quotes; the name is what follows the last of them.
_BREADCRUMB = re.compile(r"[>»›|：:]")
_BEFORE_ORGAN = re.compile(r"^.*[>》»›|：:]|^[#*>\s《\"'“]+")
# "关于XX镇2024年…年度报告的公告": the announcement's words are not the body's name
_ANNOUNCING = re.compile(r"^(?:关于|印发|公布|发布)+")


def read_meta(doc: Document, fmt: Format | None) -> Meta:
    """Organ and year from the title: a short row (or two: a title split over lines) among the
    first rows -- after a site's navigation lines, if the page kept them."""
    texts: list[str] = []  # the short rows just read, squashed
    for row in doc.rows[:40]:
        text = squash(row.text) if len(row.text) < 200 else ""
        if not text:
            continue
        if len(text) > 60:  # a sentence, not a title
            texts = []
            continue
        texts = texts[-1:] + [text]
        m = _TITLE.search("".join(texts))
        if m:
            return Meta(organ=_organ(texts, m.start("year")), year=int(m.group("year")), format=fmt)
    m = re.search(r"((?:19|20)\d{2})年(?:度)?政府信息公开", squash(doc.text[:3000]))
    return Meta(organ=None, year=int(m.group(1)) if m else None, format=fmt)


def _organ(texts: list[str], year_at: int) -> str | None:
    """The body named before the title's year: on the year's own row, or (a title split over rows,
    "张店区人民政府办公室" / "2023年政府信息公开…") the last non-empty row before it."""
    end = 0
    for k, text in enumerate(texts):
        if year_at < end + len(text):
            before = text[: year_at - end]
            if not before.strip():
                before = next((t for t in reversed(texts[:k]) if t.strip()), "")
                if len(before) > 40 or _BREADCRUMB.search(before):  # not a name: a site's trail, a sentence
                    return None
            organ = _ANNOUNCING.sub("", _BEFORE_ORGAN.sub("", before).strip("》\"'”*#：:"))
            return organ or None
        end += len(text)
    return None


# ---------------------------------------------------------------- table 二

ActiveEvidence = Callable[[str, list[str | None]], list[Tiebreak]]
_SUM_ROWS = {"合计", "小计", "总计", "合计数"}  # rows some publishers add to table 二's blocks


def _read_active(tokens: list[Token], reading: Reading, evidence: ActiveEvidence = lambda row, cols: []) -> None:
    fmt = reading.fmt
    header: list[str | None] = []
    header_open = True  # a header keeps growing until a row reads values
    row: str | None = None
    values: list[Token] = []
    block: list[str] = []  # the current block's rows not yet seen, in template order
    by_order: int | None = None  # document row of values given to a row by order (no label printed)
    unlabeled: list[str] = []

    def finish():
        if row is not None:
            _place_active(row, values, header, reading, evidence)

    summing = False  # inside a 合计 row a publisher added: its values belong to no cell
    sums: list[str] = []
    for tok in unglue(tokens, ACTIVE_ROW_FRAGMENTS):
        if tok.kind == "label" and label_key(tok.text) in _SUM_ROWS:
            finish()
            row, values, by_order, summing = None, [], None, True
            sums.append(tok.loc.describe())
            continue
        if tok.kind == "label":
            summing = False
        elif summing:
            continue
        if tok.kind == "label":
            cols = header_columns(tok.text, ACTIVE_COLUMN_FRAGMENTS)
            col = cols[0] if cols else None
            name = None if col else match(tok.text, ACTIVE_ROW_FRAGMENTS)
            if col or label_key(tok.text) in ("信息内容",) or "第二十条" in squash(tok.text):
                finish()
                row, values, by_order = None, [], None
                if not header_open or "第二十条" in squash(tok.text):
                    header, header_open = [], True
                if "第二十条" in squash(tok.text):
                    block = block_rows(fmt, tok.text)
                if col:
                    header.extend(cols)
            elif name:
                finish()
                row, values, header_open, by_order = name, [], False, None
                block = block[block.index(name) + 1 :] if name in block else block
        elif row is not None and (by_order is None or tok.row == by_order):
            values.append(tok)
        elif tok.kind == "number" and block:
            # A row of numbers with no label (labels stripped or drifted): the block's next row.
            finish()
            row, values, header_open, by_order = block.pop(0), [tok], False, tok.row
            unlabeled.append(row)
        elif tok.kind == "blank" and header and row is None:
            header.append(None)  # an empty header cell keeps later columns in place
    finish()
    if sums:
        reading.flag(Flag(rule="READ", severity="warning", keys=[],
                          message=f"table 二 prints a 合计 row the template does not have (at {', '.join(sums)}); "
                                  "its values were not read into any cell"))
    if unlabeled:
        reading.flag(Flag(rule="READ", severity="warning", keys=[k for k in reading.fields if k.split(".")[1] in unlabeled
                                                                 and k.startswith("active.")],
                          message=f"table 二 rows {', '.join(unlabeled)} are printed without their labels; their "
                                  "numbers were given to the rows of their 第二十条 block in template order"))
    for name, cols in ACTIVE_DEFAULT_COLUMNS[fmt].items():
        if all(reading.fields.get(f"active.{name}.{c}") is None and f"active.{name}.{c}" not in reading.provenance
               for c in cols) and not reading.seen(f"active.{name}"):
            reading.flag(Flag(rule="READ", severity="warning", keys=[f"active.{name}.{c}" for c in cols],
                              message=f"table 二 row {name} was not found; its cells are null"))


def _place_active(row: str, values: list[Token], header: list[str | None], reading: Reading,
                  evidence: ActiveEvidence) -> None:
    fmt = reading.fmt
    cols = [c for c in header] if any(header) else list(ACTIVE_DEFAULT_COLUMNS[fmt].get(row, ()))
    while cols and cols[-1] is None:
        cols.pop()
    if not cols:
        cols = list(ACTIVE_DEFAULT_COLUMNS[fmt].get(row, ()))
    reading.mark_seen(f"active.{row}")
    fitted = fit_blanks(values, len(cols))
    keys = [f"active.{row}.{c}" if c else None for c in cols]
    allowed = set(keys_for(fmt))
    if len(fitted) != len(cols) or any(is_run(t) for t in fitted):
        # Digits run together, a value missing or one too many: the readings the shape allows.
        place_row([k if k in allowed else None for k in keys], values, reading, f"table 二 row {row}", "table 二",
                  cell_ok=active_cell_ok(cols), tiebreaks=evidence(row, cols))
        return
    values = fitted
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

    bare = [0, 0]  # row labels in a row with no value between them: now, and the most seen

    def start(name: str) -> None:
        nonlocal current
        bare[0] = bare[0] + 1 if current is not None and not rows.get(current) else 0
        bare[1] = max(bare)
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

    extra: list[str] = []  # header cells of columns the template does not have (上年同期, 增减)
    # A label wrapped over lines with its numbers on its first line (pdfplumber, sorted pymupdf
    # text): "3.危 1 0 0 0 0 0 1" / "及"三安" / "全一稳" / "定"". The numbers beside a fragment that
    # names no row are held until the lines after it complete the label; they never go to the row
    # above. A held label that no row completes is an error naming its values.
    held: list[Token] | None = None
    held_label, held_row = "", -1
    valued = {t.row for t in tokens if t.kind in ("number", "dash", "unsure")}
    labelled = {t.row for t in tokens if t.kind == "label"}
    taking = False  # the values coming are the held label's (a label printed around its numbers)
    around = False  # the held label is printed around its values: it takes them only if they are a row's seven
    fresh = True  # no value since the last label fragment: a fragment continues the one before
    wrapping = False  # the current row came from a held label: label lines under it are its own

    def release(reason: str) -> None:
        nonlocal held
        if held:
            reading.flag(Flag(rule="READ", severity="error", keys=[],
                              message=f"table 三: the values {' '.join(t.text for t in held)} printed beside "
                                      f"「{' '.join(held_label.split())}」 "
                                      f"({held[0].loc.describe()}) belong to no row {reason}; they were not read"))
        held = None

    tokens = unglue(tokens, REQUEST_ROW_FRAGMENTS, REQUEST_GROUP_FRAGMENTS)
    by_row: dict[int, list[Token]] = {}
    for tok in tokens:
        by_row.setdefault(tok.row, []).append(tok)
    for tok in tokens:
        if tok.kind != "label":
            fresh = False
            if held is None and pending and current in rows and _is_full(rows[current]) and tok.row not in labelled:
                # numbers in the middle of a label printed a piece per line ("2.没" "有现" … "息需" 0 0 … "要另"
                # "行制" "作"), its row above already full: they are the pending label's
                held, held_label, held_row, pending, taking, around = [], pending, tok.row, "", True, True
            if held is not None and (tok.row == held_row or taking):
                held.append(tok)
            elif current is not None:
                rows[current].append(tok)
            continue
        taking = False
        text = tok.text
        if not order and _EXTRA_COLUMN.search(squash(text)):
            extra.append(text)
            continue
        if held is not None:
            if tok.row == held_row or tok.row not in valued:  # more of its label: the held label goes on
                held_label += "\n" + text
                name = _match_wrapped(held_label)
                if name is not None and around and len(held) != len(APPLICANT_COLUMNS):
                    release(f"(its label, {name}, is printed around {len(held)} values, not a row's seven)")
                    around = False
                    continue
                if name is not None:
                    values, held, around = held, None, False
                    start(name)
                    rows[name] = values
                    wrapping = True
                continue
            release("that the text names")
        if wrapping and tok.row not in valued and not _STARTS_ROW_LABEL.match(text):
            continue  # the rest of a label already matched, on the lines under its numbers
        wrapping = False
        key = label_key(text)
        name = match(text, REQUEST_ROW_FRAGMENTS)
        if name is None and pending:
            name = match(pending + text, REQUEST_ROW_FRAGMENTS)
        if name == "total_processed" and not order:
            name = None  # the 总计 column header, not the （七）总计 row
        if name is None and group == "other" and key in ("其他", "其它"):
            name = "other_other"
        if name is not None and name == current and fresh is False and not _STARTS_ROW_LABEL.match(text):
            continue  # the rest of the current row's label, printed after its numbers ("信息需要另行制作")
        if name is not None:
            if name.startswith("other_") and current == "other_processing" and not rows.get("other_processing"):
                rows.pop("other_processing", None)
                order.remove("other_processing")
            pending = ""
            group = match(text, REQUEST_GROUP_FRAGMENTS) or group  # "（六）其他处理1.申请人…" in one cell
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
        if order and tok.row in valued and _starts_row(by_row[tok.row], tok):
            held, held_label, held_row, pending, around = [], text, tok.row, "", False  # its numbers follow on this line
            continue
        # A fragment of a wrapped label: only joins the next label while no value came between.
        pending = (pending + text) if fresh else text
        fresh = True
    release("that the text names")

    rows.pop("__dup__", None)
    if extra:
        _drop_extra_columns(rows, order, extra, reading)
    filled = [name for name in order if any(t.kind == "number" for t in rows[name])]
    orphans = unlabeled_rows(tokens)
    if len(filled) <= 2 and len(orphans) >= 10:
        # Row labels stripped, or drifted away from their numbers: rows in template order.
        read_unlabeled_requests(orphans, reading)
        return
    if bare[1] >= _DETACHED_LABELS:
        reading.flag(Flag(rule="READ", severity="error", keys=[f"requests.{n}.{c}" for n in order for c in APPLICANT_COLUMNS],
                          message=f"table 三 prints {bare[1] + 1} row labels one after another with no values between "
                                  "them: its labels and numbers are printed apart (text taken from a PDF column by "
                                  "column), so no number can be tied to its row; the table is not read"))
        rows = {name: [] for name in order}
    place_requests({name: rows[name] for name in order}, reading)
    for name in ("new_received", "carried_over", "disclosed", "total_processed", "carried_forward"):
        if name not in rows:
            reading.flag(Flag(rule="READ", severity="error", keys=[f"requests.{name}.{c}" for c in APPLICANT_COLUMNS],
                              message=f"table 三 row {name} was not found"))
            reading.unread.add("requests")


_DETACHED_LABELS = 4  # row labels in a row with no values between them: the table is in column order
_STARTS_ROW_LABEL = re.compile(r"^\s*(?:\d{1,2}\s*[.、．]|[(（][一二三四五六七八九十]+|[一二三四五六七八九十]+、)")


def _is_full(values: list[Token]) -> bool:
    return sum(t.kind != "label" for t in values) >= len(APPLICANT_COLUMNS)


def _match_wrapped(label: str) -> str | None:
    """The row a label wrapped over lines names (one line of it per line of ``label``). Where its
    group's label is wrapped beside it ("(三 1.属" / ")不 于国" / "予公 家秘" / "开 密"), each line's
    last piece is the row's: "1.属于国家秘密"."""
    lines = label.split("\n")
    own = "".join(line.split()[-1] for line in lines if line.split())
    return match(own, REQUEST_ROW_FRAGMENTS) or match("".join(lines), REQUEST_ROW_FRAGMENTS)


def _starts_row(same: list[Token], tok: Token) -> bool:
    """Is ``tok`` the first label of its document row (``same``: the row's tokens), whose labels all
    come before its values?"""
    labels = [k for k, t in enumerate(same) if t.kind == "label"]
    first_value = next((k for k, t in enumerate(same) if t.kind in ("number", "dash", "unsure")), len(same))
    return same[labels[0]] is tok and labels[-1] < first_value


# A column some publishers add after 总计: last year's figure, the change, a remark
_EXTRA_COLUMN = re.compile(r"上年同期|同比|增减|较上年|比上年|备注")


def _drop_extra_columns(rows: dict[str, list[Token]], order: list[str], extra: list[str], reading: Reading) -> None:
    """Table 三 with columns after 总计 that the template does not have: a row printing exactly the
    template's seven values plus one per such column keeps its first seven (the extra columns come
    last); any other row is left to be read, and flagged, as it is."""
    width = len(APPLICANT_COLUMNS) + len(extra)
    cut = []
    for name in order:
        values = fit_blanks(rows[name], width)  # structural empty cells around the row go first
        if len(values) == width:
            rows[name] = values[: len(APPLICANT_COLUMNS)]
            cut.append(name)
    reading.flag(Flag(rule="READ", severity="warning", keys=[],
                      message=f"table 三 prints {len(extra)} column(s) the template does not have "
                              f"({'、'.join(extra)}) after 总计; their values were not read ({len(cut)} rows)"))


# ---------------------------------------------------------------- table 四

def _read_appeals(tokens: list[Token], reading: Reading, figures: Callable[[], list[Figure]] = lambda: [],
                  practice: Callable[[], list[Tiebreak]] = lambda: []) -> None:
    """Table 四. A damaged row (digits run together, a value missing or one too many) is read by R4
    per group and, as outside evidence, the narrative's own figures (``figures``: what the
    validator checks for R6) and then the document's practice with empty cells (``practice``),
    which only ever narrow the readings of damaged material."""
    by_group: dict[str, list[Token]] = {}
    loose: list[Token] = []
    rows: dict[int, list[Token]] = {}
    for tok in unglue(tokens, APPEAL_GROUP_FRAGMENTS):
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
        fitted = {g: fit_blanks(by_group.get(g, []), 5) for g in APPEAL_GROUPS}
        clear = {f"appeals.{g}.{o}": t.value if t.kind == "number" else None
                 for g, vals in fitted.items() if len(vals) == 5 for o, t in zip(APPEAL_OUTCOMES, vals)}
        for g, vals in fitted.items():
            gkeys = [f"appeals.{g}.{o}" for o in APPEAL_OUTCOMES]
            if len(vals) == 5:
                for k, t in zip(gkeys, vals):
                    reading.put(k, t, "table 四")
            else:
                place_row(gkeys, by_group.get(g, []), reading, f"table 四 {g}", "table 四", groups=[(0, 5)],
                          check=figures_check(gkeys, figures(), clear), tiebreaks=practice())
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
    place_row(keys, vals, reading, "table 四", "table 四", groups=[(i, i + 5) for i in range(0, width, 5)],
              check=figures_check(keys, figures()), tiebreaks=practice())


# 未经复议直接起诉 must be tried before 行政复议 (its label contains 复议).
_APPEAL_GROUPS_ORDERED = {
    "lawsuit_direct": APPEAL_GROUP_FRAGMENTS["lawsuit_direct"],
    "lawsuit_after_review": APPEAL_GROUP_FRAGMENTS["lawsuit_after_review"],
    "admin_review": APPEAL_GROUP_FRAGMENTS["admin_review"],
}
