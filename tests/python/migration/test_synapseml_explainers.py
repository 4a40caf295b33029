"""SynapseML's documented explainer and ImageFeaturizer calls, with only the imports changed
(``synapse.ml.explainers`` -> ``irbis.lime``, ``synapse.ml.onnx`` ImageFeaturizer -> ``irbis.featurize``), on
scikit-learn's diabetes data, a few sentences and a small synthetic image. Where the alias is a renaming
(``backgroundData``, ``tokensCol``) the result must equal Irbis's own call; the SHAP base value and sums are checked
against the model's own outputs, ICETransformer against scikit-learn's ``partial_dependence``, the superpixel clusters
against the labels they are made from. docs/MIGRATING_FROM_SYNAPSEML.md lists the differences.
"""

import cv2
import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import HashingTF, Tokenizer, VectorAssembler
from pyspark.sql import functions as F
from sklearn.datasets import load_diabetes
from sklearn.inspection import partial_dependence
from sklearn.linear_model import LogisticRegression as SklearnLogistic

from irbis.lime import (
    ICETransformer,
    ImageLIME,
    ImageSHAP,
    SuperpixelTransformer,
    TabularLIME,
    TabularSHAP,
    TextLIME,
    TextSHAP,
    VectorLIME,
    VectorSHAP,
    superpixel_clusters,
)

from conftest import ROOT

COLUMNS = ["age", "bmi", "bp"]


@pytest.fixture(scope="module")
def diabetes(spark):
    frame = load_diabetes(as_frame=True).frame[COLUMNS + ["target"]].iloc[:40].reset_index(drop=True)
    frame["label"] = (frame["target"] > frame["target"].median()).astype(float)
    frame["id"] = np.arange(len(frame))
    df = spark.createDataFrame(frame)
    model = Pipeline(stages=[VectorAssembler(inputCols=COLUMNS, outputCol="features"),
                             LogisticRegression(labelCol="label", regParam=0.01)]).fit(df)
    return frame, df.cache(), model


def by_id(df, col):
    return {r["id"]: r[col] for r in df.select("id", col).collect()}


def explained(df):
    return df.where("id < 3")


def test_tabular_lime_background_data(diabetes):
    _, df, model = diabetes
    lime = (TabularLIME()
            .setModel(model)
            .setInputCols(COLUMNS)
            .setOutputCol("weights")
            .setBackgroundData(df)
            .setKernelWidth(0.75)
            .setNumSamples(100)
            .setTargetCol("probability")
            .setTargetClasses([0, 1]))
    got = by_id(lime.transform(explained(df)), "weights")
    own = TabularLIME(model=model, inputCols=COLUMNS, outputCol="weights", kernelWidth=0.75, numSamples=100,
                      targetClasses=[0, 1]).fit(df).transform(explained(df))
    assert got == by_id(own, "weights")
    assert TabularLIME(categoricalFeatures=["bp"]).getCategoricalCols() == ["bp"]
    # SynapseML's columns, one vector of weights per class and the fits' R^2, as the guide writes them
    synapse = own.withColumn("r2", F.transform("weights", lambda e: e.r2)) \
        .withColumn("weights", F.transform("weights", lambda e: e.weights))
    for i, row in by_id(synapse, "weights").items():
        assert [v.toArray().tolist() for v in row] == [e["weights"].toArray().tolist() for e in got[i]]


def test_tabular_shap_as_in_the_notebook(diabetes):
    frame, df, model = diabetes
    background = df.orderBy("id").limit(20).cache()
    shap = TabularSHAP(
        inputCols=COLUMNS,
        outputCol="shapValues",
        numSamples=2 ** len(COLUMNS) - 2,
        model=model,
        targetCol="probability",
        targetClasses=[1],
        backgroundData=F.broadcast(background),
    )
    out = shap.transform(explained(df))
    got = by_id(out, "shapValues")
    assert got == by_id(TabularSHAP(inputCols=COLUMNS, outputCol="shapValues", numSamples=2 ** len(COLUMNS) - 2,
                                    model=model, targetClasses=[1]).fit(background).transform(explained(df)),
                        "shapValues")
    # as the notebook reads it: the first element the base value (the model's mean output over the background),
    # the others add up to the row's output less that base value
    base = np.mean([p[1] for p in model.transform(background).select("probability").toPandas()["probability"]])
    prob = by_id(model.transform(explained(df)), "probability")
    for i, values in got.items():
        v = values[0].toArray()
        assert len(values) == 1 and len(v) == len(COLUMNS) + 1
        np.testing.assert_allclose(v[0], base, rtol=0, atol=1e-9)
        np.testing.assert_allclose(v[1:].sum(), prob[i][1] - base, rtol=0, atol=1e-9)
    assert set(out.columns) >= {"shapValues", "r2"}


