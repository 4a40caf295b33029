"""Distributed training: several LightGBM workers (one per Spark task, barrier mode) reach the quality of one
lightgbm process on held-out rows, in local[2] and in two executor JVMs; empty partitions and bad input end the fit
with a clear error or a model, never a hang."""

import textwrap

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")
from lightgbm_data import frame as ordered_frame  # noqa: E402
from pyspark.ml.linalg import Vectors  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from sklearn.datasets import load_breast_cancer, make_classification, make_regression  # noqa: E402
from sklearn.metrics import mean_squared_error, ndcg_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from cluster import last_json  # noqa: E402

SLACK = 0.005


def frame(spark, X, y, partitions, **extra):
    return ordered_frame(spark, X, y, partitions, ordered=False, **extra)


def scores(model, spark, X, col="probability"):
    out = model.transform(frame(spark, X, np.zeros(len(X)), 2)).orderBy("id").select(col).collect()
    return np.array([r[0][1] if col == "probability" else r[0] for r in out])


@pytest.fixture(scope="module")
def synthetic():
    X, y = make_classification(n_samples=20000, n_features=20, n_informative=10, random_state=42)
    return train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.mark.parametrize("parallelism", ["data_parallel", "voting_parallel"])
def test_two_workers_reach_one_process_quality(spark, synthetic, parallelism):
    from irbis.lightgbm import LightGBMClassifier

    Xtr, Xte, ytr, yte = synthetic
    df = frame(spark, Xtr, ytr, 2)
    model = LightGBMClassifier().setNumIterations(50).setNumTasks(2).setParallelism(parallelism).setSeed(1).fit(df)
    ours = roc_auc_score(yte, scores(model, spark, Xte))
    ref = lgb.train({"objective": "binary", "num_threads": 2, "verbose": -1, "seed": 1}, lgb.Dataset(Xtr, ytr), 50)
    theirs = roc_auc_score(yte, ref.predict(Xte))
    assert ours >= theirs - SLACK, (parallelism, ours, theirs)


def test_breast_cancer_held_out_auc(spark):
    from irbis.lightgbm import LightGBMClassifier

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=1, stratify=y)
    model = LightGBMClassifier().setNumIterations(40).setNumTasks(2).setMinDataInLeaf(5).fit(frame(spark, Xtr, ytr, 2))
    ref = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 5}, lgb.Dataset(Xtr, ytr), 40)
    assert roc_auc_score(yte, scores(model, spark, Xte)) >= roc_auc_score(yte, ref.predict(Xte)) - SLACK


def test_two_workers_regression_and_ranking(spark):
    from irbis.lightgbm import LightGBMRanker, LightGBMRegressor

    X, y = make_regression(n_samples=6000, n_features=10, noise=5.0, random_state=3)
    y = (y - y.mean()) / y.std()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    model = LightGBMRegressor().setNumIterations(60).setNumTasks(2).fit(frame(spark, Xtr, ytr, 2))
    ours = mean_squared_error(yte, scores(model, spark, Xte, "prediction")) ** 0.5
    ref = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(Xtr, ytr), 60)
    assert ours <= mean_squared_error(yte, ref.predict(Xte)) ** 0.5 + SLACK

    rng = np.random.default_rng(4)
    queries, per = 400, 10
    X = rng.normal(size=(queries * per, 6))
    y = np.clip(np.round(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=len(X))) + 1, 0, 4)
    q = np.repeat(np.arange(queries), per)
    train = q < 300
    df = frame(spark, X[train], y[train], 2, query=q[train].tolist())
    model = LightGBMRanker().setNumIterations(30).setNumTasks(2).setGroupCol("query").fit(df)
    pred = scores(model, spark, X[~train], "prediction")
    ref = lgb.train({"objective": "lambdarank", "verbose": -1}, lgb.Dataset(X[train], y[train],
                    group=np.full(300, per, dtype=np.int32)), 30)

    def ndcg(p):
        return np.mean([ndcg_score([y[~train][i:i + per]], [p[i:i + per]], k=5) for i in range(0, len(p), per)])

    assert ndcg(pred) >= ndcg(ref.predict(X[~train])) - SLACK
    # The rows came in two partitions in no order (repartition's round robin): the ranker gathered each query.
    shuffled = df.orderBy(F.rand(5)).repartition(2)
    again = LightGBMRanker().setNumIterations(30).setNumTasks(2).setGroupCol("query").fit(shuffled)
    assert ndcg(scores(again, spark, X[~train], "prediction")) >= ndcg(ref.predict(X[~train])) - SLACK


def test_an_empty_partition_neither_hangs_nor_breaks_training(spark):
    from irbis.lightgbm import LightGBMClassifier

    X, y = load_breast_cancer(return_X_y=True)
    df = frame(spark, X, y, 1).withColumn("k", F.lit(1)).repartition(2, "k")
    assert sorted(df.rdd.glom().map(len).collect()) == [0, len(y)]
    model = LightGBMClassifier().setNumIterations(10).setMinDataInLeaf(5).fit(df)
    assert roc_auc_score(y, scores(model, spark, X)) > 0.95


def bad(spark, df, stage, match):
    with pytest.raises(Exception, match=match):
        stage.fit(df)


