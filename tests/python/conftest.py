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
# Every Spark driver the tests start (this session, and the subprocesses, notebooks and spark-submit runs that
# inherit the environment) gets the test JVM flags of tests/jvm-options: spark-submit adds SPARK_SUBMIT_OPTS to the
# driver's command line.
JVM_OPTIONS = [line.strip() for line in (ROOT / "tests" / "jvm-options").read_text().splitlines()
               if line.strip() and not line.lstrip().startswith("#")]
os.environ.setdefault("SPARK_SUBMIT_OPTS", " ".join(JVM_OPTIONS))
# Python UDFs run in worker processes of this interpreter (the venv with numpy and pandas), not whatever `python3`
# is first on PATH, pyspark's default.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


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

    JVM_ERROR_DIR.mkdir(parents=True, exist_ok=True)
    # The one JVM runs every test of the run (images, ONNX models, LIME's perturbed copies): 1 GiB of heap, Spark's
    # default, is too tight for the whole run. Fatal-error reports go where `jvm_died` finds them.
    return irbis.session(
        extra_jars=[TESTS_JAR],
        **{"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2", "spark.driver.memory": "4g",
           "spark.driver.extraJavaOptions": f"-XX:ErrorFile={JVM_ERROR_DIR}/hs_err_pid%p.log"})


JVM_ERROR_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / f"irbis-tests-{os.getpid()}"


def jvm_died() -> Optional[str]:
    """Why the test JVM is gone (exit code or signal, and its fatal-error report), or None while it runs."""
    if spark_session.cache_info().currsize == 0:
        return None
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None) if gateway is not None else None
    if proc is None or proc.poll() is None:
        return None
    code = proc.returncode
    how = {-9: "killed by SIGKILL (the kernel's OOM killer?)", 52: "Spark's exit code for an OutOfMemoryError",
           134: "aborted (a crash in native code?)"}.get(code, "")
    reports = sorted(JVM_ERROR_DIR.glob("hs_err_pid*.log"))
    report = reports[-1].read_text(errors="replace")[:4000] if reports else "no hs_err report"
    return f"the test JVM exited with code {code} {how}\n{report}"


OWN_SPARK = "own_spark"
EXAMPLES = Path(__file__).resolve().parent / "examples"


def pytest_configure(config):
    config.addinivalue_line("markers", f"{OWN_SPARK}: the test starts Spark of its own (a subprocess, a notebook "
                            "kernel, spark-submit); `make test` runs these in a second pytest process beside the one "
                            "that shares a session")


def pytest_collection_modifyitems(config, items):
    for item in items:
        # The example applications each run as a user runs them: a process and a Spark of their own. The standalone
        # cluster's tests all run in the one pytest process of the own-Spark tests, which then starts the one
        # cluster and application of the run.
        if EXAMPLES in Path(str(item.fspath)).parents or "standalone_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(OWN_SPARK)


def pytest_addoption(parser):
    parser.addoption("--area", default=None,
                     help="only the generic per-stage checks of stages in irbis.<area> (`make test-quick AREA=...`)")


def in_area(config, class_name: str) -> bool:
    """Whether a stage class belongs to the --area being tested (every class when no area is given)."""
    area = config.getoption("area")
    packages = {"core": ("irbis.core.", "irbis.testkit.")}.get(area, (f"irbis.{area}.",))
    return area is None or class_name.startswith(packages)


@pytest.fixture(autouse=True)
def _stop_when_the_jvm_dies(request):
    """Every later test would fail with 'Connection refused': stop the run instead, naming the test and why."""
    yield
    reason = jvm_died()
    if reason:
        pytest.exit(f"{request.node.nodeid}: {reason}", returncode=3)


@pytest.fixture(scope="session")
def spark():
    session = spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def distinct_traps(spark):
    """The camera-trap photographs that differ in kind (image_data.DISTINCT_CAMERA_TRAPS), as binaryFile-like rows
    (path, content), cached once for the image and featurizer tests."""
    from image_data import distinct_camera_trap_files, files_frame

    df = files_frame(spark, distinct_camera_trap_files())
    yield df
    df.unpersist()


@pytest.fixture(scope="session")
def standalone_cluster(tmp_path_factory):
    """A real Spark standalone cluster on 127.0.0.1, one Master and two Workers (tests/python/cluster.py), started on
    first use and stopped at the end of the run, also when tests failed. Each worker offers two cores: one for the
    shared application (cluster_app), one for an application a test starts of its own."""
    require_build()
    from cluster import StandaloneCluster

    cluster = StandaloneCluster(tmp_path_factory.mktemp("standalone-cluster"), env=subprocess_env(),
                                jvm_options=JVM_OPTIONS, cores=2)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def cluster_app(standalone_cluster, tmp_path_factory):
    """The run's one application on the standalone cluster (tests/python/cluster.py), started on first use."""
    from cluster import ClusterApp

    app = ClusterApp(standalone_cluster, tmp_path_factory.mktemp("cluster-app"))
    yield app
    app.stop()


def load_runtime_module(name: str) -> ModuleType:
    """python/irbis/_runtime/<name>.py without importing irbis (which needs the jar): for JVM-free tests."""
    path = ROOT / "python" / "irbis" / "_runtime" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_irbis_runtime_{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
