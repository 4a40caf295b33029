"""SynapseML's documented calls on the train, featurize, column and HTTP stages, with only the imports changed
(``synapse.ml.train`` and ``synapse.ml.featurize`` -> ``irbis.train``, ``synapse.ml.stages`` -> ``irbis.stages``,
``synapse.ml.io.http`` -> ``irbis.http``), on the small frames of SynapseML's own examples. Every result is checked
against an independent reference: scikit-learn for metrics, pandas for aggregations, Spark's own stages for
learners and hashing, a real HTTP server on 127.0.0.1 for the HTTP stages. docs/MIGRATING_FROM_SYNAPSEML.md lists
where Irbis differs on purpose.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics


@pytest.fixture(scope="module")
def train_df(spark):
    """The frame of SynapseML's TrainClassifier and FindBestModel examples."""
    return spark.createDataFrame([
        (0, 2, 0.50, 0.60, 0), (1, 3, 0.40, 0.50, 1), (0, 4, 0.78, 0.99, 2), (1, 5, 0.12, 0.34, 3),
        (0, 1, 0.50, 0.60, 0), (1, 3, 0.40, 0.50, 1), (0, 3, 0.78, 0.99, 2), (1, 4, 0.12, 0.34, 3),
        (0, 0, 0.50, 0.60, 0), (1, 2, 0.40, 0.50, 1), (0, 3, 0.78, 0.99, 2), (1, 4, 0.12, 0.34, 3)],
        ["Label", "col1", "col2", "col3", "col4"])


@pytest.fixture(scope="module")
def columns_df(spark):
    return spark.createDataFrame([
        (0, 0.0, "guitars", "drums", 1, True), (1, 1.0, "piano", "trumpet", 2, False),
        (2, 2.0, "bass", "cymbals", 3, True)], ["numbers", "doubles", "words", "more", "longs", "booleans"])


def spark_reference(estimator, df, inputs, label):
    """The learner fitted by Spark itself on the assembled input columns: the independent reference for what
    TrainClassifier and TrainRegressor learn."""
    from pyspark.ml.feature import VectorAssembler

    assembled = VectorAssembler(inputCols=inputs, outputCol="features").transform(df)
    return estimator.copy().setLabelCol(label).setFeaturesCol("features").fit(assembled).transform(assembled)


# --- irbis.train (synapse.ml.train) ---------------------------------------------------------------------------

def test_train_classifier_and_compute_model_statistics(train_df):
    from pyspark.ml.classification import LogisticRegression

    from irbis.train import ComputeModelStatistics, ComputePerInstanceStatistics, TrainClassifier

    tc = (TrainClassifier()
          .setModel(LogisticRegression())
          .setLabelCol("Label"))
    scored = tc.fit(train_df).transform(train_df)
    got = scored.toPandas()
    assert set(got["scored_labels"]) <= {0, 1}

    stats = ComputeModelStatistics().setLabelCol("Label").setScoredLabelsCol("scored_labels") \
        .setEvaluationMetric("classification").transform(scored).toPandas()
    assert stats["accuracy"][0] == pytest.approx(metrics.accuracy_score(got["Label"], got["scored_labels"]))

    cps = (ComputePerInstanceStatistics()
           .setLabelCol("Label")
           .setScoredLabelsCol("scored_labels")
           .setScoresCol("rawPrediction")
           .setScoredProbabilitiesCol("probability")
           .setEvaluationMetric("classification"))
    per_row = cps.transform(scored).toPandas()
    probs = np.stack(per_row["probability"].map(lambda v: v.toArray()))
    expected = [metrics.log_loss([y], [p], labels=[0, 1]) for y, p in zip(per_row["Label"], probs)]
    np.testing.assert_allclose(per_row["log_loss"], expected, rtol=1e-9)


