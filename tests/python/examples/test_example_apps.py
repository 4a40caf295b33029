"""The camera-trap example as a user runs it in Scala and in R, on the shared camera-trap images.

- Scala: `spark-submit --class irbis.examples.CameraTraps --jars irbis-assembly.jar irbis-examples.jar ...`
  with pyspark's own spark-submit, to the tests' standalone cluster; and the same with `--packages` from the
  Maven repository that `make publish-local` fills instead of `--jars`.
- R: `Rscript examples/camera_traps.R ...` on real sparklyr (from ~/.cache/irbis/R-lib, where .ci/run installs it
  with ../shared/vendor/r/install.sh, or any library on R_LIBS), with the irbis package installed from `dist/` by
  `R CMD INSTALL` into a temporary library; the script itself is the one a user runs.

Both evaluate with `--folds 2` (sequences never split between folds; fewer fits than the default 3, as the
Python notebook test covers the full evaluation) on the model that the Python converter writes, and must print
the results table with deep features beating raw pixels, sequence ensembling no worse than per-frame
predictions and LightGBM on the deep features better than the majority class; their exit status covers the
save/load and flip-bookkeeping checks.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest

from conftest import ROOT, subprocess_env

DATA = ROOT.parent / "shared" / "data" / "camera-traps"
JARS = ROOT / "build" / "jars"
VERSION = (ROOT / "VERSION").read_text().strip()
R_PACKAGE = ROOT / "dist" / f"irbis_{VERSION}.tar.gz"
SPARK_HOME = Path(pyspark.__file__).parent
MODELS = ["1 raw pixels 32x32 + LR", "2 deep features + LR", "3 deep features + flips + LR",
          "4 = 3 + EnsembleByKey(sequence)", "5 deep features + LightGBM"]
ROW = re.compile(r"^\s*([1-5] .+?)\s+(\d\.\d{3})\s+(\d\.\d{3})\s+(\d+)/(\d+)\s+(\d+)/(\d+)\s*$")
FOLDS = 2
TIMEOUT = 900  # minutes on an idle 2-core machine, far more while other builds share the cores

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"the shared camera-trap images are not at {DATA}")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """EfficientNet-Lite0 converted by the project's converter, as the README tells a user to."""
    out = tmp_path_factory.mktemp("model") / "efficientnet_lite0.onnx"
    env = subprocess_env()
    proc = subprocess.run([sys.executable, "-m", "irbis.models.efficientnet_lite", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0 and out.is_file(), proc.stdout + proc.stderr
    return out


def run(cmd, env, label):
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT, env=env)
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds:.1f} s\n{proc.stdout}")
    assert proc.returncode == 0, f"{label} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def parse_table(stdout):
    """The results table under the 'snow leopard or not' line: model -> numbers."""
    lines = stdout.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith(f"snow leopard or not, {FOLDS}-fold by sequence")]
    assert len(heads) == 1, stdout
    n_frames = int(re.search(r"(\d+) frames, (\d+) sequences", lines[heads[0]]).group(1))
    header = lines[heads[0] + 1].split()
    assert header == ["model", "frame", "acc", "sequence", "acc", "leopard", "frames", "found", "false", "alarms"]
    table = {}
    for line in lines[heads[0] + 2:heads[0] + 2 + len(MODELS)]:
        match = ROW.match(line)
        assert match, f"not a table row: {line!r}\n{stdout}"
        name, frame_acc, seq_acc, found, leopards, alarms, others = match.groups()
        table[name] = dict(frame_acc=float(frame_acc), seq_acc=float(seq_acc), found=int(found),
                           leopards=int(leopards), alarms=int(alarms), others=int(others))
    assert list(table) == MODELS, stdout
    for row in table.values():
        assert row["leopards"] + row["others"] == n_frames, stdout
        correct = row["found"] + row["others"] - row["alarms"]
        assert abs(row["frame_acc"] - correct / n_frames) < 5e-4, stdout  # the accuracy agrees with the counts
    return table, n_frames


def check_results(stdout):
    table, n_frames = parse_table(stdout)
    assert f"evaluation: {FOLDS}-fold by sequence" in stdout and f", {FOLDS} folds," in stdout
    assert n_frames == 44, stdout  # every labelled frame: the one undecodable file is unlabelled
    assert "undecodable (null features, dropped): 1\n  malformed/african_elephants_truncated_file.jpg" in stdout
    assert "reloaded predicts identically: True" in stdout
    raw, deep, flips, ensemble, gbm = (table[m] for m in MODELS)
    assert deep["frame_acc"] > raw["frame_acc"], stdout
    assert ensemble["frame_acc"] >= flips["frame_acc"], stdout
    assert ensemble["seq_acc"] >= flips["seq_acc"], stdout
    # LightGBM's trees learn from the deep features: better than always answering the majority class
    assert gbm["frame_acc"] > max(gbm["leopards"], gbm["others"]) / n_frames, stdout
    return table


