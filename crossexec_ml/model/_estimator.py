"""The action-conditional resolution model: P(resolved within 180 days | case, rung).

One estimator, :class:`CrossExecModel`: a learner chosen on the data it is given (shrunk
logistic S-learners, a T-learner, a boosted S-learner or their average; see
:mod:`crossexec_ml.model._select`) and a small boosted baseline for the shared level. Why this
design, and what it was measured against: ``docs/design/model.md``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from crossexec_ml.data import cases_contract
from crossexec_ml.errors import TrainingDataError
from crossexec_ml.model._features import derived_features, model_features, rung_of
from crossexec_ml.model._learners import _fit_part, _learner_logits, _parts_of, _uses_baseline
from crossexec_ml.model._select import _baseline_trees, _select_learner
from crossexec_ml.settings import LEARNERS, PROB_COLUMNS, FlagSettings, SelectionSettings


def training_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The historical rows usable for training: a known rung and a known outcome.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed historical cases.

    Returns
    -------
    pandas.DataFrame
        The usable rows, with a ``rung`` column added.

    Raises
    ------
    TrainingDataError
        When the outcome or treatment column is absent or empty, when no row was reassigned,
        or when every outcome is the same.
    """
    missing = [c for c in ("cross_mode", "resolved_180d") if c not in history]
    if not missing:
        missing = [c for c in ("cross_mode", "resolved_180d") if history[c].notna().sum() == 0]
    if missing:
        labels = cases_contract().columns
        raise TrainingDataError(
            "training needs historical rows with the action taken and the outcome, but "
            + " and ".join(labels[c].display for c in missing)
            + " is empty; pass the history export (cases 180 days after screening), "
            "not the list of cases to score"
        )
    rows = history[history["cross_mode"].notna() & history["resolved_180d"].notna()].copy()
    rows["rung"] = rung_of(rows["cross_mode"])
    treated = (rows["rung"] != "keep").sum()
    if treated == 0:
        raise TrainingDataError(
            "no historical row was cross-executed (every cross_mode is 'none'): the model "
            "cannot learn what reassignment adds; include rows of reassigned cases"
        )
    if (rows["rung"] == "keep").sum() == 0:
        raise TrainingDataError(
            "no historical row was kept with its handler (cross_mode 'none'): the model "
            "cannot learn the baseline; include kept cases"
        )
    if rows["resolved_180d"].astype(bool).nunique() < 2:
        raise TrainingDataError(
            "every historical outcome (resolved_180d) is the same: the model needs both "
            "resolved and unresolved cases"
        )
    return rows


