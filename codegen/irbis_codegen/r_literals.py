"""R source for values: string literals in plain ASCII, and the R literal of a Param's default from the JSON that
the Param's own codec wrote into the manifest (one encoder per kind, errors naming the stage and the param).
"""
from __future__ import annotations

import math


class RGenError(ValueError):
    """The manifest cannot be rendered as R; the message names the stage and the param."""


# R doubles hold integers exactly up to 2^53; larger longs are written as digit strings.
MAX_EXACT_DOUBLE_INT = 2 ** 53


def r_string(s: str) -> str:
    """An R string literal in plain ASCII, so that the package needs no encoding declaration for code."""
    out = []
    for ch in s:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append("\\x%02x" % code)
        elif code < 0x80:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    return '"' + "".join(out) + '"'


# ---- defaults: manifest JSON (what the Param's jsonEncode wrote) -> R literal ---------------------------

def fail(stage: dict, param: dict, what: str) -> RGenError:
    return RGenError(f"stage {stage.get('className', '?')}, param {param.get('name', '?')}: {what}")


def _r_bool(v, stage, param) -> str:
    if not isinstance(v, bool):
        raise fail(stage, param, f"default {v!r} is not a boolean")
    return "TRUE" if v else "FALSE"


def _r_int(v, stage, param) -> str:
    if isinstance(v, bool) or not isinstance(v, int) or not -2**31 <= v < 2**31:
        raise fail(stage, param, f"default {v!r} is not a 32-bit integer")
    return f"{v}L" if v != -2**31 else str(v)  # R's integers stop one short of Int.MinValue


def _r_long(v, stage, param) -> str:
    if isinstance(v, bool) or not isinstance(v, int) or not -2**63 <= v < 2**63:
        raise fail(stage, param, f"default {v!r} is not a 64-bit integer")
    return str(v) if abs(v) <= MAX_EXACT_DOUBLE_INT else r_string(str(v))


def _r_double(v, stage, param) -> str:
    specials = {"NaN": "NaN", "Inf": "Inf", "-Inf": "-Inf"}
    if isinstance(v, str) and v in specials:
        return specials[v]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise fail(stage, param, f"default {v!r} is not a number")
    return repr(float(v))


def _r_str(v, stage, param) -> str:
    if not isinstance(v, str):
        raise fail(stage, param, f"default {v!r} is not a string")
    return r_string(v)


_SCALAR = {"boolean": _r_bool, "int": _r_int, "long": _r_long, "float": _r_double, "double": _r_double,
           "string": _r_str}
_EMPTY = {"boolean": "logical(0)", "int": "integer(0)", "long": "numeric(0)", "float": "numeric(0)",
          "double": "numeric(0)", "string": "character(0)"}


def _r_vector(values, elem: str, stage, param) -> str:
    if not isinstance(values, list):
        raise fail(stage, param, f"default {values!r} is not a JSON array")
    if not values:
        return _EMPTY[elem]
    items = [_SCALAR[elem](v, stage, param) for v in values]
    if elem == "long" and any(item.startswith('"') for item in items):
        items = [item if item.startswith('"') else r_string(item) for item in items]  # c() would mix types
    return "c(" + ", ".join(items) + ")"


def r_default(stage: dict, param: dict) -> str:
    kind, value = param["kind"], param.get("default")
    if not param.get("hasDefault") or value is None:
        return "NULL"
    if kind in _SCALAR:
        return _SCALAR[kind](value, stage, param)
    if kind.endswith("[]") and kind[:-2] in _SCALAR:
        return _r_vector(value, kind[:-2], stage, param)
    if kind == "double[][]":
        if not isinstance(value, list):
            raise fail(stage, param, f"default {value!r} is not a JSON array of arrays")
        return "list(" + ", ".join(_r_vector(row, "double", stage, param) for row in value) + ")"
    if kind.startswith("map<string,"):
        if not isinstance(value, dict):
            raise fail(stage, param, f"default {value!r} is not a JSON object")
        elem = kind[len("map<string,"):-1]
        items = [f"{r_string(k)} = {_SCALAR[elem](v, stage, param)}" for k, v in sorted(value.items())]
        return "c(" + ", ".join(items) + ")" if items else "list()"
    if kind == "vector":
        return _r_spark_vector(value, stage, param)
    if kind == "bytes":
        if not isinstance(value, str):
            raise fail(stage, param, f"default {value!r} is not base64 text")
        return f"jsonlite::base64_dec({r_string(value)})"
    raise fail(stage, param, f"a default value is not supported for kind '{kind}'")


def _r_spark_vector(value, stage, param) -> str:
    if isinstance(value, dict) and value.get("type") == 1:
        return _r_vector(value.get("values"), "double", stage, param)
    if isinstance(value, dict) and value.get("type") == 0:
        size = _r_int(value.get("size"), stage, param)
        indices = _r_vector(value.get("indices"), "int", stage, param)
        values = _r_vector(value.get("values"), "double", stage, param)
        return f"list(size = {size}, indices = {indices}, values = {values})"
    raise fail(stage, param, f"default {value!r} is not Spark's vector JSON")


def r_literal(value) -> str:
    """An R value of a manifest JSON value: objects become named lists, arrays of scalars vectors."""
    if isinstance(value, dict):
        return "list(" + ", ".join(f"{k} = {r_literal(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "c(" + ", ".join(r_literal(v) for v in value) + ")" if value else "character(0)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, str):
        return r_string(value)
    raise TypeError(f"{value!r} has no R form")