def test_compute_model_statistics_example_on_continuous_values(spark):
    from numpy import random

    from irbis.train import ComputeModelStatistics

    df = spark.createDataFrame([(random.rand(), random.rand()) for _ in range(64)], ["label", "prediction"])
    cms = (ComputeModelStatistics()
           .setLabelCol("label")
           .setScoredLabelsCol("prediction")
           .setEvaluationMetric("classification"))
    with pytest.raises(Exception, match="regression"):  # continuous values are not classes
        cms.transform(df).collect()
    got = df.toPandas()
    stats = cms.setEvaluationMetric("regression").transform(df).toPandas()
    assert stats["mae"][0] == pytest.approx(metrics.mean_absolute_error(got["label"], got["prediction"]))


def test_train_regressor_learns_what_spark_learns(spark):
    from pyspark.ml.regression import LinearRegression

    from irbis.train import ComputeModelStatistics, ComputePerInstanceStatistics, TrainRegressor

    dataset = spark.createDataFrame([
        (0.0, 2, 0.50, 0.60, 0.0), (1.0, 3, 0.40, 0.50, 1.0), (2.0, 4, 0.78, 0.99, 2.0), (3.0, 5, 0.12, 0.34, 3.0),
        (0.0, 1, 0.50, 0.60, 0.0), (1.0, 3, 0.40, 0.50, 1.0), (2.0, 3, 0.78, 0.99, 2.0), (3.0, 4, 0.12, 0.34, 3.0),
        (0.0, 0, 0.50, 0.60, 0.0), (1.0, 2, 0.40, 0.50, 1.0), (2.0, 3, 0.78, 0.99, 2.0), (3.0, 4, 0.12, 0.34, 3.0)],
        ["label", "col1", "col2", "col3", "col4"])
    linearRegressor = (LinearRegression()
                       .setRegParam(0.3)
                       .setElasticNetParam(0.8))
    trainRegressor = (TrainRegressor()
                      .setModel(linearRegressor)
                      .setLabelCol("label"))
    scored = trainRegressor.fit(dataset).transform(dataset)
    got = scored.toPandas()
    ref = spark_reference(linearRegressor, dataset, ["col1", "col2", "col3", "col4"], "label").toPandas()
    np.testing.assert_allclose(got["prediction"], ref["prediction"], rtol=1e-6, atol=1e-9)  # SynapseML: "scores"

    stats = ComputeModelStatistics().setEvaluationMetric("regression").transform(scored).toPandas()
    assert stats["mse"][0] == pytest.approx(metrics.mean_squared_error(got["label"], got["prediction"]))
    assert stats["r2"][0] == pytest.approx(metrics.r2_score(got["label"], got["prediction"]))
    per_row = ComputePerInstanceStatistics().setEvaluationMetric("regression").transform(scored)
    np.testing.assert_allclose(per_row.select("L1_loss").toPandas().iloc[:, 0], (got["label"] - got["prediction"]).abs())


def test_find_best_model(train_df):
    from pyspark.ml.classification import LogisticRegression, RandomForestClassifier

    from irbis.train import FindBestModel, TrainClassifier

    randomForestClassifier = (TrainClassifier()
                              .setModel(RandomForestClassifier()
                                        .setMaxBins(32)
                                        .setMaxDepth(5)
                                        .setMinInfoGain(0.0)
                                        .setMinInstancesPerNode(1)
                                        .setNumTrees(20)
                                        .setSubsamplingRate(1.0)
                                        .setSeed(0))
                              .setFeaturesCol("mlfeatures")
                              .setLabelCol("Label"))
    model = randomForestClassifier.fit(train_df)
    weak = TrainClassifier(model=LogisticRegression(maxIter=1), labelCol="Label", inputCols=["col2"]).fit(train_df)
    findBestModel = (FindBestModel()
                     .setModels([weak, model])
                     .setEvaluationMetric("accuracy"))
    bestModel = findBestModel.fit(train_df)
    accuracy = {}
    for m in (weak, model):
        got = m.transform(train_df).toPandas()
        accuracy[m.uid] = metrics.accuracy_score(got["Label"], got["scored_labels"])
    best = max(accuracy, key=accuracy.get)
    chosen = bestModel.transform(train_df).toPandas()
    expected = (model if best == model.uid else weak).transform(train_df).toPandas()
    assert list(chosen["scored_labels"]) == list(expected["scored_labels"])
    table = bestModel.getAllModelMetrics().toPandas()
    assert sorted(table["accuracy"]) == pytest.approx(sorted(accuracy.values()))


