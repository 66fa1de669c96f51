"""Widgets, grouped by feature: the package matrix, the plan, run progress, history."""
