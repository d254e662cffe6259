"""The action-conditional resolution model: P(resolved within 180 days | case, rung).

One estimator-style object, :class:`CrossExecModel`, fitted on historical rows (each with the
rung actually taken and its outcome) that predicts, for every case, the probability of
resolution under each of the four rungs: ``keep``, ``intra_team``, ``inter_team``,
``higher_court``. The difference to ``keep`` is what reassignment adds (uplift).

Method (chosen by measurement, see ``benchmarks/model_quality.py`` and the closing notes):
an S-learner, i.e. one gradient-boosted classifier with the rung as a native categorical
input, so every rung borrows strength from every row; probabilities calibrated by Platt
scaling fitted on out-of-fold predictions (smooth, so differences between rungs keep their
order and the ranked list has no artificial ties). The historical rung choice is confounded
only through columns the model sees (hard bones, amounts, age), which the S-learner conditions
on; randomised-pilot rows need no special treatment in the fit and are what the evaluation
uses for an unbiased uplift check.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from crossexec_ml.errors import ModelFileError, TrainingDataError
from crossexec_ml.features import add_features, model_features, rung_of
from crossexec_ml.ladder import PROB_COLUMNS
from crossexec_ml.schema import RUNGS, FlagSettings, cases_contract

__all__ = [
    "CrossExecModel",
    "ModelFileError",
    "TrainingDataError",
    "load_model",
    "save_model",
    "training_rows",
]


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

    def matrix(self, cases: pd.DataFrame, flags: FlagSettings | None) -> pd.DataFrame:
        feats = add_features(cases, flags)
        contract = cases_contract().columns
        cols: dict[str, pd.Series] = {}
        for c in self.numeric:
            cols[c] = pd.to_numeric(feats[c].astype("Float64"), errors="coerce").astype("float64")
        for c in self.categorical:
            # The contract's allowed values as the categories, so training and scoring agree
            # (pandas 3 strings are not categorical for HistGradientBoosting by themselves).
            cats = list(contract[c].categories or ())
            cols[c] = pd.Series(
                pd.Categorical(feats[c].astype(object), categories=cats), index=feats.index
            )
        return pd.DataFrame(cols, index=cases.index)


def _with_rung(x: pd.DataFrame, rung: str | pd.Series) -> pd.DataFrame:
    out = x.copy()
    values = [rung] * len(x) if isinstance(rung, str) else rung.astype(object).to_numpy()
    out["rung"] = pd.Categorical(values, categories=list(RUNGS))
    return out


class CrossExecModel(BaseEstimator):
    """Predict resolution within 180 days under each rung of the ladder.

    Parameters
    ----------
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization : float/int
        Passed to :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    calibration : {"sigmoid", "none"}
        Platt scaling fitted on out-of-fold predictions (``cv`` folds), or none.
    cv : int
        Folds for the out-of-fold predictions used by the calibration.
    flag_settings : FlagSettings, optional
        Hard-bone thresholds used by the derived features.
    random_state : int
        Seed: the same data and seed give the same model and scores.

    Attributes
    ----------
    estimator_ : HistGradientBoostingClassifier
        The boosted S-learner fitted on all rows.
    calibrator_ : LogisticRegression or None
        Platt scaling on the estimator's log-odds.
    numeric_, categorical_ : list of str
        Model inputs.
    n_rows_ : int
        Training rows.

    Examples
    --------
    >>> from crossexec_ml.datasets import make_cases
    >>> data = make_cases(n_history=800, n_current=20, seed=3)
    >>> model = CrossExecModel(max_iter=50, cv=3).fit(data.history)
    >>> model.predict_rungs(data.current).shape
    (20, 4)
    """

    def __init__(
        self,
        learning_rate: float = 0.05,
        max_iter: int = 300,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        calibration: str = "sigmoid",
        cv: int = 5,
        flag_settings: FlagSettings | None = None,
        random_state: int = 0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.flag_settings = flag_settings
        self.random_state = random_state

    def _base(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features="from_dtype",
            early_stopping=False,
            random_state=self.random_state,
        )

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
        if self.calibration not in ("sigmoid", "none"):
            raise ValueError(f"calibration must be 'sigmoid' or 'none', not {self.calibration!r}")
        rows = training_rows(history)
        numeric, categorical = model_features()
        full = _Design(numeric, categorical).matrix(rows, self.flag_settings)
        # An optional column absent from the export is all-missing: it carries nothing, and
        # HistGradientBoosting cannot bin it, so the model is fitted without it.
        present = full.columns[full.notna().any()]
        self.numeric_ = [c for c in numeric if c in present]
        self.categorical_ = [c for c in categorical if c in present]
        self.unused_columns_ = [c for c in full.columns if c not in present]
        x = _with_rung(full[self.numeric_ + self.categorical_], rows["rung"])
        y = rows["resolved_180d"].astype(bool).to_numpy()
        self.calibrator_ = None
        if self.calibration == "sigmoid":
            oof = np.empty(len(y))
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            for train, test in folds.split(x, y):
                est = clone(self._base()).fit(x.iloc[train], y[train])
                oof[test] = est.decision_function(x.iloc[test])
            self.calibrator_ = LogisticRegression(C=1e6).fit(oof.reshape(-1, 1), y)
        self.estimator_ = self._base().fit(x, y)
        self.n_rows_ = len(rows)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise RuntimeError("the model is not fitted; call fit(history) or load a model")

    def _proba(self, x: pd.DataFrame) -> np.ndarray:
        score = self.estimator_.decision_function(x)
        if self.calibrator_ is None:
            return 1.0 / (1.0 + np.exp(-score))
        return self.calibrator_.predict_proba(score.reshape(-1, 1))[:, 1]

    def design_matrix(self, cases: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns for ``cases`` (without the rung)."""
        self._check_fitted()
        return _Design(self.numeric_, self.categorical_).matrix(cases, self.flag_settings)

    def predict_rungs(self, cases: pd.DataFrame) -> pd.DataFrame:
        """Probability of resolution within 180 days under each rung.

        Parameters
        ----------
        cases : pandas.DataFrame
            Contract-typed cases; treatment and outcome columns, if present, are ignored.

        Returns
        -------
        pandas.DataFrame
            ``p_keep``, ``p_intra_team``, ``p_inter_team``, ``p_higher_court``, aligned with
            ``cases``.
        """
        x = self.design_matrix(cases)
        n = len(x)
        if n == 0:
            return pd.DataFrame({c: np.zeros(0) for c in PROB_COLUMNS}, index=cases.index)
        # One predict call on the four rungs stacked: one pass through the trees' Python
        # overhead instead of four.
        stacked = pd.concat([_with_rung(x, r) for r in RUNGS], ignore_index=True)
        p = self._proba(stacked).reshape(len(RUNGS), n).T
        return pd.DataFrame(p, columns=list(PROB_COLUMNS), index=cases.index)

    def predict_taken(self, cases: pd.DataFrame) -> np.ndarray:
        """Probability of resolution under the rung each historical row actually took."""
        x = self.design_matrix(cases)
        return self._proba(_with_rung(x, rung_of(cases["cross_mode"])))