def test_tune_hyperparameters_with_hyperparam_builder(spark):
    from pyspark.ml.classification import GBTClassifier, LogisticRegression, RandomForestClassifier

    from irbis.train import (
        DiscreteHyperParam,
        GridSpace,
        HyperparamBuilder,
        RandomSpace,
        RangeHyperParam,
        TrainClassifier,
        TuneHyperparameters,
    )

    df = spark.createDataFrame([(i % 2, (i * 7) % 5, (i * 3) % 4, i % 3 + 0.5 * (i % 2)) for i in range(24)],
                               ["Label", "a", "b", "c"])
    logReg = LogisticRegression()
    randForest = RandomForestClassifier()
    gbt = GBTClassifier(maxIter=3)  # SynapseML's example: GBTClassifier() (20 rounds, each a few jobs per fit)
    smlmodels = [logReg, randForest, gbt]
    mmlmodels = [TrainClassifier(model=model, labelCol="Label") for model in smlmodels]
    paramBuilder = (HyperparamBuilder()
                    .addHyperparam(logReg, logReg.regParam, RangeHyperParam(0.1, 0.3))
                    .addHyperparam(randForest, randForest.numTrees, DiscreteHyperParam([5, 10]))
                    .addHyperparam(randForest, randForest.maxDepth, DiscreteHyperParam([3, 5]))
                    .addHyperparam(gbt, gbt.maxBins, RangeHyperParam(8, 16))
                    .addHyperparam(gbt, gbt.maxDepth, DiscreteHyperParam([3, 5])))
    searchSpace = paramBuilder.build()
    randomSpace = RandomSpace(searchSpace)
    tuner = TuneHyperparameters(
        evaluationMetric="accuracy", models=mmlmodels, numFolds=2,
        numRuns=2, parallelism=2,  # SynapseML's example: numRuns=len(mmlmodels) * 2, slower but the same calls
        paramSpace=randomSpace.space(), seed=0)
    bestModel = tuner.fit(df)
    results = bestModel.getResults().toPandas()
    assert len(results) == 2 * len(mmlmodels)
    drawn = [json.loads(p) for p in results["params"]]
    assert all(0.1 <= p["regParam"] <= 0.3 for p in drawn if "regParam" in p)
    assert all(8 <= p["maxBins"] <= 16 and p["maxDepth"] in (3, 5) for p in drawn if "maxBins" in p)
    assert all(p["numTrees"] in (5, 10) for p in drawn if "numTrees" in p)

    # each candidate's metric is the mean over the folds of scikit-learn's accuracy of a model refitted here
    folds = tuner.assignFolds(df)
    row = results.iloc[int(np.argmax(results["metric"]))]
    model = mmlmodels[int(row["model_index"])]
    inner = model.getModel().copy()
    for name, value in json.loads(row["params"]).items():
        inner.set(inner.getParam(name), value)
    fold_accuracy = []
    for f in range(2):
        fitted = model.copy().setModel(inner).fit(folds.where(f"fold != {f}").drop("fold"))
        got = fitted.transform(folds.where(f"fold = {f}").drop("fold")).toPandas()
        fold_accuracy.append(metrics.accuracy_score(got["Label"], got["scored_labels"]))
    assert row["metric"] == pytest.approx(np.mean(fold_accuracy))

    grid = GridSpace(HyperparamBuilder().addHyperparam(randForest, randForest.maxDepth, DiscreteHyperParam([2, 4]))
                     .build())
    tuned = TuneHyperparameters(evaluationMetric="accuracy", models=mmlmodels[1:2], numFolds=2,
                                paramSpace=grid.space()).fit(df)
    assert sorted(json.loads(p)["maxDepth"] for p in tuned.getResults().toPandas()["params"]) == [2, 4]
    with pytest.raises(ValueError, match="DiscreteHyperParam"):
        GridSpace(HyperparamBuilder().addHyperparam(logReg, logReg.regParam, RangeHyperParam(0.1, 0.3)).build()).space()


