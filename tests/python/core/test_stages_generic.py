"""Every stage of build/generated/manifest.json and every example of the JVM test kit, from Python.

Examples are the Scala-configured stages of `irbis.testkit.Examples.all`; each is rebuilt in Python from
the params Scala set on it, and its output must equal Scala's own (`Compare.diff` is null).
"""

import functools
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict

import pytest
from pyspark.ml import Estimator, Pipeline, PipelineModel
from pyspark.ml.feature import SQLTransformer
from pyspark.ml.param import Param, Params
from pyspark.ml.wrapper import JavaModel, JavaParams, JavaWrapper
from pyspark.sql import DataFrame

from conftest import GENERATED, TESTS_JAR, in_area, missing_build, spark_session, subprocess_env
from helpers import same

BUILD_PROBLEM = missing_build()
MISSING = "build-missing"
MANIFEST = {} if BUILD_PROBLEM else json.loads((GENERATED / "manifest.json").read_text(encoding="utf-8"))
STAGES = {s["className"]: s for s in MANIFEST.get("stages", [])}


@functools.lru_cache(maxsize=None)
def examples() -> Dict[str, Any]:
    spark = spark_session()
    return {str(e.name()): e for e in spark._jvm.irbis.testkit.Examples.all(spark._jsparkSession)}


def pytest_generate_tests(metafunc):
    # Without the build, one failing test says so instead of an empty (silently skipped) parameter list.
    if "stage_name" in metafunc.fixturenames:
        names = [MISSING] if BUILD_PROBLEM else sorted(n for n in STAGES if in_area(metafunc.config, n))
        metafunc.parametrize("stage_name", names, ids=[n.rsplit(".", 1)[-1] for n in names])
    if "example_name" in metafunc.fixturenames:
        names = [MISSING] if BUILD_PROBLEM else sorted(
            n for n, e in examples().items() if in_area(metafunc.config, str(e.stage().getClass().getName())))
        if metafunc.function.__name__ in PER_CLASS and not BUILD_PROBLEM:
            names = [n for n in names if n in first_of_class()]
        ids = names if BUILD_PROBLEM else [
            f"{examples()[n].stage().getClass().getSimpleName()}/{n}" for n in names]
        metafunc.parametrize("example_name", names, ids=ids)


@functools.lru_cache(maxsize=None)
def first_of_class() -> frozenset:
    """The first example (by name) of each stage class: the Python paths that depend on the class and not on the
    params' values (the class's reader, pyspark's Pipeline writer, a fresh process finding the module) are taken
    once per class, with that example's params."""
    firsts: Dict[str, str] = {}
    for name, example in sorted(examples().items()):
        firsts.setdefault(str(example.stage().getClass().getName()), name)
    return frozenset(firsts.values())


@pytest.fixture
def stage(stage_name, spark) -> Dict[str, Any]:
    if stage_name == MISSING:
        pytest.fail(BUILD_PROBLEM, pytrace=False)
    return STAGES[stage_name]


@pytest.fixture
def example(example_name, spark):
    if example_name == MISSING:
        pytest.fail(BUILD_PROBLEM, pytrace=False)
    return examples()[example_name]


# ---- helpers ----

def kit():
    return spark_session()._jvm.irbis.testkit


def bridge():
    return spark_session()._jvm.irbis.core.ParamsBridge


def python_class(class_name: str) -> type:
    module, name = class_name.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def suffix(name: str) -> str:
    return name[0].upper() + name[1:]


def kinds():
    from irbis._runtime import kinds

    return kinds


def input_of(example) -> DataFrame:
    return DataFrame(example.input(), spark_session())


def run(stage, df: DataFrame) -> DataFrame:
    return stage.fit(df).transform(df) if isinstance(stage, Estimator) else stage.transform(df)


def assert_like_scala(actual: DataFrame, example, what: str) -> None:
    diff = kit().Compare.diff(actual._jdf, kit().Examples.expected(example))
    assert diff is None, f"{what}: {diff}"


def build_from_python(example):
    """The example's stage built in Python, through the generated setters, with the params Scala set."""
    java_stage = example.stage()
    cls = python_class(java_stage.getClass().getName())
    if issubclass(cls, JavaModel):
        # A fitted model's state is not only params: wrap the JVM object, as PipelineModel.load does.
        return JavaParams._from_java(java_stage)
    stage = cls()
    for name, value in json.loads(kit().Examples.setParamsJson(java_stage)).items():
        decoded = kinds().from_json(stage._irbis_kinds[name], json.dumps(value))
        assert getattr(stage, "set" + suffix(name))(decoded) is stage
    for name in kit().Examples.complexParamNames(java_stage):
        raw = bridge().getRaw(java_stage, name)
        getattr(stage, "set" + suffix(name))(kinds().from_java_raw(stage._irbis_kinds[name], raw))
    return stage


