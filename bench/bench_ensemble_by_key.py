"""ensemble_by_key: rows/s of EnsembleByKey (mean of a score and a 10-d vector per key) against pandas
groupby-mean in one Python process on the same data already in memory. Irbis's time includes Spark's
scheduling; the data is cached in Spark first so neither side pays for generating it."""
import time

import numpy as np
import pandas as pd
from pyspark.ml.functions import array_to_vector
from pyspark.sql import functions as F

from irbis.stages import EnsembleByKey

ROWS = 1_000_000
KEYS = 50_000
DIM = 10


def best_of(n, fn):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(spark):
    rng = np.random.default_rng(0)
    keys = rng.integers(0, KEYS, ROWS)
    scores = rng.random(ROWS)
    probs = rng.random((ROWS, DIM))

    df = (spark.range(ROWS).repartition(2)
          .withColumn("key", (F.rand(1) * KEYS).cast("long"))
          .withColumn("score", F.rand(2))
          .withColumn("probability", array_to_vector(F.array(*[F.rand(10 + i) for i in range(DIM)])))
          .cache())
    df.count()
    stage = EnsembleByKey(keys=["key"], cols=["score", "probability"])
    irbis_s = best_of(3, lambda: stage.transform(df).write.format("noop").mode("overwrite").save())

    pdf = pd.DataFrame({"key": keys, "score": scores})
    prob_df = pd.DataFrame(probs)
    prob_df["key"] = keys

    def pandas_mean():
        pdf.groupby("key")["score"].mean()
        prob_df.groupby("key").mean()

    pandas_s = best_of(3, pandas_mean)
    df.unpersist()
    return [dict(benchmark="ensemble_by_key", case=f"{ROWS:.0e} rows, {KEYS} keys, {DIM}-d", unit="r/s",
                 irbis=ROWS / irbis_s, baseline=ROWS / pandas_s, baseline_name="pandas groupby (1 process)")]
