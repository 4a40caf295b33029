"""Value comparison for params: NaN equals NaN, vectors compare by kind and content, ints equal floats
only where a kind allows it (JSON writes 1.0 as 1 sometimes)."""

import math
from typing import Any


def same(a: Any, b: Any) -> bool:
    from pyspark.ml.linalg import DenseVector, SparseVector

    if isinstance(a, SparseVector) or isinstance(b, SparseVector):
        return (type(a) is type(b) and a.size == b.size and list(a.indices) == list(b.indices)
                and same(list(a.values), list(b.values)))
    if isinstance(a, DenseVector) or isinstance(b, DenseVector):
        return type(a) is type(b) and same(list(a.values), list(b.values))
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
