"""FindBestModel and TuneHyperparameters from Python, with real Spark estimators: the chosen model is the
argmax of the reported table, and every number in the table is recomputed independently (pyspark fits on
the same folds, scikit-learn metrics)."""

import json

import numpy as np
import pytest
from pyspark.errors import IllegalArgumentException
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.linalg import Vectors
from pyspark.sql import functions as F
from sklearn import metrics as skm


@pytest.fixture(scope="module")
def train(spark):
    import irbis.train

    return irbis.train


@pytest.fixture(scope="module")
def data(spark):
    """Two overlapping Gaussian classes in 2-d, 60 rows (small: every fit is a Spark job)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=60)
    x = rng.normal(0, 1, size=(60, 2)) + np.outer(y, [1.0, 0.5])
    return spark.createDataFrame([(Vectors.dense(r), float(t)) for r, t in zip(x, y)], ["features", "label"]).cache()


def sk_metrics(scored):
    rows = scored.select("label", "prediction", "probability").collect()
    y = [r["label"] for r in rows]
    p = [r["prediction"] for r in rows]
    s = [r["probability"][1] for r in rows]
    return {"accuracy": skm.accuracy_score(y, p), "AUC": skm.roc_auc_score(y, s),
            "f1_macro": skm.f1_score(y, p, average="macro", zero_division=0)}


def test_find_best_model_picks_the_argmax_and_reports_sklearns_metrics(spark, train, data, tmp_path):
    models = [LogisticRegression(regParam=r, maxIter=20).fit(data) for r in (5.0, 0.0, 0.5)]
    best = train.FindBestModel(models=models, evaluationMetric="AUC").fit(data)
    table = best.getAllModelMetrics().orderBy("model_index").collect()
    assert [r["model"] for r in table] == [f"LogisticRegressionModel ({m.uid})" for m in models]
    for r, m in zip(table, models):
        expected = sk_metrics(m.transform(data))
        for name, value in expected.items():
            assert r[name] == pytest.approx(value, rel=1e-12), (m.uid, name)
    chosen = int(np.argmax([r["AUC"] for r in table]))
    assert best.getBestModel().uid == models[chosen].uid
    out = best.transform(data).select("prediction").collect()
    assert out == models[chosen].transform(data).select("prediction").collect()
    roc = [(r["false_positive_rate"], r["true_positive_rate"]) for r in best.getRocCurve().collect()]
    probs = [r["probability"][1] for r in models[chosen].transform(data).collect()]
    fpr, tpr, _ = skm.roc_curve([r["label"] for r in data.collect()], probs, drop_intermediate=False)
    assert roc == pytest.approx(list(zip(fpr, tpr)), rel=1e-12)
    best.write().overwrite().save(str(tmp_path / "best"))
    loaded = type(best).load(str(tmp_path / "best"))
    assert loaded.getAllModelMetrics().collect() == best.getAllModelMetrics().collect()
    assert loaded.getBestModel().uid == models[chosen].uid


def test_find_best_model_needs_scored_output(spark, train, data):
    from pyspark.ml.feature import SQLTransformer

    with pytest.raises(IllegalArgumentException, match="transform the data with the fitted model first"):
        train.FindBestModel(models=[SQLTransformer(statement="SELECT * FROM __THIS__")]).fit(data)


# 2 x 2: a cartesian product of two params, each at two values (every grid point is 3 folds of fits, here and again
# in the independent recomputation).
SPACE = {"0": {"regParam": {"grid": [0.0, 3.0]}, "fitIntercept": {"grid": [True, False]}}}


def test_tune_hyperparameters_grid_table_is_recomputed_independently(spark, train, data):
    lr = LogisticRegression(maxIter=5)
    tuner = train.TuneHyperparameters(models=[lr], paramSpace=json.dumps(SPACE), evaluationMetric="accuracy",
                                      numFolds=3, seed=42, parallelism=2)
    fitted = tuner.fit(data)
    results = fitted.getResults().collect()
    assert len(results) == 4  # the grid's cartesian product
    assert sorted((json.loads(r["params"])["regParam"], json.loads(r["params"])["fitIntercept"]) for r in results) == \
        [(0.0, False), (0.0, True), (3.0, False), (3.0, True)]
    folds = tuner.assignFolds(data).cache()
    # stratified and balanced: per class, fold sizes differ by at most one
    for label in (0.0, 1.0):
        sizes = [r["count"] for r in folds.where(F.col("label") == label).groupBy("fold").count().collect()]
        assert len(sizes) == 3 and max(sizes) - min(sizes) <= 1
    for r in results:
        params = json.loads(r["params"])
        per_fold = []
        for k in range(3):
            train_df = folds.where(F.col("fold") != k).drop("fold")
            test_df = folds.where(F.col("fold") == k).drop("fold")
            model = LogisticRegression(maxIter=5, **params).fit(train_df)
            per_fold.append(sk_metrics(model.transform(test_df))["accuracy"])
        assert r["fold_metrics"] == pytest.approx(per_fold, rel=1e-12), params
        assert r["metric"] == pytest.approx(float(np.mean(per_fold)), rel=1e-12)
    best = int(np.argmax([r["metric"] for r in results]))
    assert fitted.getBestIndex() == best
    best_params = json.loads(results[best]["params"])
    refit = LogisticRegression(maxIter=5, **best_params).fit(data)
    assert fitted.getBestModel().coefficients.toArray().tolist() == pytest.approx(refit.coefficients.toArray().tolist(), rel=1e-9)
    # the same seed gives the same folds and table; parallelism changes nothing
    again = train.TuneHyperparameters(models=[lr], paramSpace=json.dumps(SPACE), evaluationMetric="accuracy",
                                      numFolds=3, seed=42, parallelism=1).fit(data)
    assert again.getResults().collect() == results


def test_tune_hyperparameters_random_space_is_seeded(spark, train, data):
    space = {"0": {"regParam": {"random": {"min": 0.001, "max": 1.0, "type": "log"}},
                   "maxIter": {"random": {"min": 2, "max": 9, "type": "int"}}}}

    def run(seed):
        return train.TuneHyperparameters(models=[LogisticRegression()], paramSpace=json.dumps(space),
                                         searchMode="random", numRuns=3, numFolds=2, seed=seed,
                                         evaluationMetric="f1_macro").fit(data).getResults().collect()
    first = run(1)
    assert [r["params"] for r in first] == [r["params"] for r in run(1)]
    assert [r["params"] for r in first] != [r["params"] for r in run(2)]
    for r in first:
        p = json.loads(r["params"])
        assert 0.001 <= p["regParam"] <= 1.0 and isinstance(p["maxIter"], int) and 2 <= p["maxIter"] <= 9


def test_param_space_errors_name_the_model_and_param(spark, train, data):
    lr = LogisticRegression()
    with pytest.raises(IllegalArgumentException, match=r"paramSpace key '7' is neither a model index"):
        train.TuneHyperparameters(models=[lr], paramSpace='{"7": {}}').fit(data)
    with pytest.raises(IllegalArgumentException, match=r"paramSpace\['0'\]\.regParam: .* is not a valid value"):
        train.TuneHyperparameters(models=[lr], paramSpace='{"0": {"regParam": {"grid": [-1.0]}}}').fit(data)
    by_uid = train.TuneHyperparameters(models=[lr], numFolds=2,
                                       paramSpace=json.dumps({lr.uid: {"maxIter": {"grid": [1, 3]}}})).fit(data)
    assert len(by_uid.getResults().collect()) == 2
