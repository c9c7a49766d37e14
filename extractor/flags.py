"""Flags: what a reader or the validator wants a reviewer to see, always naming the cells involved."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning"]


class Flag(BaseModel):
    rule: str  # R1..R8, or READ (a cell could not be read), BLANK, NEEDS_LLM, ...
    severity: Severity
    keys: list[str] = Field(default_factory=list)
    message: str
    expected: float | int | None = None
    printed: float | int | None = None

    def __str__(self) -> str:
        return f"[{self.severity} {self.rule}] {self.message}"


def has_error(flags: list[Flag]) -> bool:
    return any(f.severity == "error" for f in flags)
