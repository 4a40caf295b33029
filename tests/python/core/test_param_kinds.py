"""Every Param kind from Python to the JVM and back, with edge values, through the test-only stage
irbis.testkit.ParamKinds (one param per kind; its `params` output column reports what the JVM holds)."""

import json
import math
from types import SimpleNamespace

import pytest
from pyspark.ml import Pipeline
from pyspark.ml.feature import SQLTransformer
from pyspark.ml.wrapper import JavaParams

from helpers import EDGE_VALUES, same

STAGE_CASES = 4  # len(stage_values())


@pytest.fixture(scope="module")
def irbis_modules(spark):
    """Imported only once the build is known to be there (the `spark` fixture checks)."""
    from irbis._runtime import kinds
    from irbis.stages import SelectColumns
    from irbis.testkit import ParamKinds

    return SimpleNamespace(kinds=kinds, SelectColumns=SelectColumns, ParamKinds=ParamKinds)


@pytest.fixture
def ParamKinds(irbis_modules):  # noqa: N802 - reads like the class it is
    return irbis_modules.ParamKinds


@pytest.fixture
def kinds(irbis_modules):
    return irbis_modules.kinds


def param_of_kind(ParamKinds, kind: str) -> str:  # noqa: N803
    """The param of that kind (params with validators are tested on their own)."""
    return next(name for name, k in sorted(ParamKinds._irbis_kinds.items())
                if k == kind and name not in ("anEnum", "positive"))


def stage_values(ParamKinds, SelectColumns):  # noqa: N803
    """Nested stages: a Spark stage, an Irbis stage, a Spark Pipeline, and ParamKinds holding a stage."""
    return [
        SQLTransformer(statement="SELECT id, 'é' AS s FROM __THIS__"),
        SelectColumns(cols=["id"]),
        Pipeline(stages=[SelectColumns(cols=["id"])]),
        ParamKinds(aString="nested", inner=SelectColumns(cols=["id"]), payload=b"\x00"),
    ]


CASES = ([(k, v) for k, vs in EDGE_VALUES.items() for v in vs] + [("stage", i) for i in range(STAGE_CASES)]
         + [("stage[]", n) for n in (0, 1, STAGE_CASES)])  # the first n stage values, as a list


def case_id(case) -> str:
    kind, value = case
    return f"{kind}-{value if kind.startswith('stage') else repr(value)[:40]}"


def setter(stage, name):
    return getattr(stage, "set" + name[0].upper() + name[1:])


def report(spark, stage) -> dict:
    return json.loads(stage.transform(spark.range(1)).first()["params"])


def same_value(kind: str, actual, expected) -> bool:
    if kind == "stage[]":
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(same_value("stage", a, e) for a, e in zip(actual, expected)))
    if kind != "stage":
        return same(actual, expected)
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, Pipeline):
        return all(same_value("stage", a, e) for a, e in zip(actual.getStages(), expected.getStages()))
    defined = [p.name for p in expected.params if expected.isDefined(p)]
    return defined == [p.name for p in actual.params if actual.isDefined(p)] and all(
        same_value("stage" if isinstance(expected.getOrDefault(n), JavaParams) else "", actual.getOrDefault(n),
                   expected.getOrDefault(n)) for n in defined)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_value_reaches_the_jvm_and_comes_back(spark, tmp_path, irbis_modules, ParamKinds, kinds, case):  # noqa: N803
    kind, value = case
    if kind == "stage":
        value = stage_values(ParamKinds, irbis_modules.SelectColumns)[value]
    elif kind == "stage[]":
        value = stage_values(ParamKinds, irbis_modules.SelectColumns)[:value]
    name = param_of_kind(ParamKinds, kind)
    stage = ParamKinds()
    assert setter(stage, name)(value) is stage
    received = report(spark, stage)
    if kind == "bytes":
        assert received["payload.length"] == len(value)
        assert bytes(stage._java_obj.getOrDefault(stage._java_obj.getParam(name))) == value
    elif kind == "stage":
        java_class = value._to_java().getClass().getName()
        assert received["inner.class"] == java_class
    elif kind == "stage[]":
        assert received["innerStages.classes"] == [v._to_java().getClass().getName() for v in value]
    else:
        assert same(kinds.from_json(kind, json.dumps(received[name])), value), received[name]
    from_jvm = JavaParams._from_java(stage._java_obj)
    assert same_value(kind, from_jvm.getOrDefault(name), value)
    stage.write().overwrite().save(str(tmp_path / "stage"))
    assert same_value(kind, ParamKinds.load(str(tmp_path / "stage")).getOrDefault(name), value)


