"""A format-neutral table: builders decide content, bold and marks; renderers only draw it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cell:
    mean: float | None  # None: no record for this cell
    std: float | None = None
    count: int = 0
    bold: bool = False
    significant: bool = False  # differs from the reference at the chosen level, after the table's Holm adjustment
    p_value: float | None = None  # Holm-adjusted over every test of the table; None: not tested
    p_unadjusted: float | None = None  # the paired test's own p, before the adjustment
    note: str | None = None  # a cell that is words, not a number (the audit's intervals and explanations)

    def text(self, decimals: int = 2) -> str:
        if self.note is not None:
            return self.note
        if self.mean is None:
            return "–"
        text = f"{self.mean:.{decimals}f}"
        if self.std is not None:
            text += f" ± {self.std:.{decimals}f}"
        return text


@dataclass
class Table:
    name: str  # file stem: main, ablation, shots…
    caption: str
    corner: str  # header of the label column
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    column_marks: dict[str, str] = field(default_factory=dict)  # column → mark such as "†"
    row_marks: dict[str, str] = field(default_factory=dict)
    decimals: int = 2
    separators: set[int] = field(default_factory=set)  # a rule is drawn before these row positions

    def column_label(self, column: str) -> str:
        return column + self.column_marks.get(column, "")

    def row_label(self, row: str) -> str:
        return row + self.row_marks.get(row, "")