def java_values(stage) -> Dict[str, Any]:
    """What the JVM object holds for every defined param, as Python values."""
    return {p.name: stage._irbis_read_java(p.name) for p in stage.params
            if stage._java_obj.hasParam(p.name) and stage._java_obj.isDefined(stage._java_obj.getParam(p.name))}


def python_values(stage) -> Dict[str, Any]:
    return {p.name: stage.getOrDefault(p) for p in stage.params if stage.isDefined(p)}


def assert_same_params(actual, expected) -> None:
    a, e = python_values(actual), python_values(expected)
    assert a.keys() == e.keys()
    for name in a:
        if isinstance(a[name], Params) and type(a[name]) is type(e[name]) and a[name].uid == e[name].uid:
            # nested stage: set values, class and uid (pyspark's `<uid>__output` defaults of a wrapper made by
            # _from_java are stale, see helpers.same_stage)
            assert same(a[name], e[name]), name
            if isinstance(a[name], PipelineModel):
                assert same(a[name].stages, e[name].stages), (name, a[name].stages, e[name].stages)
        else:
            assert same(a[name], e[name]), (name, a[name], e[name])


def sample_value(param: Dict[str, Any]) -> Any:
    """A value of the param's kind: its default when it has one (valid by construction)."""
    if param["hasDefault"]:
        return kinds().from_json(param["kind"], json.dumps(param["default"]))
    if param.get("options"):
        return param["options"][-1]
    from pyspark.ml.linalg import Vectors

    return {
        "boolean": True, "int": 3, "long": 2**40, "float": 0.5, "double": 0.25, "string": "x",
        "boolean[]": [True], "int[]": [1, 2], "long[]": [2**40], "float[]": [0.5], "double[]": [0.25],
        "string[]": ["x", "y"], "double[][]": [[1.0], []], "map<string,string>": {"k": "v"},
        "map<string,int>": {"k": 1}, "map<string,double>": {"k": 0.5}, "vector": Vectors.dense([1.0, 2.0]),
        "bytes": b"\x00\x01", "stage": SQLTransformer(statement="SELECT * FROM __THIS__"),
        "stage[]": [SQLTransformer(statement="SELECT * FROM __THIS__")],
    }[param["kind"]]


# ---- per stage of the manifest ----

def test_class_has_every_param_with_setter_and_getter(stage):
    cls = python_class(stage["className"])
    assert cls.__module__ == stage["package"]  # what pyspark's JavaMLReader and _from_java rely on
    names = [p["name"] for p in stage["params"]]
    assert sorted(p.name for p in cls().params) == sorted(names)
    java = JavaWrapper._new_java_obj(stage["className"])
    assert sorted(str(p.name()) for p in java.params()) == sorted(names)
    for name in names:
        assert isinstance(getattr(cls, name), Param)
        assert callable(getattr(cls, "set" + suffix(name))) and callable(getattr(cls, "get" + suffix(name)))


def test_defaults_equal_manifest_and_scala(stage):
    py = python_class(stage["className"])()
    java = JavaWrapper._new_java_obj(stage["className"])
    for p in stage["params"]:
        param = py.getParam(p["name"])
        assert py.hasDefault(param) == p["hasDefault"] == bridge().hasDefault(java, p["name"]), p["name"]
        if p["hasDefault"]:
            manifest_value = kinds().from_json(p["kind"], json.dumps(p["default"]))
            scala_value = kinds().from_json(p["kind"], bridge().getJson(java, p["name"]))
            assert same(py.getOrDefault(param), manifest_value), p["name"]
            assert same(scala_value, manifest_value), p["name"]


