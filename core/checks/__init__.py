"""Preflight checks, one module per side; preflight runs them in order."""
