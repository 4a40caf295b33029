"""LIME stages against independent references.

* The local models equal those of the `lime` package: given each row's perturbed samples, distances and
  scores (the stage's `samplesCol`), `LimeBase.explain_instance_with_data` with the same kernel and a
  scikit-learn Ridge of the same alpha gives the same weights, intercept and R^2 (within 1e-6).
* Known structure: scikit-learn-independent checks live in the Scala suites; here the camera-trap classifier
  (ImageFeaturizer + LogisticRegression fitted on the shared photographs) is explained on snow-leopard
  photographs, and its top superpixels must lie on the animal (hand-drawn boxes in fixtures/).
* The overlay PNG is written and decodes (cv2) to the documented picture.
"""

import csv
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import CountVectorizer, OneHotEncoder, StringIndexer, Tokenizer, VectorAssembler
from pyspark.ml.linalg import Vectors
from pyspark.sql import Row
from pyspark.sql.types import BinaryType, DoubleType, IntegerType, StringType, StructField, StructType

from conftest import FIXTURES, ROOT
from image_data import CAMERA_TRAPS

TOL = 1e-6
SHARED_MODELS = ROOT.parent / "shared" / "models"
FEATURES = SHARED_MODELS / "efficientnet_lite0_features.onnx"
IMAGE_SCHEMA = StructType([StructField("origin", StringType()), StructField("height", IntegerType()),
                          StructField("width", IntegerType()), StructField("nChannels", IntegerType()),
                          StructField("mode", IntegerType()), StructField("data", BinaryType())])


def lime_reference(samples, target, width, alpha):
    """What the lime package fits on the same samples: (intercept, weights by feature, R^2)."""
    from lime.lime_base import LimeBase
    from sklearn.linear_model import Ridge

    states = np.array([s["state"].toArray() for s in samples])
    distances = np.array([s["distance"] for s in samples])
    scores = np.array([s["scores"].toArray() for s in samples])
    base = LimeBase(lambda d: np.sqrt(np.exp(-(d ** 2) / width ** 2)), random_state=0)
    intercept, pairs, r2, _ = base.explain_instance_with_data(
        states, scores, distances, target, states.shape[1], feature_selection="none",
        model_regressor=Ridge(alpha=alpha, fit_intercept=True, random_state=0))
    weights = np.zeros(states.shape[1])
    for i, w in pairs:
        weights[i] = w
    return intercept, weights, r2


def assert_matches_lime(rows, width, alpha, n_samples):
    assert rows
    for r in rows:
        samples = r["samples"]
        assert len(samples) == n_samples
        assert samples[0]["distance"] == 0.0
        for e in r["explanation"]:
            intercept, weights, r2 = lime_reference(samples, e["targetClass"], width, alpha)
            np.testing.assert_allclose(e["weights"].toArray(), weights, rtol=0, atol=TOL)
            assert abs(e["intercept"] - intercept) < TOL
            assert abs(e["r2"] - r2) < TOL


