"""Native memory stays flat over repeated LightGBM fits and predictions: every dataset, booster and native array
is freed. Measured as tests/python/onnx/test_onnx_memory.py measures ONNXModel (a fresh JVM, a fixed pre-touched
heap, RSS less the heap after each pass; a leak raises the floor of the readings). A pass fits a model on 100,000
rows (2 workers) and scores 1e6 rows with it: leaking the input copies of the predictions alone would add
1e6 x 10 x 8 bytes, 76 MiB, per pass; leaking the fit's datasets about 8 MiB."""
import subprocess
import sys

import pytest

from conftest import subprocess_env
from helpers import native_floor_growth

pytestmark = pytest.mark.own_spark  # starts Spark of its own (conftest.py: own_spark)

PASSES = 6
MAX_SLOPE_MB = 20

MEASURE = r"""
import json, sys
import irbis, psutil
from pyspark.ml.functions import array_to_vector
from pyspark.sql import functions as F
from irbis.lightgbm import LightGBMRegressor
passes = int(sys.argv[1])
spark = irbis.session(master="local[2]", **{"spark.ui.enabled": "false", "spark.driver.memory": "1g",
                                             "spark.driver.extraJavaOptions": "-Xms1g -XX:+AlwaysPreTouch"})
jvm = spark.sparkContext._jvm
process = psutil.Process(int(jvm.java.lang.ProcessHandle.current().pid()))
def table(rows):
    x = F.array(*[((F.col("id") * (i + 3)) % 17).cast("double") for i in range(10)])
    return (spark.range(rows).repartition(2).select(array_to_vector(x).alias("features"),
            ((F.col("id") * 7) % 11).cast("double").alias("label")))
train, score = table(100_000).cache(), table(1_000_000)
train.count()
stage = LightGBMRegressor(numIterations=10, numTasks=2)

def run_and_measure():
    model = stage.fit(train)
    model.transform(score).write.format("noop").mode("overwrite").save()
    jvm.java.lang.System.gc()
    heap = jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted()
    return (process.memory_info().rss - heap) / 2**20

run_and_measure()  # warm-up
print("RSS", json.dumps([run_and_measure() for _ in range(passes)]))
spark.stop()
"""


def test_native_memory_is_flat_over_repeated_fits_and_million_row_predictions():
    env = dict(subprocess_env(), MALLOC_ARENA_MAX="2")
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(PASSES)], capture_output=True, text=True, timeout=900,
                          env=env)
    slope, rss = native_floor_growth(proc.stdout + proc.stderr[-3000:], "(a fit and 1e6 predictions)")
    assert slope < MAX_SLOPE_MB, f"native RSS grows {slope:.1f} MiB per pass: {rss}"
