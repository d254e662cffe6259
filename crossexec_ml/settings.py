"""Every setting of the package in one place: what a court may change, validated on creation.

Settings are frozen dataclasses, never constants buried in code; the model card stores the ones
a model was trained and judged with, so scoring reads them back (see :class:`ScoringPolicy`).
This module sits at the bottom of the house: it imports nothing from the package.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

__all__ = [
    "DEFAULT_CODE_PATTERN",
    "FAIRNESS_GROUPINGS",
    "FAIRNESS_POLICIES",
    "LEARNERS",
    "PROB_COLUMNS",
    "RUNGS",
    "BacktestSettings",
    "CohortSettings",
    "FairnessSettings",
    "FlagSettings",
    "LadderSettings",
    "LedgerSettings",
    "MonitorSettings",
    "PrioritySettings",
    "ScoringPolicy",
    "SelectionSettings",
    "resolve_policy",
]

#: The cross-execution ladder as the model sees it; ``keep`` = left with the current handler.
RUNGS: tuple[str, ...] = ("keep", "intra_team", "inter_team", "higher_court")

#: Output columns of the model, one per rung, in ladder order.
PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{r}" for r in RUNGS)

#: Groupings the fairness audit can judge (columns of its audit rows); labels live in text/.
FAIRNESS_GROUPINGS: tuple[str, ...] = (
    "applicant_type",
    "debtor_type",
    "cause_category",
    "livelihood",
    "court_id",
    "amount_band",
)
#: The lists the fairness audit can judge.
FAIRNESS_POLICIES: tuple[str, ...] = ("priority", "model", "p_cross")
#: The shape of a person's code in the ledger: ASCII letters, digits, ``-`` and ``_``, 1 to 32.
DEFAULT_CODE_PATTERN = r"[A-Za-z0-9_-]{1,32}"


@dataclass(frozen=True)
class CohortSettings:
    """Which open cases count as stalled (DOMAIN.md section 3). Settings, not constants.

    Parameters
    ----------
    min_age_days : int
        ``as_of_date - filing_date`` at least this (180: the statutory six months, CPL art. 237).
    min_idle_days : int
        ``days_since_last_action`` at least this.
    """

    min_age_days: int = 180
    min_idle_days: int = 90


@dataclass(frozen=True)
class FlagSettings:
    """Thresholds of the five hard-bone flags (DOMAIN.md section 1). Settings, not constants.

    Parameters
    ----------
    long_unresolved_days : int
        Case age at which a case is a long-unresolved old case (长期未结老案).
    repeat_petition_min : int
        Petition count at which a case is a repeat-petition case (重复信访难案).
    """

    long_unresolved_days: int = 730
    repeat_petition_min: int = 2


@dataclass(frozen=True)
class LadderSettings:
    """How a rung is suggested. Settings, not constants.

    Parameters
    ----------
    min_gain : float
        Below this gain in resolution probability over keeping, suggest ``keep``.
    close_share : float
        A cheaper rung is "close to the best" when its gain is at least this share of the
        best allowed rung's gain.
    respect_ladder : bool
        Only suggest rungs above the case's ``ladder_stage`` (the higher court may be asked
        again). When False every rung is allowed.
    """

    min_gain: float = 0.03
    close_share: float = 0.8
    respect_ladder: bool = True


@dataclass(frozen=True)
class LedgerSettings:
    """What the decision ledger accepts as a person's code. Settings, not constants.

    Names cannot be recognised reliably, but a code can be required to have a shape: the
    decider (决定人) and the receiving handler are stored as codes only, so a typed name such as
    ``张三局长`` is refused before it reaches a file that can never be edited.

    Parameters
    ----------
    decider_pattern : str
        Regular expression the whole ``decided_by`` and ``target_handler_id`` code must match
        (``re.fullmatch``, after stripping spaces). The default allows ASCII letters, digits,
        ``-`` and ``_``, 1 to 32 characters (``L007``, ``H0012``, ``ju-li_3``). Checked on new
        decisions only: rows already in a ledger keep verifying.

    Raises
    ------
    ValueError
        When the pattern is not text, does not compile, or accepts an empty code.
    """

    decider_pattern: str = DEFAULT_CODE_PATTERN

    def __post_init__(self) -> None:
        if not isinstance(self.decider_pattern, str) or not self.decider_pattern.strip():
            raise ValueError(
                "decider_pattern must be a non-empty regular expression such as "
                f"{DEFAULT_CODE_PATTERN!r}, not {self.decider_pattern!r}"
            )
        try:
            compiled = re.compile(self.decider_pattern)
        except re.error as exc:
            raise ValueError(
                f"decider_pattern {self.decider_pattern!r} is not a valid regular expression "
                f"({exc}); the default is {DEFAULT_CODE_PATTERN!r}"
            ) from None
        if compiled.fullmatch("") is not None:
            raise ValueError(
                f"decider_pattern {self.decider_pattern!r} accepts an empty code; every decision "
                "needs the decider's code (use a quantifier such as {1,32}, not *)"
            )

    def is_code(self, value: str) -> bool:
        """Whether ``value`` (already stripped) has the shape of a code.

        Parameters
        ----------
        value : str
            A ``decided_by`` or ``target_handler_id`` value.

        Returns
        -------
        bool
        """
        return re.fullmatch(self.decider_pattern, value) is not None


@dataclass(frozen=True)
class PrioritySettings:
    """How the list is ordered. Settings, not constants.

    Parameters
    ----------
    weighting : {"cases", "amount", "blend"}
        ``cases``: expected extra resolutions (``uplift``); ``amount``: uplift times the
        outstanding amount (expected yuan brought in); ``blend``: uplift times the square root
        of the amount in units of 10,000 yuan, so amount counts but does not dominate.
    vulnerability_boost : float
        Multiplier (>= 1) on the gain of livelihood cases and cases of vulnerable applicants.
    livelihood_floor : float
        Minimum share of the top-k reserved for livelihood cases (when enough have a gain).
    long_unresolved_floor : float
        Minimum share of the top-k reserved for long-unresolved cases (长期未结老案).
    capacity : int or None
        k, the cases a bureau can reassign this cycle; None = ``capacity_share`` of the
        stalled cases.
    capacity_share : float
        Used when ``capacity`` is None.
    explore_band : float
        The exploration band (off at 0): a seeded lottery over the cases just above and just
        below the capacity cut, ``round(explore_band × k)`` on each side, half of them drawn
        into the proposal (propensity 1/2, recorded); see
        :func:`crossexec_ml.decide.exploration_draw`. Nothing outside the band moves.
    explore_seed : int
        Seed of the band's draw (recorded with the policy in the run's manifest).
    """

    weighting: str = "cases"
    vulnerability_boost: float = 1.25
    livelihood_floor: float = 0.2
    long_unresolved_floor: float = 0.2
    capacity: int | None = None
    capacity_share: float = 0.10
    explore_band: float = 0.0
    explore_seed: int = 0

    def __post_init__(self) -> None:
        if self.weighting not in ("cases", "amount", "blend"):
            raise ValueError(
                f"weighting must be 'cases', 'amount' or 'blend', not {self.weighting!r}"
            )
        if self.vulnerability_boost < 1:
            raise ValueError("vulnerability_boost must be >= 1: vulnerability never lowers a case")
        for name in ("livelihood_floor", "long_unresolved_floor", "capacity_share", "explore_band"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.livelihood_floor + self.long_unresolved_floor > 1:
            raise ValueError("the two floors together cannot exceed the whole list")


@dataclass(frozen=True)
class BacktestSettings:
    """Rolling temporal back-test. Settings, not constants.

    Parameters
    ----------
    n_splits : int
        Number of test windows, the most recent first.
    test_months : int
        Length of each test window.
    gap_days : int
        A training row must have ``as_of_date`` at least this many days before the test
        window starts: its 180-day outcome must be known by then.
    capacity_share : float
        k as a share of the cases in the window (how many a bureau can reassign).
    seed : int
        Seed of the random baseline.
    """

    n_splits: int = 3
    test_months: int = 3
    gap_days: int = 180
    capacity_share: float = 0.10
    seed: int = 0


#: The learners the model chooses among, simplest first (ties within noise go to the first).
LEARNERS: tuple[str, ...] = (
    "s_linear_0.2",
    "s_linear_0.5",
    "s_linear_1",
    "t_linear",
    "s_boost",
    "average",
)


@dataclass(frozen=True)
class SelectionSettings:
    """How the model picks its learner on the data it is given, without any truth.

    The candidates are fitted on the older rows and judged on the newest ``valid_months`` of
    history (rows whose outcome was known ``gap_days`` after the training rows'), by a doubly
    robust estimate of the extra resolutions their list would gain at ``capacity_share``; the
    held-out log-loss of the outcome under the rung actually taken is reported beside it and
    breaks ties. Settings, not constants.

    Parameters
    ----------
    candidates : tuple of str
        Learners to compare, simplest first (names from :data:`LEARNERS`).
    valid_months : int
        Length of the newest window used to judge the candidates.
    gap_days : int
        A fitting row's ``as_of_date`` is at least this many days before the window.
    capacity_share : float
        Share of the window's cases the judged list holds.
    propensity_floor : float
        Smallest probability of the rung taken used as an inverse weight (larger weights are
        capped there: a little bias for much less noise).
    n_se : float
        A candidate within this many standard errors (of its paired difference) of the best
        estimated value ties with it; ties go to the simplest. Two, not one: the best of six
        noisy estimates is flattered by the choice itself, and switching away from a simpler
        learner on noise costs more than it gains (measured: ``benchmarks/model_quality.py``).
    min_fit_rows, min_valid_rows : int
        With fewer rows the first candidate is used, and the card says why.
    """

    candidates: tuple[str, ...] = LEARNERS
    valid_months: int = 6
    gap_days: int = 180
    capacity_share: float = 0.10
    propensity_floor: float = 0.02
    n_se: float = 2.0
    min_fit_rows: int = 2000
    min_valid_rows: int = 800

    def __post_init__(self) -> None:
        unknown = [c for c in self.candidates if c not in LEARNERS]
        if unknown or not self.candidates:
            raise ValueError(
                f"unknown or no learners {unknown}; choose among {', '.join(LEARNERS)}"
            )
        if not 0 < self.capacity_share <= 1 or not 0 < self.propensity_floor < 1:
            raise ValueError("capacity_share and propensity_floor must lie in (0, 1]")


@dataclass(frozen=True)
class FairnessSettings:
    """How the audit is run and judged. Settings, not constants.

    Parameters
    ----------
    capacity_share : float
        k as a share of each screening date's stalled cases (0 < share <= 1).
    policy : {"priority", "model", "p_cross"}
        The list audited: ``priority`` the product's list (gain, vulnerability boost, floors);
        ``model`` the best allowed gain alone; ``p_cross`` the probability under the best rung
        (the "likely to resolve" list DOMAIN.md warns cherry-picks).
    groupings : tuple of str
        Columns of :data:`FAIRNESS_GROUPINGS` to audit; one absent from the data is skipped and
        said so.
    reference : mapping, optional
        Grouping -> reference group value (e.g. ``{"court_id": "C01"}``); default the largest
        group of each grouping.
    min_group_size : int
        Fewer rows than this in a metric's denominator (in the group or the reference): no
        verdict, ``too_small``.
    band : (float, float)
        Ratios inside this band are ``ok`` (default the four-fifths band 0.8..1.25).
    uplift_tolerance : float
        Uplift differences (probability points) within this are ``ok``.
    n_boot : int
        Bootstrap resamples per group.
    ci_level : float
        Level of the percentile intervals.
    seed : int
        Seed of the bootstrap (each group's draws are seeded from it and the group's name, so a
        group's interval does not change when another group is added) and of the models.
    amount_edges : tuple of float
        Edges (yuan) of the amount bands.
    n_windows : int
        Test windows of the rolling back-test (each ``test_months`` long, the most recent
        first) whose out-of-sample lists are audited.
    """

    capacity_share: float = 0.10
    policy: str = "priority"
    groupings: tuple[str, ...] = FAIRNESS_GROUPINGS
    reference: Mapping[str, str] = field(default_factory=dict)
    min_group_size: int = 30
    band: tuple[float, float] = (0.8, 1.25)
    uplift_tolerance: float = 0.05
    n_boot: int = 500
    ci_level: float = 0.95
    seed: int = 0
    amount_edges: tuple[float, ...] = (1e4, 1e5, 1e6)
    n_windows: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.capacity_share <= 1:
            raise ValueError(
                f"capacity_share must be in (0, 1], got {self.capacity_share}: "
                "the share of each screening date's stalled cases the bureau can reassign"
            )
        if self.policy not in FAIRNESS_POLICIES:
            raise ValueError(
                f"policy must be one of {', '.join(FAIRNESS_POLICIES)}, not {self.policy!r}"
            )
        unknown = [g for g in self.groupings if g not in FAIRNESS_GROUPINGS]
        if unknown:
            raise ValueError(
                f"unknown grouping(s) {', '.join(unknown)}; "
                f"choose from {', '.join(FAIRNESS_GROUPINGS)}"
            )
        if self.min_group_size < 1:
            raise ValueError(f"min_group_size must be >= 1, got {self.min_group_size}")
        lo, hi = self.band
        if not 0 < lo < 1 < hi:
            raise ValueError(f"band must satisfy 0 < low < 1 < high, got {self.band}")
        if self.n_boot < 10:
            raise ValueError(f"n_boot must be >= 10, got {self.n_boot}")
        if not 0.5 <= self.ci_level < 1:
            raise ValueError(f"ci_level must be in [0.5, 1), got {self.ci_level}")
        if self.uplift_tolerance < 0:
            raise ValueError("uplift_tolerance must be >= 0")
        if list(self.amount_edges) != sorted(set(self.amount_edges)) or any(
            e <= 0 for e in self.amount_edges
        ):
            raise ValueError("amount_edges must be positive and increasing")
        if self.n_windows < 1:
            raise ValueError(f"n_windows must be >= 1, got {self.n_windows}")


@dataclass(frozen=True)
class MonitorSettings:
    """Alarm thresholds. Settings, not constants.

    Parameters
    ----------
    psi_alarm : float
        Population stability index at or above which a column has drifted (0.25 is the usual
        "significant shift" rule of thumb; 0.1-0.25 is reported as a warning).
    psi_warn : float
        PSI at or above which a column is reported as shifting.
    unseen_share_alarm : float
        Share of rows whose category never occurred in the reference.
    missing_increase_alarm : float
        Increase of a column's missing share (in share points, 0.10 = 10 points).
    stale_days : int
        Newest ``as_of_date`` older than this many days before the run date = stale input.
    min_score_sd : float
        Standard deviation of ``p_cross`` below this = the scores do not spread (alarm).
    date_skew_days : int
        Days a screening date may lie after the run date before it is an alarm: the default
        run date is today in UTC, while a court stamps its export in China time (UTC+8), a day
        ahead for eight hours of every day.
    far_run_date_days : int
        Days after the newest screening date beyond which the run date itself is suspect (a
        year): not stale data any more but a mistyped run date or a wrong clock.
    """

    psi_alarm: float = 0.25
    psi_warn: float = 0.10
    unseen_share_alarm: float = 0.05
    missing_increase_alarm: float = 0.10
    stale_days: int = 45
    min_score_sd: float = 1e-4
    date_skew_days: int = 1
    far_run_date_days: int = 366


#: The parts of a :class:`ScoringPolicy`: key in its dict -> settings class.
_POLICY_PARTS: dict[str, type] = {
    "ladder": LadderSettings,
    "priority": PrioritySettings,
    "cohort": CohortSettings,
    "flags": FlagSettings,
}


def _part_from_dict(name: str, cls: type, value: object) -> object:
    """One part of a policy from its dict, refusing unknown keys and wrong types by name."""
    if not isinstance(value, Mapping):
        raise ValueError(f"scoring_policy.{name} must be a mapping, not {type(value).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(
            f"scoring_policy.{name}: unknown key(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(known)}"
        )
    defaults = cls()
    kwargs = {}
    for key, v in value.items():
        default = getattr(defaults, key)
        if isinstance(default, bool):
            ok = isinstance(v, bool)
        elif key == "capacity":
            ok = v is None or (isinstance(v, int) and not isinstance(v, bool))
        elif isinstance(default, int):
            ok = isinstance(v, int) and not isinstance(v, bool)
        elif isinstance(default, float):
            ok = isinstance(v, int | float) and not isinstance(v, bool)
        else:
            ok = isinstance(v, type(default))
        if not ok:
            expected = "a whole number or null" if key == "capacity" else type(default).__name__
            raise ValueError(
                f"scoring_policy.{name}.{key}: {v!r} is not valid, expected {expected}"
            )
        kwargs[key] = float(v) if isinstance(default, float) else v
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise ValueError(f"scoring_policy.{name}: {err}") from None


@dataclass(frozen=True)
class ScoringPolicy:
    """Everything that decides the list, saved in the model card and read back when scoring.

    A model is judged by the back-test under these settings; scoring, re-scoring, the plan and
    the picker read them back from the card, so the list a leader sees is made by the rule the
    back-test judged unless someone overrides it on purpose (and the override is recorded).

    Parameters
    ----------
    ladder : LadderSettings
        Which rung is suggested (``min_gain``, ``close_share``, ``respect_ladder``).
    priority : PrioritySettings
        Gain weighting, vulnerability boost, floors and capacity.
    cohort : CohortSettings
        Which open cases are stalled (ranked).
    flags : FlagSettings
        Hard-bone thresholds. They are also features of the model: scoring uses the model's
        own, so a different value here is refused at scoring time (retrain instead).

    Examples
    --------
    >>> p = ScoringPolicy(ladder=LadderSettings(min_gain=0.2))
    >>> ScoringPolicy.from_dict(p.to_dict()) == p
    True
    """

    ladder: LadderSettings = field(default_factory=LadderSettings)
    priority: PrioritySettings = field(default_factory=PrioritySettings)
    cohort: CohortSettings = field(default_factory=CohortSettings)
    flags: FlagSettings = field(default_factory=FlagSettings)

    def __post_init__(self) -> None:
        for name, cls in _POLICY_PARTS.items():
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"ScoringPolicy.{name} must be a {cls.__name__}")

    def to_dict(self) -> dict:
        """The policy as plain JSON-safe values: ``{part: {setting: value}}``.

        Returns
        -------
        dict
        """
        return {name: asdict(getattr(self, name)) for name in _POLICY_PARTS}

    @classmethod
    def from_dict(cls, data: Mapping) -> ScoringPolicy:
        """Read a policy written by :meth:`to_dict`, validated.

        Parts or settings left out take their defaults; an unknown part or setting, or a value
        of the wrong type, is refused with a message naming it.

        Parameters
        ----------
        data : mapping

        Returns
        -------
        ScoringPolicy

        Raises
        ------
        ValueError
            Naming the offending key (``scoring_policy.ladder.min_gian: unknown key``...).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"scoring_policy must be a mapping, not {type(data).__name__}")
        unknown = sorted(set(data) - set(_POLICY_PARTS))
        if unknown:
            raise ValueError(
                f"scoring_policy: unknown key(s) {', '.join(map(str, unknown))}; "
                f"known: {', '.join(_POLICY_PARTS)}"
            )
        parts = {
            name: _part_from_dict(name, part_cls, data[name])
            for name, part_cls in _POLICY_PARTS.items()
            if name in data
        }
        return cls(**parts)


def resolve_policy(
    card: Mapping | None,
    *,
    policy: ScoringPolicy | None = None,
    ladder: LadderSettings | None = None,
    cohort: CohortSettings | None = None,
    priority: PrioritySettings | None = None,
    capacity: int | None = None,
    explore: float | None = None,
    explore_seed: int | None = None,
) -> tuple[ScoringPolicy, dict]:
    """The policy to score with: the model card's, unless the caller overrides it.

    Parameters
    ----------
    card : mapping or None
        The model card; its ``scoring_policy`` is the starting point. A card without it (a
        model trained before the policy was saved) falls back to the defaults.
    policy : ScoringPolicy, optional
        Replaces the card's policy as a whole.
    ladder, cohort, priority : settings, optional
        Replace that part of the policy.
    capacity : int, optional
        Replaces ``priority.capacity`` only (the CLI's ``--capacity``).
    explore, explore_seed : optional
        Replace ``priority.explore_band`` / ``priority.explore_seed`` only (the CLI's
        ``--explore`` and ``--explore-seed``).

    Returns
    -------
    (policy, record) : tuple
        ``record`` says where the policy came from, for the scored file's 说明 sheet and the
        run manifest: ``source`` (``"card"``, ``"override"`` or ``"default"``), ``overridden``
        (the parts the caller replaced), ``note`` (one line) and ``policy`` (:meth:`to_dict`).
    """
    from dataclasses import replace

    saved = (card or {}).get("scoring_policy")
    base = ScoringPolicy.from_dict(saved) if saved is not None else ScoringPolicy()
    legacy = (card or {}).get("ladder_settings") if saved is None else None
    if legacy is not None:  # cards written before the policy kept the ladder alone
        base = ScoringPolicy.from_dict({"ladder": legacy})
    overridden = []
    if policy is not None:
        base, overridden = policy, ["policy"]
    for name, part in (("ladder", ladder), ("cohort", cohort), ("priority", priority)):
        if part is not None:
            base = replace(base, **{name: part})
            overridden.append(name)
    if capacity is not None:
        base = replace(base, priority=replace(base.priority, capacity=capacity))
        overridden.append("priority.capacity")
    for field_name, value in (("explore_band", explore), ("explore_seed", explore_seed)):
        if value is not None:
            base = replace(base, priority=replace(base.priority, **{field_name: value}))
            overridden.append(f"priority.{field_name}")
    if overridden:
        source = "override"
        origin = "the model card" if saved is not None else "the defaults (card has none)"
        note = f"overridden by the caller ({', '.join(overridden)}), rest from {origin}"
    elif saved is not None:
        source, note = "card", "as saved in the model card"
    else:
        source = "default"
        note = "defaults: the model card has no scoring_policy (a model trained before it)"
        if legacy is not None:
            note += "; the ladder from its ladder_settings"
    return base, {
        "source": source,
        "overridden": overridden,
        "note": note,
        "policy": base.to_dict(),
    }
