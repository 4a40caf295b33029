"""Irbis's stages on the standalone cluster (tests/python/cluster.py) give what they give in local[2], and a
pipeline saved by one application is loaded and used by another.

One job, the same code in both places: the shared cluster application (two executor JVMs, one per worker, that
reach Irbis only through spark.jars) and an application of its own in `local[2]` (a subprocess). On the camera-trap
photographs it runs ImageFeaturizer (EfficientNet-Lite0), fits TrainClassifier (logistic regression on the deep
features, snow leopard or not) and saves the fitted featurizer + classifier pipeline, combines the predictions of
each sequence with EnsembleByKey, explains two photographs with ImageLIME through that pipeline, and evaluates an
ONNXModel given as a payload file and as a model folder with external data. A second application on the cluster
then loads the saved pipeline and predicts the same photographs. Each run also says which executor JVMs did the
featurizing, so the cluster's results cannot have come from the driver alone.
"""

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cluster import last_json
from conftest import ROOT, subprocess_env
from image_data import CAMERA_TRAPS, TRUNCATED

MODELS = ROOT.parent / "shared" / "models"
CLASSIFIER = MODELS / "efficientnet_lite0.onnx"

pytestmark = [pytest.mark.own_spark,
              pytest.mark.skipif(not CLASSIFIER.is_file() or not CAMERA_TRAPS.is_dir(),
                                 reason="needs ../shared/models and ../shared/data")]

# args: [data folder, classifier ONNX, payload ONNX, model folder, where to save the pipeline or ""]
JOB = """
import json, os
import psutil
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.sql import functions as F
from irbis.featurize import ImageFeaturizer
from irbis.lime import ImageLIME
from irbis.onnx import ONNXModel
from irbis.stages import EnsembleByKey
from irbis.train import TrainClassifier

data, classifier, payload, folder, save_to = args

@F.udf("long")
def executor_jvm():
    # a Python worker's ancestors include the JVM that started it: an executor's, or the driver's in local mode
    return next((p.pid for p in psutil.Process(os.getpid()).parents() if p.name() == "java"), -1)

labels = spark.read.csv(data + "/labels.csv", header=True).select(
    "path", "sequence", F.col("is_snow_leopard").cast("int").alias("label"))
files = (spark.read.format("binaryFile").load(data + "/*/*.jpg")
         .withColumn("path", F.regexp_extract("path", r"([^/]+/[^/]+)$", 1))
         .join(labels, "path", "left").repartition(4, "path"))
featurizer = ImageFeaturizer(modelLocation=classifier, inputCol="content", outputCol="deep", miniBatchSize=8,
                             inputSize=224, resizeShortSide=256, channelOrder="RGB", scale=1 / 255,
                             mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
featurized = featurizer.transform(files).withColumn("jvm", executor_jvm()).cache()
rows = featurized.select("path", "deep", "error", "jvm").collect()
jvms = sorted({r.jvm for r in rows})
result = {"features": {r.path: None if r.deep is None else r.deep.toArray().tolist() for r in rows},
          "errors": {r.path: r.error for r in rows if r.error},
          "jvms": jvms, "workers": sorted({psutil.Process(j).ppid() for j in jvms if j > 0}),
          "driver": int(spark._jvm.java.lang.ProcessHandle.current().pid())}

train = featurized.where("deep IS NOT NULL AND label IS NOT NULL").select("deep", "label")
trained = TrainClassifier(labelCol="label", model=LogisticRegression(maxIter=50, regParam=0.1)).fit(train)
pipeline = PipelineModel(stages=[featurizer, trained])
if save_to:
    pipeline.write().save(save_to)
# the classifier refuses a null feature vector: predict the photographs that decode
decoded = files.where(F.col("path").isin([p for p, f in result["features"].items() if f is not None]))
predicted = pipeline.transform(decoded)
result["predictions"] = {r.path: r.probability[1] for r in predicted.select("path", "probability").collect()}

ensembled = EnsembleByKey(keys=["sequence"], cols=["p"], colNames=["mean_p"]).transform(
    predicted.select("sequence", F.udf(lambda v: float(v[1]), "double")("probability").alias("p")))
result["sequences"] = {r.sequence: r.mean_p for r in ensembled.collect()}

others = sorted(p for p in result["predictions"] if p.startswith("other/"))
explained = files.where(F.col("path").isin(["snow_leopard/avgarch_2012-11-24_16-59-05.jpg", others[0]]))
lime = ImageLIME(model=pipeline, inputCol="content", targetCol="probability", targetClasses=[1], numSamples=80,
                 seed=7)
result["lime"] = {r.path: r.explanation[0].weights.toArray().tolist() + [r.explanation[0].intercept,
                                                                          r.explanation[0].r2]
                  for r in lime.transform(explained).select("path", "explanation").collect()}

tensors = spark.range(64).selectExpr(
    "id", "transform(sequence(1, 64), i -> cast((id * i) % 7 as float)) as x").repartition(4)
for name, location in (("payload", payload), ("folder", folder)):
    out = ONNXModel(modelLocation=location).transform(tensors).withColumn("jvm", executor_jvm())
    got = out.orderBy("id").collect()
    result[name] = [r.asDict().get("logits") for r in got]
    result[name + "_jvms"] = sorted({r.jvm for r in got})
print(json.dumps(result))
"""

