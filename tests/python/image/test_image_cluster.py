"""Decoding and transforming on a standalone cluster (the run's shared one, tests/python/cluster.py): two executor
JVMs, one on each worker, separate from the driver, each loading OpenCV's natives from the Irbis jar that reached it
through spark.jars, with no set-up."""

import pytest

from cluster import last_json
from image_data import CAMERA_TRAPS, TRUNCATED, camera_trap_files

pytestmark = pytest.mark.own_spark  # starts Spark of its own (conftest.py: own_spark)

JOB = """
import json, os
import psutil
from pyspark.sql import functions as F
from irbis.image import ImageTransformer

@F.udf("long")
def executor_jvm():
    # A Python worker's ancestors include the executor JVM that started it.
    for p in psutil.Process(os.getpid()).parents():
        if p.name() == "java":
            return p.pid
    return -1

files = spark.read.format("binaryFile").load(args[0] + "/*/*.jpg").repartition(6)
out = (ImageTransformer(inputCol="content").resizeShortSide(256).centerCrop(224, 224)
       .normalize([0.406, 0.456, 0.485], [0.225, 0.224, 0.229], 1 / 255).toTensor().transform(files))
rows = out.select("path", F.size("transformed").alias("n"), "error", executor_jvm().alias("jvm")).collect()
driver = int(spark._jvm.java.lang.ProcessHandle.current().pid())
parents = {r.jvm: psutil.Process(r.jvm).ppid() for r in rows if r.jvm > 0}
print(json.dumps({"driver": driver, "rows": [r.asDict() for r in rows], "parents": list(parents.values())}))
"""


def test_natives_load_in_every_executor_jvm(cluster_app, standalone_cluster):
    result = last_json(cluster_app.run("natives in every executor", JOB, str(CAMERA_TRAPS)))
    rows = result["rows"]
    assert len(rows) == len(camera_trap_files())
    assert [r["path"].rsplit("/", 1)[-1] for r in rows if r["error"]] == [TRUNCATED]
    assert all(r["n"] == 3 * 224 * 224 for r in rows if not r["error"])
    jvms = {r["jvm"] for r in rows}
    assert len(jvms) == 2 and result["driver"] not in jvms and -1 not in jvms, jvms
    workers = standalone_cluster.pids[1:]  # the master's first
    assert sorted(result["parents"]) == sorted(workers), (result["parents"], workers)  # one executor on each
