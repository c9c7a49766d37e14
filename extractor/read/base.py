"""What an engine returns: the report's cells, where each was printed, and what needs a look."""

from __future__ import annotations

from dataclasses import dataclass, field

from extractor.contract import Format, Meta, Value, keys_for
from extractor.document import Location
from extractor.flags import Flag


@dataclass
class Reading:
    fmt: Format
    meta: Meta
    fields: dict[str, Value]
    provenance: dict[str, Location] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)  # sections the engine could not place (hybrid -> LLM)
    empty_cells: set[str] = field(default_factory=set)  # cells settled as printed blank or dash
    unplaced_empties: int = 0  # blanks that damaged material certainly had, in cells no one can tell
    _seen: set[str] = field(default_factory=set)

    @classmethod
    def empty(cls, fmt: Format, meta: Meta) -> "Reading":
        return cls(fmt=fmt, meta=meta.model_copy(update={"format": fmt}), fields={k: None for k in keys_for(fmt)})

    def put(self, key: str, tok, how: str) -> None:
        """Record one cell from a token: a number is its value, a dash or blank is null."""
        if key not in self.fields:
            return
        self.provenance[key] = tok.loc
        if tok.kind == "number":
            self.fields[key] = tok.value
        else:
            self.fields[key] = None
            if tok.kind in ("blank", "dash"):
                self.empty_cells.add(key)
            if tok.kind == "blank":
                self.flag(Flag(rule="BLANK", severity="warning", keys=[key],
                               message=f"{key} is blank in {how} (read as null)"))
            elif tok.kind == "unsure":
                self.flag(Flag(rule="OCR", severity="error", keys=[key],
                               message=f"{key}: the digits printed at {tok.loc.describe()} are not certain (read "
                                       f"「{tok.text}」: ? where OCR was unsure, or letters that look like digits); "
                                       "left null for a reviewer to read"))

    def put_vanished(self, key: str) -> None:
        """Record a cell that every reading of damaged material gives a blank that left no trace."""
        if key in self.fields:
            self.fields[key] = None
            self.empty_cells.add(key)

    def zeros_and_empties(self) -> tuple[int, int]:
        """How many settled cells print 0, and how many are printed empty (blank or dash)."""
        zeros = sum(1 for k in self.provenance if self.fields.get(k) == 0)
        return zeros, len(self.empty_cells) + self.unplaced_empties

    def flag(self, f: Flag) -> None:
        self.flags.append(f)

    def mark_seen(self, prefix: str) -> None:
        self._seen.add(prefix)

    def seen(self, prefix: str) -> bool:
        return prefix in self._seen
