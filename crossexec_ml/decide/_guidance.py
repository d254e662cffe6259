"""Categorised guidance (分类指引): which rung, and what the new handler should try first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossexec_ml.decide._policy import vulnerable
from crossexec_ml.settings import PROB_COLUMNS, LadderSettings
from crossexec_ml.text import rung_label, t, t_pair

# The rung sentences of the guidance, from the catalogue (``rung.<r>.long``).
_RUNG_TEXT = {
    r: (rung_label(r, "zh", long=True), rung_label(r, "en", long=True))
    for r in ("intra_team", "inter_team", "higher_court")
}


def _rungs_indistinct(scored: pd.DataFrame, settings: LadderSettings | None = None) -> np.ndarray:
    """Cases sent within the team whose higher-court gain the model cannot tell apart from it.

    The gains of ``intra_team`` and ``higher_court`` over keeping differ by less than the
    ladder's own resolution: ``min_gain`` (the smallest gain worth acting on) or the
    ``close_share`` margin of the larger gain, whichever is wider. The guidance then says so
    rather than pretending the lowest rung is known to be best. False where the four
    probabilities are not in ``scored``.
    """
    s = settings or LadderSettings()
    if not set(PROB_COLUMNS) <= set(scored.columns):
        return np.zeros(len(scored), dtype=bool)
    p = scored[list(PROB_COLUMNS)].to_numpy(dtype=float)
    intra, higher = p[:, 1] - p[:, 0], p[:, 3] - p[:, 0]
    band = np.maximum(s.min_gain, (1 - s.close_share) * np.maximum(intra, higher))
    sent_intra = scored["suggested_rung"].astype("string").fillna("").to_numpy() == "intra_team"
    return sent_intra & (np.abs(higher - intra) <= band)


def _step(key: str) -> tuple[str, str]:
    """A first step in both languages (``guidance.step.<key>``; the real-estate one keeps
    its ``{idle}`` marker)."""
    return t_pair(f"guidance.step.{key}")


def _around(key: str, lang: str, field: str) -> tuple[str, str]:
    """The text of template ``key`` before and after its ``{field}``, the other fields left in."""
    before, _, after = t(key, lang).partition("{" + field + "}")
    return before, after


def _is_in(values: pd.Series, wanted: tuple[str, ...]) -> np.ndarray:
    """Whether each cell's text is one of ``wanted`` (missing: no).

    Categorical columns are compared through their few categories and the codes, not by
    turning a million cells into text.
    """
    arr = values.array
    if isinstance(arr, pd.Categorical):
        hit = np.isin(np.asarray(arr.categories.astype(str), dtype=object), list(wanted))
        # Code -1 (missing) reads the appended False.
        return np.append(hit, False)[np.asarray(arr.codes)]
    return np.isin(values.astype("string").fillna("").to_numpy(dtype=object), list(wanted))


def _step_rules(feats: pd.DataFrame) -> tuple[list[tuple[np.ndarray, str, str]], np.ndarray]:
    """The first-step rules with where each applies, most useful first, and the idle days."""

    def flag(name: str) -> np.ndarray:
        return feats[name].astype("boolean").fillna(False).to_numpy(dtype=bool)

    def num(name: str) -> np.ndarray:
        return pd.to_numeric(feats[name], errors="coerce").to_numpy(dtype=float)

    def obstacle_is(*values: str) -> np.ndarray:
        return _is_in(feats["asset_disposal_obstacle"], values)

    idle = num("days_since_last_action")
    last_query = num("days_since_last_asset_query")
    estate = flag("has_real_estate") & ~flag("real_estate_encumbered")
    rules: list[tuple[np.ndarray, str, str]] = [
        (
            estate,
            *_step("auction_real_estate"),
        ),
        (
            np.nan_to_num(num("deposit_balance")) > 0,
            *_step("freeze_deposits"),
        ),
        (
            obstacle_is("failed_auction"),
            *_step("reauction"),
        ),
        (
            obstacle_is("occupancy"),
            *_step("clear_occupants"),
        ),
        (
            obstacle_is("third_party_objection") | flag("objection_pending"),
            *_step("decide_objection"),
        ),
        (
            obstacle_is("mortgage_priority"),
            *_step("mortgagee"),
        ),
        (
            flag("has_receivable"),
            *_step("third_party_debtor"),
        ),
        (flag("has_equity"), *_step("equity")),
        (flag("has_vehicle"), *_step("vehicle")),
        (
            flag("cross_jurisdiction"),
            *_step("other_court"),
        ),
        (
            np.nan_to_num(num("n_related_cases")) >= 3,
            *_step("related_cases"),
        ),
        (
            np.isnan(last_query) | (last_query > 90),
            *_step("fresh_inquiry"),
        ),
        (
            _is_in(feats["debtor_whereabouts"], ("unreachable", "abroad")),
            *_step("police"),
        ),
        (
            ~flag("dishonest_listed"),
            *_step("dishonest_list"),
        ),
        (
            flag("settlement_defaulted"),
            *_step("settlement_broken"),
        ),
    ]
    return rules, idle


# Where the real-estate step writes the idle days.
_IDLE = "{idle}"


def _idle_text(idle: np.ndarray) -> np.ndarray:
    """Idle days as written into the real-estate step ("?" when unknown)."""
    return np.where(np.isnan(idle), "?", np.char.mod("%.0f", np.nan_to_num(idle))).astype(object)


def _first_steps(
    feats: pd.DataFrame, *, write_idle: bool = True
) -> dict[tuple[str, int], np.ndarray]:
    """What the new handler should try first, from each case's own facts, most useful first.

    Returns the first two and three applicable steps joined per language
    (``("zh", 2)``, ``("zh", 3)``, ``("en", 2)``, ``("en", 3)``) and ``("any", 0)``, whether
    any step applies. With ``write_idle=False`` the real-estate step keeps its ``{idle}``
    marker for the idle days, to be filled in later.
    """
    rules, idle = _step_rules(feats)
    # The first three steps that apply to each row, in rule order, joined per language.
    matrix = np.column_stack([m for m, _, _ in rules])
    first = np.argsort(~matrix, axis=1, kind="stable")[:, :3]
    valid = np.take_along_axis(matrix, first, axis=1)
    days = _idle_text(idle) if write_idle else np.full(len(idle), _IDLE, dtype=object)
    joined: dict[tuple[str, int], np.ndarray] = {}
    for lang, col in (("zh", 1), ("en", 2)):
        sep = t("guidance.step_join", lang)
        const = np.array([r[col] for r in rules], dtype=object)
        head = const[0].split(_IDLE)
        idle_text = head[0] + days + head[1]
        texts = [np.where(first[:, j] == 0, idle_text, const[first[:, j]]) for j in range(3)]
        out2 = np.where(valid[:, 0], texts[0], "") + np.where(valid[:, 1], sep + texts[1], "")
        joined[(lang, 2)] = out2
        joined[(lang, 3)] = out2 + np.where(valid[:, 2], sep + texts[2], "")
    joined[("any", 0)] = valid[:, 0]
    return joined


def guidance(
    scored: pd.DataFrame, cases: pd.DataFrame, derived: pd.DataFrame | None = None
) -> tuple[list[str], list[str]]:
    """Categorised guidance per case, in Chinese and English.

    Parameters
    ----------
    scored : pandas.DataFrame
        With ``suggested_rung``.
    cases : pandas.DataFrame
        Contract-typed cases aligned with ``scored``.
    derived : pandas.DataFrame, optional
        :func:`crossexec_ml.model.derived_features` of ``cases`` if already computed.

    Returns
    -------
    (list of str, list of str)
        Chinese and English guidance: the rung and up to three first steps; for ``keep``
        cases, judicial aid (司法救助) or 终本 management when nothing was found to execute,
        otherwise a deadline for the current handler.
    """
    zh, en = guidance_arrays(scored, cases, derived)
    return zh.tolist(), en.tolist()


def guidance_arrays(
    scored: pd.DataFrame, cases: pd.DataFrame, derived: pd.DataFrame | None = None
) -> tuple[pd.api.extensions.ExtensionArray, pd.api.extensions.ExtensionArray]:
    """:func:`guidance` as two ``string`` arrays, built once per distinct text.

    See :func:`guidance_categories` for how; this writes every row's text out.
    """
    zh, en = guidance_categories(scored, cases, derived)
    return categories_as_text(zh), categories_as_text(en)


def guidance_categories(
    scored: pd.DataFrame, cases: pd.DataFrame, derived: pd.DataFrame | None = None
) -> tuple[pd.Categorical, pd.Categorical]:
    """:func:`guidance` as two categoricals: each distinct text once, a code per case.

    The text depends only on a few facts per case (rung, vulnerability, whether anything was
    found, which first-step rules apply, and the idle days when real estate leads), so a
    province's million cases share a few hundred templates (tens of thousands of texts once the
    idle days are filled in): each template is written once, from one case that has it.
    Keeping the texts as categories lets the list be sorted by moving codes;
    :func:`categories_as_text` writes them out once, at the end.
    """
    from crossexec_ml.model import derived_features

    scored = scored.reset_index(drop=True)
    cases = cases.reset_index(drop=True)
    if derived is None:
        derived = derived_features(cases)
    derived = derived.reset_index(drop=True)
    rung_values = scored["suggested_rung"].array
    if isinstance(rung_values, pd.Categorical):
        rung_code = np.asarray(rung_values.codes, dtype=np.int64) + 1  # missing (-1) -> 0
    else:
        rung_code = pd.factorize(scored["suggested_rung"].astype(str).to_numpy())[0]
        rung_code = rung_code.astype(np.int64)
    vuln = vulnerable(cases)
    nothing_found = _nothing_found(derived)
    indistinct = _rungs_indistinct(scored)
    rules, idle = _step_rules(cases)
    # Bit j set where first-step rule j applies.
    bits = np.zeros(len(cases), dtype=np.int64)
    for j, (applies, _, _) in enumerate(rules):
        bits |= applies.astype(np.int64) << j
    # Only the first three rules that apply are written: keep their bits (lowest set bit,
    # three times), so cases that differ only in later rules share a text.
    shown = np.zeros_like(bits)
    for _ in range(3):
        lowest = bits & -bits
        shown |= lowest
        bits ^= lowest
    # Everything but the idle days: a few hundred templates, each written once from the
    # first case that has it, with the real-estate step's idle days left as a marker.
    key = ((((rung_code * 2 + indistinct) * 2 + vuln) * 2 + nothing_found) << len(rules)) | shown
    group, _ = pd.factorize(key)
    first = np.zeros(group.max(initial=-1) + 1, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]  # the first row of each group
    templates = _guidance_texts(
        scored.iloc[first], cases.iloc[first], derived.iloc[first], write_idle=False
    )
    idle_code, idle_values = pd.factorize(idle, use_na_sentinel=False)
    days = _idle_text(np.asarray(idle_values, dtype=float))
    out = []
    for texts in templates:
        # Different keys can give the same template (only the first three steps are written).
        t_code, t_text = pd.factorize(np.asarray(texts, dtype=object))
        marked = np.array([_IDLE in t for t in t_text], dtype=bool)
        row_t = t_code[group]
        # Distinct (template, idle days) pairs; the days only count where they are written,
        # so the pairs map one to one onto distinct texts.
        pair = row_t * np.int64(len(idle_values) + 1) + np.where(marked[row_t], idle_code + 1, 0)
        codes, pairs = pd.factorize(pair)
        tt, dd = np.divmod(pairs, len(idle_values) + 1)
        # Each text is its template's head, the days (if written) and the tail.
        split = [(*t.split(_IDLE, 1), "")[:2] for t in t_text]
        heads = np.array([h for h, _ in split], dtype=object)[tt]
        tails = np.array([t for _, t in split], dtype=object)[tt]
        text = heads + np.concatenate([[""], days]).astype(object)[dd] + tails
        out.append(pd.Categorical.from_codes(codes, categories=pd.Index(text, dtype=object)))
    return out[0], out[1]


def categories_as_text(values: pd.Categorical) -> pd.api.extensions.ExtensionArray:
    """A categorical of texts as a ``string`` array (one take of the categories)."""
    texts = pd.array(np.asarray(values.categories, dtype=object), dtype="string")
    codes = np.asarray(values.codes)
    if (codes < 0).any():
        return pd.array(np.asarray(values, dtype=object), dtype="string")
    return texts.take(codes)


def _nothing_found(derived: pd.DataFrame) -> np.ndarray:
    return (derived["material_assets"].to_numpy() == 0) & (
        derived["assets_found_count"].fillna(0).to_numpy() == 0
    )


def _guidance_texts(
    scored: pd.DataFrame, cases: pd.DataFrame, derived: pd.DataFrame, *, write_idle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The guidance texts of each row, vectorised (see :func:`guidance`)."""
    rungs = scored["suggested_rung"].astype(str).to_numpy()
    vuln = vulnerable(cases)
    nothing_found = _nothing_found(derived)
    steps = _first_steps(cases, write_idle=write_idle)
    has = steps[("any", 0)]
    rung_zh = np.array([_RUNG_TEXT.get(r, ("", ""))[0] for r in rungs], dtype=object)
    rung_en = np.array([_RUNG_TEXT.get(r, ("", ""))[1] for r in rungs], dtype=object)
    # When the data cannot tell within-team from the higher court, the text says so first.
    indistinct = _rungs_indistinct(scored)
    rung_zh = np.where(indistinct, t("guidance.rungs_indistinct", "zh"), "") + rung_zh
    rung_en = np.where(indistinct, t("guidance.rungs_indistinct", "en"), "") + rung_en
    texts: dict[str, np.ndarray] = {}
    for lang, rung_text in (("zh", rung_zh), ("en", rung_en)):
        # guidance.move is "{rung}<then>{steps}"; the others put {aid} or {steps} in one place.
        then = _around("guidance.move", lang, "rung")[1].partition("{steps}")[0]
        aid = np.where(vuln, t("guidance.aid", lang), "")
        before, after = _around("guidance.keep_nothing_found", lang, "aid")
        texts[f"move_{lang}"] = rung_text + np.where(has, then + steps[(lang, 3)], "")
        texts[f"none_{lang}"] = before + aid + after
        texts[f"little_{lang}"] = (
            _around("guidance.keep_little_gain", lang, "steps")[0] + steps[(lang, 2)]
        )
    move_zh, none_zh, little_zh = texts["move_zh"], texts["none_zh"], texts["little_zh"]
    move_en, none_en, little_en = texts["move_en"], texts["none_en"], texts["little_en"]
    keep = rungs == "keep"
    zh_out = np.where(keep, np.where(nothing_found, none_zh, little_zh), move_zh)
    en_out = np.where(keep, np.where(nothing_found, none_en, little_en), move_en)
    return zh_out, en_out
