"""The jobs room (front door filled in by the next commit)."""
