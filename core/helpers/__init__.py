"""Generic helpers the engine shares: concurrency and version ordering (no domain knowledge)."""
