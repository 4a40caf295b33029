"""ComputeModelStatistics and ComputePerInstanceStatistics against scikit-learn on the same predictions.

Conventions checked here (and documented in docs/METRICS.md): zero_division=0 for precision, recall and F1;
with class metadata every level is a class, even one absent from the data (sklearn's `labels=`); ROC AUC is
the exact trapezoid over all distinct thresholds, ties included; R2 of a constant label is sklearn's
force_finite value; log loss clips probabilities to [eps, 1 - eps] with the float64 machine epsilon.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from pyspark.errors import IllegalArgumentException
from pyspark.ml.linalg import Vectors
from pyspark.sql import functions as F
from sklearn import metrics as skm

APPROX = dict(rel=1e-12, abs=1e-15)


@pytest.fixture(scope="module")
def train(spark):
    import irbis.train

    return irbis.train


def nominal(column: str, levels):
    """The contract's class metadata: Spark ML NominalAttribute values on the column."""
    return F.col(column).alias(column, metadata={"ml_attr": {"type": "nominal", "vals": list(levels)}})


def multiclass_data(spark, n=120, seed=3):
    """String labels; 'owl' is in the metadata only, 'fox' is never predicted (zero division)."""
    rng = np.random.default_rng(seed)
    levels = ["cat", "dog", "fox", "owl"]
    truth = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    probs = rng.dirichlet([1, 1, 1, 0.1], size=n)
    probs[:, 2] = 0.0  # never predicted
    probs /= probs.sum(axis=1, keepdims=True)
    pred = probs.argmax(axis=1)
    rows = [(levels[t], float(p), levels[p], Vectors.dense(pr)) for t, p, pr in zip(truth, pred, probs)]
    df = spark.createDataFrame(rows, ["label", "prediction", "scored_labels", "probability"])
    df = df.select("label", nominal("prediction", levels), nominal("scored_labels", levels), "probability")
    return df, levels, [levels[t] for t in truth], [levels[p] for p in pred], probs


def test_multiclass_metrics_equal_sklearn(spark, train):
    df, levels, y_true, y_pred, _ = multiclass_data(spark)
    row = train.ComputeModelStatistics().transform(df).first()
    assert row["classes"] == levels
    assert row["confusion_matrix"] == skm.confusion_matrix(y_true, y_pred, labels=levels).tolist()
    assert row["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), **APPROX)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=levels, zero_division=0)
    assert row["precision_per_class"] == pytest.approx(list(p), **APPROX)
    assert row["recall_per_class"] == pytest.approx(list(r), **APPROX)
    assert row["f1_per_class"] == pytest.approx(list(f), **APPROX)
    assert row["support_per_class"] == list(s)
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, labels=levels, average=average,
                                                         zero_division=0)
        assert (row[f"precision_{average}"], row[f"recall_{average}"], row[f"f1_{average}"]) == pytest.approx(
            (p, r, f), **APPROX), average
    assert math.isnan(row["AUC"])  # more than two classes
    # The same from `prediction` (class indices + metadata) instead of `scored_labels`.
    again = train.ComputeModelStatistics(scoredLabelsCol="prediction").transform(df).first()
    assert {k: v for k, v in again.asDict().items() if k != "AUC"} == {k: v for k, v in row.asDict().items() if k != "AUC"}


def test_plain_spark_output_without_metadata_uses_the_observed_classes(spark, train):
    """No metadata and numeric labels: the label is the class index; classes are those observed (sklearn's
    default labels)."""
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.choice([0, 1, 3], size=60), rng.choice([0, 1, 3], size=60)
    df = spark.createDataFrame([(float(t), float(p)) for t, p in zip(y_true, y_pred)], ["label", "prediction"])
    row = train.ComputeModelStatistics(evaluationMetric="classification").transform(df).first()
    assert row["classes"] == ["0", "1", "3"]
    assert row["confusion_matrix"] == skm.confusion_matrix(y_true, y_pred).tolist()
    assert row["f1_macro"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0), **APPROX)


