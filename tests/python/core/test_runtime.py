"""The hand-written runtime without a JVM: kind codecs and converters, and the jar checks at import
(run in subprocesses, with fake jars, so that this process's `irbis` stays the real one)."""

import json
import math
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import generate
import pytest
from pyspark.ml.linalg import DenseVector, SparseVector

from irbis_codegen import manifest as mf

from conftest import FIXTURES, ROOT, load_runtime_module
from helpers import EDGE_VALUES, same

kinds = load_runtime_module("kinds")



@pytest.mark.parametrize("kind, value", [(k, v) for k, vs in EDGE_VALUES.items() for v in vs],
                         ids=lambda x: x if isinstance(x, str) and x in EDGE_VALUES else None)
def test_json_round_trip(kind, value):
    text = kinds.to_json(kind, value)
    json.loads(text)  # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in text.replace('"NaN"', "") and "Infinity" not in text
    assert same(kinds.from_json(kind, text), value)
    assert same(kinds.type_converter(kind)(value), value)


def test_special_doubles_use_sparks_strings():
    assert kinds.to_json("double[]", [math.nan, math.inf, -math.inf, 1.5]) == '["NaN","Inf","-Inf",1.5]'
    assert kinds.to_json("map<string,double>", {"x": math.nan}) == '{"x":"NaN"}'
    assert kinds.to_json("vector", SparseVector(3, [1], [2.0])) == '{"type":0,"size":3,"indices":[1],"values":[2.0]}'
    assert kinds.to_json("vector", DenseVector([1.0])) == '{"type":1,"values":[1.0]}'


@pytest.mark.parametrize("kind, given, expected", [
    ("double", 3, 3.0),
    ("int", 3.0, 3),
    ("double[]", (1, 2), [1.0, 2.0]),
    ("double[][]", [(1, 2), []], [[1.0, 2.0], []]),
    ("vector", [1, 2], DenseVector([1.0, 2.0])),
    ("map<string,double>", {"a": 1}, {"a": 1.0}),
    ("bytes", bytearray(b"\x00a"), b"\x00a"),
])
def test_converters_normalize(kind, given, expected):
    assert same(kinds.type_converter(kind)(given), expected)


@pytest.mark.parametrize("kind, bad", [
    ("int", 1.5), ("int", True), ("int", 2**31), ("int", -2**31 - 1), ("long", 2**63), ("long[]", [-2**63 - 1]),
    ("boolean", 1), ("string", 3), ("string[]", "abc"), ("int[]", [1, "2"]),
    ("map<string,int>", {1: 2}), ("map<string,int>", [("a", 1)]), ("bytes", "text"), ("stage", "SQLTransformer"),
    ("stage[]", ["SQLTransformer"]), ("stage[]", "SQLTransformer"),
])
def test_converters_reject_wrong_types(kind, bad):
    with pytest.raises(TypeError):
        kinds.type_converter(kind)(bad)


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown Param kind 'matrix'"):
        kinds.type_converter("matrix")


# ---- import-time checks of the jar, in subprocesses ----

def _fake_jar(path: Path, version: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("irbis/version.properties", f"version={version}\nspark=4.1.4\n")
    return path


def _run(code: str, pythonpath, jar=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("IRBIS_JAR", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    if jar is not None:
        env["IRBIS_JAR"] = str(jar)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, cwd=str(ROOT), timeout=120)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate.generate(mf.load(FIXTURES / "manifest.json"), out, ext_dir=None)
    return out / "python"


def test_import_with_matching_jar_gives_working_classes(tmp_path, generated):
    jar = _fake_jar(tmp_path / "irbis.jar", "0.1.0")
    result = _run("""
        import math, irbis
        from irbis.stages import CleanMissingData, CleanMissingDataModel
        from irbis.fixture import AllKinds
        from irbis.vision.ops import Identity
        assert irbis.__version__ == "0.1.0" and str(irbis.jar_path()).endswith("irbis.jar")
        assert CleanMissingData.__module__ == "irbis.stages" and Identity.__module__ == "irbis.vision.ops"
        model = CleanMissingDataModel()  # a model without a JVM object still knows its params
        assert model.getCleaningMode() == "Mean" and model.getReplacements() == {}
        assert model.setReplacements({"x": 1}).getReplacements() == {"x": 1.0}
        assert [p.name for p in model.params] == ["cleaningMode", "inputCols", "outputCols", "replacements"]
        assert "cleaningMode : {\\"Mean\\", \\"Median\\", \\"Custom\\"}, default \\"Mean\\"" in CleanMissingData.__doc__
        assert AllKinds.aVector.typeConverter([1, 2]).toArray().tolist() == [1.0, 2.0]
        print("ok")
        """, [ROOT / "python", generated], jar)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_with_jar_of_another_version_fails_clearly(tmp_path, generated):
    jar = _fake_jar(tmp_path / "old.jar", "0.0.9")
    result = _run("import irbis", [ROOT / "python", generated], jar)
    assert result.returncode != 0
    assert "ImportError: the Irbis jar" in result.stderr and "is version 0.0.9" in result.stderr
    assert "the irbis Python package is 0.1.0" in result.stderr


def test_import_from_source_tree_without_jar_says_so(generated):
    result = _run("import irbis", [ROOT / "python", generated])
    assert result.returncode != 0
    assert "irbis is imported from its source tree" in result.stderr and "IRBIS_JAR" in result.stderr


def test_import_without_generated_version_says_so():
    result = _run("import irbis", [ROOT / "python"])
    assert "irbis/_version.py is missing" in result.stderr
