"""Structural variants of the synthetic world: the same generator, a different truth.

The model was once tuned on the default world alone, where every rung helps a stalled case by
about the same amount. A court's data will not look like that, so the benchmark
(``benchmarks/model_quality.py``) also runs worlds that change the *structure*, not only the
seed: rung effects that diverge by stall cause, stronger and weaker confounding of the rung
taken, a stall cause signalled by other columns, and a history with few higher-court rows.
The default variant changes nothing: the shipped sample stays byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossexec_ml.data._synthetic_truth import STALL_CAUSES, TREATMENT_MODES


@dataclass(frozen=True)
class Variant:
    """One synthetic world.

    Attributes
    ----------
    name : str
        Registry key (:data:`VARIANTS`).
    description : str
        What changes, in one sentence.
    rung_effects : dict or None
        Log-odds per stall cause and treatment mode, replacing the default table
        (:data:`crossexec_ml.data._synthetic_truth.RUNG_EFFECTS`).
    confounding : float
        Multiplies every term of the (non-pilot) assignment log-odds; the intercept is moved
        so the share of reassigned rows stays as in the default world.
    higher_keep : float
        Share of the non-pilot higher-court assignments that stay at the higher court; the
        rest go to another team instead (a bureau that rarely asks the higher court).
    signal_shift : int
        The stall cause shown by the observable columns is the true one moved this many
        places along the six causes other than ``no_assets``: the same effects, signalled by
        other columns.
    """

    name: str
    description: str
    rung_effects: dict[str, dict[str, float]] | None = None
    confounding: float = 1.0
    higher_keep: float = 1.0
    signal_shift: int = 0

    @property
    def is_default(self) -> bool:
        """True when nothing differs from the default world."""
        return (
            self.rung_effects is None
            and self.confounding == 1.0
            and self.higher_keep == 1.0
            and self.signal_shift == 0
        )


def _effects(intra: float, inter: float, higher: float | tuple[float, ...]) -> dict[str, float]:
    hi = (higher,) * 4 if isinstance(higher, float | int) else higher
    return dict(zip(TREATMENT_MODES, (intra, inter, *hi), strict=True))


#: Rung effects that diverge by stall cause [invented]: a lazy handler is cured by any other
#: handler of the team and barely by the higher court (which keeps the file moving slowly);
#: interference, special entities and disposal obstacles need the higher court's weight.
_DIVERGENT_EFFECTS: dict[str, dict[str, float]] = {
    "no_assets": _effects(0.05, 0.05, 0.05),
    "handler_inertia": _effects(1.7, 1.2, 0.2),
    "hidden_assets": _effects(0.2, 0.5, 1.2),
    "disposal_obstacle": _effects(0.0, 0.1, (1.3, 1.1, 0.9, 0.9)),
    "multi_party": _effects(0.0, 0.2, (0.4, 0.4, 1.5, 1.5)),
    "local_interference": _effects(0.0, 0.1, (1.6, 1.8, 1.4, 1.4)),
    "special_entity_block": _effects(0.0, 0.1, (1.8, 1.5, 1.5, 1.5)),
}
assert set(_DIVERGENT_EFFECTS) == set(STALL_CAUSES)


#: Rung effects that specialise [invented]: each cause is helped by one rung and not by the
#: others (a lazy handler is cured within the team, the higher court only adds delay; pressure
#: and special entities yield only to the higher court; hidden assets to another team's
#: fresh inquiry). The world where shrinking every rung towards a shared effect hurts most.
_SPECIALISED_EFFECTS: dict[str, dict[str, float]] = {
    "no_assets": _effects(0.0, 0.0, 0.0),
    "handler_inertia": _effects(2.2, 0.6, -0.4),
    "hidden_assets": _effects(0.0, 1.6, 0.3),
    "disposal_obstacle": _effects(-0.2, 0.0, (1.6, 1.4, 1.2, 1.2)),
    "multi_party": _effects(-0.2, 0.2, (0.3, 0.3, 1.8, 1.8)),
    "local_interference": _effects(-0.3, 0.0, (2.0, 2.2, 1.8, 1.8)),
    "special_entity_block": _effects(-0.3, 0.0, (2.2, 1.8, 1.8, 1.8)),
}


#: The registry, default first.
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("default", "the generator as shipped"),
        Variant(
            "divergent",
            "rung effects diverge by stall cause (inertia: intra-team large, higher court small)",
            rung_effects=_DIVERGENT_EFFECTS,
        ),
        Variant(
            "strong_confounding",
            "the rung taken follows the case's columns 2.5 times as strongly",
            confounding=2.5,
        ),
        Variant(
            "weak_confounding",
            "the rung taken follows the case's columns 0.3 times as strongly",
            confounding=0.3,
        ),
        Variant(
            "other_signals",
            "each stall cause shows the column signature of another cause",
            signal_shift=1,
        ),
        Variant(
            "specialised",
            "each cause is helped by one rung only (others add nothing or harm)",
            rung_effects=_SPECIALISED_EFFECTS,
        ),
        Variant(
            "few_higher",
            "only a quarter of the usual higher-court reassignments, divergent effects",
            rung_effects=_DIVERGENT_EFFECTS,
            higher_keep=0.25,
        ),
    )
}


def _get_variant(variant: str | Variant | None) -> Variant:
    """The :class:`Variant` for a registry name (``None`` = the default world).

    Raises
    ------
    ValueError
        For a name not in :data:`VARIANTS`.
    """
    if variant is None:
        return VARIANTS["default"]
    if isinstance(variant, Variant):
        return variant
    try:
        return VARIANTS[variant]
    except KeyError:
        raise ValueError(
            f"unknown synthetic variant {variant!r}; choose one of {', '.join(VARIANTS)}"
        ) from None