# --- irbis.train (synapse.ml.featurize) -----------------------------------------------------------------------

def test_featurize_and_clean_missing_data(spark):
    from irbis.stages import CleanMissingData
    from irbis.train import Featurize

    dataset = spark.createDataFrame([
        (0, 2, 0.50, 0.60, 0), (1, 3, 0.40, None, None), (0, 4, 0.78, 0.99, 2), (1, 5, 0.12, 0.34, 3),
        (0, 1, 0.50, 0.60, 0), (None, None, None, None, None), (0, 3, 0.78, 0.99, 2), (1, 4, 0.12, 0.34, 3),
        (0, None, 0.50, 0.60, 0), (1, 2, 0.40, 0.50, None), (0, 3, None, 0.99, 2), (1, 4, 0.12, 0.34, 3)],
        ["col1", "col2", "col3", "col4", "col5"])
    cmd = (CleanMissingData()
           .setInputCols(dataset.columns)
           .setOutputCols(dataset.columns)
           .setCleaningMode("Mean"))
    cleaned = cmd.fit(dataset).transform(dataset).toPandas()
    raw = dataset.toPandas()
    for c in dataset.columns:
        np.testing.assert_allclose(cleaned[c].astype(float), raw[c].fillna(raw[c].mean()).astype(float)
                                   .astype(cleaned[c].dtype).astype(float))

    text = spark.createDataFrame([
        (0, 2, 0.50, 0.60, "pokemon are everywhere"), (1, 3, 0.40, 0.50, "they are in the woods"),
        (0, 4, 0.78, 0.99, "they are in the water"), (1, 5, 0.12, 0.34, "they are in the fields"),
        (0, 3, 0.78, 0.99, "pokemon - gotta catch em all")], ["Label", "col1", "col2", "col3"])
    feat = (Featurize()
            .setNumFeatures(10)
            .setOutputCol("testColumn")
            .setInputCols(["col1", "col2", "col3"])
            .setOneHotEncodeCategoricals(False))
    assert feat.getNumTextFeatures() == 10
    out = feat.fit(text).transform(text).toPandas()
    vectors = np.stack(out["testColumn"].map(lambda v: v.toArray()))
    assert vectors.shape == (5, 3)  # three numeric columns, one slot each
    np.testing.assert_allclose(vectors, text.toPandas()[["col1", "col2", "col3"]].to_numpy(float))

    with pytest.raises(ValueError, match="imputes"):
        Featurize().setInputCols(["col1"]).setOutputCol("testColumn").setImputeMissing(False)
    with pytest.raises(ValueError, match="remove setVectorAssemblerHandleInvalid"):
        Featurize().setVectorAssemblerHandleInvalid("keep")


def test_value_indexer_index_to_value_data_conversion(spark):
    from irbis.train import DataConversion, IndexToValue, ValueIndexer

    df = spark.createDataFrame([(-3, 24, 0.32534, True, "piano"), (1, 5, 5.67, False, "piano"),
                                (-3, 5, 0.32534, False, "guitar")], ["int", "long", "double", "bool", "string"])
    df2 = ValueIndexer().setInputCol("string").setOutputCol("string_cat").fit(df).transform(df)
    itv = (IndexToValue()
           .setInputCol("string_cat")
           .setOutputCol("string_noncat"))
    got = itv.transform(df2).toPandas()
    assert list(got["string_noncat"]) == list(got["string"])
    codes = pd.Categorical(got["string"], categories=sorted(set(got["string"]))).codes
    assert list(got["string_cat"]) == list(codes)

    conv = spark.createDataFrame([(True, 1, 2), (False, 0, 10), (True, -127, 345)], ["bool", "byte", "short"])
    dc = (DataConversion()
          .setCols(["byte"])
          .setConvertTo("boolean"))
    assert list(dc.transform(conv).toPandas()["byte"]) == list(conv.toPandas()["byte"].astype(bool))


