"""Native memory stays flat: every OnnxTensor and Result is closed, buffers are reused.

A leak of even one input or output tensor per batch would grow the JVM's resident memory by the
tensors' size times the number of batches; 1e6 rows in batches of 64 make that visible."""
import psutil

import onnx_models

ROWS = 1_000_000
BOUND_MB = 64


def test_rss_stays_flat_over_a_million_rows(spark, tmp_path):
    from irbis.onnx import ONNXModel
    path = tmp_path / "small.onnx"
    path.write_bytes(onnx_models.mlp(sizes=(8, 16, 4)).SerializeToString())
    stage = ONNXModel(modelLocation=str(path), softMaxDict={"logits": "p"})
    df = spark.range(ROWS).selectExpr("transform(sequence(1, 8), i -> cast((id * i) % 13 as float)) as x")
    jvm = spark.sparkContext._jvm
    process = psutil.Process(int(jvm.java.lang.ProcessHandle.current().pid()))

    def run_and_measure():
        stage.transform(df).write.format("noop").mode("overwrite").save()
        jvm.java.lang.System.gc()
        return process.memory_info().rss / 2**20

    warm = run_and_measure()  # JIT, heap sizing, session creation
    after = run_and_measure()
    print(f"JVM RSS after warm-up pass: {warm:.0f} MiB; after a second {ROWS} rows: {after:.0f} MiB")
    assert after - warm < BOUND_MB, f"RSS grew {after - warm:.0f} MiB over {ROWS} rows"