def test_set_get_round_trip(stage):
    py = python_class(stage["className"])()
    for p in stage["params"]:
        value = sample_value(p)
        try:
            assert getattr(py, "set" + suffix(p["name"]))(value) is py
        except ValueError as e:
            # A sample the JVM's validator refuses at set time (a transformer where an estimator is wanted, "x" as a
            # URL or a schema): such params round-trip with valid values through the examples (build_from_python).
            if p["hasDefault"] or p.get("validation", {}).get("rule") != "jvm":
                raise
            assert str(e).startswith(f"{type(py).__name__}.{p['name']}: invalid value"), e
            continue
        got = getattr(py, "get" + suffix(p["name"]))()
        assert got is value if p["kind"] == "stage" else same(got, value), p["name"]
        assert py.isSet(py.getParam(p["name"]))
    if py._java_obj is not None:  # models get their JVM object from fit or load
        for p in stage["params"]:
            if not p["hasDefault"]:
                py.clear(py.getParam(p["name"]))  # samples need not pass the stage's validators
        py._transfer_params_to_java()
        for p in (p for p in stage["params"] if p["hasDefault"]):
            assert bridge().isSet(py._java_obj, p["name"]), p["name"]
            assert same(py._irbis_read_java(p["name"]), sample_value(p)), p["name"]


def test_every_stage_has_an_example(spark):
    if BUILD_PROBLEM:
        pytest.fail(BUILD_PROBLEM, pytrace=False)
    covered = {str(e.stage().getClass().getName()) for e in examples().values()}
    covered |= {STAGES[c]["modelClassName"] for c in covered if c in STAGES and STAGES[c]["modelClassName"]}
    missing = sorted(set(STAGES) - covered)
    assert not missing, f"stages without an example (add an ExampleSource in their Suite): {', '.join(missing)}"


# ---- per example ----

def _pipeline(stage) -> Pipeline:
    return Pipeline(stages=[SQLTransformer(statement="SELECT * FROM __THIS__"), stage])


@pytest.fixture(scope="session")
def fitted_pipelines(tmp_path_factory) -> Dict[str, Any]:
    """Where the per-example test saved each example's fitted pipeline (and its stages' classes), for the
    fresh-process test."""
    return {"root": str(tmp_path_factory.mktemp("fitted"))}


def stage_names(model: PipelineModel):
    return [type(s).__module__ + "." + type(s).__name__ for s in model.stages]


def assert_model_params_came_over(model) -> None:
    python, java = python_values(model), java_values(model)
    for name, value in java.items():
        assert name in python, name
        if isinstance(value, Params):  # a nested stage: the same one (its output is compared with Scala's)
            assert type(python[name]) is type(value) and python[name].uid == value.uid, name
        else:
            assert same(python[name], value), name


def assert_push_back_keeps_the_jvms_params(stage) -> None:
    """Python's copy of a JVM stage's params, written back as pyspark does before the stage computes (a loaded one
    included), leaves the JVM's params as they were: set or default, and each value as JSON."""
    before = json.loads(bridge().snapshot(stage._java_obj))
    stage._transfer_params_to_java()
    assert json.loads(bridge().snapshot(stage._java_obj)) == before


def test_python_stage_gives_scalas_output_and_saves_and_loads(example, example_name, tmp_path, fitted_pipelines):
    """Built in Python: the params reach the JVM, pyspark fits a Pipeline holding the stage, and the fitted
    PipelineModel gives Scala's output. One fit.

    The first example of each stage class also goes through the paths that depend on the class only: the stage, a
    Pipeline holding it, the fitted model and the fitted PipelineModel each save and load from Python as the same
    classes with the same params, and the loaded PipelineModel gives Scala's output. The other examples check what
    a load would add that depends on the params' values: the values Python holds, pushed back into the JVM, are the
    JVM's own.

    What a loaded stage or model computes is the JVM's: the JVM object that Scala's reader loads, with the params
    that Python holds (compared here) pushed back into it. AllExamplesSuite compares what Scala's reader loads with
    Scala's output, so here the output is compared where Python adds a step of its own: the stage built through the
    generated setters, in the PipelineModel that pyspark fitted (and, once per class, wrote and read; the
    fresh-process test loads that one again, where no generated module was imported before)."""
    stage = build_from_python(example)
    expected_json = json.loads(kit().Examples.setParamsJson(example.stage()))
    stage._transfer_params_to_java()
    for name, value in expected_json.items():  # what reached the JVM, compared as JSON
        assert json.loads(bridge().getJson(stage._java_obj, name)) == value, name
    df = input_of(example)
    whole = example_name in first_of_class()

    if whole:
        stage.write().overwrite().save(str(tmp_path / "stage"))
        loaded = type(stage).load(str(tmp_path / "stage"))
        assert type(loaded) is type(stage) and loaded.uid == stage.uid
        assert_same_params(loaded, stage)
        _pipeline(loaded).save(str(tmp_path / "pipeline"))
        pipeline = Pipeline.load(str(tmp_path / "pipeline"))
        assert [type(s) for s in pipeline.getStages()] == [SQLTransformer, type(stage)]
        assert_same_params(pipeline.getStages()[1], stage)
    else:
        pipeline = _pipeline(stage)
    fitted = pipeline.fit(df)  # pyspark's Pipeline calls the stage's own fit

    if isinstance(stage, Estimator):
        model = fitted.stages[1]
        model_class = STAGES.get(stage.__module__ + "." + type(stage).__name__, {}).get("modelClassName")
        if model_class:
            assert type(model) is python_class(model_class)
        assert_model_params_came_over(model)
        if whole:
            model.save(str(tmp_path / "model"))
            loaded_model = type(model).load(str(tmp_path / "model"))
            assert type(loaded_model) is type(model)
            assert_same_params(loaded_model, model)

    if whole:
        saved = str(Path(fitted_pipelines["root"]) / example_name)
        fitted.save(saved)
        reloaded = PipelineModel.load(saved)
        assert [type(s) for s in reloaded.stages] == [type(s) for s in fitted.stages]
        assert_like_scala(reloaded.transform(df), example, "PipelineModel fitted from Python, saved and loaded")
        fitted_pipelines[example_name] = (saved, stage_names(fitted))
    else:
        # What a load adds that depends on the values: Python pushes the values it read back into the JVM object
        # (Scala's reader and writer meet every example's values in AllExamplesSuite).
        assert_push_back_keeps_the_jvms_params(fitted.stages[1])
        assert_like_scala(fitted.transform(df), example, "PipelineModel fitted from Python")