@pytest.mark.parametrize("labels", [(0.0, 1.0), ("no", "yes")])
def test_binary_auc_equals_sklearn_exactly_with_ties(spark, train, labels):
    rng = np.random.default_rng(11)
    n = 300
    y = rng.integers(0, 2, size=n)
    score = np.round(np.clip(0.35 * y + rng.normal(0.35, 0.25, size=n), 0, 1), 1)  # one decimal: many ties
    rows = [(labels[t], float(s > 0.5), Vectors.dense([1 - s, s])) for t, s in zip(y, score)]
    df = spark.createDataFrame(rows, ["label", "prediction", "probability"])
    if isinstance(labels[0], str):
        df = df.select("label", nominal("prediction", labels), "probability")
    row = train.ComputeModelStatistics().transform(df).first()
    assert len(set(score)) < 15
    # The exact value, correctly rounded: the Mann-Whitney fraction (ties count one half), computed with
    # Python's exact rationals; scikit-learn's float trapezoid sum agrees to the last bit or two.
    pos, neg = score[y == 1], score[y == 0]
    pairs = sum(Fraction(int((p > q) * 2 + (p == q)), 2) for p in pos for q in neg)
    assert row["AUC"] == float(pairs / (len(pos) * len(neg)))
    assert row["AUC"] == pytest.approx(skm.roc_auc_score(y, score), rel=4e-16)
    assert row["accuracy"] == pytest.approx(skm.accuracy_score(y, score > 0.5), **APPROX)
    # rawPrediction (a margin, not a probability) ranks the same way
    raw = df.withColumn("rawPrediction", F.col("probability")).drop("probability")
    assert train.ComputeModelStatistics().transform(raw).first()["AUC"] == row["AUC"]


def test_regression_metrics_equal_sklearn(spark, train):
    rng = np.random.default_rng(2)
    y = rng.normal(10, 3, size=200)
    p = y + rng.normal(0, 1, size=200)
    df = spark.createDataFrame([(float(a), float(b)) for a, b in zip(y, p)], ["label", "prediction"])
    row = train.ComputeModelStatistics().transform(df).first()  # auto: numeric label, no scores -> regression
    assert row["mse"] == pytest.approx(skm.mean_squared_error(y, p), **APPROX)
    assert row["rmse"] == pytest.approx(skm.root_mean_squared_error(y, p), **APPROX)
    assert row["mae"] == pytest.approx(skm.mean_absolute_error(y, p), **APPROX)
    assert row["r2"] == pytest.approx(skm.r2_score(y, p), rel=1e-10)
    assert row["count"] == 200
    for pred in ([2.0, 2.0], [2.0, 3.0]):  # constant label: sklearn's force_finite convention
        const = spark.createDataFrame([(2.0, v) for v in pred], ["label", "prediction"])
        got = train.ComputeModelStatistics(evaluationMetric="regression").transform(const).first()["r2"]
        assert got == skm.r2_score([2.0, 2.0], pred)


def test_per_instance_log_loss_and_correct_equal_sklearn(spark, train):
    df, levels, y_true, y_pred, probs = multiclass_data(spark, n=40)
    # a true class of probability 0 would be an infinite loss: clipped to the machine epsilon, as sklearn
    rows = train.ComputePerInstanceStatistics().transform(df).collect()
    assert any(r["probability"][levels.index(r["label"])] == 0.0 for r in rows)
    for r in rows:
        expected = skm.log_loss([r["label"]], [list(r["probability"])], labels=levels)
        assert r["log_loss"] == pytest.approx(expected, **APPROX)
        assert r["correct"] == (r["label"] == r["scored_labels"])
    zero = spark.createDataFrame([(1.0, 0.0, Vectors.dense([1.0, 0.0]))], ["label", "prediction", "probability"])
    loss = train.ComputePerInstanceStatistics().transform(zero).first()["log_loss"]
    assert loss == pytest.approx(skm.log_loss([1], [[1.0, 0.0]], labels=[0, 1]), **APPROX)
    assert loss == pytest.approx(-math.log(np.finfo(np.float64).eps), **APPROX)


