"""LightGBM models where Spark ML models go: inside Pipelines under CrossValidator, Irbis's TuneHyperparameters
and FindBestModel, saved and loaded, over a streaming DataFrame, and served by Spark Serving."""

import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.tuning import CrossValidator, ParamGridBuilder
from pyspark.sql import functions as F
from sklearn.datasets import load_breast_cancer

COLS = [f"x{i}" for i in range(30)]


@pytest.fixture(scope="module")
def cancer(spark):
    X, y = load_breast_cancer(return_X_y=True)
    rows = [tuple([i] + X[i].tolist() + [float(y[i])]) for i in range(len(y))]
    return spark.createDataFrame(rows, ["id"] + COLS + ["label"]).repartition(2).cache()


def pipeline(**params):
    from irbis.lightgbm import LightGBMClassifier

    return Pipeline(stages=[VectorAssembler(inputCols=COLS, outputCol="features"),
                            LightGBMClassifier(numIterations=20, minDataInLeaf=5, **params)])


def test_cross_validator_picks_among_lightgbm_pipelines_and_the_best_saves_and_loads(spark, cancer, tmp_path):
    lgbm = pipeline().getStages()[1]
    grid = ParamGridBuilder().addGrid(lgbm.numLeaves, [2, 15]).build()
    cv = CrossValidator(estimator=Pipeline(stages=[pipeline().getStages()[0], lgbm]), estimatorParamMaps=grid,
                        evaluator=BinaryClassificationEvaluator(), numFolds=2, seed=3)
    fitted = cv.fit(cancer)
    assert len(fitted.avgMetrics) == 2 and max(fitted.avgMetrics) > 0.95
    best = fitted.bestModel
    best.write().overwrite().save(str(tmp_path / "best"))
    loaded = PipelineModel.load(str(tmp_path / "best"))
    a = best.transform(cancer).orderBy("id").select("probability").collect()
    b = loaded.transform(cancer).orderBy("id").select("probability").collect()
    assert a == b
    assert type(loaded.stages[1]).__name__ == "LightGBMClassificationModel"


def test_find_best_model_and_tune_hyperparameters_take_lightgbm(spark, cancer):
    from irbis.lightgbm import LightGBMClassifier
    from irbis.train import FindBestModel, TuneHyperparameters

    data = VectorAssembler(inputCols=COLS, outputCol="features").transform(cancer)
    shallow = LightGBMClassifier(numIterations=3, numLeaves=2).fit(data)
    deep = LightGBMClassifier(numIterations=30, minDataInLeaf=5).fit(data)
    best = FindBestModel(models=[shallow, deep], evaluationMetric="AUC").fit(data)
    assert best.getBestModel().uid == deep.uid
    tuned = TuneHyperparameters(models=[LightGBMClassifier(numIterations=10, minDataInLeaf=5)],
                                paramSpace=json.dumps({"0": {"numLeaves": {"grid": [3, 7]}}}),
                                evaluationMetric="AUC", numFolds=2, seed=1).fit(data)
    assert tuned.getResults().count() == 2


def test_streaming_rows_get_the_batch_predictions(spark, cancer, tmp_path):
    model = pipeline().fit(cancer)
    src = tmp_path / "incoming"
    cancer.write.parquet(str(src))
    stream = spark.readStream.schema(cancer.schema).parquet(str(src))
    query = model.transform(stream).select("id", "probability").writeStream.format("memory") \
        .queryName("lightgbm_stream").start()
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    got = {r.id: r.probability for r in spark.table("lightgbm_stream").collect()}
    want = {r.id: r.probability for r in model.transform(cancer).select("id", "probability").collect()}
    assert got == want


def post(url, body):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body.encode(), method="POST"), timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_spark_serving_serves_a_lightgbm_pipeline(spark, cancer):
    from irbis.serving import make_reply, parse_request, server, url

    model = pipeline().fit(cancer)
    # "id" names the request itself in a served query: the rows go as "row".
    table = cancer.withColumnRenamed("id", "row")
    schema = table.drop("label").schema
    requests = server(spark.readStream).address("127.0.0.1", 0, "lightgbm_api").load()
    replies = model.transform(parse_request(requests, schema)).select(
        "id", make_reply(F.struct("row", vector_to_array("probability")[1].alias("p"))))
    query = server(replies.writeStream).replyTo("lightgbm_api").trigger(processingTime="50 milliseconds").start()
    try:
        rows = table.orderBy("row").limit(12).collect()
        expected = {r.row: r.probability[1] for r in model.transform(table).collect()}
        for r in rows:
            code, body = post(url("lightgbm_api"), json.dumps({c: r[c] for c in ["row"] + COLS}))
            assert code == 200, body
            answer = json.loads(body)
            assert answer["row"] == r.row and np.isclose(answer["p"], expected[r.row], rtol=0, atol=1e-12)
    finally:
        query.stop()
