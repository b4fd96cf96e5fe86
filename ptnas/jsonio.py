"""Strict JSON for result files: NaN and ±inf are written as `null`, never as the non-standard `NaN`
token that strict readers (jq, JavaScript, Go, `json.loads(parse_constant=...)`) reject.

Readers of our own files turn `null` back into NaN where they expect a number (`number`).
"""
from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float (NaN, inf, also NumPy scalars) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # NumPy / torch scalars
        return finite(value.item())
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps` that writes NaN/inf as null (and raises rather than ever emitting a NaN token)."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)


def number(value: Any) -> float:
    """A float read back from our JSON: null (a NaN or inf when written) becomes NaN."""
    return math.nan if value is None else float(value)
