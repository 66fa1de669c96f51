"""One way to write a record's fields as a JSON object: the plans, the verify checks and the reports."""

from __future__ import annotations

from collections.abc import Iterable


def json_fields(record: object, names: Iterable[str], *, if_set: Iterable[str] = ()) -> dict[str, object]:
    """``names`` of ``record`` (a dataclass) in that order, sequences as lists, then each of ``if_set``
    that is not empty (an ``error`` only when there is one)."""
    values = vars(record)
    out: dict[str, object] = {}
    for name in names:
        value = values[name]
        out[name] = list(value) if isinstance(value, (list, tuple)) else value
    out.update({name: values[name] for name in if_set if values[name]})
    return out
