"""shap: rows explained per second by VectorSHAP against the shap package's KernelExplainer, measured in the same run.

The model: a Spark LogisticRegression on make_classification(8 features, fixed seed). The same settings for both: 50
background rows, 200 coalitions per row (fewer than the 254 that 8 features have, so both sample), the class-1
probability explained, no L1 feature selection. Irbis runs on local[2], the rows' samples in one distributed pass
(the explained rows cached first, the output written to Spark's no-op sink). shap explains the rows in one call in
this process, in two cases:
- "numpy": shap gets the model as a numpy function of its coefficients (its fastest case, no Spark in its loop);
- "spark model": shap calls the Spark model itself (each of its calls, one per row: a DataFrame of the row's 10,000
  samples through `transform`, collected through Arrow), on fewer rows (SPARK_ROWS)."""
import numpy as np
import pandas as pd
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.linalg import Vectors
from pyspark.sql import functions as F
from sklearn.datasets import make_classification
from timing import best_of_alternating

from irbis.lime import VectorSHAP

FEATURES = 8
BACKGROUND = 50
COALITIONS = 200
ROWS = 200
SPARK_ROWS = 10


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

    def spark_f(A):
        pdf = pd.DataFrame(np.asarray(A, dtype=np.float64), columns=[f"f{i}" for i in range(FEATURES)])
        frame = spark.createDataFrame(pdf).select(array_to_vector(F.array(*pdf.columns)).alias("features"))
        scored = model.transform(frame).select(vector_to_array("probability")[1].alias("p")).toPandas()
        return scored["p"].to_numpy()

    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    spark_kernel = shap.KernelExplainer(spark_f, background)

    def shap_spark_run():
        spark_kernel.shap_values(rows[:SPARK_ROWS], nsamples=COALITIONS, l1_reg=False, silent=True)

    t_irbis, t_shap = best_of_alternating(2, irbis_run, shap_run)
    (t_shap_spark,) = best_of_alternating(1, shap_spark_run)
    case = f"{FEATURES} feat, {BACKGROUND} bg, {COALITIONS} coal"
    return [dict(benchmark="shap", case=case, irbis=ROWS / t_irbis, baseline=ROWS / t_shap,
                 baseline_name="shap Kernel (numpy model)", unit="r/s"),
            dict(benchmark="shap", case=case, irbis=ROWS / t_irbis, baseline=SPARK_ROWS / t_shap_spark,
                 baseline_name="shap Kernel (Spark model)", unit="r/s")]
