"""Interactive apps for leaders: the case picker."""

from crossexec_ml.apps._picker import TEXT, CasePicker
from crossexec_ml.apps._server import VOILA_JUPYTER_PATH, BoundedKernelManager

__all__ = [
    "BoundedKernelManager",
    "CasePicker",
    "TEXT",
    "VOILA_JUPYTER_PATH",
]
