"""Text: the one bilingual vocabulary room (Chinese for leaders, English alongside).

Every label, title, guidance step and explanation a leader reads comes from
``catalogue.csv`` through :func:`t`; cell values, rungs and numbers through
:func:`value_label`, :func:`rung_label`, :func:`fmt_wan_yuan`, :func:`fmt_points` and
:func:`fmt_percent`. ``lang`` is always ``"zh"`` or ``"en"``. The vocabulary decisions and the
migration list are in ``docs/design/vocabulary.md``.
"""

from crossexec_ml.text._catalogue import (
    LANGS,
    RUNGS,
    catalogue,
    category_values,
    fmt_percent,
    fmt_points,
    fmt_wan_yuan,
    placeholders,
    rung_label,
    t,
    t_pair,
    value_label,
)

__all__ = [
    "LANGS",
    "RUNGS",
    "catalogue",
    "category_values",
    "fmt_percent",
    "fmt_points",
    "fmt_wan_yuan",
    "placeholders",
    "rung_label",
    "t",
    "t_pair",
    "value_label",
]