@dataclass(frozen=True)
class _Design:
    numeric: list[str]
    categorical: list[str]

    def matrix(
        self, cases: pd.DataFrame, flags: FlagSettings | None, derived: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        if derived is None:
            derived = derived_features(cases, flags)
        feats = {
            **{c: cases[c] for c in self.numeric + self.categorical if c in cases},
            **{c: derived[c] for c in derived},
        }
        contract = cases_contract().columns
        cols: dict[str, pd.Series] = {}
        for c in self.numeric:
            v = feats[c]
            if v.dtype != "float64":
                v = pd.to_numeric(v.astype("Float64"), errors="coerce").astype("float64")
            cols[c] = v
        for c in self.categorical:
            # The contract's allowed values as the categories, so training and scoring agree
            # (pandas 3 strings are not categorical by themselves).
            cats = list(contract[c].categories or ())
            v = feats[c]
            if not (isinstance(v.dtype, pd.CategoricalDtype) and list(v.cat.categories) == cats):
                v = pd.Series(pd.Categorical(v.astype(object), categories=cats), index=cases.index)
            cols[c] = v
        return pd.DataFrame(cols, index=cases.index)


#: Heavy-tailed numeric inputs put on a log1p scale for the linear model.
LOG_COLUMNS: tuple[str, ...] = (
    "amount_applied",
    "amount_outstanding",
    "amount_recovered_to_date",
    "deposit_balance",
    "n_related_cases",
    "n_queued_seizures",
    "petition_count",
    "handler_caseload",
)


#: Numeric inputs that also get a cubic B-spline basis in the main effects (non-linear).
SPLINE_COLUMNS: tuple[str, ...] = (
    "deposit_cover",
    "days_since_last_action",
    "log_amount_outstanding",
    "case_age_days",
    "handler_caseload",
)


# Rows per prediction chunk: bounds memory on province-scale lists.
_CHUNK = 100_000


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # scipy's expit, not 1/(1+exp(-z)): absurd counts in an export (a billion debtors) would
    # overflow exp with a RuntimeWarning; expit saturates to 0 or 1 quietly.
    return expit(z)


# One-hot lookup tables per fitted model (built on first use; not part of the saved state).
_ONEHOT_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _onehot_tables(model: CrossExecModel) -> list[np.ndarray]:
    """Per categorical input: the encoder's output rows for each contract category, then
    "missing" (the value :meth:`CrossExecModel._frame` gives a missing cell), as a table."""
    tables = _ONEHOT_TABLES.get(model)
    if tables is not None:
        return tables
    enc = model.main_.named_transformers_["cat"]
    contract = cases_contract().columns
    values = [[*map(str, contract[c].categories or ()), "missing"] for c in model.categorical_]
    n = max(len(v) for v in values)
    probe = pd.DataFrame(
        {c: v + ["missing"] * (n - len(v)) for c, v in zip(model.categorical_, values, strict=True)}
    )
    out = enc.transform(probe)
    bounds = np.cumsum([0, *enc._n_features_outs])
    if bounds[-1] != out.shape[1]:  # pragma: no cover - guards a change in scikit-learn
        raise RuntimeError("unexpected one-hot layout; cannot build the scoring tables")
    tables = [
        np.ascontiguousarray(out[: len(v), bounds[i] : bounds[i + 1]]) for i, v in enumerate(values)
    ]
    _ONEHOT_TABLES[model] = tables
    return tables


class CrossExecModel(BaseEstimator):
    """Predict resolution within 180 days under each rung of the ladder.

    Parameters
    ----------
    learner : str
        ``"auto"`` (default): choose among ``selection.candidates`` on the newest window of the
        history, with no truth (:mod:`crossexec_ml.model._select`), then refit the winner on
        every row. Or one of :data:`crossexec_ml.settings.LEARNERS` to fit it directly.
    selection : SelectionSettings, optional
        How ``"auto"`` chooses.
    n_knots : int
        Knots of the cubic splines on :data:`SPLINE_COLUMNS`.
    min_frequency : int
        Categories seen fewer times in training share one "infrequent" column.
    baseline_weight : float
        Weight of the boosted baseline correction on the log-odds scale (0 = logistic only).
    baseline_max_iter : int
        Trees of the boosted baseline model (8 leaves each, learning rate 0.15).
    flag_settings : FlagSettings, optional
        Hard-bone thresholds used by the derived features.
    random_state : int
        Seed of the boosted baseline; the same data and seed give the same model and scores.

    Attributes
    ----------
    learner_ : str
        The learner fitted (the chosen one under ``"auto"``).
    selection_ : dict or None
        The evidence of the choice (None when a learner was named): every candidate's
        held-out log-loss and doubly robust list value with its standard error.
    parts_ : dict
        The fitted parts of the learner (``crossexec_ml.model._learners._fit_part``).
    numeric_, categorical_ : list of str
        Model inputs actually used (optional columns absent from training are left out).
    unused_columns_ : list of str
        Inputs left out because every training row was missing them.
    main_ : ColumnTransformer
        Main-effect transform (numbers, categories, splines).
    n_inter_ : int
        Leading columns of ``main_`` (numbers and categories) that enter the interactions.
    baseline_ : HistGradientBoostingClassifier or None
        The boosted baseline: an S-learner whose prediction under ``keep`` only moves the level
        shared by the four rungs (not used by ``s_boost``, whose trees set the level).
    n_rows_ : int
        Training rows.

    Examples
    --------
    >>> from crossexec_ml.data import make_cases
    >>> data = make_cases(n_history=800, n_current=20, seed=3)
    >>> model = CrossExecModel().fit(data.history)
    >>> model.predict_rungs(data.current).shape
    (20, 4)
    """

    def __init__(
        self,
        learner: str = "auto",
        selection: SelectionSettings | None = None,
        n_knots: int = 5,
        min_frequency: int = 20,
        baseline_weight: float = 0.5,
        baseline_max_iter: int = 40,
        flag_settings: FlagSettings | None = None,
        random_state: int = 0,
    ):
        self.learner = learner
        self.selection = selection
        self.n_knots = n_knots
        self.min_frequency = min_frequency
        self.baseline_weight = baseline_weight
        self.baseline_max_iter = baseline_max_iter
        self.flag_settings = flag_settings
        self.random_state = random_state

    # ------------------------------------------------------------------ design
    def _frame(self, x: pd.DataFrame) -> pd.DataFrame:
        f = x.copy()
        for c in LOG_COLUMNS:
            if c in f:
                f[c] = np.log1p(f[c].clip(lower=0))
        for c in self.categorical_:
            f[c] = f[c].astype(object).where(f[c].notna(), "missing").astype(str)
        return f

    def _blocks(self, x: pd.DataFrame, fit: bool = False) -> np.ndarray:
        if fit:
            f = self._frame(x)
            num = (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                self.numeric_,
            )
            cat = (
                "cat",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=self.min_frequency,
                    sparse_output=False,
                ),
                self.categorical_,
            )
            splines = [c for c in SPLINE_COLUMNS if c in self.numeric_]
            spl = (
                "spl",
                make_pipeline(
                    SimpleImputer(strategy="median"),
                    SplineTransformer(n_knots=self.n_knots, degree=3, extrapolation="constant"),
                ),
                splines,
            )
            self.main_ = ColumnTransformer([num, cat, spl], sparse_threshold=0).fit(f)
            # The interaction blocks use the same numbers and categories as the main effects
            # (not the splines): the leading columns of the main transform, computed once.
            self.n_inter_ = self.main_.named_transformers_["num"].transform(
                f[self.numeric_].head(1)
            ).shape[1] + len(self.main_.named_transformers_["cat"].get_feature_names_out())
            return self.main_.transform(f)
        return self._transform_main(x)

    def _transform_main(self, x: pd.DataFrame) -> np.ndarray:
        """``main_.transform`` for scoring, without its per-cell work on categories.

        The one-hot block is read from a table of the encoder's output for each contract
        category (and "missing"), indexed by the category codes: the same 0/1 values as the
        encoder gives, without turning every cell into a Python string first.
        """
        tables = _onehot_tables(self)
        parts = []
        for name, est, cols in self.main_.transformers_:
            if name == "remainder" or isinstance(est, str):
                continue
            if name == "cat":
                for c, table in zip(cols, tables, strict=True):
                    codes = x[c].cat.codes.to_numpy()
                    parts.append(table[np.where(codes < 0, len(table) - 1, codes)])
                continue
            f = pd.DataFrame({c: x[c] for c in cols}, index=x.index)
            for c in cols:
                if c in LOG_COLUMNS:
                    f[c] = np.log1p(f[c].clip(lower=0))
            parts.append(est.transform(f))
        return np.hstack(parts)

    def _logits(self, x: pd.DataFrame) -> np.ndarray:
        """Log-odds under the four rungs from one transform of the cases."""
        z = self._blocks(x)
        needs_trees = "s_boost" in _parts_of(self.learner_) or self.baseline_ is not None
        trees = self._tree_inputs(x, np.zeros(len(x))) if needs_trees else None
        out = _learner_logits(self.learner_, self.parts_, z, self.n_inter_, trees)
        if self.baseline_ is not None:
            # The trees only move the level shared by the four rungs; the differences between
            # rungs (the gains on the log-odds scale) stay the learner's.
            trees[:, -1] = 0
            keep = self.baseline_.decision_function(trees)
            out += self.baseline_weight * (keep - out[:, 0])[:, None]
        return out

    # ------------------------------------------------------------------ API
    def fit(self, history: pd.DataFrame) -> CrossExecModel:
        """Fit on contract-typed historical rows.

        Parameters
        ----------
        history : pandas.DataFrame
            Rows with ``cross_mode`` and ``resolved_180d``; other rows are ignored.

        Returns
        -------
        CrossExecModel
            ``self``, fitted.
        """
        rows = training_rows(history)
        numeric, categorical = model_features()
        full = _Design(numeric, categorical).matrix(rows, self.flag_settings)
        # An optional column absent from the export is all-missing: it carries nothing, and
        # the imputers cannot fill it, so the model is fitted without it.
        present = full.columns[full.notna().any()]
        self.numeric_ = [c for c in numeric if c in present]
        self.categorical_ = [c for c in categorical if c in present]
        self.unused_columns_ = [c for c in full.columns if c not in present]
        x = full[self.numeric_ + self.categorical_]
        codes = rows["rung"].cat.codes.to_numpy()
        y = rows["resolved_180d"].astype(bool).to_numpy()
        z = self._blocks(x, fit=True)
        trees = self._tree_inputs(x, codes.astype(float))
        self.selection_ = None
        learner = self.learner
        if learner == "auto":
            self.selection_ = _select_learner(
                rows,
                z,
                self.n_inter_,
                trees,
                codes,
                y,
                self.selection or SelectionSettings(),
                baseline={"weight": self.baseline_weight, "max_iter": self.baseline_max_iter},
                random_state=self.random_state,
            )
            learner = self.selection_["chosen"]
        elif learner not in LEARNERS:
            raise ValueError(f"unknown learner {learner!r}; use 'auto' or one of {LEARNERS}")
        self.learner_ = learner
        self.parts_ = {
            part: _fit_part(part, z, self.n_inter_, trees, codes, y, self.random_state)
            for part in _parts_of(learner)
        }
        self.baseline_ = None
        if self.baseline_weight > 0 and _uses_baseline(learner):
            self.baseline_ = _baseline_trees(self.baseline_max_iter, self.random_state).fit(
                trees, y
            )
        self.n_rows_ = len(rows)
        return self

    def _tree_inputs(self, x: pd.DataFrame, rung: np.ndarray) -> np.ndarray:
        """Numbers as they are, categories as contract codes (NaN = missing), the rung last.

        Category codes as plain numbers (not native categoricals) keep the trees' prediction
        fast, and any tree explainer exact (NOTEBOOK_NOTES.md).
        """
        a = np.empty((len(x), len(self.numeric_) + len(self.categorical_) + 1))
        for i, c in enumerate(self.numeric_):
            a[:, i] = x[c].to_numpy(float)
        for i, c in enumerate(self.categorical_):
            codes = x[c].cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
            a[:, len(self.numeric_) + i] = codes
        a[:, -1] = rung
        return a

    def _check_fitted(self) -> None:
        if not hasattr(self, "parts_"):
            raise RuntimeError("the model is not fitted; call fit(history) or load a model")

    def design_matrix(self, cases: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns for ``cases`` (before the transforms, without the rung)."""
        self._check_fitted()
        return _Design(self.numeric_, self.categorical_).matrix(cases, self.flag_settings)

    def predict_rungs(
        self, cases: pd.DataFrame, *, derived: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Probability of resolution within 180 days under each rung.

        Parameters
        ----------
        cases : pandas.DataFrame
            Contract-typed cases; treatment and outcome columns, if present, are ignored.
        derived : pandas.DataFrame, optional
            ``derived_features(cases, self.flag_settings)`` with the same index, when the
            caller has it already (scoring needs it too); computed here otherwise.

        Returns
        -------
        pandas.DataFrame
            ``p_keep``, ``p_intra_team``, ``p_inter_team``, ``p_higher_court``, aligned with
            ``cases``.
        """
        self._check_fitted()
        if len(cases) == 0:
            return pd.DataFrame({c: np.zeros(0) for c in PROB_COLUMNS}, index=cases.index)
        if derived is not None and not derived.index.equals(cases.index):
            raise ValueError("derived must have the same index as cases (derived_features(cases))")
        design = _Design(self.numeric_, self.categorical_)
        z = np.vstack(
            [
                self._logits(
                    design.matrix(
                        cases.iloc[i : i + _CHUNK],
                        self.flag_settings,
                        None if derived is None else derived.iloc[i : i + _CHUNK],
                    )
                )
                for i in range(0, len(cases), _CHUNK)
            ]
        )
        return pd.DataFrame(_sigmoid(z), columns=list(PROB_COLUMNS), index=cases.index)

    def predict_taken(self, cases: pd.DataFrame) -> np.ndarray:
        """Probability of resolution under the rung each historical row actually took."""
        p = self.predict_rungs(cases).to_numpy()
        return p[np.arange(len(p)), rung_of(cases["cross_mode"]).cat.codes.to_numpy()]
