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
import importlib.util
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import CountVectorizer, OneHotEncoder, StringIndexer, Tokenizer, VectorAssembler
from pyspark.ml.linalg import Vectors
from pyspark.sql import Row
from pyspark.sql.types import BinaryType, IntegerType, StringType, StructField, StructType

from conftest import FIXTURES, ROOT, subprocess_env
from image_data import CAMERA_TRAPS

TOL = 1e-6
EXAMPLES = ROOT / "examples"
LEOPARD_SAMPLES = 300
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
    df = spark.createDataFrame([(float(a), str(c), float(z), float(y)) for a, c, z, y in zip(age, colour, noise, label)],
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


@pytest.mark.parametrize("bag_of_words", [True, False])
def test_text_samples_are_the_text_without_the_hidden_tokens(spark, bag_of_words):
    """Each sample's score is the logistic regression's on the text numpy rebuilds from the mask (recomputed
    from the fitted coefficients), and its distance is scikit-learn's cosine distance of the mask from all-ones."""
    from sklearn.metrics.pairwise import pairwise_distances

    from irbis.lime import TextLIME

    train = spark.createDataFrame([("cheap room", 1.0), ("slow room", 0.0), ("cheap view", 1.0), ("slow staff", 0.0),
                                   ("the view was excellent", 1.0), ("the staff was slow", 0.0)], ["text", "label"])
    model = Pipeline(stages=[Tokenizer(inputCol="text", outputCol="tokens"),
                             CountVectorizer(inputCol="tokens", outputCol="tf"),
                             LogisticRegression(featuresCol="tf", maxIter=50, regParam=0.1)]).fit(train)
    text = "cheap room was cheap and the view was slow"
    row = TextLIME(model=model, inputCol="text", numSamples=50, bagOfWords=bag_of_words, samplesCol="samples",
                   targetClasses=[1]).transform(spark.createDataFrame([(text,)], ["text"])).collect()[0]
    tokens = text.split()
    features = list(dict.fromkeys(tokens)) if bag_of_words else tokens
    feature_of = [features.index(t) for t in tokens] if bag_of_words else list(range(len(tokens)))
    vocabulary = {w: i for i, w in enumerate(model.stages[1].vocabulary)}
    lr = model.stages[2]
    assert len(row["explanation"][0]["weights"]) == len(features)
    for sample in row["samples"]:
        mask = sample["state"].toArray()
        assert mask.shape == (len(features),)
        counts = np.zeros(len(vocabulary))
        for t, f in zip(tokens, feature_of):
            if mask[f] and t in vocabulary:
                counts[vocabulary[t]] += 1
        p1 = 1 / (1 + math.exp(-(lr.coefficients.toArray() @ counts + lr.intercept)))
        assert abs(sample["scores"].toArray()[1] - p1) < 1e-9
        expected_distance = 1.0 if not mask.any() else pairwise_distances([mask], [np.ones_like(mask)], metric="cosine")[0, 0]
        assert abs(sample["distance"] - expected_distance) < 1e-12
    assert_matches_lime([row], 0.25, 1.0, 50)


# ---- images: what the model is shown ----

@pytest.mark.parametrize("hide", ["black", "mean"])
def test_perturbed_images_are_the_image_with_hidden_superpixels_painted(spark, tmp_path, hide):
    """Each sample's score equals onnxruntime's on the image numpy paints from the sample's mask and superpixels.

    The model is a weighted sum of all pixels (an ONNX graph), so every painted pixel moves the score."""
    import onnxruntime as ort

    from irbis.lime import ImageLIME
    from irbis.onnx import ONNXModel

    import onnx_models

    h, w = 18, 22
    model = onnx_models.weighted_pixel_sum(h, w, seed=5)
    (tmp_path / "sum.onnx").write_bytes(model.SerializeToString())
    rng = np.random.default_rng(6)
    # smooth colour blobs plus noise, so segments have distinct, non-constant colours
    yy, xx = np.mgrid[0:h, 0:w]
    images = [np.clip(np.stack([100 + 80 * np.sin(xx / 4 + k), 120 + 60 * np.cos(yy / 3 - k), 60 + 5 * xx], -1)
                      + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8) for k in range(2)]
    df = spark.createDataFrame([(image_row(img, f"img{k}"),) for k, img in enumerate(images)],
                               StructType([StructField("img", IMAGE_SCHEMA)]))
    lime = ImageLIME(model=ONNXModel(modelLocation=str(tmp_path / "sum.onnx")), inputCol="img", targetCol="score",
                     cellSize=6.0, numSamples=40, hideColor=hide, samplingFraction=0.5, samplesCol="samples", seed=3)
    rows = lime.transform(df).collect()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert sorted(r["img"]["origin"] for r in rows) == ["img0", "img1"]
    for r in rows:
        img = images[int(r["img"]["origin"][3:])]
        seg = r["superpixels"]
        labels = np.asarray(seg["labels"]).reshape(h, w)
        masks = np.array([s["state"].toArray() for s in r["samples"]]).astype(bool)
        assert masks.shape == (40, seg["count"]) and masks[0].all() and not masks[1:].all()
        painted = []
        for mask in masks:
            out = img.copy()
            for segment in np.flatnonzero(~mask):
                inside = labels == segment
                out[inside] = 0 if hide == "black" else np.floor(img[inside].mean(axis=0) + 0.5).astype(np.uint8)
            painted.append(out.transpose(2, 0, 1))
        expected = session.run(["score"], {"img": np.stack(painted)})[0]
        got = np.array([s["scores"].toArray()[0] for s in r["samples"]])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-2)
    assert_matches_lime(rows, 0.25, 1.0, 40)


