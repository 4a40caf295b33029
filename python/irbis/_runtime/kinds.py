"""Python values of every Param kind and their JSON, the text that each Param's own JVM codec reads and
writes (irbis.core.ParamsBridge). One table of kinds serves the type converters, the JSON codec and the
raw (complex) values, so a new kind is added in one place on the Python side. The list is the generators' table's
(codegen/irbis_codegen/kinds.py, not shipped in the wheel); tests/python/core/test_kind_tables.py fails when they
drift.

Kinds: scalars (boolean int long float double string), `<scalar>[]`, `double[][]`, `map<string,V>`,
`vector`, and the complex kinds `bytes`, `stage` and `stage[]`, which move between languages as raw values.
"""

import base64
import json
import math
from collections.abc import Mapping
from typing import Any, Callable, Dict, Tuple

from pyspark.ml.linalg import DenseVector, SparseVector
from pyspark.ml.param import Params, TypeConverters

KINDS = (
    "boolean", "int", "long", "float", "double", "string",
    "boolean[]", "int[]", "long[]", "float[]", "double[]", "string[]", "double[][]",
    "map<string,string>", "map<string,int>", "map<string,double>", "vector", "bytes", "stage", "stage[]",
)
COMPLEX = frozenset({"bytes", "stage", "stage[]"})

_MAP = "map<string,"
# How Spark's DoubleParam (and Irbis' codecs) write the doubles that JSON numbers cannot hold; Spark's
# vector JSON (Jackson) spells the infinities out.
_SPECIAL_DOUBLES = {"NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf,
                    "Infinity": math.inf, "-Infinity": -math.inf}


def _shape(kind: str) -> Tuple[str, str]:
    """("map", value kind) | ("list", element kind) | ("leaf", kind)."""
    if kind not in KINDS:
        raise ValueError(f"unknown Param kind {kind!r}; known kinds: {', '.join(KINDS)}")
    if kind.startswith(_MAP):
        return "map", kind[len(_MAP):-1]
    if kind.endswith("[]"):
        return "list", kind[:-2]
    return "leaf", kind


# ---- type converters: what a setter accepts, normalized to the one Python type of the kind ----

def _to_list(element: Callable[[Any], Any]) -> Callable[[Any], list]:
    def convert(value: Any) -> list:
        return [element(v) for v in TypeConverters.toList(value)]
    return convert


def _to_map(element: Callable[[Any], Any]) -> Callable[[Any], Dict[str, Any]]:
    def convert(value: Any) -> Dict[str, Any]:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise TypeError(f"Could not convert {value!r} to a dict with str keys")
        return {k: element(v) for k, v in value.items()}
    return convert


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"Could not convert {type(value).__name__} to bytes")


def _to_stage(value: Any) -> Params:
    if isinstance(value, Params) and (hasattr(value, "_to_java") or hasattr(value, "_java_obj")):
        return value
    raise TypeError(f"Expected a JVM-backed pyspark.ml stage, got {type(value).__name__}")


def _to_int(bits: int) -> Callable[[Any], int]:
    # Spark's IntParam and LongParam read out-of-range JSON numbers by silently wrapping them around.
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def convert(value: Any) -> int:
        value = TypeConverters.toInt(value)
        if not low <= value <= high:
            raise TypeError(f"{value} does not fit in a {bits}-bit integer")
        return value
    return convert


_LEAF_CONVERTERS: Dict[str, Callable[[Any], Any]] = {
    "boolean": TypeConverters.toBoolean,
    "int": _to_int(32),
    "long": _to_int(64),
    "float": TypeConverters.toFloat,
    "double": TypeConverters.toFloat,
    "string": TypeConverters.toString,
    "vector": TypeConverters.toVector,
    "bytes": _to_bytes,
    "stage": _to_stage,
}


def type_converter(kind: str) -> Callable[[Any], Any]:
    shape, inner = _shape(kind)
    if shape == "map":
        return _to_map(type_converter(inner))
    if shape == "list":
        return _to_list(type_converter(inner))
    return _LEAF_CONVERTERS[kind]


# ---- JSON: the Param's own codec on the JVM side reads and writes exactly this ----

def _encode_double(value: float) -> Any:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return value


def _decode_double(value: Any) -> float:
    return _SPECIAL_DOUBLES[value] if isinstance(value, str) else float(value)


def _encode(kind: str, value: Any) -> Any:
    shape, inner = _shape(kind)
    if shape == "map":
        return {k: _encode(inner, v) for k, v in value.items()}
    if shape == "list":
        return [_encode(inner, v) for v in value]
    if kind in ("float", "double"):
        return _encode_double(value)
    if kind == "vector":
        values = [_encode_double(v) for v in value.values]
        if isinstance(value, SparseVector):
            return {"type": 0, "size": value.size, "indices": [int(i) for i in value.indices], "values": values}
        return {"type": 1, "values": values}
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "stage":
        raise TypeError("a stage has no JSON form: it moves to the JVM as an object")
    return value


def _decode(kind: str, value: Any) -> Any:
    shape, inner = _shape(kind)
    if shape == "map":
        return {k: _decode(inner, v) for k, v in value.items()}
    if shape == "list":
        return [_decode(inner, v) for v in value]
    if kind in ("float", "double"):
        return _decode_double(value)
    if kind == "vector":
        values = [_decode_double(v) for v in value["values"]]
        if value["type"] == 0:
            return SparseVector(value["size"], value["indices"], values)
        return DenseVector(values)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "stage":
        raise TypeError("a stage has no JSON form: it comes from the JVM as an object")
    return value


def to_json(kind: str, value: Any) -> str:
    return json.dumps(_encode(kind, value), allow_nan=False, separators=(",", ":"))


def from_json(kind: str, text: str) -> Any:
    return _decode(kind, json.loads(text))


# ---- raw values of the complex kinds: py4j moves bytes as byte[] and stages as object references ----

def to_java_raw(kind: str, value: Any) -> Any:
    if kind == "bytes":
        return bytes(value)
    if kind == "stage":
        return value._to_java() if hasattr(value, "_to_java") else value._java_obj
    if kind == "stage[]":
        from pyspark.ml.util import _jvm

        stages = _jvm().java.util.ArrayList()  # irbis.core.StageArrayParam.coerce makes it an array
        for stage in value:
            stages.add(to_java_raw("stage", stage))
        return stages
    raise TypeError(f"{kind} is not a complex kind")


def from_java_raw(kind: str, java_value: Any) -> Any:
    if java_value is None:
        return None
    if kind == "bytes":
        return bytes(java_value)
    if kind == "stage":
        from pyspark.ml.wrapper import JavaParams

        return JavaParams._from_java(java_value)
    if kind == "stage[]":
        return [from_java_raw("stage", s) for s in java_value]
    raise TypeError(f"{kind} is not a complex kind")
