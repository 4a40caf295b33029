"""Param values for tests: edge cases of every kind, and a comparison where NaN equals NaN, vectors compare
by type and content, 1 equals 1.0 (JSON may write a double without its fraction) and stages (values of a
`stage` param: JVM-backed stages, but also pyspark's pure-Python Pipeline and PipelineModel) compare by class,
uid, params and, for a PipelineModel, its stages."""

import math
from typing import Any

from pyspark.ml import PipelineModel
from pyspark.ml.linalg import DenseVector, SparseVector
from pyspark.ml.param import Params

# Edge values of every kind but `stage` (whose values need a JVM).
EDGE_VALUES = {
    "boolean": [True, False],
    "int": [0, -2**31, 2**31 - 1],
    "long": [2**63 - 1, -2**63, 2**53 + 1],
    "float": [0.5, math.nan, math.inf, -math.inf],
    "double": [0.1, -0.0, 5e-324, 1.7976931348623157e308, math.nan, math.inf, -math.inf],
    "string": ["", "snow leopard", "日本語 😀", 'quote" back\\slash\nnew line\t\0'],
    "boolean[]": [[], [True, False]],
    "int[]": [[], [1, -2**31]],
    "long[]": [[], [2**63 - 1]],
    "float[]": [[], [0.25, math.nan]],
    "double[]": [[], [0.1, math.nan, math.inf, -math.inf]],
    "string[]": [[], ["", "é", "a,b"]],
    "double[][]": [[], [[]], [[1.0, math.nan], [], [-math.inf]]],
    "map<string,string>": [{}, {"ü": "😀", "": ""}],
    "map<string,int>": [{}, {"a": -1, "b": 2**31 - 1}],
    "map<string,double>": [{}, {"a": math.nan, "b": -math.inf, "c": 0.1}],
    "vector": [DenseVector([]), DenseVector([1.0, math.nan, math.inf]), SparseVector(5, [0, 3], [1.5, -2.0]),
               SparseVector(0, [], [])],
    "bytes": [b"", b"\x00\x01\x00\xff", bytes(range(256))],
}


def same_stage(a: Params, b: Params) -> bool:
    if type(a) is not type(b) or a.uid != b.uid:
        return False
    # Set values must agree; defaults come from the class, except pyspark's uid-derived ones (a wrapper made by
    # `_from_java` keeps the `<uid>__output` default of the uid it was created with), so only their names are compared.
    if {p.name for p in a.params if a.isDefined(p)} != {p.name for p in b.params if b.isDefined(p)}:
        return False
    values_a = {p.name: a.getOrDefault(p) for p in a.params if a.isSet(p)}
    values_b = {p.name: b.getOrDefault(p) for p in b.params if b.isSet(p)}
    if not same(values_a, values_b):
        return False
    # A PipelineModel holds its stages in an attribute, not in a Param (a Pipeline's are its `stages` Param).
    return not isinstance(a, PipelineModel) or same(a.stages, b.stages)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, Params) or isinstance(b, Params):
        return isinstance(a, Params) and isinstance(b, Params) and same_stage(a, b)
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


def native_floor_growth(printed: str, what: str):
    """The growth per pass of the native memory floor, from a measuring subprocess's `RSS [...]` line (MiB after
    each pass): the lowest reading of the second half less the lowest of the first half, over the passes between
    them. Readings swing with no trend (freed memory the allocator keeps, or not), so only the floor shows a leak."""
    import json

    lines = [line for line in printed.splitlines() if line.startswith("RSS ")]
    assert lines, printed[-3000:]
    rss = json.loads(lines[0][4:])
    half = len(rss) // 2
    slope = (min(rss[half:]) - min(rss[:half])) / half
    print(f"native RSS after each pass {what} (MiB): {[round(r) for r in rss]}; floor grows {slope:.1f} MiB/pass")
    return slope, rss

