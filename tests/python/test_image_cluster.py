"""Decoding and transforming on local-cluster[2,1,2048]: two executor JVMs, separate from the driver, each
loading OpenCV's natives from the Irbis jar on its own, with no set-up."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pyspark
import pytest

from conftest import missing_build, subprocess_env
from image_data import CAMERA_TRAPS, TRUNCATED, camera_trap_files

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import psutil
    import irbis
    from pyspark.sql import functions as F
    from irbis.image import ImageTransformer

    spark = irbis.session(master="local-cluster[2,1,2048]", app_name="irbis-image-cluster",
                          **{"spark.ui.enabled": "false", "spark.executor.memory": "1g"})

    @F.udf("long")
    def executor_jvm():
        # A Python worker's ancestors include the executor JVM that started it.
        for p in psutil.Process(os.getpid()).parents():
            if p.name() == "java":
                return p.pid
        return -1

    files = spark.read.format("binaryFile").load(sys.argv[1] + "/*/*.jpg").repartition(6)
    out = (ImageTransformer(inputCol="content").resizeShortSide(256).centerCrop(224, 224)
           .normalize([0.406, 0.456, 0.485], [0.225, 0.224, 0.229], 1 / 255).toTensor().transform(files))
    rows = out.select("path", F.size("transformed").alias("n"), "error", executor_jvm().alias("jvm")).collect()
    driver = int(spark._jvm.java.lang.ProcessHandle.current().pid())
    print(json.dumps({"driver": driver, "rows": [r.asDict() for r in rows]}))
    spark.stop()
""")


def spark_home(tmp_path: Path) -> Path:
    """pyspark's install as SPARK_HOME, seen through a scratch folder: workers write their `work/` folder
    (executor logs) under SPARK_HOME, which must not be the shared virtual environment."""
    home = tmp_path / "spark-home"
    home.mkdir()
    for entry in Path(pyspark.__path__[0]).iterdir():
        if entry.name != "work":
            (home / entry.name).symlink_to(entry)
    return home


def test_natives_load_in_every_executor_jvm(tmp_path):
    problem = missing_build()
    if problem:
        pytest.fail(problem, pytrace=False)
    env = subprocess_env()
    env["SPARK_HOME"] = str(spark_home(tmp_path))
    env["PYSPARK_PYTHON"] = sys.executable
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(CAMERA_TRAPS)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    import json

    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = result["rows"]
    assert len(rows) == len(camera_trap_files())
    assert [r["path"].rsplit("/", 1)[-1] for r in rows if r["error"]] == [TRUNCATED]
    assert all(r["n"] == 3 * 224 * 224 for r in rows if not r["error"])
    jvms = {r["jvm"] for r in rows}
    assert len(jvms) == 2 and result["driver"] not in jvms and -1 not in jvms, jvms
