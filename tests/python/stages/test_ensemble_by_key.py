"""EnsembleByKey against a pandas groupby on the same data (nulls in values and keys included)."""
import numpy as np
import pandas as pd
import pytest
from pyspark.ml.linalg import Vectors, VectorUDT
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

SCHEMA = StructType([StructField("camera", StringType()), StructField("seq", LongType()),
                     StructField("score", DoubleType()), StructField("count", LongType()), StructField("p", VectorUDT())])


def frames(seed=11, n=400):
    rng = np.random.default_rng(seed)
    cams = np.array(["c1", "c2", "c3", None], dtype=object)[rng.integers(0, 4, n)]
    seqs = rng.integers(0, 25, n)
    score = rng.random(n)
    score[rng.random(n) < 0.1] = np.nan
    count = rng.integers(-50, 50, n)
    probs = rng.dirichlet(np.ones(3), n)
    pdf = pd.DataFrame({"camera": cams, "seq": seqs, "score": score, "count": count})
    rows = [(c, int(s), None if np.isnan(x) else float(x), int(k), Vectors.dense(p))
            for c, s, x, k, p in zip(cams, seqs, score, count, probs)]
    return pdf, probs, rows


@pytest.mark.parametrize("strategy", ["mean", "sum", "min", "max"])
def test_matches_pandas_groupby(spark, strategy):
    from irbis.stages import EnsembleByKey
    pdf, probs, rows = frames()
    df = spark.createDataFrame(rows, SCHEMA)
    out = EnsembleByKey(keys=["camera", "seq"], cols=["score", "count", "p"], strategy=strategy) \
        .transform(df).toPandas()
    keys = ["camera", "seq"]
    # A group whose values are all missing combines to null (SQL), as pandas does with min_count=1.
    how = (lambda v: v.sum(min_count=1)) if strategy == "sum" else strategy
    expected = pdf.groupby(keys, dropna=False).agg(score=("score", how), count=("count", how))
    vec = pd.DataFrame(probs, columns=["p0", "p1", "p2"]).assign(camera=pdf.camera, seq=pdf.seq) \
        .groupby(keys, dropna=False).agg(strategy)
    got = out.set_index(keys).sort_index()
    expected = expected.sort_index()
    assert len(got) == len(expected)
    np.testing.assert_allclose(got[f"{strategy}(score)"].to_numpy(float), expected["score"].to_numpy(float), rtol=1e-12)
    np.testing.assert_allclose(got[f"{strategy}(count)"].to_numpy(float), expected["count"].to_numpy(float), rtol=1e-12)
    got_vec = np.array([v.toArray() for v in got[f"{strategy}(p)"]])
    np.testing.assert_allclose(got_vec, vec.sort_index().to_numpy(), rtol=1e-12, atol=1e-15)


def test_keep_rows_matches_pandas_transform(spark):
    from irbis.stages import EnsembleByKey
    pdf, _, rows = frames(seed=12)
    df = spark.createDataFrame(rows, SCHEMA)
    out = EnsembleByKey(keys=["camera"], cols=["score"], colNames=["avg"], collapseGroup=False).transform(df).toPandas()
    assert len(out) == len(pdf)
    expected = pdf.assign(avg=pdf.groupby("camera", dropna=False)["score"].transform("mean"))
    merged = out.groupby("camera", dropna=False)["avg"].first().sort_index()
    want = expected.groupby("camera", dropna=False)["avg"].first().sort_index()
    np.testing.assert_allclose(merged.to_numpy(float), want.to_numpy(float), rtol=1e-12)