# A second application: the pipeline the first one saved, loaded and applied to the same photographs.
LOAD = """
import json, os, sys
import psutil
import irbis
from pyspark.ml import PipelineModel
from pyspark.sql import functions as F

url, data, saved, decoded = sys.argv[1:4] + [json.loads(sys.argv[4])]
spark = irbis.session(master=url, app_name="irbis-tests-second-application", **{
    "spark.ui.enabled": "false", "spark.cores.max": "2", "spark.executor.cores": "1",
    "spark.executor.memory": "1g"})

@F.udf("long")
def executor_jvm():
    return next((p.pid for p in psutil.Process(os.getpid()).parents() if p.name() == "java"), -1)

files = (spark.read.format("binaryFile").load(data + "/*/*.jpg")
         .withColumn("path", F.regexp_extract("path", r"([^/]+/[^/]+)$", 1)).repartition(4, "path"))
out = PipelineModel.load(saved).transform(files.where(F.col("path").isin(decoded))) \\
    .select("path", "probability", executor_jvm().alias("jvm")).collect()
jvms = sorted({r.jvm for r in out})
print(json.dumps({"predictions": {r.path: r.probability[1] for r in out}, "jvms": jvms,
                  "workers": sorted({psutil.Process(j).ppid() for j in jvms if j > 0}),
                  "driver": int(spark._jvm.java.lang.ProcessHandle.current().pid()),
                  "app": spark.sparkContext.applicationId}))
spark.stop()
"""

LOCAL = """
import json, sys
import irbis
spark = irbis.session(master="local[2]", **{"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})
args = json.loads(sys.argv[1])
exec(compile(sys.argv[2], "job", "exec"))
spark.stop()
"""


def onnx_inputs(tmp_path):
    """An MLP as a payload file and as a folder with its weights in an external data file."""
    import onnx_models

    payload = tmp_path / "mlp.onnx"
    payload.write_bytes(onnx_models.mlp().SerializeToString())
    return str(payload), str(onnx_models.external_folder(tmp_path, "mlp_folder", onnx_models.mlp()))


def run_python(log, code, *args, timeout=600):
    """A Python application in a process of its own, its output in files `log`.out and .err; its last JSON line."""
    with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                              env=subprocess_env(), stdout=out, stderr=err, timeout=timeout)
    stdout, stderr = (open(f"{log}.{k}").read() for k in ("out", "err"))
    assert proc.returncode == 0, stdout[-3000:] + stderr[-5000:]
    return last_json(stdout)


