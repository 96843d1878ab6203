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
    """Rows and columns are keyed by machine names (registry names, raw class names); headers show their titles."""

    name: str  # file stem: main, ablation, shots…
    caption: str
    corner: str  # header of the label column
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    column_marks: dict[str, str] = field(default_factory=dict)  # column → mark such as "†"
    row_marks: dict[str, str] = field(default_factory=dict)
    decimals: int = 2
    separators: set[int] = field(default_factory=set)  # a rule is drawn before these row positions
    column_titles: dict[str, str] = field(default_factory=dict)  # column → header shown (default: the column)
    row_titles: dict[str, str] = field(default_factory=dict)  # row → label shown (default: the row)
    label: str | None = None  # LaTeX \label; None: tab:<name>

    def column_title(self, column: str) -> str:
        return self.column_titles.get(column, column)

    def row_title(self, row: str) -> str:
        return self.row_titles.get(row, row)

    def column_label(self, column: str) -> str:
        """The header shown: title and mark (``DCFSL†``)."""
        return self.column_title(column) + self.column_marks.get(column, "")

    def row_label(self, row: str) -> str:
        return self.row_title(row) + self.row_marks.get(row, "")

    @property
    def latex_label(self) -> str:
        return self.label or f"tab:{self.name}"