def vector_data(spark, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = (2 * x[:, 0] - x[:, 3] + 0.3 * rng.normal(size=n) > 0).astype(float)
    return spark.createDataFrame([(Vectors.dense(a), float(b)) for a, b in zip(x, y)], ["features", "label"])


@pytest.mark.parametrize("alpha,width", [(1.0, 0.75), (0.01, 2.0), (10.0, 0.3)])
def test_vector_lime_equals_lime_base(spark, alpha, width):
    from irbis.lime import VectorLIME

    train = vector_data(spark, 300, 1)
    model = LogisticRegression(maxIter=30).fit(train)
    explainer = VectorLIME(model=model, numSamples=150, regularization=alpha, kernelWidth=width, seed=7,
                           targetClasses=[0, 1], samplesCol="samples").fit(train)
    rows = explainer.transform(vector_data(spark, 4, 2)).collect()
    assert_matches_lime(rows, width, alpha, 150)
    # the standardised state of sample 0 is the row itself, scaled by the background statistics
    x = np.array([r["features"].toArray() for r in train.collect()])
    row = rows[0]
    np.testing.assert_allclose(row["samples"][0]["state"].toArray(),
                               (row["features"].toArray() - x.mean(0)) / x.std(0), atol=1e-9)


def test_tabular_lime_equals_lime_base_and_ranks_the_used_features(spark):
    from irbis.lime import TabularLIME

    rng = np.random.default_rng(3)
    n = 400
    colour = rng.choice(["red", "green", "blue"], size=n)
    age = rng.normal(40, 12, size=n)
    noise = rng.normal(size=n)
    label = ((colour == "red") * 4.0 - 2 + 0.1 * (age - 40) + 0.3 * rng.normal(size=n) > 0).astype(float)
    df = spark.createDataFrame([(float(a), str(c), float(z), float(l)) for a, c, z, l in zip(age, colour, noise, label)],
                               ["age", "colour", "noise", "label"])
    model = Pipeline(stages=[
        StringIndexer(inputCol="colour", outputCol="ci"), OneHotEncoder(inputCol="ci", outputCol="cv"),
        VectorAssembler(inputCols=["age", "noise", "cv"], outputCol="features"),
        LogisticRegression(maxIter=50)]).fit(df)
    explainer = TabularLIME(model=model, inputCols=["age", "colour", "noise"], categoricalCols=["colour"],
                            numSamples=300, samplesCol="samples", targetClasses=[1]).fit(df)
    rows = explainer.transform(df.limit(5)).collect()
    assert_matches_lime(rows, 0.75, 1.0, 300)
    for r in rows:
        w = np.abs(r["explanation"][0]["weights"].toArray())
        assert w[2] < min(w[0], w[1]), f"noise outranks a used feature: {w}"
        # sample values keep the column types; categorical states are 1 exactly when the colour matches
        for s in r["samples"][:20]:
            assert s["state"][1] in (0.0, 1.0)


def test_text_lime_equals_lime_base(spark):
    from irbis.lime import TextLIME

    rng = np.random.default_rng(4)
    words = ["the", "food", "was", "slow", "service", "view", "room", "cheap"]
    texts, labels = [], []
    for _ in range(300):
        w = list(rng.choice(words, size=rng.integers(3, 7)))
        good = rng.random() < 0.5
        if good:
            w.insert(int(rng.integers(0, len(w))), "excellent")
        texts.append(" ".join(w))
        labels.append(float(good))
    df = spark.createDataFrame(list(zip(texts, labels)), ["text", "label"])
    model = Pipeline(stages=[Tokenizer(inputCol="text", outputCol="tokens"),
                             CountVectorizer(inputCol="tokens", outputCol="tf"),
                             LogisticRegression(featuresCol="tf", maxIter=50)]).fit(df)
    test = spark.createDataFrame([("the view was excellent and cheap",), ("slow room service",)], ["text"])
    rows = TextLIME(model=model, inputCol="text", numSamples=200, samplesCol="samples").transform(test).collect()
    assert_matches_lime(rows, 0.25, 1.0, 200)
    first = rows[0]
    tokens = first["text"].split()
    w = first["explanation"][0]["weights"].toArray()
    assert first["explanation"][0]["targetClass"] == 1
    assert tokens[int(np.argmax(w))] == "excellent"


# ---- images: the camera-trap classifier on snow leopards ----

def image_row(bgr, origin):
    h, w, c = bgr.shape
    return Row(origin=origin, height=h, width=w, nChannels=c, mode=16, data=bytearray(bgr.tobytes()))


def small(path, width=256):
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        return None
    h, w = img.shape[:2]
    return cv2.resize(img, (width, width * h // w), interpolation=cv2.INTER_AREA)


def boxes():
    with open(FIXTURES / "snow_leopard_boxes.csv", encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    return {r["file"]: tuple(float(r[k]) for k in ("x0", "y0", "x1", "y1")) for r in csv.DictReader(lines)}


@pytest.fixture(scope="module")
def camera_trap_classifier(spark):
    """ImageFeaturizer (EfficientNet-Lite0 features) + LogisticRegression fitted on the 43 readable photographs."""
    if not FEATURES.exists():
        pytest.skip("needs ../shared/models")
    from irbis.featurize import ImageFeaturizer

    with open(CAMERA_TRAPS / "labels.csv", encoding="utf-8") as f:
        labels = {r["path"]: float(r["is_snow_leopard"]) for r in csv.DictReader(f)}
    rows = []
    for rel, label in sorted(labels.items()):
        img = small(CAMERA_TRAPS / rel)
        if img is not None:
            rows.append((image_row(img, rel), label))
    schema = StructType([StructField("image", IMAGE_SCHEMA), StructField("label", DoubleType())])
    train = spark.createDataFrame(rows, schema)
    featurizer = ImageFeaturizer(inputCol="image", outputCol="features", modelLocation=str(FEATURES),
                                 inputSize=224, resizeShortSide=256, channelOrder="RGB", scale=1 / 255,
                                 mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    return Pipeline(stages=[featurizer, LogisticRegression(maxIter=100, regParam=0.01)]).fit(train)


def test_snow_leopards_are_explained_by_superpixels_on_the_animal(spark, camera_trap_classifier, tmp_path):
    from irbis.lime import ImageLIME

    box = boxes()
    rows = [(image_row(small(CAMERA_TRAPS / "snow_leopard" / name), name),) for name in sorted(box)]
    df = spark.createDataFrame(rows, StructType([StructField("image", IMAGE_SCHEMA)]))
    lime = ImageLIME(model=camera_trap_classifier, targetClasses=[1], cellSize=24.0, numSamples=160,
                     hideColor="mean", seed=1)
    out = lime.transform(df).collect()
    top_k = 5
    top1, top3, chances = [], [], []
    for r in out:
        name = r["image"]["origin"]
        seg = r["superpixels"]
        labels = np.asarray(seg["labels"]).reshape(seg["height"], seg["width"])
        h, w = labels.shape
        x0, y0, x1, y1 = box[name]
        inside = np.zeros_like(labels, dtype=bool)
        inside[int(y0 * h):int(math.ceil(y1 * h)), int(x0 * w):int(math.ceil(x1 * w))] = True
        weights = r["explanation"][0]["weights"].toArray()
        top = np.argsort(-weights)[:top_k]
        on_animal = [inside[labels == t].mean() for t in top]
        # The boxes cover 12-19% of the frame: by chance about that share of the top pixels would lie inside.
        chance = inside.mean()
        print(f"{name}: box {chance:.2f} of the frame; top-{top_k} superpixels inside it: {np.round(on_animal, 2).tolist()}")
        top1.append(on_animal[0] >= 0.5)
        top3.append(np.mean(on_animal[:3]))
        chances.append(chance)
        out_dir = os.environ.get("IRBIS_LIME_OVERLAYS")  # to keep the pictures (docs/images was made this way)
        png = (Path(out_dir) if out_dir else tmp_path) / (name.replace(".jpg", "") + "_lime.png")
        picture = ImageLIME.overlay(r["image"], seg, r["explanation"], top_k=top_k, path=str(png))
        decoded = cv2.imread(str(png), cv2.IMREAD_COLOR)
        assert decoded is not None and decoded.shape == (h, w, 3)
        np.testing.assert_array_equal(decoded[:, :, ::-1], picture)
    # Over all frames, the top three superpixels lie on the animal at least twice as often as chance. (In the
    # daylight frames the classifier also leans on the snow and rocks around the animal.)
    assert np.mean(top3) >= 2 * np.mean(chances), f"top-3 inside the boxes {top3}, chance {chances}"
    assert sum(top1) * 2 > len(top1), f"the top superpixel is on the animal in only {sum(top1)} of {len(top1)} frames"


def test_overlay_keeps_top_superpixels_and_dims_the_rest(tmp_path):
    from irbis.lime import ImageLIME

    bgr = np.full((4, 6, 3), 200, np.uint8)
    bgr[:, :, 0] = 10  # blue channel
    labels = np.array([[0, 0, 1, 1, 2, 2]] * 4)
    seg = {"height": 4, "width": 6, "count": 3, "labels": labels.ravel().tolist()}
    out = ImageLIME.overlay(bgr, seg, np.array([0.5, -1.0, 0.1]), top_k=1, path=str(tmp_path / "o.png"))
    # segment 0 is kept (RGB order) with a green outline where it meets segment 1; the rest is dimmed to 30%
    assert tuple(out[0, 0]) == (200, 200, 10)
    assert tuple(out[0, 1]) == (0, 255, 0)
    assert tuple(out[0, 3]) == (60, 60, 3)
    assert tuple(out[0, 5]) == (60, 60, 3)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "o.png"))[:, :, ::-1], out)
