"""The evaluate room (front door filled in by the next commit)."""
