"""Native memory stays flat: every OnnxTensor and Result is closed, buffers are reused.

Each pass runs 1e6 rows (8 floats in, 4 logits + 4 softmax values out) in batches of 64. Leaking the
tensors of every batch would add about 1e6 x (32 + 16) bytes, 46 MiB, per pass. Resident memory of an
idle JVM moves by tens of MiB from pass to pass (malloc arenas, JIT) with no trend, so the test bounds the
slope of a line fitted through the readings, not the difference of two. What is measured is the RSS less
the JVM's committed heap: a busy machine makes G1 grow the heap, which is not native memory."""
import numpy as np
import psutil

import onnx_models

ROWS = 1_000_000
PASSES = 6
MAX_SLOPE_MB = 12


def rss_slope(spark, stage, df, rows):
    """Runs `stage` over `df` once to warm up, then PASSES times, and returns the JVM RSS trend per pass."""
    jvm = spark.sparkContext._jvm
    process = psutil.Process(int(jvm.java.lang.ProcessHandle.current().pid()))

    def run_and_measure():
        stage.transform(df).write.format("noop").mode("overwrite").save()
        jvm.java.lang.System.gc()
        heap = jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted()
        return (process.memory_info().rss - heap) / 2**20

    run_and_measure()  # warm-up: JIT, heap sizing, session creation
    rss = [run_and_measure() for _ in range(PASSES)]
    slope = np.polyfit(np.arange(PASSES), rss, 1)[0]
    print(f"JVM RSS less committed heap after each pass of {rows} rows (MiB): {[round(r) for r in rss]}; slope {slope:.1f} MiB/pass")
    return slope, rss


def test_rss_has_no_trend_over_six_million_rows(spark, tmp_path):
    from irbis.onnx import ONNXModel
    path = tmp_path / "small.onnx"
    path.write_bytes(onnx_models.mlp(sizes=(8, 16, 4)).SerializeToString())
    stage = ONNXModel(modelLocation=str(path), softMaxDict={"logits": "p"}, miniBatchSize=64)
    df = spark.range(ROWS).selectExpr("transform(sequence(1, 8), i -> cast((id * i) % 13 as float)) as x")
    slope, rss = rss_slope(spark, stage, df, ROWS)
    assert slope < MAX_SLOPE_MB, f"RSS grows {slope:.1f} MiB per {ROWS} rows: {rss}"


def test_rss_has_no_trend_with_sequence_of_map_outputs(spark, tmp_path):
    """skl2onnx classifiers return seq(map): each row's map is a native value of its own. Leaking them
    would add several hundred bytes per row, over 50 MiB per pass of 2e5 rows."""
    from irbis.onnx import ONNXModel
    rows = 200_000
    model, _ = onnx_models.sklearn_logistic()
    path = tmp_path / "sk.onnx"
    path.write_bytes(model.SerializeToString())
    stage = ONNXModel(modelLocation=str(path), miniBatchSize=256)
    df = spark.range(rows).selectExpr("transform(sequence(1, 4), i -> cast((id * i) % 7 as float)) as X")
    slope, rss = rss_slope(spark, stage, df, rows)
    assert slope < MAX_SLOPE_MB, f"RSS grows {slope:.1f} MiB per {rows} rows: {rss}"