def test_text_featurizer_matches_spark_hashing(spark):
    from pyspark.ml.feature import IDF, HashingTF, RegexTokenizer, StopWordsRemover

    from irbis.train import TextFeaturizer

    dfRaw = spark.createDataFrame([(0, "Hi I"), (1, "I wish for snow today"),
                                   (2, "we Cant go to the park, because of the snow!"), (3, "")],
                                  ["label", "sentence"])
    tfRaw = (TextFeaturizer()
             .setInputCol("sentence")
             .setOutputCol("features")
             .setUseStopWordsRemover(True)
             .setNumFeatures(20))
    got = tfRaw.fit(dfRaw).transform(dfRaw).orderBy("label").toPandas()
    tokens = RegexTokenizer(inputCol="sentence", outputCol="tokens", pattern=tfRaw.getTokenizerPattern(),
                            minTokenLength=tfRaw.getMinTokenLength()).transform(dfRaw)
    kept = StopWordsRemover(inputCol="tokens", outputCol="kept").transform(tokens)
    tf = HashingTF(inputCol="kept", outputCol="tf", numFeatures=20).transform(kept)
    ref = IDF(inputCol="tf", outputCol="idf").fit(tf).transform(tf).orderBy("label").toPandas()
    for a, b in zip(got["features"], ref["idf"]):
        np.testing.assert_allclose(a.toArray(), b.toArray(), rtol=1e-9)
    assert tfRaw.getUseStopWordsRemover()


# --- irbis.stages (synapse.ml.stages) -------------------------------------------------------------------------

def test_class_balancer(spark):
    from irbis.stages import ClassBalancer

    df = spark.createDataFrame([(0, 1.0, "Hi I"), (1, 1.0, "I wish"), (2, 2.0, "I wish"), (3, 2.0, "I wish"),
                                (4, 2.0, "I wish"), (5, 2.0, "I"), (6, 0.0, "I"), (7, 1.0, "I"), (8, 0.0, "we"),
                                (9, 2.0, "")], ["index", "label", "sentence"])
    from sklearn.utils.class_weight import compute_class_weight

    cb = ClassBalancer().setInputCol("label")
    got = cb.fit(df).transform(df).toPandas()
    classes = np.unique(got["label"])
    balanced = dict(zip(classes, compute_class_weight("balanced", classes=classes, y=got["label"])))
    np.testing.assert_allclose(got["weight"], got["label"].map(balanced))
    # SynapseML's weights (its only kind): the most frequent class weighs 1
    got = cb.setNormalization("MaxCount").fit(df).transform(df).toPandas()
    counts = got["label"].value_counts()
    np.testing.assert_allclose(got["weight"], counts.max() / got["label"].map(counts))


def test_column_stages(columns_df):
    from irbis.stages import Cacher, DropColumns, RenameColumn, Repartition, SelectColumns

    assert Cacher().transform(columns_df).collect() == columns_df.collect()
    with pytest.raises(ValueError, match="not empty"):  # SynapseML's example drops nothing: leave the stage out
        DropColumns().setCols([])
    assert DropColumns().setCols(["words"]).transform(columns_df).columns == \
        list(columns_df.toPandas().drop(columns=["words"]).columns)
    assert SelectColumns().setCols(["words", "more"]).transform(columns_df).toPandas() \
        .equals(columns_df.toPandas()[["words", "more"]])
    renamed = RenameColumn().setInputCol("words").setOutputCol("instrument").transform(columns_df)
    assert renamed.toPandas().equals(columns_df.toPandas().rename(columns={"words": "instrument"}))
    assert Repartition().setN(1).transform(columns_df).rdd.getNumPartitions() == 1


