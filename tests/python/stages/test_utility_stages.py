"""Utility stages against independent references: SummarizeData against pandas, numpy and scipy,
ClassBalancer against scikit-learn, UnicodeNormalize against unicodedata, TextPreprocessor against a
regular expression, and UDFTransformer with Python UDFs (run, saved, loaded, in a fresh process)."""
import json
import re
import subprocess
import sys
import textwrap
import unicodedata

import numpy as np
import pandas as pd
import pytest
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from conftest import subprocess_env

PERCENTILES = {"p0_5": 0.005, "p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75,
               "p95": 0.95, "p99": 0.99, "p99_5": 0.995}


def summary_data(n=500, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 3.0, n).round(2)  # skewed, with ties
    x[rng.random(n) < 0.05] = np.nan
    none_x = rng.random(n) < 0.05  # nulls as well as NaN
    k = rng.integers(-20, 20, n)
    none_k = rng.random(n) < 0.1
    s = np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, n)]
    rows = [(None if nx else float(v), None if nk else int(w), str(t)) for v, nx, w, nk, t in zip(x, none_x, k, none_k, s)]
    schema = StructType([StructField("x", DoubleType()), StructField("k", LongType()), StructField("s", StringType())])
    pdf = pd.DataFrame({"x": np.where(none_x, np.nan, x), "k": pd.array(np.where(none_k, 0, k), dtype="Float64"),
                        "s": s})
    pdf.loc[none_k, "k"] = None
    return rows, schema, pdf


