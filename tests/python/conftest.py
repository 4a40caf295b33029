"""Shared setup: where irbis comes from, the build outputs the JVM tests need, and one SparkSession.

By default the tests use the source tree (python/) plus the generated modules and jars of `make build`
(build/...). With IRBIS_TEST_INSTALLED=1 they use the installed irbis wheel instead; the test-only
generated modules (irbis.testkit, build/generated-test/python) are added in both cases.
"""

import functools
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BUILD = ROOT / "build"
ASSEMBLY_JAR = BUILD / "jars" / "irbis-assembly.jar"
TESTS_JAR = BUILD / "jars" / "irbis-tests.jar"
GENERATED = BUILD / "generated"
GENERATED_TEST = BUILD / "generated-test"
INSTALLED = os.environ.get("IRBIS_TEST_INSTALLED") == "1"

sys.path.insert(0, str(ROOT / "codegen"))


def python_path() -> List[str]:
    """sys.path entries for irbis; also what a fresh subprocess needs (PYTHONPATH)."""
    paths = [GENERATED_TEST / "python"]
    if not INSTALLED:
        paths = [ROOT / "python", GENERATED / "python"] + paths
    return [str(p) for p in paths]


for _entry in reversed(python_path()):
    sys.path.insert(0, _entry)
if not INSTALLED:
    os.environ.setdefault("IRBIS_JAR", str(ASSEMBLY_JAR))


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(python_path() + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def missing_build() -> Optional[str]:
    """Why the JVM tests cannot run, or None."""
    needed = [TESTS_JAR, GENERATED / "manifest.json", GENERATED_TEST / "python" / "irbis" / "testkit"]
    if not INSTALLED:
        needed += [ASSEMBLY_JAR, GENERATED / "python" / "irbis" / "_version.py"]
    missing = [str(p.relative_to(ROOT)) for p in needed if not p.exists()]
    return f"missing {', '.join(missing)}: run `make build` first" if missing else None


def require_build() -> None:
    problem = missing_build()
    if problem:
        pytest.fail(problem, pytrace=False)


@functools.lru_cache(maxsize=None)
def spark_session():
    """One session for the whole run; test modules also need it while collecting (examples come from it)."""
    require_build()
    import irbis

    return irbis.session(
        extra_jars=[TESTS_JAR],
        **{"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})


@pytest.fixture(scope="session")
def spark():
    session = spark_session()
    yield session
    session.stop()


def load_runtime_module(name: str) -> ModuleType:
    """python/irbis/_runtime/<name>.py without importing irbis (which needs the jar): for JVM-free tests."""
    path = ROOT / "python" / "irbis" / "_runtime" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_irbis_runtime_{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