def test_per_instance_regression_losses(spark, train):
    df = spark.createDataFrame([(1.0, 1.5), (2.0, -1.0), (3.0, 3.0)], ["label", "prediction"])
    rows = train.ComputePerInstanceStatistics().transform(df).collect()
    assert [r["l1_loss"] for r in rows] == [abs(r["label"] - r["prediction"]) for r in rows]
    assert [r["l2_loss"] for r in rows] == [(r["label"] - r["prediction"]) ** 2 for r in rows]


def test_errors_say_what_to_do(spark, train):
    df, levels, *_ = multiclass_data(spark, n=20)
    bad = df.union(df.limit(1).withColumn("label", F.lit("wolf")))
    with pytest.raises(IllegalArgumentException, match=r"label 'wolf' in column 'label' is not one of the "
                                                         r"model's 4 classes \(cat, dog, fox, owl\)"):
        train.ComputeModelStatistics().transform(bad)
    with pytest.raises(IllegalArgumentException, match="transform the data with the fitted model first"):
        train.ComputeModelStatistics().transform(df.select("label"))
    with pytest.raises(IllegalArgumentException, match="column 'nope' does not exist"):
        train.ComputeModelStatistics(scoresCol="nope").transform(df)


def test_metric_stages_read_the_label_a_trained_model_recorded(spark, train):
    """TrainClassifier's and TrainRegressor's output records its label (`species`, `height`) in its metadata: the
    metric stages use it unless labelCol is set; scikit-learn computes the references from the collected rows."""
    rng = np.random.default_rng(5)
    rows = [(float(a), float(b), ["cat", "dog", "fox"][int(a + b) % 3]) for a, b in rng.uniform(0, 6, (60, 2))]
    animals = spark.createDataFrame(rows, ["a", "b", "species"])
    classifier = train.TrainClassifier(labelCol="species").fit(animals)
    scored = classifier.transform(animals)
    assert scored.schema["prediction"].metadata["irbis_scored"] == {"labelCol": "species", "scoresCol": "probability"}
    got = train.ComputeModelStatistics().transform(scored).first()
    pdf = scored.select("species", "scored_labels", "probability").toPandas()
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(pdf["species"], pdf["scored_labels"]), **APPROX)
    assert got["f1_macro"] == pytest.approx(skm.f1_score(pdf["species"], pdf["scored_labels"], average="macro",
                                                         zero_division=0), **APPROX)
    losses = train.ComputePerInstanceStatistics().transform(scored).select("log_loss").toPandas()["log_loss"]
    probs = np.stack(pdf["probability"].map(lambda v: v.toArray()))
    for i, label in enumerate(pdf["species"]):
        assert losses[i] == pytest.approx(skm.log_loss([label], probs[i:i + 1], labels=["cat", "dog", "fox"]), **APPROX)
    best = train.FindBestModel(models=[classifier]).fit(animals)
    assert best.getAllModelMetrics().first()["accuracy"] == pytest.approx(got["accuracy"], **APPROX)

    heights = spark.createDataFrame([(float(x), 2.0 * x + 0.1 * (x % 3)) for x in range(12)], ["x", "height"])
    regressed = train.TrainRegressor(labelCol="height").fit(heights).transform(heights)
    reg = train.ComputeModelStatistics().transform(regressed).first()
    hp = regressed.select("height", "prediction").toPandas()
    assert reg["mse"] == pytest.approx(skm.mean_squared_error(hp["height"], hp["prediction"]), **APPROX)
    with pytest.raises(IllegalArgumentException, match="column 'label' does not exist"):
        train.ComputeModelStatistics(labelCol="label").transform(regressed).first()