def test_summarize_data_matches_pandas_numpy_scipy(spark):
    from scipy import stats

    from irbis.stages import SummarizeData

    rows, schema, pdf = summary_data()
    out = {r["feature"]: r for r in SummarizeData().transform(spark.createDataFrame(rows, schema)).collect()}
    assert list(out) == ["x", "k", "s"]
    for name in ("x", "k"):
        values = pdf[name].dropna().to_numpy(dtype=float)
        got = out[name]
        assert got["count"] == pdf[name].count() == len(values)
        assert got["missingValueCount"] == pdf[name].isna().sum()
        assert got["uniqueValueCount"] == pdf[name].nunique()
        assert got["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert got["stddev"] == pytest.approx(pdf[name].std(), rel=1e-12)  # ddof=1
        assert got["variance"] == pytest.approx(np.var(values, ddof=1), rel=1e-12)
        assert (got["min"], got["max"]) == (values.min(), values.max())
        assert got["skewness"] == pytest.approx(stats.skew(values, bias=True), rel=1e-9)
        assert got["kurtosis"] == pytest.approx(stats.kurtosis(values, fisher=True, bias=True), rel=1e-9)
        for column, p in PERCENTILES.items():  # exact with errorThreshold 0: numpy's inverted_cdf
            assert got[column] == np.quantile(values, p, method="inverted_cdf"), (name, column)
    text = out["s"]
    assert (text["count"], text["uniqueValueCount"], text["missingValueCount"]) == (len(pdf), 3, 0)
    assert all(text[c] is None for c in ["mean", "stddev", "min", "skewness", *PERCENTILES])


def test_summarize_data_error_threshold_bounds_the_rank_error(spark):
    from irbis.stages import SummarizeData

    rows, schema, pdf = summary_data(n=2000, seed=5)
    threshold = 0.02
    got = SummarizeData(inputCols=["x"], errorThreshold=threshold).transform(spark.createDataFrame(rows, schema)).first()
    values = np.sort(pdf["x"].dropna().to_numpy())
    n = len(values)
    for column, p in PERCENTILES.items():
        low, high = np.searchsorted(values, got[column], "left"), np.searchsorted(values, got[column], "right")
        # Some rank of the returned value lies within threshold * n of the target rank p * n.
        assert low - threshold * n <= p * n <= high + threshold * n, column


@pytest.mark.parametrize("normalization", ["Balanced", "MaxCount"])
def test_class_balancer_matches_sklearn(spark, normalization):
    from sklearn.utils.class_weight import compute_class_weight

    from irbis.stages import ClassBalancer

    labels = np.random.default_rng(1).choice(["cat", "snow leopard", "empty", "fox"], 300, p=[0.1, 0.05, 0.6, 0.25])
    df = spark.createDataFrame([(str(v), i) for i, v in enumerate(labels)], ["label", "i"])
    out = ClassBalancer(inputCol="label", normalization=normalization).fit(df).transform(df).orderBy("i").toPandas()
    classes = np.unique(labels)
    balanced = dict(zip(classes, compute_class_weight("balanced", classes=classes, y=labels)))
    counts = pd.Series(labels).value_counts()
    scale = 1.0 if normalization == "Balanced" else counts.max() * len(classes) / len(labels)
    expected = [balanced[v] * scale for v in labels]
    np.testing.assert_allclose(out["weight"].to_numpy(), expected, rtol=1e-12)
    if normalization == "MaxCount":
        assert out.loc[out.label == counts.idxmax(), "weight"].eq(1.0).all()


TEXTS = ["Ｃａｆé au lait", "ﬁne Ⅻ ½", "Å Ω K ǆ", "e\u0301te\u0301 À LA PLAGE", "한국어 ｶﾀｶﾅ", "", "İstanbul straße"]


@pytest.mark.parametrize("form", ["NFC", "NFD", "NFKC", "NFKD"])
@pytest.mark.parametrize("lower", [False, True])
def test_unicode_normalize_matches_unicodedata(spark, form, lower):
    from irbis.stages import UnicodeNormalize

    df = spark.createDataFrame([(i, t) for i, t in enumerate(TEXTS)] + [(len(TEXTS), None)], ["i", "t"])
    out = UnicodeNormalize(inputCol="t", outputCol="n", form=form, lower=lower).transform(df).orderBy("i").collect()
    expected = [unicodedata.normalize(form, t) for t in TEXTS]
    expected = [e.lower() if lower else e for e in expected] + [None]
    assert [r["n"] for r in out] == expected


def test_text_preprocessor_matches_longest_first_regex(spark):
    from irbis.stages import TextPreprocessor

    mapping = {"snow": "ice", "snow leopard": "irbis", "leo": "LEO", "leopards": "cats", "a": "α", "an": "ᾱν",
               "ice": "never rescanned"}
    texts = ["A Snow Leopard and snow leopards", "Snowy leopard, an animal", "no match here!", "", "aaan snowsnow"]
    df = spark.createDataFrame(list(enumerate(texts)), ["i", "t"])
    out = TextPreprocessor(inputCol="t", outputCol="o", map=mapping, normFunc="lowerCase").transform(df)
    got = [r["o"] for r in out.orderBy("i").collect()]
    # A regex alternation tries keys in order at each position: longest first gives leftmost-longest matching.
    pattern = re.compile("|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)))
    assert got == [pattern.sub(lambda m: mapping[m.group(0)], t.lower()) for t in texts]


def python_udf_stages():
    from pyspark.sql.functions import pandas_udf, udf

    from irbis.stages import UDFTransformer

    offset = 10  # captured by value: cloudpickle saves the closure

    @udf("string")
    def describe(name, n):
        return None if name is None else f"{name}:{n + offset}"

    @pandas_udf("double")
    def halve(v: pd.Series) -> pd.Series:
        return v / 2.0

    return (UDFTransformer(inputCols=["name", "n"], outputCol="d").setUDF(describe),
            UDFTransformer(inputCol="n", outputCol="h").setUDF(halve))


def udf_input(spark):
    return spark.createDataFrame([("a", 1), ("bb", 2), (None, 5)], "name string, n long")


EXPECTED_UDF = [("a", 1, "a:11", 0.5), ("bb", 2, "bb:12", 1.0), (None, 5, None, 2.5)]


def test_python_udfs_run_save_and_load(spark, tmp_path):
    from pyspark.ml import Pipeline, PipelineModel

    from irbis.stages import UDFTransformer

    describe, halve = python_udf_stages()
    df = udf_input(spark)
    out = halve.transform(describe.transform(df)).orderBy("n")
    assert [tuple(r) for r in out.collect()] == EXPECTED_UDF
    assert describe.getUDF().func("x", 1) == "x:11"
    describe.save(str(tmp_path / "stage"))
    loaded = UDFTransformer.load(str(tmp_path / "stage"))
    assert [r["d"] for r in loaded.transform(df).orderBy("n").collect()] == ["a:11", "bb:12", None]
    Pipeline(stages=[describe, halve]).fit(df).save(str(tmp_path / "model"))
    again = PipelineModel.load(str(tmp_path / "model")).transform(df).orderBy("n")
    assert [tuple(r) for r in again.collect()] == EXPECTED_UDF


@pytest.mark.own_spark
def test_python_udf_pipeline_loads_in_a_fresh_process(spark, tmp_path):
    from pyspark.ml import Pipeline

    df = udf_input(spark)
    Pipeline(stages=list(python_udf_stages())).fit(df).save(str(tmp_path / "model"))
    script = textwrap.dedent("""
        import json, sys
        import irbis
        from pyspark.ml import PipelineModel
        # The saved UDF names the Python that set it ("python3" unless PYSPARK_PYTHON is set); this one has pandas.
        spark = irbis.session(**{"spark.ui.enabled": "false", "spark.pyspark.python": sys.executable})
        df = spark.createDataFrame([("a", 1), ("bb", 2), (None, 5)], "name string, n long")
        rows = PipelineModel.load(sys.argv[1]).transform(df).orderBy("n").collect()
        print(json.dumps([list(r) for r in rows]))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "model")], env=subprocess_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [tuple(r) for r in json.loads(proc.stdout.strip().splitlines()[-1])] == EXPECTED_UDF


def test_set_udf_refuses_a_plain_function(spark):
    from irbis.stages import UDFTransformer

    with pytest.raises(TypeError, match="expects a pyspark UDF"):
        UDFTransformer().setUDF(lambda x: x)


def _java_serialized(spark, java_object) -> bytes:
    jvm = spark._jvm
    buffer = jvm.java.io.ByteArrayOutputStream()
    out = jvm.java.io.ObjectOutputStream(buffer)
    out.writeObject(java_object)
    out.close()
    return bytes(buffer.toByteArray())


def test_udf_bytes_not_written_by_set_udf_are_refused_before_deserializing(spark):
    from irbis.stages import UDFTransformer

    df = spark.createDataFrame([(1,)], "n int")
    junk = UDFTransformer(inputCol="n", outputCol="o").setUdf(b"not a function at all")
    with pytest.raises(Exception, match=r"udf does not hold a function serialized by setUDF: 21 bytes starting "
                                        r"6e 6f 74 20 .*, not the marker 'IRBISUDF'; it was not deserialized"):
        junk.transform(df)
    # A serialized object of another class, bare or behind the marker: its class is refused, never read.
    other = _java_serialized(spark, spark._jvm.java.util.Date(0))
    with pytest.raises(Exception, match="not the marker 'IRBISUDF'; it was not deserialized"):
        UDFTransformer(inputCol="n", outputCol="o").setUdf(other).transform(df)
    marked = UDFTransformer(inputCol="n", outputCol="o").setUdf(b"IRBISUDF\x01" + other)
    with pytest.raises(Exception, match=r"udf was refused before it was deserialized: its root object is of class "
                                        r"java\.util\.Date, not a function set by setUDF"):
        marked.transform(df)
    with pytest.raises(Exception, match="its root object is of class java.util.Date"):
        marked.getUDF()
