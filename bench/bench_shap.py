"""shap: rows explained per second by VectorSHAP against the shap package's KernelExplainer, measured in the same run.

The model: a Spark LogisticRegression on make_classification(8 features, fixed seed); shap gets the same model as a
numpy function of its coefficients (shap's fastest case: no Spark in its loop). The same settings for both: 50
background rows, 200 coalitions per row (fewer than the 254 that 8 features have, so both sample), the class-1
probability explained, no L1 feature selection. Irbis runs on local[2], the rows' samples in one distributed pass
(the explained rows cached first, the output written to Spark's no-op sink); shap explains the rows in one call
in this process."""
import numpy as np
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.linalg import Vectors
from sklearn.datasets import make_classification
from timing import best_of_alternating

from irbis.lime import VectorSHAP

FEATURES = 8
BACKGROUND = 50
COALITIONS = 200
ROWS = 200


def run(spark):
    import shap

    X, y = make_classification(n_samples=1000 + ROWS, n_features=FEATURES, n_informative=5, random_state=3)
    train = spark.createDataFrame([(Vectors.dense(x), float(t)) for x, t in zip(X[:1000], y[:1000])],
                                  ["features", "label"])
    model = LogisticRegression().fit(train)
    w, b = model.coefficients.toArray(), model.intercept
    background, rows = X[:BACKGROUND], X[1000:]
    bg_df = spark.createDataFrame([(Vectors.dense(x),) for x in background], ["features"])
    rows_df = spark.createDataFrame([(Vectors.dense(x),) for x in rows], ["features"]).repartition(2).cache()
    rows_df.count()
    explainer = VectorSHAP(model=model, targetClasses=[1], numSamples=COALITIONS).fit(bg_df)

    def f(A):
        return 1.0 / (1.0 + np.exp(-(np.asarray(A) @ w + b)))

    kernel = shap.KernelExplainer(f, background)

    def irbis_run():
        explainer.transform(rows_df).write.format("noop").mode("overwrite").save()

    def shap_run():
        kernel.shap_values(rows, nsamples=COALITIONS, l1_reg=False, silent=True)

    t_irbis, t_shap = best_of_alternating(2, irbis_run, shap_run)
    return [dict(benchmark="shap", case=f"{FEATURES} feat, {BACKGROUND} bg, {COALITIONS} coal", irbis=ROWS / t_irbis,
                 baseline=ROWS / t_shap, baseline_name="shap KernelExplainer (numpy)", unit="r/s")]
