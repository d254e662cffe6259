"""Interactive apps for leaders: the case picker."""

from crossexec_ml.apps._picker import TEXT, CasePicker

__all__ = [
    "CasePicker",
    "TEXT",
]
