"""Every HTML page and fragment the package shows, rendered from Jinja templates.

The templates live in ``crossexec_ml/report/templates/*.html.j2`` (the skrub way: tags are
written in templates, never in Python strings). The one environment escapes every value
(``autoescape=True``) and refuses a name the template does not receive
(``StrictUndefined``), so an id such as ``<script>`` is shown as text and a misspelt field
fails loudly instead of printing nothing. ``tests/report/test_html.py`` checks that no module
builds tags itself.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from crossexec_ml.text import fmt_percent, fmt_points, fmt_wan_yuan, rung_label, t, value_label

__all__ = ["render"]


@functools.cache
def _environment() -> jinja2.Environment:
    """The package's one Jinja environment (autoescaped, strict about undefined names).

    Filters: ``t`` (``{{ "checkup.title"|t(lang) }}``), ``value_label``
    (``{{ value|value_label(column, lang) }}``), ``rung_label``, ``fmt_wan_yuan``,
    ``fmt_points`` and ``fmt_percent`` (``{{ gain|fmt_points(lang) }}``).

    Returns
    -------
    jinja2.Environment
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("crossexec_ml.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        t=lambda key, lang="zh", **fields: t(key, lang, **fields),
        value_label=lambda value, column, lang="zh": value_label(column, value, lang),
        rung_label=rung_label,
        fmt_wan_yuan=fmt_wan_yuan,
        fmt_points=fmt_points,
        fmt_percent=fmt_percent,
    )
    return env


def render(template_name: str, **context: Any) -> str:
    """Render one template of ``report/templates`` with every value escaped.

    Parameters
    ----------
    template_name : str
        A file name such as ``"checkup.html.j2"``.
    **context
        The names the template uses; a missing one raises ``jinja2.UndefinedError``.

    Returns
    -------
    str
        The HTML page or fragment.

    Examples
    --------
    >>> from crossexec_ml.report import render
    >>> render("status.html.j2", text="<b>ok</b>", ok=True)  # doctest: +ELLIPSIS
    '<span ...>&lt;b&gt;ok&lt;/b&gt;</span>'
    """
    return _environment().get_template(template_name).render(**context)
