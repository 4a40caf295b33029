"""onnx_throughput: rows/s of ONNXModel against raw ONNX Runtime (Python API, one process, best batch
size, 2 intra-op threads = the machine's cores) and against pyspark's predict_batch_udf calling
onnxruntime, on (a) EfficientNet-Lite0 at 224x224 over tensors already in the DataFrame and (b) a small
MLP (64 -> 256 -> 256 -> 10) over 2e6 rows. Spark runs local[2]: 2 tasks x 1 ORT thread each."""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.ml.functions import predict_batch_udf
from pyspark.sql.types import ArrayType, FloatType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
import onnx_models  # noqa: E402

EFFICIENTNET = ROOT.parent / "shared" / "models" / "efficientnet_lite0.onnx"


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def raw_ort(model_bytes, name, x, batch_sizes):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    session = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    best = 0.0
    for b in batch_sizes:
        session.run(None, {name: x[:b]})
        seconds = timed(lambda b=b: [session.run(None, {name: x[i:i + b]}) for i in range(0, len(x), b)])
        best = max(best, len(x) / seconds)
    return best


def predict_udf_rate(df, model_path, name, shape, batch):
    def make_predict():
        import numpy as np
        import onnxruntime as rt
        opts = rt.SessionOptions()
        opts.intra_op_num_threads = 1
        s = rt.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
        out = s.get_outputs()[0].name

        def predict(inputs):
            return s.run([out], {name: inputs.astype(np.float32)})[0]
        return predict

    udf = predict_batch_udf(make_predict, return_type=ArrayType(FloatType()), batch_size=batch,
                            input_tensor_shapes=[shape])
    df.limit(batch).select(udf(name)).write.format("noop").mode("overwrite").save()  # warm-up: workers, sessions
    return df.count() / timed(lambda: df.select(udf(name)).write.format("noop").mode("overwrite").save())


def irbis_rate(df, path, n, batch, repeats=3):
    """Best of `repeats` passes: one pass varies by +-20% here (as raw ORT's, which is also a best of)."""
    from irbis.onnx import ONNXModel
    stage = ONNXModel(modelLocation=str(path), miniBatchSize=batch, intraOpNumThreads=1)
    stage.transform(df.limit(8)).collect()
    return max(n / timed(lambda: stage.transform(df).write.format("noop").mode("overwrite").save())
               for _ in range(repeats))


def case(spark, tmp, label, model_bytes, name, x, batch_sizes, udf_batch, sweep):
    """x is the exact data both sides see: Spark reads it from a cached DataFrame built from it. ONNXModel
    runs with its default (automatic) miniBatchSize, then with each size in `sweep`: the measurement behind
    the default."""
    path = Path(tmp) / f"{label.split()[0]}.onnx"
    path.write_bytes(model_bytes)
    n = len(x)
    flat = x.reshape(n, -1)
    parquet = Path(tmp) / f"{label.split()[0]}.parquet"
    values = pa.array(flat.ravel())
    pq.write_table(pa.table({name: pa.ListArray.from_arrays(pa.array(np.arange(0, len(values) + 1, flat.shape[1],
                                                                                dtype=np.int32)), values)}), parquet,
                   row_group_size=max(1, 2_000_000 // flat.shape[1]))
    df = spark.read.parquet(str(parquet)).repartition(2).cache()
    df.count()
    irbis_rate(df, path, n, 0, repeats=1)  # a full pass first, so that no configuration pays for the JIT's warm-up
    auto = irbis_rate(df, path, n, 0)
    swept = {b: irbis_rate(df, path, n, b) for b in sweep}
    raw = raw_ort(model_bytes, name, x, batch_sizes)
    udf_rate = predict_udf_rate(df, str(path), name, list(x.shape[1:]), udf_batch)
    df.unpersist()
    rows = [dict(benchmark="onnx_throughput", case=label, unit="r/s", irbis=auto, baseline=raw,
                 baseline_name="raw ORT python, 2 threads"),
            dict(benchmark="onnx_throughput", case=label, unit="r/s", irbis=auto, baseline=udf_rate,
                 baseline_name="predict_batch_udf + ORT")]
    return rows + [dict(benchmark="onnx_throughput", case=f"{label.split()[0]} batch={b}", unit="r/s", irbis=r,
                        baseline=raw, baseline_name="raw ORT python, 2 threads") for b, r in swept.items()]


def run(spark):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if EFFICIENTNET.exists():
            x = np.random.default_rng(0).uniform(-1, 1, (256, 3, 224, 224)).astype(np.float32)
            rows += case(spark, tmp, "efficientnet-lite0 x256", EFFICIENTNET.read_bytes(), "input", x, [8, 16, 32], 16,
                         [4, 16, 64])
        x = np.random.default_rng(1).random((2_000_000, 64), dtype=np.float32)
        rows += case(spark, tmp, "mlp 64-256-256-10 x2e6", onnx_models.mlp().SerializeToString(), "x", x,
                     [256, 1024, 4096, 16384], 1024, [64, 256, 1024, 4096])
    return rows
