"""The fixed report contract: field keys, their labels and formats, and the flat <-> model form.

The key list is read from ``data/fields.json`` (a copy of ../shared/contract/fields.json).
Everything else in the project names cells by these keys.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, Field

Format = Literal["2021", "2019"]
FORMATS: tuple[Format, ...] = ("2021", "2019")

APPLICANT_COLUMNS = ("natural_person", "commercial", "research", "social_welfare", "legal_service", "other_org", "total")
APPLICANT_PARTS = APPLICANT_COLUMNS[:-1]

# Table 三 rows in printed (template) order.
REQUEST_ROWS = (
    "new_received", "carried_over",
    "disclosed", "partially_disclosed",
    "withheld_state_secret", "withheld_prohibited", "withheld_security_stability", "withheld_third_party",
    "withheld_internal_affairs", "withheld_process_info", "withheld_enforcement_files", "withheld_query_matters",
    "unable_not_held", "unable_needs_creation", "unable_unclear",
    "not_processed_complaint", "not_processed_duplicate", "not_processed_publication",
    "not_processed_excessive", "not_processed_confirm",
    "other_overdue_correction", "other_overdue_fee", "other_other", "other_processing",
    "total_processed", "carried_forward",
)
OTHER_SUBROWS = ("other_overdue_correction", "other_overdue_fee", "other_other")
# Rows whose sum is （七）总计 (R2): every result row; the (六) shape not printed is null.
RESULT_ROWS = REQUEST_ROWS[2:24]

APPEAL_GROUPS = ("admin_review", "lawsuit_direct", "lawsuit_after_review")
APPEAL_OUTCOMES = ("upheld", "corrected", "other", "pending", "total")

AMOUNT_KEYS = ("active.fees.amount", "active.procurement.amount")


class FieldSpec(BaseModel):
    key: str
    label: str
    formats: tuple[Format, ...]
    type: Literal["int", "number"]

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]


@cache
def field_specs() -> tuple[FieldSpec, ...]:
    raw = json.loads(resources.files("extractor").joinpath("data/fields.json").read_text("utf-8"))
    return tuple(FieldSpec(**f) for f in raw["fields"])


@cache
def keys_for(fmt: Format) -> tuple[str, ...]:
    return tuple(f.key for f in field_specs() if fmt in f.formats)


@cache
def spec(key: str) -> FieldSpec:
    for f in field_specs():
        if f.key == key:
            return f
    raise KeyError(key)


def section_of(key: str) -> str:
    return key.split(".", 1)[0]


Value = int | float | None


class Meta(BaseModel):
    organ: str | None = None
    year: int | None = None
    format: Format | None = None


class Report(BaseModel):
    """One report in contract form: meta plus every key of its format (null where blank)."""

    doc: str
    meta: Meta = Field(default_factory=Meta)
    fields: dict[str, Value] = Field(default_factory=dict)

    @classmethod
    def empty(cls, doc: str, fmt: Format, **meta) -> "Report":
        return cls(doc=doc, meta=Meta(format=fmt, **meta), fields={k: None for k in keys_for(fmt)})

    def to_flat(self) -> dict:
        """The contract's flat form (as in a gold file, minus gold-only keys)."""
        return {"doc": self.doc, "meta": self.meta.model_dump(), "fields": dict(self.fields)}

    @classmethod
    def from_flat(cls, flat: dict) -> "Report":
        return cls(doc=flat["doc"], meta=Meta(**flat.get("meta", {})), fields=dict(flat["fields"]))


class GoldReport(Report):
    unscored: list[str] = Field(default_factory=list)
    source_consistent: bool = True
    notes: str = ""


def check_keys(fields: dict, fmt: Format) -> list[str]:
    """Problems with a fields dict against the key list of its format (empty when exact)."""
    want, got = set(keys_for(fmt)), set(fields)
    problems = [f"missing key {k}" for k in sorted(want - got)]
    problems += [f"key {k} is not in format {fmt}" for k in sorted(got - want)]
    return problems