def test_bad_input_is_refused_naming_column_row_or_param(spark):
    from irbis.lightgbm import LightGBMClassifier, LightGBMRanker, LightGBMRegressor

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:100], y[:100]
    df = frame(spark, X, y, 2)
    nan_label = df.withColumn("label", F.when(F.col("id") == 7, F.lit(float("nan"))).otherwise(F.col("label")))
    bad(spark, nan_label, LightGBMRegressor(), r"labelCol 'label' at row \d+ \(of partition \d\): NaN")
    null_label = df.withColumn("label", F.when(F.col("id") == 7, F.lit(None)).otherwise(F.col("label")))
    bad(spark, null_label, LightGBMClassifier(), r"labelCol 'label' at row \d+ \(of partition \d\): null")
    three = df.withColumn("label", F.when(F.col("id") == 3, F.lit(5.0)).otherwise(F.col("label")))
    bad(spark, three, LightGBMClassifier().setObjective("binary"), r"'binary' learns two classes.*has 6")
    fractional = df.withColumn("label", F.when(F.col("id") == 3, F.lit(0.5)).otherwise(F.col("label")))
    bad(spark, fractional, LightGBMClassifier(), r"0\.5\. Expected: a class index, an integer in \[0, 2\)")
    short = spark.createDataFrame([(0, Vectors.dense([1.0, 2.0]), 0.0), (1, Vectors.dense([1.0]), 1.0)],
                                  ["id", "features", "label"]).repartition(1)
    bad(spark, short, LightGBMRegressor(), r"featuresCol 'features' at row 1 .*size 1\. Expected: size 2")
    weighted = df.withColumn("w", F.when(F.col("id") == 4, F.lit(-1.0)).otherwise(F.lit(1.0)))
    bad(spark, weighted, LightGBMRegressor().setWeightCol("w"), r"weightCol 'w' at row \d+ .*-1\.0\. Expected: a finite non-negative")
    bad(spark, df, LightGBMRanker(), r"groupCol 'group' is not a column")
    bad(spark, df, LightGBMRegressor().setPassThroughArgs("max_cat_threshold=8 no_such_parameter=1"),
        r"passThroughArgs: unknown LightGBM parameter 'no_such_parameter'")
    bad(spark, df, LightGBMRegressor().setNumLeaves(4).setPassThroughArgs("num_leaves=8"),
        r"'num_leaves=8', but Param numLeaves is set to 4")
    bad(spark, df, LightGBMRegressor().setPassThroughArgs("num_iterations=5"),
        r"'num_iterations' \(LightGBM's num_iterations\) is set by Irbis\. Expected: numIterations")
    bad(spark, df, LightGBMRegressor().setPassThroughArgs("num_leaves=8 num_leaf=9"), r"num_leaves given 2 times")
    bad(spark, df, LightGBMRegressor().setNumTasks(3), r"numTasks: 3 workers, but the cluster has 2 task slots")
    bad(spark, df, LightGBMRegressor().setEarlyStoppingRound(5), r"earlyStoppingRound: 5 needs validation rows")
    with pytest.raises(Exception, match=r"numLeaves.*Expected"):
        LightGBMRegressor().setNumLeaves(1)


# In two executor JVMs, one on each worker of the shared standalone cluster: the same fit as in one, and a fit during
# which an executor JVM is killed, which Spark reruns as a whole barrier stage. The job waits until the worker has
# started a new executor, so that later jobs find two again.
CLUSTER_JOB = textwrap.dedent("""
    import json, os, signal, threading, time
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.metrics import roc_auc_score
    from pyspark.ml.linalg import Vectors
    from irbis.lightgbm import LightGBMClassifier

    X, y = make_classification(n_samples=8000, n_features=12, n_informative=6, random_state=5)
    n = 6000
    train = spark.createDataFrame([(Vectors.dense(X[i].tolist()), float(y[i])) for i in range(n)],
                                  ["features", "label"]).repartition(2).cache()
    train.count()
    test = spark.createDataFrame([(i, Vectors.dense(X[i].tolist())) for i in range(n, len(y))], ["id", "features"])

    def auc(model):
        p = model.transform(test).orderBy("id").select("probability").collect()
        return roc_auc_score(y[n:], [r[0][1] for r in p])

    stage = LightGBMClassifier().setNumIterations(200).setLearningRate(0.1).setNumTasks(2).setSeed(3).setTimeout(60)
    start = time.time()
    calm = stage.fit(train)
    calm_seconds = time.time() - start
    before = [p.pid for p in executors()]
    result = {}

    def kill_soon():
        time.sleep(float(args[0]))
        victim = executors()[0]
        result["killed"] = victim.pid
        os.kill(victim.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_soon)
    killer.start()
    start = time.time()
    disturbed = stage.fit(train)
    result["seconds"] = time.time() - start
    killer.join()
    wait_for_executors(2)
    result.update(calm_seconds=calm_seconds, before=before, after=[p.pid for p in executors()], calm=auc(calm), disturbed=auc(disturbed))
    print(json.dumps(result))
""")


def test_in_two_executor_jvms_and_with_an_executor_killed_mid_training(cluster_app):
    result = last_json(cluster_app.run("LightGBM with an executor killed", CLUSTER_JOB, 1.0, timeout=600))
    assert result["killed"] in result["before"] and result["killed"] not in result["after"], result
    assert len(result["after"]) == 2, result
    assert result["calm"] > 0.9, result
    assert abs(result["disturbed"] - result["calm"]) <= SLACK, result
