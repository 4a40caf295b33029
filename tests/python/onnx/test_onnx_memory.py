"""Native memory stays flat: every OnnxTensor, Result and sequence element is closed, buffers are reused.

Each measurement runs in a fresh JVM of its own (a subprocess, `local[2]`, MALLOC_ARENA_MAX=2): the shared
test session has run hundreds of tests by then, and its allocator state makes RSS wander. The heap is fixed
and touched up front (-Xms = -Xmx, AlwaysPreTouch), so heap pages are all resident from the start and the RSS
less the heap is native memory. One warm-up pass, then PASSES passes, a reading after each.

Readings swing with no trend (a CI run saw 277, 606, 282, 428, 294, 602 MiB: freed native memory that the
allocator keeps, or not, at the moment of reading), so neither two readings nor a line fitted through all of
them bounds a leak. A leak raises the floor instead: the growth per pass is the lowest reading of the second
half less the lowest of the first half, divided by the passes between the halves.

Tensor outputs: 1e6 rows a pass (8 floats in, 4 logits + 4 softmax values out) in batches of 64; leaking the
tensors of every batch would add about 1e6 x (32 + 16) bytes, 46 MiB, per pass. Sequence-of-map outputs
(skl2onnx classifiers): each row's map is a native value of its own; leaking them adds several hundred bytes
per row, over 50 MiB per pass of 2e5 rows."""
import json
import subprocess
import sys

import pytest

import onnx_models
from conftest import subprocess_env
from helpers import native_floor_growth

pytestmark = pytest.mark.own_spark  # starts Spark of its own (conftest.py: own_spark)

PASSES = 6
MAX_SLOPE_MB = 20

MEASURE = r"""
import json, sys
import irbis, psutil
from irbis.onnx import ONNXModel
model, rows, batch, make_input, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
spark = irbis.session(master="local[2]", **{"spark.ui.enabled": "false", "spark.driver.memory": "1g",
                                             "spark.driver.extraJavaOptions": "-Xms1g -XX:+AlwaysPreTouch"})
jvm = spark.sparkContext._jvm
process = psutil.Process(int(jvm.java.lang.ProcessHandle.current().pid()))
stage = ONNXModel(modelLocation=model, miniBatchSize=batch, softMaxDict=json.loads(sys.argv[6]))
df = spark.range(rows).selectExpr(make_input)

def run_and_measure():
    stage.transform(df).write.format("noop").mode("overwrite").save()
    jvm.java.lang.System.gc()
    heap = jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted()
    return (process.memory_info().rss - heap) / 2**20

run_and_measure()  # warm-up: JIT, heap sizing, session creation
print("RSS", json.dumps([run_and_measure() for _ in range(passes)]))
spark.stop()
"""


def native_slope(tmp_path, model, rows, batch, make_input, softmax=None):
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    env = dict(subprocess_env(), MALLOC_ARENA_MAX="2")
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(path), str(rows), str(batch), make_input, str(PASSES),
                           json.dumps(softmax or {})], capture_output=True, text=True, timeout=900, env=env)
    return native_floor_growth(proc.stdout + proc.stderr[-3000:], f"of {rows} rows")


def test_native_memory_has_no_trend_over_six_million_rows(tmp_path):
    rows = 1_000_000
    slope, rss = native_slope(tmp_path, onnx_models.mlp(sizes=(8, 16, 4)), rows, 64,
                              "transform(sequence(1, 8), i -> cast((id * i) % 13 as float)) as x", {"logits": "p"})
    assert slope < MAX_SLOPE_MB, f"native RSS grows {slope:.1f} MiB per {rows} rows: {rss}"


def test_native_memory_has_no_trend_with_sequence_of_map_outputs(tmp_path):
    rows = 200_000
    model, _ = onnx_models.sklearn_logistic()
    slope, rss = native_slope(tmp_path, model, rows, 256, "transform(sequence(1, 4), i -> cast((id * i) % 7 as float)) as X")
    assert slope < MAX_SLOPE_MB, f"native RSS grows {slope:.1f} MiB per {rows} rows: {rss}"