def test_explode_summarize_ensemble_by_key(spark, columns_df):
    from pyspark.ml.feature import VectorAssembler

    from irbis.stages import EnsembleByKey, Explode, SummarizeData

    df = spark.createDataFrame([(0, ["guitars", "drums"]), (1, ["piano"]), (2, [])], ["numbers", "words"])
    exploded = Explode().setInputCol("words").setOutputCol("exploded").transform(df).toPandas()
    ref = df.toPandas().explode("words").dropna()
    assert list(exploded["exploded"]) == list(ref["words"])

    summary = SummarizeData().transform(columns_df).toPandas().set_index("feature")  # SynapseML: "Feature", ...
    pdf = columns_df.toPandas()
    assert summary.loc["doubles", "count"] == len(pdf)
    assert summary.loc["doubles", "mean"] == pytest.approx(pdf["doubles"].mean())
    assert summary.loc["doubles", "stddev"] == pytest.approx(pdf["doubles"].std())
    assert summary.loc["words", "uniqueValueCount"] == pdf["words"].nunique()

    scoreDF = spark.createDataFrame([(0, "foo", 1.0, .1), (1, "bar", 4.0, -2.0), (1, "bar", 0.0, -3.0)],
                                    ["label1", "label2", "score1", "score2"])
    scoreDF2 = VectorAssembler().setInputCols(["score1", "score2"]).setOutputCol("v1").transform(scoreDF)
    ebk = EnsembleByKey().setKeys(["label1"]).setCols(["score1"])
    got = ebk.transform(scoreDF2).toPandas().set_index("label1").sort_index()
    expected = scoreDF.toPandas().groupby("label1")["score1"].mean()
    np.testing.assert_allclose(got["mean(score1)"], expected)


def test_mini_batches(spark):
    from irbis.stages import (
        DynamicMiniBatchTransformer,
        FixedMiniBatchTransformer,
        FlattenBatch,
        TimeIntervalMiniBatchTransformer,
    )

    df = spark.createDataFrame([(i, "foo") for i in range(1, 11)], ["in1", "in2"])
    transDF = DynamicMiniBatchTransformer().transform(df)
    flat = FlattenBatch().transform(transDF).toPandas()
    assert flat.sort_values("in1").reset_index(drop=True).equals(df.toPandas())
    fmbt = (FixedMiniBatchTransformer()
            .setBuffered(True)
            .setBatchSize(3))
    sizes = [len(r["in1"]) for r in fmbt.transform(df.coalesce(1)).collect()]
    assert sizes == [len(c) for c in np.array_split(range(10), range(3, 10, 3))]
    timbt = (TimeIntervalMiniBatchTransformer()
             .setMillisToWait(1000)
             .setMaxBatchSize(30))
    batches = timbt.transform(df).collect()
    assert sorted(x for r in batches for x in r["in1"]) == list(range(1, 11))
    assert all(len(r["in1"]) <= 30 for r in batches)


def test_text_stages_and_udf_transformer(spark, columns_df):
    import re
    import unicodedata

    from pyspark.sql.functions import udf

    from irbis.stages import TextPreprocessor, UDFTransformer, UnicodeNormalize

    df = spark.createDataFrame([("The happy sad boy drank sap",), ("The hater sad doy drank sap",), ("foo",),
                                ("The hater sad doy aABc0123456789Zz_",)], ["words1"])
    testMap = {"happy": "sad", "hater": "sap", "sad": "sap", "sad doy": "sap"}
    textPreprocessor = (TextPreprocessor()
                        .setNormFunc("lowerCase")
                        .setMap(testMap)
                        .setInputCol("words1")
                        .setOutputCol("out"))
    got = textPreprocessor.transform(df).toPandas()
    longest_first = "|".join(sorted(map(re.escape, testMap), key=len, reverse=True))
    assert list(got["out"]) == [re.sub(longest_first, lambda m: testMap[m.group()], t.lower()) for t in got["words1"]]

    texts = spark.createDataFrame([("Schön", 1), ("Scho\u0308n", 1), (None, 1)], ["words1", "dummy"])
    unicodeNormalize = (UnicodeNormalize()
                        .setForm("NFC")
                        .setInputCol("words1")
                        .setOutputCol("norm1"))
    got = unicodeNormalize.transform(texts).toPandas()
    # lower-cased too: SynapseML's and Irbis's `lower` default to true
    assert list(got["norm1"][:2]) == [unicodedata.normalize("NFC", t).lower() for t in got["words1"][:2]]

    stringToIntegerUDF = udf(lambda x: 1)
    udfTransformer = (UDFTransformer()
                      .setUDF(stringToIntegerUDF)
                      .setInputCol("numbers")
                      .setOutputCol("out"))
    assert [r["out"] for r in udfTransformer.transform(columns_df).collect()] == ["1"] * columns_df.count()