# --------------------------------------------------------------------------------------------
# Model files: skops (never pickle), an explicit trusted-type list, a card that must match.
# --------------------------------------------------------------------------------------------

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"

#: Every non-builtin type a model file may contain, reviewed by hand. Loading refuses any file
#: that needs anything else (never ``trusted=True``). ``functools.partial`` and ``check_array``
#: come from HistGradientBoosting's own fitted state.
TRUSTED_TYPES: tuple[str, ...] = (
    "crossexec_ml.model.CrossExecModel",
    "crossexec_ml.schema.FlagSettings",
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_model(model: CrossExecModel, model_dir: str | os.PathLike[str], card: dict) -> Path:
    """Write ``model.skops`` and ``card.json`` into ``model_dir``, each atomically.

    The card is also stored inside the model file, and the card on disk records the model
    file's SHA-256, so :func:`load_model` detects an edit to either.

    Parameters
    ----------
    model : CrossExecModel
        A fitted model.
    model_dir : path-like
        Folder (created if needed).
    card : dict
        JSON-serialisable model card (see :func:`crossexec_ml.pipeline.train`).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import skops.io as sio

    from crossexec_ml.io import atomic_path

    model._check_fitted()
    folder = Path(model_dir)
    card = {**card, "contract_version": cases_contract().version}
    blob = sio.dumps({"model": model, "card": json.dumps(card, sort_keys=True)})
    card_on_disk = {**card, "model_sha256": _sha256(blob), "model_id": _sha256(blob)[:12]}
    with atomic_path(folder / MODEL_FILE) as tmp:
        tmp.write_bytes(blob)
    with atomic_path(folder / CARD_FILE) as tmp:
        tmp.write_text(json.dumps(card_on_disk, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def load_model(model_dir: str | os.PathLike[str]) -> tuple[CrossExecModel, dict]:
    """Load a model folder written by :func:`save_model`, refusing anything doubtful.

    Parameters
    ----------
    model_dir : path-like
        Folder with ``model.skops`` and ``card.json``.

    Returns
    -------
    (CrossExecModel, dict)
        The model and its card (with ``model_id`` and ``model_sha256``).

    Raises
    ------
    ModelFileError
        Missing files, a model file whose hash differs from the card's (altered or swapped),
        a card edited after training, types outside :data:`TRUSTED_TYPES`, or a contract
        version other than this package's.
    """
    import skops.io as sio

    folder = Path(model_dir)
    model_path, card_path = folder / MODEL_FILE, folder / CARD_FILE
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: no such model folder; train one with `crossexec train`")
    for p in (model_path, card_path):
        if not p.is_file():
            raise ModelFileError(f"{folder}: {p.name} is missing; retrain with `crossexec train`")
    blob = model_path.read_bytes()
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{card_path}: not a readable model card ({exc})") from None
    if _sha256(blob) != card.get("model_sha256"):
        raise ModelFileError(
            f"{model_path}: the file does not match the SHA-256 in its card: it was altered "
            "or replaced after training; do not use it, retrain with `crossexec train`"
        )
    try:
        untrusted = sio.get_untrusted_types(data=blob)
        unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unknown:
            raise ModelFileError(
                f"{model_path}: refusing to load types outside the reviewed list: "
                + ", ".join(unknown)
            )
        payload = sio.loads(blob, trusted=list(untrusted))
    except ModelFileError:
        raise
    except Exception as exc:  # skops raises many types on a damaged file
        raise ModelFileError(f"{model_path}: not a readable model file ({exc})") from None
    inner = json.loads(payload["card"])
    stored = {k: v for k, v in card.items() if k not in ("model_sha256", "model_id")}
    if inner != stored:
        raise ModelFileError(
            f"{card_path}: the card was edited after training (it differs from the copy "
            "inside the model file); restore it or retrain"
        )
    version = cases_contract().version
    if card.get("contract_version") != version:
        raise ModelFileError(
            f"{folder}: the model was trained under data contract version "
            f"{card.get('contract_version')}, this package uses {version}; retrain it on "
            "data that follows the current contract"
        )
    model = payload["model"]
    if not isinstance(model, CrossExecModel):
        raise ModelFileError(f"{model_path}: does not hold a CrossExecModel")
    return model, card