def test_vector_explainers_background_data(diabetes):
    _, df, model = diabetes
    vectors = model.stages[0].transform(df)
    classifier = model.stages[-1]
    for stage, col in ((VectorLIME, "weights"), (VectorSHAP, "shapValues")):
        params = dict(inputCol="features", outputCol=col, model=classifier, targetClasses=[1], numSamples=30)
        got = by_id(stage(backgroundData=vectors, **params).transform(explained(vectors)), col)
        assert got == by_id(stage(**params).fit(vectors).transform(explained(vectors)), col), stage.__name__


def test_transform_without_background_says_what_to_write(diabetes):
    _, df, model = diabetes
    with pytest.raises(ValueError, match=r"backgroundData=background\)\.transform\(df\).*\.fit\(background\)"):
        TabularSHAP(inputCols=COLUMNS, model=model).transform(df)


@pytest.fixture(scope="module")
def sentences(spark):
    texts = ["the food was great and the staff friendly", "awful service and cold food",
             "great place great food", "the staff was rude and the food awful", "friendly and great"]
    train = spark.createDataFrame([(t, float(("great" in t) or ("friendly" in t))) for t in texts], ["text", "label"])
    model = Pipeline(stages=[Tokenizer(inputCol="text", outputCol="words"), HashingTF(inputCol="words",
                             outputCol="tf", numFeatures=64), LogisticRegression(featuresCol="tf", regParam=0.1)]).fit(train)
    df = Tokenizer(inputCol="text", outputCol="tokens").transform(train.limit(3))
    return df.withColumn("id", F.monotonically_increasing_id()).cache(), model


def test_text_explainers_tokens_col(sentences):
    df, model = sentences
    for stage in (TextLIME, TextSHAP):
        documented = (stage()
                      .setModel(model)
                      .setInputCol("text")
                      .setTargetCol("probability")
                      .setTargetClasses([1])
                      .setOutputCol("weights")
                      .setTokensCol("tokens")
                      .setNumSamples(100))
        own = stage(model=model, inputCol="text", targetClasses=[1], outputCol="weights", bagOfWords=False,
                    numSamples=100)
        got = by_id(documented.transform(df), "weights")
        assert got == by_id(own.transform(df), "weights"), stage.__name__
    tokens = by_id(df, "tokens")
    for i, values in got.items():  # one value per token position, after the base value
        assert len(values[0]) == len(tokens[i]) + 1
    assert TextSHAP(tokensCol="tokens").getBagOfWords() is False
    # As SynapseML, the model sees the tokens joined by spaces (a Tokenizer's lower-cased words), not the text
    shouted = df.withColumn("text", F.upper("text"))
    got = documented.transform(shouted)
    assert by_id(got, "weights") == by_id(own.transform(df), "weights")
    assert by_id(got, "text") == by_id(shouted, "text")  # the original text is kept in the output
    with pytest.raises(Exception, match="tokensCol 'tokens' holds an empty token or one with whitespace"):
        documented.transform(df.withColumn("tokens", F.array(F.lit("a b")))).collect()


def documented_image_explainer(stage, output_col):
    """The quick examples' ImageLIME and ImageSHAP calls (ImageSHAP's also sets superpixelCol, the default)."""
    from irbis.onnx import ONNXModel

    return (stage.setModel(ONNXModel())
            .setOutputCol(output_col)
            .setInputCol("image")
            .setCellSize(150.0)
            .setModifier(50.0)
            .setNumSamples(500)
            .setTargetCol("probability")
            .setTargetClassesCol("top2pred"))