def assert_close(a, b, what, tol):
    assert a.keys() == b.keys(), what
    for k in a:
        x, y = a[k], b[k]
        if x is None or y is None:
            assert x is None and y is None, (what, k)
            continue
        x, y = np.asarray(x, float), np.asarray(y, float)
        assert x.shape == y.shape and np.allclose(x, y, rtol=tol, atol=tol), \
            (what, k, float(np.max(np.abs(x - y))))


def assert_on_both_workers(result, cluster):
    assert len(result["jvms"]) == 2 and result["driver"] not in result["jvms"] and -1 not in result["jvms"], result
    assert result["workers"] == sorted(cluster.pids[1:]), (result["workers"], cluster.pids)  # one on each worker


@pytest.fixture(scope="module")
def runs(cluster_app, standalone_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster-pipelines")
    payload, folder = onnx_inputs(tmp)
    saved = tmp / "saved-pipeline"
    args = [str(CAMERA_TRAPS), str(CLASSIFIER), payload, folder]
    # one application after another: side by side with the other suites, more JVMs at once exhaust the memory
    cluster = last_json(cluster_app.run("stages on the cluster", JOB, *args, str(saved), timeout=900))
    local = run_python(tmp / "local", LOCAL, json.dumps(args + [""]), JOB)
    second = run_python(tmp / "second", LOAD, standalone_cluster.url, CAMERA_TRAPS, saved,
                        json.dumps(list(cluster["predictions"])))
    return cluster, local, second


def test_image_featurizer_on_the_cluster_equals_local(runs, standalone_cluster):
    cluster, local, _ = runs
    assert_on_both_workers(cluster, standalone_cluster)
    assert len(cluster["features"]) == 45 and cluster["errors"] == local["errors"]
    assert list(cluster["errors"]) == [f"malformed/{TRUNCATED}"], cluster["errors"]
    assert_close(cluster["features"], local["features"], "ImageFeaturizer", 1e-5)


def test_train_classifier_and_ensemble_by_key_on_the_cluster_equal_local(runs):
    cluster, local, _ = runs
    assert_close(cluster["predictions"], local["predictions"], "TrainClassifier", 1e-6)
    assert_close(cluster["sequences"], local["sequences"], "EnsembleByKey", 1e-6)
    # EnsembleByKey's mean, recomputed here from the predictions and the labels file
    import csv
    sequence = {r["path"]: r["sequence"] for r in csv.DictReader(open(CAMERA_TRAPS / "labels.csv"))}
    groups = {}
    for path, p in cluster["predictions"].items():
        groups.setdefault(sequence[path], []).append(p)
    assert_close(cluster["sequences"], {k: sum(v) / len(v) for k, v in groups.items()}, "mean by sequence", 1e-9)


def test_image_lime_on_the_cluster_equals_local(runs):
    cluster, local, _ = runs
    assert len(cluster["lime"]) == 2
    assert_close(cluster["lime"], local["lime"], "ImageLIME", 1e-6)
    for values in cluster["lime"].values():  # a weight per superpixel, then the intercept and R^2
        assert len(values) > 7 and all(map(math.isfinite, values)) and 0 <= values[-1] <= 1


def test_onnx_model_payload_and_folder_on_the_cluster_equal_local(runs):
    cluster, local, _ = runs
    for form in ("payload", "folder"):
        assert len(cluster[form]) == 64 and len(cluster[form][0]) == 10, form
        assert np.allclose(np.array(cluster[form], float), np.array(local[form], float), rtol=1e-6, atol=1e-6), form
        assert len(cluster[form + "_jvms"]) == 2 and set(cluster[form + "_jvms"]) == set(cluster["jvms"]), cluster
    assert cluster["payload"] == cluster["folder"]  # the same model in both forms


def test_a_second_application_loads_the_saved_pipeline(runs, standalone_cluster):
    cluster, _, second = runs
    assert_on_both_workers(second, standalone_cluster)
    assert set(second["jvms"]).isdisjoint(cluster["jvms"])  # executors of its own
    assert_close(second["predictions"], cluster["predictions"], "the loaded pipeline", 1e-9)
