"""Run with the interpreter of a fresh venv where only the wheel (and pinned pyspark) is installed.

Checks what a user does first: `irbis.session()` finds the bundled jar with no Maven coordinates, a
generated stage runs, and a saved pipeline mixing Irbis and Spark stages loads in a new process right
after `import irbis`; and what the wheel holds against the manifest it was built from (build/generated):
py.typed, the jar, a module per Scala area, every stage constructible with its defaults.
Prints `wheel: N passed, N failed`."""
import importlib
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import irbis

results = []


def check(name, fn):
    try:
        fn()
        results.append(True)
        print(f"ok   {name}")
    except Exception as e:  # report every check, then fail
        results.append(False)
        print(f"FAIL {name}: {e!r}")


spark = irbis.session()
tmp = Path(tempfile.mkdtemp())
MANIFEST = json.loads((Path(__file__).resolve().parents[1] / "build" / "generated" / "manifest.json").read_text("utf-8"))
PACKAGE = Path(irbis.__file__).parent


def installed_not_source():
    assert "site-packages" in irbis.__file__, irbis.__file__
    assert "site-packages" in str(irbis.jar_path()), irbis.jar_path()
    assert str(spark.sparkContext._jvm.irbis.core.Version.value()) == irbis.__version__


def wheel_contents():
    assert (PACKAGE / "py.typed").is_file(), "py.typed is missing"
    assert (PACKAGE / "jars" / "irbis-assembly.jar").is_file(), "the bundled jar is missing"
    assert Path(irbis.jar_path()).resolve() == (PACKAGE / "jars" / "irbis-assembly.jar").resolve(), irbis.jar_path()


def one_module_per_area():
    areas = sorted({s["package"] for s in MANIFEST["stages"]})
    assert {"irbis.stages", "irbis.onnx", "irbis.image"} <= set(areas), areas
    for area in areas:
        module = importlib.import_module(area)
        assert Path(module.__file__).resolve().is_relative_to(PACKAGE.resolve()), module.__file__


def every_stage_constructs_with_defaults():
    assert MANIFEST["stages"], "the manifest lists no stages"
    for s in MANIFEST["stages"]:
        stage = getattr(importlib.import_module(s["package"]), s["name"])()
        assert type(stage).__name__ == s["name"], type(stage)


def stage_runs():
    from irbis.stages import EnsembleByKey
    df = spark.createDataFrame([("a", 1.0), ("a", 3.0), ("b", 5.0)], ["k", "x"])
    out = {r.k: r.x for r in EnsembleByKey(keys=["k"], cols=["x"], colNames=["x"]).transform(df).collect()}
    assert out == {"a": 2.0, "b": 5.0}, out


def pipeline_loads_in_fresh_process():
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import SQLTransformer

    from irbis.stages import CleanMissingData
    df = spark.createDataFrame([(1.0,), (None,), (3.0,)], "x double")
    model = Pipeline(stages=[CleanMissingData(inputCols=["x"]), SQLTransformer(statement="SELECT x * 2 AS y FROM __THIS__")]).fit(df)
    model.write().save(str(tmp / "model"))
    code = textwrap.dedent(f"""
        import irbis
        from pyspark.ml import PipelineModel
        spark = irbis.session()
        m = PipelineModel.load({str(tmp / 'model')!r})
        df = spark.createDataFrame([(1.0,), (None,), (3.0,)], "x double")
        print(type(m.stages[0]).__module__, sorted(r.y for r in m.transform(df).collect()))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1:] == ["irbis.stages [2.0, 4.0, 6.0]"], out.stdout + out.stderr[-2000:]


check("installed package and bundled jar are used", installed_not_source)
check("py.typed and the bundled jar are installed", wheel_contents)
check("one importable module per Scala area", one_module_per_area)
check("every generated stage constructs with its defaults", every_stage_constructs_with_defaults)
check("a generated stage runs", stage_runs)
check("PipelineModel.load in a fresh process after import irbis", pipeline_loads_in_fresh_process)
spark.stop()
print(f"wheel: {sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
