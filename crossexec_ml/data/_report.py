"""What validation found: one problem per row and column, gathered in a report."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from crossexec_ml.data._contract import (
    cases_contract,
)
from crossexec_ml.errors import InputError


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Attributes
    ----------
    row : int or None
        Spreadsheet row number (the header is row 1); ``None`` for a whole-file problem.
    column : str
        ``name (中文标签)`` of the column, or empty for a row-level problem.
    value : str
        The offending value as read (shortened, with anything that looks like an ID or
        telephone number masked), or empty.
    expected : str
        What would be valid, said as a fix.
    """

    row: int | None
    column: str
    value: str
    expected: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        col = f", column {self.column}" if self.column else ""
        val = f": {self.value!r}" if self.value != "" else ""
        return f"{where}{col}{val} -> {self.expected}"


@dataclass
class ValidationReport:
    """Outcome of validating one input.

    Attributes
    ----------
    source : str
        File name (or a label) the frame came from.
    kind : str
        ``cases``, ``handlers`` or ``truth``.
    frame : pandas.DataFrame
        The contract-typed frame (cells with problems are missing values).
    problems : list of Problem
        At most :data:`MAX_PROBLEMS` problems, in row order.
    n_problems : int
        Total number of problems, including those not listed.
    warnings : list of str
        Things worth knowing that do not stop the run (extra columns...).
    absent_optional : list of str
        Optional contract columns missing from the input (filled with missing values).
    personal_columns : list of str
        Columns that look like personal data (masked header and 1-based position, or the
        contract column), whether refused or dropped.
    dropped_columns : list of int
        1-based positions of the extra columns dropped as personal data (only when personal
        columns were allowed); they are not in ``frame``.
    """

    source: str
    kind: str
    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    n_problems: int = 0
    warnings: list[str] = field(default_factory=list)
    absent_optional: list[str] = field(default_factory=list)
    personal_columns: list[str] = field(default_factory=list)
    dropped_columns: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.n_problems == 0

    def summary(self) -> str:
        """A few lines describing the input: rows, courts, as-of dates, gaps, warnings."""
        df = self.frame
        lines = [f"{self.source}: {len(df)} rows ({self.kind})"]
        if "court_id" in df and len(df):
            lines.append(f"  courts: {df['court_id'].nunique()}")
        if "as_of_date" in df and df["as_of_date"].notna().any():
            dates = df["as_of_date"].dropna()
            lines.append(
                f"  as-of dates: {dates.nunique()} "
                f"({dates.min():%Y-%m-%d} .. {dates.max():%Y-%m-%d})"
            )
        if self.kind == "cases":
            contract = cases_contract()
            history = contract.by_role("treatment", "outcome")
            absent_features = [c for c in self.absent_optional if c not in history]
            if absent_features:
                lines.append("  optional columns absent: " + ", ".join(absent_features))
            if "resolved_180d" in self.absent_optional or "cross_mode" in self.absent_optional:
                lines.append(
                    "  no treatment/outcome columns: cases to score (not usable for training)"
                )
            else:
                lines.append("  treatment and outcome columns present: usable for training")
        elif self.absent_optional:
            lines.append("  optional columns absent: " + ", ".join(self.absent_optional))
        lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.ok:
            lines.append("  valid: no problems found")
        else:
            lines.append(f"  INVALID: {self.n_problems} problem(s)")
        return "\n".join(lines)

    def problem_text(self) -> str:
        """The problem list as printed by ``crossexec validate``."""
        lines = [f"{self.source}: {self.n_problems} problem(s) found"]
        lines.extend(f"  {p}" for p in self.problems)
        if self.n_problems > len(self.problems):
            lines.append(f"  ... and {self.n_problems - len(self.problems)} more not listed")
        return "\n".join(lines)


class ValidationError(InputError):
    """Raised by :func:`read_cases` / :func:`read_handlers` when an input has problems.

    Attributes
    ----------
    report : ValidationReport
        The full report, with every problem found.
    """

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.problem_text())
