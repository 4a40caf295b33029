"""Param values checked when they are set, by the validators that the manifest records for every Param
(irbis.core.Constraint on the JVM): the same rule, and the same message as the JVM's
(irbis.core.ParamsBridge.invalidValue), so a bad value fails at once instead of when the job runs."""

import ctypes
import math
from typing import Any, Dict


def _number(kind: str, value: Any) -> Any:
    # A FloatParam holds what the JVM rounds the value to.
    return ctypes.c_float(value).value if kind.startswith("float") else value


def _in_range(rule: Dict[str, Any], x: Any) -> bool:
    if isinstance(x, float) and math.isnan(x):
        return False
    if "min" in rule and not (x >= rule["min"] if rule["minInclusive"] else x > rule["min"]):
        return False
    if "max" in rule and not (x <= rule["max"] if rule["maxInclusive"] else x < rule["max"]):
        return False
    return True


def is_valid(rule: Dict[str, Any], kind: str, value: Any) -> bool:
    """Whether `value`, already converted to its kind's Python type, passes a declarative rule."""
    name = rule["rule"]
    if name == "range":
        return _in_range(rule, _number(kind, value))
    if name == "oneOf":
        return value in rule["options"]
    if name == "nonEmpty":
        return len(value) > 0
    if name == "each":
        values = value.values() if isinstance(value, dict) else value
        element = kind[len("map<string,"):-1] if kind.startswith("map<string,") else kind[:-2]
        return all(is_valid(rule["of"], element, v) for v in values)
    raise ValueError(f"unknown validation rule {name!r}")


def invalid_value(stage: str, param: str, shown: str, expected: str) -> str:
    return f"{stage}.{param}: invalid value {shown}. Expected: {expected}"
