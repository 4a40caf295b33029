"""Decoding and transforming on local-cluster[2,1,2048] (the run's shared one, tests/python/cluster.py): two
executor JVMs, separate from the driver, each loading OpenCV's natives from the Irbis jar on its own, with no
set-up."""

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
print(json.dumps({"driver": driver, "rows": [r.asDict() for r in rows]}))
"""


def test_natives_load_in_every_executor_jvm(local_cluster):
    result = last_json(local_cluster.run("natives in every executor", JOB, str(CAMERA_TRAPS)))
    rows = result["rows"]
    assert len(rows) == len(camera_trap_files())
    assert [r["path"].rsplit("/", 1)[-1] for r in rows if r["error"]] == [TRUNCATED]
    assert all(r["n"] == 3 * 224 * 224 for r in rows if not r["error"])
    jvms = {r["jvm"] for r in rows}
    assert len(jvms) == 2 and result["driver"] not in jvms and -1 not in jvms, jvms
