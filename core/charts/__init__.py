"""Charts: hint resolution, relocation of values, deterministic packing, chart destinations.

Entry points: :func:`core.charts.pipeline.prepare_chart` (validate + relocate + repack) and
:func:`core.charts.destinations.make_destination` (OCI, ChartMuseum, Harbor ≤ 2.7 chartrepo).
"""