IMPORTED_BEFORE = "imported before loading"
FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    import irbis
    from pyspark.ml import PipelineModel

    jobs, results_path, tests_jar = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    spark = irbis.session(extra_jars=[tests_jar], **{"spark.ui.enabled": "false"})
    generated_before = sorted(m for m in sys.modules if m.startswith("irbis.") and not m.startswith("irbis._"))
    results = {}
    for name, path in sorted(jobs.items()):
        try:
            model = PipelineModel.load(path)
            results[name] = {"stages": [type(s).__module__ + "." + type(s).__name__ for s in model.stages]}
        except Exception as e:
            results[name] = {"error": f"{type(e).__name__}: {e}"}
    results["imported before loading"] = generated_before
    with open(results_path, "w") as f:
        json.dump(results, f)
""")


# Tests that run for the first example of each stage class only (first_of_class).
PER_CLASS = {"test_pipeline_model_loads_in_fresh_process_after_import_irbis"}


@pytest.fixture(scope="session")
def fresh_process_results(request, spark, tmp_path_factory, fitted_pipelines) -> Dict[str, Any]:
    """One fresh Python (one JVM start) loads the fitted pipelines of the examples whose fresh-process test runs:
    those the per-example test saved, and any it did not run for (a `-k` selection) fitted here. What it checks is
    that loading finds every stage's Python class by itself: that a loaded pipeline gives Scala's output is the
    per-example test's, which loads the same folder with the same Python classes (the stages' names compared)."""
    root = tmp_path_factory.mktemp("fresh")
    selected = {item.callspec.params["example_name"] for item in request.session.items
                if item.originalname == "test_pipeline_model_loads_in_fresh_process_after_import_irbis"}
    jobs, results = {}, {}
    for name, example in sorted((n, e) for n, e in examples().items() if n in selected):
        try:
            if name not in fitted_pipelines:
                fitted = _pipeline(build_from_python(example)).fit(input_of(example))
                fitted.save(str(root / name))
                fitted_pipelines[name] = (str(root / name), stage_names(fitted))
            jobs[name], expected = fitted_pipelines[name]
            results[name] = {"expected stages": expected}
        except Exception as e:  # reported by that example's test only
            results[name] = {"error": f"saving from this process failed: {type(e).__name__}: {e}"}
    out = root / "results.json"
    proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS, json.dumps(jobs), str(out), str(TESTS_JAR)],
                          env=subprocess_env(), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"fresh process failed:\n{proc.stderr[-5000:]}"
    fresh = json.loads(out.read_text())
    results[IMPORTED_BEFORE] = fresh.pop(IMPORTED_BEFORE)
    for name, result in fresh.items():
        results[name].update(result)
    return results


def test_pipeline_model_loads_in_fresh_process_after_import_irbis(example_name, example, fresh_process_results):
    assert fresh_process_results[IMPORTED_BEFORE] == []  # PipelineModel.load finds the modules itself
    result = fresh_process_results[example_name]
    assert "error" not in result, result["error"]
    assert result["stages"] == result["expected stages"]