# ---- images: the camera-trap classifier on snow leopards (examples/lime_snow_leopard.py) ----

def image_row(bgr, origin):
    h, w, c = bgr.shape
    return Row(origin=origin, height=h, width=w, nChannels=c, mode=16, data=bytearray(bgr.tobytes()))


def boxes():
    with open(FIXTURES / "snow_leopard_boxes.csv", encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    return {r["file"]: tuple(float(r[k]) for k in ("x0", "y0", "x1", "y1")) for r in csv.DictReader(lines)}


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("_irbis_example_lime", EXAMPLES / "lime_snow_leopard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def camera_trap_classifier(spark, example):
    """The example's classifier: ImageFeaturizer (EfficientNet-Lite0 features) + LogisticRegression fitted on
    the 43 readable photographs."""
    if not FEATURES.exists() or not (CAMERA_TRAPS / "labels.csv").exists():
        pytest.skip("needs ../shared/models and ../shared/data")
    return example.fit_classifier(spark, example.load_photos(CAMERA_TRAPS), FEATURES)


def test_snow_leopards_are_explained_by_superpixels_on_the_animal(spark, example, camera_trap_classifier, tmp_path):
    """The example's explanation of four frames against hand-drawn boxes of the animal.

    A superpixel counts as on the animal when at least half its pixels are inside the box. In every frame the
    superpixels on the animal carry on average at least twice the weight of those off it (off-animal weights
    average about 0 in the night frames); over all frames the top three superpixels lie inside the boxes at
    least twice as often as chance. (Measured before this test was written, over 160 and 400 samples and two
    seeds: the ratio was at least 3.1 in every frame, the top-3 share 0.52-0.61 against a chance of 0.155.)"""

    box = boxes()
    images = [image_row(example.small(CAMERA_TRAPS / "snow_leopard" / name), name) for name in sorted(box)]
    out = example.explain(spark, camera_trap_classifier, images, samples=LEOPARD_SAMPLES)
    assert sorted(r["image"]["origin"] for r in out) == sorted(box)
    top3, chances, report = [], [], []
    out_dir = Path(os.environ.get("IRBIS_LIME_OVERLAYS", tmp_path))  # to keep the pictures (docs/images was made so)
    for r in out:
        name = r["image"]["origin"]
        seg = r["superpixels"]
        labels = np.asarray(seg["labels"]).reshape(seg["height"], seg["width"])
        h, w = labels.shape
        x0, y0, x1, y1 = box[name]
        inside = np.zeros_like(labels, dtype=bool)
        inside[int(y0 * h):int(math.ceil(y1 * h)), int(x0 * w):int(math.ceil(x1 * w))] = True
        weights = r["explanation"][0]["weights"].toArray()
        share_inside = np.array([inside[labels == k].mean() for k in range(seg["count"])])
        on_animal = share_inside >= 0.5
        top = np.argsort(-weights)[:3]
        top3.append(share_inside[top].mean())
        chances.append(inside.mean())  # the boxes cover 12-19% of the frame
        on, off = weights[on_animal].mean(), weights[~on_animal].mean()
        report.append(f"{name}: mean weight on/off the animal {on:.5f}/{off:.5f}, "
                      f"top-3 inside {top3[-1]:.2f} (chance {chances[-1]:.2f})")
        print(report[-1])
        assert on > 0 and on >= 2 * max(off, 0.0), report[-1]
        path, picture = example.write_overlay(r, str(out_dir), top=5)
        decoded = cv2.imread(path, cv2.IMREAD_COLOR)
        assert decoded is not None and decoded.shape == (h, w, 3)
        np.testing.assert_array_equal(decoded[:, :, ::-1], picture)
    assert np.mean(top3) >= 2 * np.mean(chances), "\n".join(report)


@pytest.mark.skipif(not FEATURES.exists() or not (CAMERA_TRAPS / "labels.csv").exists(),
                    reason="needs ../shared/models and ../shared/data")
@pytest.mark.own_spark
def test_notebook_runs_and_writes_the_overlays(tmp_path):
    """examples/lime_snow_leopard.ipynb in a fresh kernel (its own Spark), with fewer samples: still more than the
    superpixels of its 256-pixel-wide frames at cellSize 24 (about 85), else ImageLIME refuses the fit."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(EXAMPLES / "lime_snow_leopard.ipynb", as_version=4)
    env = subprocess_env()
    env.update(IRBIS_LIME_SAMPLES="120", IRBIS_LIME_OUT=str(tmp_path))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute(env=env)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    pngs = sorted(tmp_path.glob("*_lime.png"))
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert pngs and len(shown) == len(pngs)
    assert all(cv2.imread(str(p)) is not None for p in pngs)


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


def test_overlay_takes_encoded_bytes_and_image_structs_as_the_explained_column_holds_them(spark):
    """A binaryFile column's bytes, decoded as the JVM decodes them, and the image struct the JVM decoded give the
    same picture as the BGR array itself; anything else is a clear error."""
    from irbis.image import ImageDecoder
    from irbis.lime import ImageLIME

    rng = np.random.default_rng(3)
    bgr = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    png = cv2.imencode(".png", bgr)[1].tobytes()  # lossless: the reference is the array itself
    seg = {"height": 6, "width": 8, "count": 2, "labels": ([0] * 4 + [1] * 4) * 6}
    weights = np.array([1.0, -1.0])
    expected = ImageLIME.overlay(bgr, seg, weights, top_k=1)
    np.testing.assert_array_equal(ImageLIME.overlay(png, seg, weights, top_k=1), expected)
    np.testing.assert_array_equal(ImageLIME.overlay(bytearray(png), seg, weights, top_k=1), expected)
    df = spark.createDataFrame([Row(path="mem:/x.png", content=bytearray(png))])
    struct = ImageDecoder(inputCol="content", outputCol="image").transform(df).first()["image"]
    np.testing.assert_array_equal(ImageLIME.overlay(struct, seg, weights, top_k=1), expected)
    with pytest.raises(ValueError, match="the 3 bytes given as the image are not an image file"):
        ImageLIME.overlay(b"abc", seg, weights)
    with pytest.raises(ValueError, match="expected an image struct .* got str"):
        ImageLIME.overlay("x.png", seg, weights)
    with pytest.raises(ValueError, match="the superpixels are None"):
        ImageLIME.overlay(bgr, None, weights)
