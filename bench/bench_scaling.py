"""scaling: the same jobs on a real Spark standalone cluster (pyspark's own Spark: one Master and Workers started
with bin/spark-class, tests/python/cluster.py) with 1 worker and with 2 workers of 1 core each, one application per
cluster reaching the executors through spark.jars only (what irbis.session sets), every job with the same tasks
(about 16):

- featurize: ImageFeaturizer (EfficientNet-Lite0) over the few hundred JPEGs of featurize_throughput, read from disk;
- onnx: ONNXModel (EfficientNet-Lite0) over 512 tensors already in a cached DataFrame;
- lightgbm: LightGBMClassifier training, 200,000 rows x 28 features cached, 100 iterations, one task per worker.

Each row gives the throughput with 2 workers against 1 (the speed-up, target >= 1.8x): the best of two warm passes.
The lines printed before the table say where the time of a short job goes: the application's start (driver and
executors registered), and each job's first pass against a warm one (the model shipped to each executor, its ONNX
session or natives loaded, the JIT). The driver, the Master and the Workers share the machine's two cores with the
executors, so 2 workers cannot show all of a second machine's gain."""
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bench_featurize_throughput import models, sample_jpegs
from sklearn.datasets import make_classification

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
from cluster import StandaloneCluster  # noqa: E402

TARGET = 1.8
TASKS = 16
IMAGES = 300
TENSORS = 512
GBM_ROWS, GBM_FEATURES = 200_000, 28

DRIVER = r"""
import json, sys, time
import irbis
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import functions as F

url, workers, cfg = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
started = time.perf_counter()
spark = irbis.session(master=url, app_name=f"irbis-bench-scaling-{workers}", **{
    "spark.ui.enabled": "false", "spark.cores.max": str(workers), "spark.executor.cores": "1",
    "spark.executor.memory": "1500m", "spark.sql.shuffle.partitions": str(cfg["tasks"]),
    "spark.sql.files.maxPartitionBytes": str(cfg["split_bytes"]), "spark.sql.files.openCostInBytes": "0"})
while spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() < workers + 1:
    time.sleep(0.1)
result = {"start": time.perf_counter() - started}

def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start

def passes(name, n, fn):
    first = timed(fn)
    result[name] = {"n": n, "first": first, "warm": min(timed(fn) for _ in range(2))}

def noop(df):
    df.write.format("noop").mode("overwrite").save()

from irbis.featurize import ImageFeaturizer
from irbis.onnx import ONNXModel
from irbis.lightgbm import LightGBMClassifier

files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(cfg["images"])
result["file_tasks"] = files.rdd.getNumPartitions()  # the same with 1 and 2 workers: same files, same split size
featurizer = ImageFeaturizer(inputCol="content", errorCol="error", **cfg["featurizer"])
passes("featurize", cfg["images_n"], lambda: noop(featurizer.transform(files).select("features", "error")))

tensors = spark.read.parquet(cfg["tensors"]).repartition(cfg["tasks"]).cache()
tensors.count()
onnx = ONNXModel(modelLocation=cfg["model"], intraOpNumThreads=1)
passes("onnx", cfg["tensors_n"], lambda: noop(onnx.transform(tensors)))
tensors.unpersist()

table = spark.read.parquet(cfg["table"])
train = VectorAssembler(inputCols=[c for c in table.columns if c != "label"], outputCol="features").transform(table)
train = train.select("features", "label").repartition(workers).cache()
train.count()
gbm = LightGBMClassifier(numTasks=workers, numThreads=1, numIterations=100, numLeaves=31)
passes("lightgbm", cfg["table_n"], lambda: gbm.fit(train))
spark.stop()
print(json.dumps(result))
"""

JOBS = [("featurize", "img/s"), ("onnx", "r/s"), ("lightgbm", "r/s")]


def on_cluster(tmp: Path, workers: int, cfg: dict, driver: str = DRIVER, bench: str = "scaling") -> dict:
    """Runs `driver` (with the master's URL, `workers` and `cfg` as arguments) as the one application of a cluster
    of `workers` workers in tmp/cluster-N, which stays for its logs; returns the JSON it printed last."""
    folder = tmp / f"cluster-{workers}"
    folder.mkdir()
    cluster = StandaloneCluster(folder, workers=workers)
    try:
        proc = subprocess.run([sys.executable, "-c", driver, cluster.url, str(workers), json.dumps(cfg)],
                              env=cluster.env, capture_output=True, text=True, timeout=1800, cwd=str(folder))
    finally:
        cluster.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{bench}, {workers} worker(s): the driver exited {proc.returncode}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def inputs(tmp: Path) -> dict:
    originals = sample_jpegs()
    images = tmp / "images"
    total = 0
    for k in range(math.ceil(IMAGES / len(originals))):
        (images / f"copy{k}").mkdir(parents=True)
        for p in originals:
            total += Path(shutil.copyfile(p, images / f"copy{k}" / f"{p.parent.name}-{p.name}")).stat().st_size
    n_images = sum(1 for _ in images.rglob("*.jpg"))
    classifier, _, pre, which = models(str(tmp))
    featurizer = {"modelLocation": str(classifier)}
    if which.startswith("shared"):  # no metadata: the same preprocessing as Params
        featurizer.update({k: pre[k] for k in ("inputSize", "resizeShortSide", "channelOrder", "scale", "mean", "std")})

    x = np.random.default_rng(0).uniform(-1, 1, (TENSORS, 3 * 224 * 224)).astype(np.float32)
    values = pa.array(x.ravel())
    offsets = pa.array(np.arange(0, len(values) + 1, x.shape[1], dtype=np.int32))
    pq.write_table(pa.table({pre.get("input", "input"): pa.ListArray.from_arrays(offsets, values)}),
                   tmp / "tensors.parquet", row_group_size=16)

    X, y = make_classification(n_samples=GBM_ROWS, n_features=GBM_FEATURES, n_informative=14, random_state=7)
    columns = {f"f{i}": X[:, i] for i in range(GBM_FEATURES)}
    pq.write_table(pa.table({**columns, "label": y.astype(float)}), tmp / "table.parquet")
    return {"tasks": TASKS, "split_bytes": math.ceil(total / TASKS), "images": str(images), "images_n": n_images,
            "featurizer": featurizer, "model": str(classifier), "tensors": str(tmp / "tensors.parquet"),
            "tensors_n": TENSORS, "table": str(tmp / "table.parquet"), "table_n": GBM_ROWS, "which": which}


def run(spark):
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        cfg = inputs(tmp)
        one, two = on_cluster(tmp, 1, cfg), on_cluster(tmp, 2, cfg)
    print(f"scaling: {cfg['images_n']} JPEGs in {one['file_tasks']} tasks, {cfg['which']}; application start "
          f"(driver and executors registered): {one['start']:.1f} s with 1 worker, {two['start']:.1f} s with 2")
    rows = []
    for job, unit in JOBS:
        for workers, r in ((1, one), (2, two)):
            j = r[job]
            print(f"scaling: {job}, {workers} worker(s): first pass {j['first']:.1f} s, warm pass {j['warm']:.1f} s "
                  f"(the first pass's extra {j['first'] - j['warm']:.1f} s: model shipping, session or natives, JIT)")
        rows.append(dict(benchmark="scaling", case=f"{job}, 2 workers vs 1", unit=unit,
                         irbis=two[job]["n"] / two[job]["warm"], baseline=one[job]["n"] / one[job]["warm"],
                         baseline_name="the same job on 1 worker", target=TARGET))
    return rows