def spark_submit_on_cluster(cluster, model, tmp_path, label, *args):
    """pyspark's spark-submit of the camera-trap app to the standalone cluster (an application beside the tests'
    shared one, on each worker's second core; client mode), checked as a user reads its output; returns the
    application's id after asserting that executors on both workers ran its tasks."""
    before = {a["id"] for a in cluster.applications()}
    out = tmp_path / "out"
    stdout = run([SPARK_HOME / "bin" / "spark-submit", "--master", cluster.url, "--conf", "spark.ui.enabled=false",
                  "--driver-memory", "2g", "--executor-memory", "1g", "--conf", "spark.executor.cores=1",
                  "--conf", "spark.cores.max=2",
                  *args, "--class", "irbis.examples.CameraTraps", JARS / "irbis-examples.jar",
                  "--data", DATA, "--model", model, "--out", out, "--folds", FOLDS],
                 dict(cluster.env, SPARK_HOME=str(SPARK_HOME)), label)
    check_results(stdout)
    assert (out / "confusion_model4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "camera-traps-model4" / "metadata").is_dir()
    apps = [a for a in cluster.applications() if a["id"] not in before]
    assert [a["name"] for a in apps] == ["irbis-camera-traps"], apps
    folders = cluster.executor_folders(apps[0]["id"])
    assert sorted({f.parent.parent.name for f in folders}) == ["worker-0", "worker-1"], folders
    for worker in ("worker-0", "worker-1"):  # each worker's executors ran tasks of the app
        logs = "".join((f / "stderr").read_text(errors="replace") for f in folders if f.parent.parent.name == worker)
        assert "Running task" in logs, f"{worker}: no task in its executors' logs {folders}"
    return apps[0]["id"]


def test_scala_app_with_spark_submit_jars_on_the_cluster(model, tmp_path, standalone_cluster):
    """`spark-submit --jars irbis-assembly.jar` to the standalone cluster: the jar and its natives reach executors
    that share nothing with the driver."""
    for jar in ("irbis-assembly.jar", "irbis-examples.jar"):
        assert (JARS / jar).is_file(), f"missing build/jars/{jar}: run `make build` first"
    spark_submit_on_cluster(standalone_cluster, model, tmp_path, "spark-submit --jars CameraTraps", "--jars",
                            JARS / "irbis-assembly.jar")


IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="irbis-test"/>
  <caches defaultCacheDir="{cache}"/>
  <resolvers>
    <chain name="irbis-test" returnFirst="true">
      <ibiblio name="published" m2compatible="true" root="{published}"/>
      <ibiblio name="sbt-downloads" m2compatible="true" root="{coursier}"/>
      <ibiblio name="central" m2compatible="true"/>
    </chain>
  </resolvers>
</ivysettings>
"""


def test_scala_app_with_spark_submit_packages_on_the_cluster(model, tmp_path, standalone_cluster):
    """`spark-submit --packages io.github.irbis-ml:irbis-core_2.13:VERSION` from the Maven repository that `make
    publish-local` fills: Ivy resolves ONNX Runtime, OpenCV (with its linux-x86_64 natives), LightGBM and the rest
    from the thin jar's POM alone (no assembly jar anywhere), and the app runs on the cluster. Ivy reads the
    dependencies from the files sbt downloaded for the build when they are there (no network), else Maven Central."""
    repo = tmp_path / "m2"
    proc = subprocess.run(["make", "--no-print-directory", "publish-local", f"M2_REPO={repo}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    coordinate = f"io.github.irbis-ml:irbis-core_2.13:{VERSION}"
    published = repo / "io" / "github" / "irbis-ml" / "irbis-core_2.13" / VERSION
    assert sorted(p.name for p in published.iterdir()) == [f"irbis-core_2.13-{VERSION}.jar",
                                                           f"irbis-core_2.13-{VERSION}.pom"]
    coursier = Path(os.environ.get("COURSIER_CACHE", Path.home() / ".cache" / "coursier" / "v1"))
    settings = tmp_path / "ivysettings.xml"
    settings.write_text(IVY_SETTINGS.format(cache=tmp_path / "ivy-cache", published=repo.as_uri(),
                                            coursier=(coursier / "https" / "repo1.maven.org" / "maven2").as_uri()))
    spark_submit_on_cluster(standalone_cluster, model, tmp_path, "spark-submit --packages CameraTraps",
                            "--packages", coordinate, "--conf", f"spark.jars.ivySettings={settings}",
                            "--conf", f"spark.jars.ivy={tmp_path / 'ivy-home'}")
    resolved = {p.name for p in (tmp_path / "ivy-home" / "jars").iterdir()}
    for jar in (f"io.github.irbis-ml_irbis-core_2.13-{VERSION}.jar", "com.microsoft.onnxruntime_onnxruntime-",
                "org.bytedeco_opencv-", "com.microsoft.ml.lightgbm_lightgbmlib-"):
        assert any(name.startswith(jar) for name in resolved), (jar, sorted(resolved))
    assert not any("assembly" in name or name.startswith("org.apache.spark") for name in resolved), resolved


R_LIB = Path.home() / ".cache" / "irbis" / "R-lib"


def r_libs():
    """R_LIBS with the private library of sparklyr (.ci/run's) in front of the caller's."""
    return os.pathsep.join(p for p in (str(R_LIB), os.environ.get("R_LIBS", "")) if p)


def install_r_package(lib):
    """The irbis package from dist/ into lib, as a user installs it (sparklyr comes from R_LIBS)."""
    proc = subprocess.run(["R", "CMD", "INSTALL", "--no-test-load", f"--library={lib}", str(R_PACKAGE)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, R_LIBS=r_libs()))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_r_script(model, tmp_path):
    assert R_PACKAGE.is_file(), f"missing {R_PACKAGE.relative_to(ROOT)}: run `make build` first"
    lib = tmp_path / "lib"
    lib.mkdir()
    install_r_package(lib)
    env = dict(os.environ, SPARK_HOME=str(SPARK_HOME), R_LIBS=os.pathsep.join((str(lib), r_libs())))
    out = tmp_path / "out"
    stdout = run(["Rscript", ROOT / "examples" / "camera_traps.R", "--data", DATA, "--model", model, "--out", out,
                  "--folds", FOLDS], env, "Rscript camera_traps.R")
    check_results(stdout)
    assert (out / "confusion_model4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "camera-traps-model4" / "metadata").is_dir()
