"""Params are validated when they are set from Python, for every stage: the declarative validators that the
manifest records (irbis.core.Constraint) give the JVM's own verdict and message, checked here against the JVM
(irbis.core.ParamsBridge) for each value just inside and just outside every declared bound; other validators
are asked of the JVM when the value is set."""

import importlib
import json
import math
from typing import Any, Iterator, List, Tuple

import pytest

from conftest import GENERATED, missing_build

BUILD_PROBLEM = missing_build()
MANIFEST = {} if BUILD_PROBLEM else json.loads((GENERATED / "manifest.json").read_text(encoding="utf-8"))


def _declared() -> List[Tuple[dict, dict]]:
    return [(s, p) for s in MANIFEST.get("stages", []) for p in s["params"]
            if p.get("validation", {}).get("rule", "jvm") != "jvm"]


def _element(kind: str, rule: dict) -> Tuple[Any, Any]:
    """(a valid, an invalid) value of a scalar kind for a rule."""
    cases = list(_scalar_cases(kind, rule))
    return next(v for v, ok in cases if ok), next(v for v, ok in cases if not ok)


def _step(kind: str, bound: Any, up: bool) -> Any:
    if kind in ("int", "long"):
        return int(bound) + (1 if up else -1)
    if kind == "float":  # a float32 neighbour would be rounded away; a whole step is not
        return float(bound) + (1.0 if up else -1.0)
    return math.nextafter(float(bound), math.inf if up else -math.inf)


def _scalar_cases(kind: str, rule: dict) -> Iterator[Tuple[Any, bool]]:
    name = rule["rule"]
    if name == "range":
        number = int if kind in ("int", "long") else float
        if "min" in rule:
            inside = number(rule["min"]) if rule["minInclusive"] else _step(kind, rule["min"], up=True)
            outside = _step(kind, rule["min"], up=False) if rule["minInclusive"] else number(rule["min"])
            yield inside, True
            yield outside, False
        if "max" in rule:
            inside = number(rule["max"]) if rule["maxInclusive"] else _step(kind, rule["max"], up=False)
            outside = _step(kind, rule["max"], up=True) if rule["maxInclusive"] else number(rule["max"])
            yield inside, True
            yield outside, False
        if number is float:
            yield math.nan, False
    elif name == "oneOf":
        for option in rule["options"]:
            yield option, True
        yield rule["options"][0] + "x", False
        yield "", "" in rule["options"]
    elif name == "nonEmpty":
        yield "", False
        yield "a", True
    else:
        raise AssertionError(f"no cases for rule {name} on kind {kind}")


def cases(kind: str, rule: dict) -> Iterator[Tuple[Any, bool]]:
    if kind.startswith("map<string,"):
        element = kind[len("map<string,"):-1]
        if rule["rule"] == "nonEmpty":
            yield {}, False
            yield {"a": _default_of(element)}, True
            return
        good, bad = _element(element, rule["of"])
        yield {"a": good}, True
        yield {"a": good, "b": bad}, False
        yield {}, True
    elif kind.endswith("[]"):
        element = kind[:-2]
        if rule["rule"] == "nonEmpty":
            yield [], False
            yield [_default_of(element)], True
            return
        good, bad = _element(element, rule["of"])
        yield [good], True
        yield [good, bad], False
        yield [], True
    else:
        yield from _scalar_cases(kind, rule)


def _default_of(kind: str) -> Any:
    return {"string": "a", "int": 1, "long": 1, "float": 1.0, "double": 1.0, "boolean": True}[kind]


def _python_and_jvm(spark, stage: dict):
    from pyspark.ml.wrapper import JavaWrapper

    module = importlib.import_module(stage["package"])
    cls = getattr(module, stage["name"])
    java = JavaWrapper._new_java_obj(stage["className"])
    return (cls(java) if stage["type"] == "model" else cls()), java


@pytest.mark.skipif(BUILD_PROBLEM is not None, reason=str(BUILD_PROBLEM))
def test_every_declared_validator_refuses_at_set_time_with_the_jvms_message(spark):
    from irbis._runtime import kinds
    from irbis._runtime.wrapper import java_message, params_bridge

    declared = _declared()
    assert len(declared) > 50 and {s["name"] for s, _ in declared} >= {"ONNXModel", "ImageDecoder", "HTTPTransformer"}
    checked = 0
    made = {}  # one Python stage and one JVM stage per class, asked every case of that class
    for stage, param in declared:
        if stage["className"] not in made:
            made[stage["className"]] = _python_and_jvm(spark, stage)
        python, java = made[stage["className"]]
        name, kind = param["name"], param["kind"]
        for value, valid in cases(kind, param["validation"]):
            shown = kinds.to_json(kind, getattr(python, name).typeConverter(value))
            try:
                params_bridge().pair(java, name, shown)
                jvm = None
            except Exception as e:  # the JVM's refusal, as py4j or pyspark raise it
                jvm = java_message(e)[1]
            before = python._paramMap.get(getattr(python, name))
            try:
                python._set(**{name: value})
                got = None
            except ValueError as e:
                got = str(e)
                assert python._paramMap.get(getattr(python, name)) == before, "a refused value is not kept"
            where = f"{stage['name']}.{name} = {shown}"
            assert (got is None) == valid, f"{where}: expected {'valid' if valid else 'invalid'}, got {got}"
            assert got == jvm, where
            checked += 1
    assert checked > 200


@pytest.mark.skipif(BUILD_PROBLEM is not None, reason=str(BUILD_PROBLEM))
def test_onnx_model_refuses_bad_params_when_they_are_set(spark):
    from irbis.onnx import ONNXModel

    with pytest.raises(ValueError) as e:
        ONNXModel(miniBatchSize=-1)
    assert str(e.value) == "ONNXModel.miniBatchSize: invalid value -1. Expected: >= 0"
    with pytest.raises(ValueError) as e:
        ONNXModel().setExecutionProvider("GPU")
    assert str(e.value) == 'ONNXModel.executionProvider: invalid value "GPU". Expected: one of CPU, CUDA'
    stage = ONNXModel(miniBatchSize=0, executionProvider="CUDA")
    assert stage.getMiniBatchSize() == 0 and stage.getExecutionProvider() == "CUDA"


@pytest.mark.skipif(BUILD_PROBLEM is not None, reason=str(BUILD_PROBLEM))
def test_validators_the_manifest_cannot_describe_are_asked_of_the_jvm_when_set(spark):
    from irbis.featurize import ImageFeaturizer

    assert ImageFeaturizer._irbis_validation["scale"] == {"rule": "jvm"}
    doc = ImageFeaturizer.scale.doc
    with pytest.raises(ValueError) as e:
        ImageFeaturizer(scale=0.0)
    assert str(e.value) == f"ImageFeaturizer.scale: invalid value 0.0. Expected: {doc}"
    with pytest.raises(ValueError, match=r"^ImageFeaturizer\.mean: invalid value \[1\.0,2\.0\]\. Expected: "):
        ImageFeaturizer().setMean([1.0, 2.0])
    assert ImageFeaturizer(scale=0.5, mean=[0.1]).getScale() == 0.5


def test_a_stage_of_the_wrong_kind_is_refused_at_set_time_not_cast(spark):
    """A transformer where an estimator is wanted reached the JVM's validator as a ClassCastException."""
    from pyspark.ml.feature import SQLTransformer

    from irbis.train import TrainClassifier

    with pytest.raises(ValueError, match=r"^TrainClassifier\.model: invalid value .*SQLTransformer.*\. Expected: "):
        TrainClassifier(model=SQLTransformer(statement="SELECT * FROM __THIS__"))