def test_image_lime_target_classes_col_and_metrics_col_say_what_to_write(spark):
    with pytest.raises(ValueError, match=r"setTargetClasses\(\[\.\.\.\]\).*ImageSHAP\(targetClassesCol="):
        documented_image_explainer(ImageLIME(), "weights")
    shap = documented_image_explainer(ImageSHAP().setSuperpixelCol("superpixels"), "shaps")
    assert shap.getTargetClassesCol() == "top2pred"  # ImageSHAP has it: the same Param
    with pytest.raises(ValueError, match=r"F\.transform\('weights', lambda e: e\.r2\)"):
        TabularLIME(outputCol="weights", metricsCol="r2")


def test_superpixel_clusters(spark):
    rng = np.random.default_rng(3)
    img = np.kron(rng.integers(0, 255, (3, 4, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    df = spark.createDataFrame([(bytearray(cv2.imencode(".png", img)[1].tobytes()),)], ["content"])
    sp = SuperpixelTransformer(inputCol="content", cellSize=8.0).transform(df).head()["superpixels"]
    labels = np.array(sp["labels"]).reshape(img.shape[:2])
    clusters = superpixel_clusters(sp)
    assert len(clusters) == sp["count"] == labels.max() + 1
    assert sum(len(c) for c in clusters) == labels.size
    for k, cluster in enumerate(clusters):
        assert all(labels[y, x] == k for x, y in cluster)
        assert cluster == sorted(cluster, key=lambda p: (p[1], p[0]))


def test_ice_pdp_as_in_the_notebook(diabetes):
    frame, df, model = diabetes
    lr = model.stages[-1]
    pdp = ICETransformer(model=model, targetCol="probability", kind="average", targetClasses=[1],
                         numericFeatures=[{"name": "bmi", "numSplits": 5}, "bp"])
    out = pdp.transform(df).head()
    X = frame[COLUMNS].to_numpy()
    reference = SklearnLogistic().fit(X, frame["label"])  # then given the Spark model's coefficients
    reference.coef_, reference.intercept_ = lr.coefficients.toArray()[None, :], np.array([lr.intercept])
    for name, splits in (("bmi", 5), ("bp", 10)):
        want = partial_dependence(reference, X, [COLUMNS.index(name)], kind="average",
                                  percentiles=(0, 1), grid_resolution=splits + 1, method="brute")
        got = out[f"{name}_dependence"]
        np.testing.assert_allclose(sorted(got), want["grid_values"][0], rtol=0, atol=1e-12)
        np.testing.assert_allclose([got[k].toArray()[0] for k in sorted(got)], want["average"][0], rtol=0, atol=1e-9)


def test_image_featurizer_model_by_name_says_what_to_write(spark):
    from irbis.featurize import ImageFeaturizer

    with pytest.raises(ValueError, match=r"no model 'ResNet50'.*EfficientNetLite0.*downloadByName"):
        ImageFeaturizer().setModel("ResNet50")
    with pytest.raises(ValueError, match=r"ModelDownloader\(spark, folder\)\.downloadByName\('EfficientNetLite0'\)"):
        ImageFeaturizer(inputCol="image", outputCol="features").setModel("EfficientNetLite0")


def named(param_map):
    return {p.name: v for p, v in param_map.items()}


def test_image_featurizer_as_in_the_notebook(spark):
    from irbis.featurize import ImageFeaturizer

    model = ROOT.parent / "shared" / "models" / "efficientnet_lite0_features.onnx"
    if not model.exists():
        pytest.skip("needs ../shared/models")
    rng = np.random.default_rng(5)
    images = [cv2.imencode(".png", rng.integers(0, 255, (40, 50, c), dtype=np.uint8))[1].tobytes() for c in (3, 1)]
    df = spark.createDataFrame([(bytearray(b),) for b in images] + [(bytearray(b"not an image"),)], ["image"])
    featurizer = ImageFeaturizer(inputCol="image", outputCol="features", autoConvertToColor=True,
                                 ignoreDecodingErrors=True).setModelLocation(str(model))
    own = ImageFeaturizer(inputCol="image", outputCol="features", modelLocation=str(model), colorMode="color")
    assert named(featurizer.extractParamMap()) == named(own.extractParamMap())  # the aliases only rename
    rows = featurizer.transform(df).collect()
    assert [r["features"] is None for r in rows] == [False, False, True]
    assert [r["error"] is None for r in rows] == [True, True, False]
    with pytest.raises(ValueError, match="errorCol"):
        ImageFeaturizer(ignoreDecodingErrors=False)
    with pytest.raises(ValueError, match="colorMode"):
        ImageFeaturizer().setAutoConvertToColor(False)
