"""lightgbm_train and lightgbm_predict: LightGBM on Spark against lightgbm in one Python process (the same LightGBM
version, data already in numpy), measured in the same run.

- train: make_classification(1e6 rows, 28 features, fixed seed), 100 iterations, 31 leaves; Irbis on local[2] with
  2 tasks of 1 thread each (the rows cached in Spark first), lightgbm with 2 threads. Irbis's time includes Spark's
  scheduling and the copy of each partition into LightGBM. Both models' AUC on the same 100,000 held-out rows is in
  the case text: it must agree within 0.005.
- predict: rows/s of the fitted model over 2e6 rows (transform to Spark's no-op sink) against Booster.predict with 2
  threads."""
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from pyspark.ml.feature import VectorAssembler
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from timing import best_of_alternating

from irbis.lightgbm import LightGBMClassifier

ROWS = 1_000_000
HELD_OUT = 100_000
PREDICT_ROWS = 2_000_000
FEATURES = 28
PARAMS = dict(numIterations=100, numLeaves=31)


def frame(spark, X, partitions, y=None):
    """`id` (the row's index, to put scored rows back in order), `features` and `label`, cached."""
    names = [f"f{i}" for i in range(X.shape[1])]
    pdf = pd.DataFrame(X, columns=names)
    pdf["id"] = np.arange(len(X))
    if y is not None:
        pdf["label"] = y.astype(float)
    df = spark.createDataFrame(pdf).repartition(partitions)
    df = VectorAssembler(inputCols=names, outputCol="features").transform(df)
    return df.select("id", "features", *(["label"] if y is not None else [])).cache()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(spark):
    # numpy to Spark through Arrow (row by row, 1e6 x 28 values take minutes).
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    X, y = make_classification(n_samples=ROWS + HELD_OUT, n_features=FEATURES, n_informative=14, random_state=7)
    Xtr, ytr, Xte, yte = X[:ROWS], y[:ROWS], X[ROWS:], y[ROWS:]
    train = frame(spark, Xtr, 2, ytr)
    train.count()
    stage = LightGBMClassifier(numTasks=2, numThreads=1, **PARAMS)
    fitted = {}

    def fit_irbis():
        fitted["model"] = stage.fit(train)

    def fit_lightgbm():
        fitted["booster"] = lgb.train({"objective": "binary", "num_threads": 2, "num_leaves": 31, "verbose": -1},
                                      lgb.Dataset(Xtr, ytr), 100)

    # Best of two alternating fits each, after a warm-up round (JIT, native loading).
    irbis_s, lgb_s = best_of_alternating(2, fit_irbis, fit_lightgbm)
    model, booster = fitted["model"], fitted["booster"]
    train.unpersist()
    held = frame(spark, Xte, 2)
    scored = model.transform(held).orderBy("id").select("probability").collect()
    ours = roc_auc_score(yte, [r[0][1] for r in scored])
    theirs = roc_auc_score(yte, booster.predict(Xte, num_threads=2))
    held.unpersist()

    Xp = np.tile(Xtr, (PREDICT_ROWS // ROWS, 1))
    scoring = frame(spark, Xp, 2)
    scoring.count()
    run_irbis = lambda: model.transform(scoring).write.format("noop").mode("overwrite").save()  # noqa: E731
    run_irbis()
    _, predict_s = timed(run_irbis)
    _, lgb_predict_s = timed(lambda: booster.predict(Xp, num_threads=2))
    scoring.unpersist()
    return [
        dict(benchmark="lightgbm_train", case=f"1e6x28, AUC {ours:.4f} vs {theirs:.4f}", unit="r/s",
             irbis=ROWS / irbis_s, baseline=ROWS / lgb_s, baseline_name="lightgbm 3.3.5, 2 threads", target=0.7),
        dict(benchmark="lightgbm_predict", case=f"{PREDICT_ROWS:.0e} rows, 28 features", unit="r/s",
             irbis=PREDICT_ROWS / predict_s, baseline=PREDICT_ROWS / lgb_predict_s,
             baseline_name="Booster.predict, 2 threads", target=0.8),
    ]