def test_defaults_reach_the_jvm(spark, ParamKinds, kinds):  # noqa: N803
    stage = ParamKinds()
    received = report(spark, stage)
    for name, kind in ParamKinds._irbis_kinds.items():
        if kind not in kinds.COMPLEX:
            assert same(kinds.from_json(kind, json.dumps(received[name])), stage.getOrDefault(name)), name
    assert "payload.length" not in received and "inner.class" not in received
    assert "innerStages.classes" not in received


def test_keyword_init_equals_setters(spark, ParamKinds):  # noqa: N803
    by_init = ParamKinds(aString="ü", ints=[3], doubleMap={"z": -math.inf}, vector=[1, 2])
    by_setters = ParamKinds().setAString("ü").setInts([3]).setDoubleMap({"z": -math.inf}).setVector([1.0, 2.0])
    assert report(spark, by_init) == report(spark, by_setters)


def test_validators_run_when_set_and_name_the_param(spark, ParamKinds):  # noqa: N803
    with pytest.raises(ValueError, match=r"^ParamKinds\.positive: invalid value 0\. Expected: > 0$"):
        ParamKinds(positive=0)
    with pytest.raises(ValueError, match=r"ParamKinds\.anEnum: invalid value \"purple\". Expected: one of red"):
        ParamKinds().setAnEnum("purple")
    assert report(spark, ParamKinds(anEnum="blue", positive=5))["anEnum"] == "blue"


@pytest.mark.parametrize("name, bad", [("anInt", "1"), ("anInt", 1.5), ("anInt", 2**31), ("aLong", -2**63 - 1),
                                       ("ints", [2**31]), ("aBoolean", 1), ("strings", "abc"),
                                       ("intMap", {"a": "b"}), ("payload", "text"), ("inner", "SelectColumns"),
                                       ("innerStages", "SelectColumns"), ("innerStages", ["SelectColumns"])])
def test_python_rejects_wrong_types_when_setting(ParamKinds, name, bad):  # noqa: N803
    with pytest.raises(TypeError, match=name):
        ParamKinds()._set(**{name: bad})


def test_param_maps_round_trip(spark, irbis_modules, ParamKinds):  # noqa: N803
    """What CrossValidator and friends use for estimatorParamMaps."""
    stage = ParamKinds()
    param_map = {stage.doubleMap: {"a": -math.inf}, stage.matrix: [[0.5], []], stage.payload: b"\x00\xff",
                 stage.inner: irbis_modules.SelectColumns(cols=["id"]), stage.longs: [2**63 - 1],
                 stage.innerStages: [irbis_modules.SelectColumns(cols=["id"]), SQLTransformer(statement="SELECT 1")]}
    back = stage._transfer_param_map_from_java(stage._transfer_param_map_to_java(param_map))
    assert back.keys() == param_map.keys()
    for param, value in param_map.items():
        kind = {"inner": "stage", "innerStages": "stage[]"}.get(param.name, "")
        assert same_value(kind, back[param], value), param.name


def test_clear_copy_and_extra_params(spark, ParamKinds):  # noqa: N803
    stage = ParamKinds(anInt=5, aString="original")
    stage.clear(stage.anInt)
    assert report(spark, stage)["anInt"] == -7  # back to the default on the JVM too
    copied = stage.copy({stage.aString: "copied"})
    assert report(spark, copied)["aString"] == "copied" and report(spark, stage)["aString"] == "original"
    out = stage.transform(spark.range(1), {stage.aLong: 2**62})
    assert json.loads(out.first()["params"])["aLong"] == 2**62