def test_adapter_timer_stratified_repartition(spark):
    from pyspark.ml.feature import Tokenizer

    from irbis.stages import MultiColumnAdapter, StratifiedRepartition, Timer

    df = spark.createDataFrame([(0, "This is a test", "this is one too"), (1, "could be a test", "bar"),
                                (2, "foo", "bar"), (3, "foo", "maybe not")], ["label", "words1", "words2"])
    mca = (MultiColumnAdapter()
           .setBaseStage(Tokenizer())
           .setInputCols(["words1", "words2"])
           .setOutputCols(["output1", "output2"]))
    got = mca.fit(df).transform(df).toPandas()
    for i, o in (("words1", "output1"), ("words2", "output2")):
        assert [list(x) for x in got[o]] == [t.lower().split() for t in got[i]]

    tok = Tokenizer().setInputCol("words1").setOutputCol("tokens")
    timed = Timer().setStage(tok).fit(df).transform(df).toPandas()
    assert [list(x) for x in timed["tokens"]] == [t.lower().split() for t in timed["words1"]]

    colors = spark.createDataFrame([(i // 3 if i < 9 else 3, f"c{i}", 2) for i in range(10)],
                                   ["values", "colors", "const"])
    sr = StratifiedRepartition().setLabelCol("values").setMode("equal")
    counts = sr.transform(colors).toPandas()["values"].value_counts()
    assert set(counts.index) == set(colors.toPandas()["values"]) and counts.nunique() == 1


# --- irbis.http (synapse.ml.io.http) --------------------------------------------------------------------------

class _Countries(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps([{"page": 1}, [{"id": self.path.split("/")[-1].split("?")[0].upper()}]]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"blah": data["word"][::-1]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Countries)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_http_transformer_with_http_udf(spark, server):
    from pyspark.sql.functions import col

    try:
        from requests import Request
    except ImportError:  # the development venv has no requests: the part of its API that http_udf reads
        class Request:
            def __init__(self, method, url, headers=None, data=None):
                self.method, self.url, self.headers, self.body = method, url, headers or {}, data

    from irbis.http import HTTPTransformer, http_udf

    def world_bank_request(country):
        return Request("GET", server + "/v2/country/{}?format=json".format(country))

    df = (spark.createDataFrame([("br",), ("usa",)], ["country"])
          .withColumn("request", http_udf(world_bank_request)(col("country"))))
    ht = (HTTPTransformer()
          .setConcurrency(3)
          .setInputCol("request")
          .setOutputCol("response"))
    got = {r["country"]: r["response"] for r in ht.transform(df).collect()}
    for country, response in got.items():
        assert response["status"] == 200
        assert json.loads(bytes(response["body"]))[1][0]["id"] == country.upper()


def test_simple_http_transformer_with_json_output_parser(spark, server):
    from pyspark.sql.functions import struct
    from pyspark.sql.types import StringType, StructType

    from irbis.http import JSONOutputParser, SimpleHTTPTransformer

    df = spark.createDataFrame([("snow",), ("piano",)], ["word"]).withColumn("data", struct("word"))
    sht = (SimpleHTTPTransformer()
           .setInputCol("data")
           .setOutputParser(JSONOutputParser()
                            .setDataType(StructType().add("blah", StringType())))
           .setUrl(server + "/reverse")
           .setOutputCol("results")
           .setConcurrency(3))
    got = sht.transform(df).toPandas()
    assert list(got["results"].map(lambda r: r["blah"])) == [w[::-1] for w in got["word"]]
    with pytest.raises(ValueError, match="from_json"):
        JSONOutputParser().setInputCol("unparsedOutput")
