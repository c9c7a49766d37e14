"""The LLM engine: one structured call per table section, checked before it is trusted.

The model is asked for each row's printed label and its values in printed order. Labels are
mapped to contract keys by the same label table the rules engine uses; every value is grounded
in the section's printed numbers (R7) in order; the validator's arithmetic findings go back to
the model as a re-ask, at most ``max_reasks`` times inside the report's token budget. A source
that is itself inconsistent is accepted as printed and flagged, never repaired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from extractor.contract import APPEAL_GROUPS, APPEAL_OUTCOMES, APPLICANT_COLUMNS, REQUEST_ROWS, field_specs
from extractor.document import Document, Location
from extractor.flags import Flag
from extractor.llm.config import LLMConfig
from extractor.llm.transport import BadAnswer, LLMClient, LLMUnavailable, Usage
from extractor.read.base import Reading
from extractor.read.cells import Token, fit_blanks, tokens_of
from extractor.read.damaged import block_rows
from extractor.read.labels import (
    ACTIVE_COLUMN_FRAGMENTS,
    ACTIVE_DEFAULT_COLUMNS,
    ACTIVE_ROW_FRAGMENTS,
    APPEAL_GROUP_FRAGMENTS,
    REQUEST_ROW_FRAGMENTS,
    match,
)
from extractor.sections import find_sections
from extractor.textnorm import label_key, parse_number
from extractor.validate import check_appeals, check_row_totals

Number = float | int | None
PROMPT_DIR = Path(__file__).resolve().parents[2] / "prompts"


class RowAnswer(BaseModel):
    label: str = Field(description="该行原文印出的行名")
    values: list[Number] = Field(description="该行各单元格的原文数值，按印刷顺序；空白为 null")


class RequestsAnswer(BaseModel):
    rows: list[RowAnswer]


class ActiveRow(BaseModel):
    label: str
    columns: list[str] = Field(default_factory=list, description="该行所在小表的原文列名")
    values: list[Number]


class ActiveAnswer(BaseModel):
    rows: list[ActiveRow]


class AppealsAnswer(BaseModel):
    groups: list[RowAnswer]


@dataclass
class Prompt:
    name: str
    text: str

    @property
    def version(self) -> str:
        return f"{self.name}:{hashlib.sha256(self.text.encode()).hexdigest()[:12]}"


@cache
def load_prompt(name: str) -> Prompt:
    path = PROMPT_DIR / f"{name}.v1.md"
    return Prompt(f"{name}.v1", path.read_text(encoding="utf-8"))


_MODELS = {"requests": RequestsAnswer, "active": ActiveAnswer, "appeals": AppealsAnswer}


def _row_list() -> str:
    labels = {f.key.split(".")[1]: f.label.split(" · ")[0] for f in field_specs() if f.key.startswith("requests.")}
    return "\n".join(f"- {labels[r]}" for r in REQUEST_ROWS)


def _messages(part: str, chunk: str) -> list[dict]:
    user = load_prompt(part).text.format(chunk=chunk, rows=_row_list(),
                                         columns="、".join(f[0] for f in ACTIVE_COLUMN_FRAGMENTS.values()))
    return [{"role": "system", "content": load_prompt("system").text}, {"role": "user", "content": user}]


def chunk_text(doc: Document, part: str) -> tuple[str, list[Token]]:
    sections = find_sections(doc)
    sec = sections.get(part)
    rows = sec.rows(doc) if sec else doc.rows
    first = sec.start if sec else 0
    text = "\n".join("\t".join(c.text for c in r.cells) for r in rows)
    return text, tokens_of(rows, first)


# ---------------------------------------------------------------- answer -> cells

@dataclass
class Cells:
    values: dict[str, Number]
    provenance: dict[str, Location]
    flags: list[Flag]


def _request_row(label: str) -> str | None:
    """A table 三 row name for a label, with the two labels the fragment table leaves to context:
    "（六）其他处理" printed as one row, and "3.其他" under it."""
    name = match(label, REQUEST_ROW_FRAGMENTS)
    key = label_key(label)
    if name is None and "其他处理" in key:
        return "other_processing"
    if name is None and key in ("其他", "其它"):
        return "other_other"
    return name


def _regions(tokens: list[Token], row_of: Callable[[str], str | None]) -> dict[str, list[Token]]:
    """Value tokens after each row label (``row_of`` names it), up to the next row label (first
    occurrence of each row)."""
    out: dict[str, list[Token]] = {}
    current: str | None = None
    for t in tokens:
        if t.kind == "label":
            name = row_of(t.text)
            if name == "other_other" and not any(k.startswith("other_") for k in out):
                name = None  # the "其他" column header, not the "3.其他" sub-row of （六）
            if name == "total_processed" and not out:
                name = None  # the 总计 column header, not the （七）总计 row
            if name is not None:
                current = name if name not in out else None
                if current:
                    out[current] = []
            continue
        if current is not None:
            out[current].append(t)
    return out


class Grounder:
    """Ties each LLM value to the printed cell it must come from.

    Where the row's printed cells are known and fit (the row label is printed and has as many
    value cells as the answer), value k must be cell k: a model that "corrects" or zeroes a
    cell points at a printed number that differs, and R7 flags it. Where they do not fit
    (damaged text), values must appear in printed order, digits inside a glued run included.
    """

    def __init__(self, tokens: list[Token]):
        self.numbers = [t for t in tokens if t.kind == "number"]
        self.cursor = (0, 0)  # index into numbers, char offset inside that token

    def row(self, values: list[Number], cells: list[Token] | None) -> list[Location | None]:
        if cells is not None:
            fitted = fit_blanks(cells, len(values))
            if len(fitted) == len(values):
                return [t.loc for t in fitted]
        return [self.in_order(v) for v in values]

    def in_order(self, value: Number) -> Location | None:
        if value is None:
            return None
        want = _fmt(value)
        i, off = self.cursor
        while i < len(self.numbers):
            t = self.numbers[i]
            if off == 0 and t.value == value:
                self.cursor = (i + 1, 0)
                return t.loc
            at = t.text.find(want, off) if t.text.isdigit() else -1
            if at >= 0:
                end = at + len(want)
                self.cursor = (i, end) if end < len(t.text) else (i + 1, 0)
                return t.loc.sub(at, len(want))
            i, off = i + 1, 0
        return None


def _fmt(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _printed(doc_text: str, loc: Location | None) -> Number:
    if loc is None or loc.start is None:
        return None
    return parse_number(doc_text[loc.start : loc.end])


def map_answer(part: str, answer: BaseModel, tokens: list[Token], reading: Reading, doc_text: str) -> Cells:
    grounder = Grounder(tokens)
    values: dict[str, Number] = {}
    prov: dict[str, Location] = {}
    flags: list[Flag] = []

    def put_row(keys: list[str], row_values: list[Number], cells: list[Token] | None) -> None:
        for key, v, loc in zip(keys, row_values, grounder.row(row_values, cells)):
            if key not in reading.fields:
                flags.append(Flag(rule="R5", severity="warning", keys=[key], printed=v,
                                  message=f"the LLM gave {key}, a cell format {reading.fmt} does not have"))
                continue
            values[key] = v
            if loc is not None:
                prov[key] = loc
            printed = _printed(doc_text, loc)
            if v is not None and loc is None:
                flags.append(Flag(rule="R7", severity="error", keys=[key], printed=v,
                                  message=f"the LLM read {key} = {_fmt(v)}, but {_fmt(v)} is not printed in this section"))
            elif loc is not None and loc.start is not None and printed != v and not (v is None and printed is None):
                shown = "blank" if printed is None else _fmt(printed)
                flags.append(Flag(rule="R7", severity="error", keys=[key], printed=v, expected=printed,
                                  message=f"the LLM read {key} = {v}, but the cell prints {shown}"))

    if part == "requests":
        regions = _regions(tokens, _request_row)
        for row in answer.rows:
            name = _request_row(row.label)
            if name is None or len(row.values) != len(APPLICANT_COLUMNS):
                flags.append(Flag(rule="LLM", severity="warning", message=f"LLM row 「{row.label}」 with {len(row.values)} values "
                                  "does not fit table 三; ignored"))
                continue
            put_row([f"requests.{name}.{c}" for c in APPLICANT_COLUMNS], row.values, regions.get(name))
    elif part == "active":
        regions = _regions(tokens, lambda text: match(text, ACTIVE_ROW_FRAGMENTS))
        by_article: dict[str, list[str]] = {}  # rows of each 第二十条 block not yet given to a row labelled by it
        for row in answer.rows:
            name = match(row.label, ACTIVE_ROW_FRAGMENTS)
            if name is None and "第二十条" in label_key(row.label):
                # Labelled by its block's article ("第二十条第（五）项"): the block's rows in template order.
                left = by_article.setdefault(label_key(row.label), block_rows(reading.fmt, row.label))
                name = left.pop(0) if left else None
                if name is not None:
                    flags.append(Flag(rule="LLM", severity="warning", keys=[k for k in reading.fields if k.startswith(f"active.{name}.")],
                                      message=f"LLM row 「{row.label}」 names its 第二十条 block, not its row; given to "
                                              f"{name}, the block's next row in template order"))
            if name is None:
                flags.append(Flag(rule="LLM", severity="warning", message=f"LLM row 「{row.label}」 is not a table 二 row; ignored"))
                continue
            cols = [match(c, ACTIVE_COLUMN_FRAGMENTS) for c in row.columns]
            if len(cols) != len(row.values) or None in cols:
                cols = list(ACTIVE_DEFAULT_COLUMNS[reading.fmt].get(name, ()))
            put_row([f"active.{name}.{c}" for c in cols], row.values, regions.get(name))
    else:
        printed = fit_blanks([t for t in tokens if t.kind != "label"], len(APPEAL_GROUPS) * len(APPEAL_OUTCOMES))
        fits = len(printed) == len(APPEAL_GROUPS) * len(APPEAL_OUTCOMES)
        ordered = {g: APPEAL_GROUP_FRAGMENTS[g] for g in ("lawsuit_direct", "lawsuit_after_review", "admin_review")}
        for i, grp in enumerate(answer.groups):
            name = match(grp.label, ordered) or (APPEAL_GROUPS[i] if i < 3 else None)
            if name is None or len(grp.values) != len(APPEAL_OUTCOMES):
                flags.append(Flag(rule="LLM", severity="warning", message=f"LLM group 「{grp.label}」 does not fit table 四; ignored"))
                continue
            g = APPEAL_GROUPS.index(name)
            cells = printed[g * 5 : g * 5 + 5] if fits else None
            put_row([f"appeals.{name}.{o}" for o in APPEAL_OUTCOMES], grp.values, cells)
    flags += _unplaced(part, tokens, prov)
    return Cells(values, prov, flags)


def _unplaced(part: str, tokens: list[Token], prov: dict[str, Location]) -> list[Flag]:
    """Printed numbers of the section that no value of the answer points at: an answer that skipped
    or mislabelled rows leaves cells null, and nulls alone would not say so."""
    used = [(loc.start, loc.end) for loc in prov.values() if loc.start is not None]
    missed = [t for t in tokens if t.kind == "number" and t.loc.start is not None
              and not any(s < t.loc.end and t.loc.start < e for s, e in used)]
    if not missed:
        return []
    shown = "、".join(f"「{t.text}」 at chars {t.loc.start}-{t.loc.end}" for t in missed[:6])
    return [Flag(rule="LLM", severity="error", keys=[],
                 message=f"section {part}: {len(missed)} printed number(s) the LLM answer put in no cell: {shown}"
                         + (" …" if len(missed) > 6 else ""))]


def _findings(part: str, cells: Cells) -> list[str]:
    """What to tell the model on a re-ask: ungrounded values and sums that do not add up."""
    out = [f.message for f in cells.flags if f.rule == "R7" or (f.rule == "LLM" and f.severity == "error")]
    if part == "requests":
        out += [f.message for f in check_row_totals(cells.values)]
    elif part == "appeals":
        out += [f.message for f in check_appeals(cells.values)]
    return out


# ---------------------------------------------------------------- the engine

class LLMReader:
    def __init__(self, cfg: LLMConfig, client: LLMClient | None = None):
        self.cfg = cfg
        self.client = client or LLMClient(cfg)

    def read_sections(self, doc: Document, reading: Reading, parts: list[str], usage: Usage) -> None:
        for part in parts:
            self._read_section(doc, reading, part, usage)

    def _read_section(self, doc: Document, reading: Reading, part: str, usage: Usage) -> None:
        chunk, tokens = chunk_text(doc, part)
        messages = _messages(part, chunk)
        version = load_prompt(part).version + "+" + load_prompt("system").version
        cells: Cells | None = None
        for attempt in range(self.cfg.max_reasks + 1):
            if usage.tokens >= self.cfg.token_budget:
                reading.flag(Flag(rule="LLM_BUDGET", severity="error", keys=[],
                                  message=f"section {part}: the report's token budget ({self.cfg.token_budget}) is spent"))
                break
            try:
                answer, used = self.client.structured(messages, _MODELS[part], version)
            except BadAnswer as e:
                usage.add(e.usage)
                messages = messages + [{"role": "user", "content": f"你的回答不是符合结构的 JSON：{e}。请只输出符合结构的 JSON。"}]
                continue
            except LLMUnavailable as e:
                usage.add(e.usage)
                reading.flag(Flag(rule="LLM_UNAVAILABLE", severity="error", keys=[],
                                  message=f"section {part}: the LLM endpoint failed after retries: {e}"))
                break
            usage.add(used)
            cells = map_answer(part, answer, tokens, reading, doc.text)
            findings = _findings(part, cells)
            if not findings or attempt == self.cfg.max_reasks:
                break
            note = "\n".join(f"- {m}" for m in findings[:20])
            messages = messages + [
                {"role": "assistant", "content": answer.model_dump_json()},
                {"role": "user", "content": "请对照原文逐项核对以下问题并重新输出完整 JSON。若原文确实如此印刷，保持原文数值，不要为了凑合计而修改：\n" + note},
            ]
        if cells is None:
            reading.flag(Flag(rule="LLM", severity="error", keys=[k for k in reading.fields if k.startswith(part + ".")],
                              message=f"section {part}: no usable LLM answer"))
            return
        for key in [k for k in reading.fields if k.startswith(part + ".")]:
            reading.fields[key] = None
            reading.provenance.pop(key, None)
        reading.fields.update(cells.values)
        reading.provenance.update(cells.provenance)
        reading.flags = [f for f in reading.flags if not (f.keys and all(k.startswith(part + ".") for k in f.keys))]
        reading.flags += cells.flags
        reading.unread.discard(part)
