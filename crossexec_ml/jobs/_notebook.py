"""The scheduled run's notebook: rendering the executed notebook as the run's report."""

from __future__ import annotations

import re
from pathlib import Path

_TEMPLATES = Path(__file__).resolve().parents[1] / "report" / "templates"
# plotly's notebook renderer adds a MathJax <script> from a CDN to every figure (hard-coded in
# plotly.io._base_renderers); the report uses no LaTeX, and it must not reach the network.
_CDN_SCRIPT = re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>')


def report_html(executed: Path, title: str) -> str:
    """Render an executed notebook as a self-contained HTML report (no code, no network).

    Parameters
    ----------
    executed : pathlib.Path
        The executed ``.ipynb``.
    title : str
        The page title.

    Returns
    -------
    str
        HTML that opens offline: plotly.js is embedded once by the notebook renderer, and the
        CDN scripts of nbconvert's lab template and of plotly's MathJax hook are left out.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is not None:
                text = "".join(html) if isinstance(html, list) else html
                output["data"]["text/html"] = _CDN_SCRIPT.sub("", text)
    exporter = HTMLExporter(
        extra_template_basedirs=[str(_TEMPLATES)],
        template_name="crossexec_report",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def kernel_config() -> object:
    """The papermill kernel's configuration: its loopback sockets encrypted (CurveZMQ).

    ipykernel 7.4 warns, at every start, of a kernel "running over TCP without encryption":
    in a weekly cron log that reads like a breach. The project's kernelspec declares Curve
    support, so ``transport_encryption="auto"`` encrypts where pyzmq was built with it, and
    falls back to the plain loopback socket (and the warning) where it was not.

    Returns
    -------
    traitlets.config.Config
    """
    import zmq
    from traitlets.config import Config

    policy = "auto" if zmq.has("curve") else "disabled"
    return Config({"KernelManager": {"transport_encryption": policy}})
