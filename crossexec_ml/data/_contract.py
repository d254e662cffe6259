"""The data contract in code: column names, Chinese labels, dtypes, allowed values, settings.

The contract lives in two CSV files shipped as package data (``contract/cases_schema.csv`` and
``contract/handlers_schema.csv``), copies of the project's shared contract. Everything that
reads, validates, generates or writes case data takes its column definitions from here, so the
contract has exactly one source in the code.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from crossexec_ml.text import t, t_pair

#: Historical ``cross_mode`` values folded onto the four rungs. The four higher-court modes
#: (提级/指令/集中/协同) share one rung because they are all decided by the higher court.
CROSS_MODE_TO_RUNG: dict[str, str] = {
    "none": "keep",
    "intra_team": "intra_team",
    "inter_team": "inter_team",
    "elevated": "higher_court",
    "designated": "higher_court",
    "concentrated": "higher_court",
    "collaborative": "higher_court",
}

#: The five "hard bone" categories (五类骨头案), in order: flag column -> (Chinese, English)
#: label. The labels are read from the text catalogue (``flag.<flag>``), the one place they live.
HARD_BONE_FLAGS: dict[str, tuple[str, str]] = {
    f: t_pair(f"flag.{f}")
    for f in (
        "flag_long_unresolved",
        "flag_repeat_petition",
        "flag_sensitive",
        "flag_special_entity",
        "flag_key_supervised",
    )
}

_DTYPES = {"string", "date", "category", "bool", "int", "float"}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    Attributes
    ----------
    name, label_zh : str
        English name and Chinese label; either is accepted as a header on ingestion.
    dtype : str
        One of ``string``, ``date``, ``category``, ``bool``, ``int``, ``float``.
    role : str
        ``id``, ``time``, ``feature``, ``treatment``, ``outcome`` or ``capacity``.
    required : bool
        Whether the column must be present and non-empty in every row.
    categories : tuple of str or None
        Allowed values of a ``category`` column, in contract order.
    minimum : float or None
        Lower bound (inclusive) of a numeric column, from ``>=N`` in the contract.
    description : str
        The contract's description.
    """

    name: str
    label_zh: str
    dtype: str
    role: str
    required: bool
    categories: tuple[str, ...] | None = None
    minimum: float | None = None
    description: str = ""

    @property
    def expected(self) -> str:
        """What a valid cell of this column looks like, for error messages."""
        if self.dtype == "category":
            return "one of " + ", ".join(self.categories or ())
        if self.dtype == "date":
            return "a date such as 2024-03-01, 2024/3/1 or 2024年3月1日"
        if self.dtype == "bool":
            return "true/false, 1/0, 是/否 or Y/N"
        if self.dtype in ("int", "float"):
            kind = "a whole number" if self.dtype == "int" else "a number"
            if self.minimum is not None:
                return f"{kind} >= {self.minimum:g}"
            return kind
        return "text"

    @property
    def display(self) -> str:
        """``name (中文标签)``, the way every message names a column."""
        return f"{self.name} ({self.label_zh})"


@dataclass(frozen=True)
class Contract:
    """An ordered set of :class:`ColumnSpec` with a version derived from its content.

    Attributes
    ----------
    kind : str
        ``cases`` or ``handlers``.
    columns : dict of str to ColumnSpec
        In contract order.
    version : str
        First 12 hex digits of the SHA-256 of the contract file: any change to the contract
        changes the version, so a model trained under another contract can be refused.
    """

    kind: str
    columns: dict[str, ColumnSpec]
    version: str
    _by_label: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        """English column names in contract order."""
        return list(self.columns)

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns.values() if c.required]

    def by_role(self, *roles: str) -> list[str]:
        """Names of the columns whose role is one of ``roles``."""
        return [c.name for c in self.columns.values() if c.role in roles]

    def name_for_label(self, label: str) -> str | None:
        """English name for a Chinese label, or ``None``."""
        return self._by_label.get(label)

    def labels_zh(self) -> dict[str, str]:
        """Mapping English name -> Chinese label, for Chinese-header exports."""
        return {c.name: c.label_zh for c in self.columns.values()}


def _parse_allowed(dtype: str, allowed: str) -> tuple[tuple[str, ...] | None, float | None]:
    allowed = allowed.strip()
    if not allowed:
        return None, None
    if dtype == "category":
        return tuple(v.strip() for v in allowed.split("|")), None
    if allowed.startswith(">="):
        return None, float(allowed[2:])
    raise ValueError(f"contract: cannot read allowed values {allowed!r} for dtype {dtype}")


def _load(kind: str) -> Contract:
    raw = resources.files("crossexec_ml").joinpath(f"data/contract/{kind}_schema.csv").read_bytes()
    text = raw.decode("utf-8")
    columns: dict[str, ColumnSpec] = {}
    for rec in csv.DictReader(text.splitlines()):
        dtype = rec["dtype"].strip()
        if dtype not in _DTYPES:
            raise ValueError(f"contract {kind}: unknown dtype {dtype!r} for {rec['name']}")
        categories, minimum = _parse_allowed(dtype, rec["allowed"])
        spec = ColumnSpec(
            name=rec["name"].strip(),
            label_zh=rec["label_zh"].strip(),
            dtype=dtype,
            role=rec["role"].strip(),
            required=rec["required"].strip().lower() == "yes",
            categories=categories,
            minimum=minimum,
            description=rec["description"].strip(),
        )
        columns[spec.name] = spec
    by_label = {c.label_zh: c.name for c in columns.values()}
    version = hashlib.sha256(raw).hexdigest()[:12]
    return Contract(kind=kind, columns=columns, version=version, _by_label=by_label)


@cache
def cases_contract() -> Contract:
    """The case contract (``cases_schema.csv``).

    Returns
    -------
    Contract

    Examples
    --------
    >>> c = cases_contract()
    >>> c.columns["case_id"].label_zh
    '案号'
    """
    return _load("cases")


@cache
def handlers_contract() -> Contract:
    """The handler contract (``handlers_schema.csv``)."""
    return _load("handlers")


#: Chinese labels of the columns the package adds to its outputs (scores, ranks, flags), so
#: every Excel file a leader opens has Chinese headers; read from the text catalogue
#: (``column.<name>``, ``flag.<flag>``).
OUTPUT_LABELS: dict[str, str] = {
    **{
        c: t(f"column.{c}", "zh")
        for c in (
            "p_keep",
            "p_intra_team",
            "p_inter_team",
            "p_higher_court",
            "suggested_rung",
            "p_cross",
            "uplift",
            "best_gain",
            "priority_rank",
            "expected_gain",
            "candidate",
            "proposal_propensity",
            "floor_reason",
            "guidance",
            "guidance_en",
            "reasons_zh",
            "top_reason_zh",
            "reasons_en",
            "n_hard_bone_flags",
            "decided_action",
            "case_fingerprint",
            "stalled",
            "model_id",
        )
    },
    **{flag: zh for flag, (zh, _en) in HARD_BONE_FLAGS.items()},
}
