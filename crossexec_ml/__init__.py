"""crossexec_ml: rank stalled enforcement cases for cross-execution (交叉执行)."""

__version__ = "0.1.0"
