"""ImageSHAP and TextSHAP against the ``shap`` package's KernelExplainer on the same masking function.

Each stage's features are an image's superpixels or a sentence's tokens; a coalition keeps some of them and paints
(mean colour) or removes the others. shap gets the same game as a numpy function of 0/1 coalition vectors: the
image painted by numpy with the superpixels the stage returns, or the tokens kept by Python, then the model's SQL
expression computed in Python. With few features and numSamples covering all 2^M - 2 coalitions both compute exact
Shapley values; they must agree within 1e-6, the base value must be the model's output with every feature absent,
and the values must add up to f(x) minus it.
"""

import numpy as np
import pytest
from pyspark.ml.feature import SQLTransformer
from pyspark.sql import Row
from pyspark.sql.types import BinaryType, IntegerType, StringType, StructField, StructType

from irbis.lime import ImageSHAP, TextSHAP

shap = pytest.importorskip("shap")

TOL = 1e-6
SIDE = 32
IMAGE_SCHEMA = StructType([StructField("origin", StringType()), StructField("height", IntegerType()),
                           StructField("width", IntegerType()), StructField("nChannels", IntegerType()),
                           StructField("mode", IntegerType()), StructField("data", BinaryType())])
# (y, x, channel) of the bytes the image model reads, each in a corner block
PIXELS = [(2, 3, 0), (5, 28, 1), (27, 4, 2), (30, 30, 0)]


def byte_sql(y, x, c):
    return f"CAST(conv(hex(substring(image.data, {(y * SIDE + x) * 3 + c + 1}, 1)), 16, 10) AS DOUBLE)"


def image_score(b):
    """The image model, with interactions between quadrants (the SQL below computes the same)."""
    return b[0] * b[1] / 255.0 + 0.5 * b[2] - b[3] * b[0] / 500.0 + b[1] * b[2] * b[3] / 65025.0


IMAGE_SQL = ("SELECT *, {} * {} / 255.0 + 0.5 * {} - {} * {} / 500.0 + {} * {} * {} / 65025.0 AS prediction "
             "FROM __THIS__").format(*[byte_sql(*PIXELS[i]) for i in (0, 1, 2, 3, 0, 1, 2, 3)])


def block_image(seed):
    """3 x 3 blocks of distinct colours with noise: few superpixels, whose mean colour is not their pixels'."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 216, size=(3, 3, 3))
    block = np.arange(SIDE) * 3 // SIDE
    img = colours[block[:, None], block[None, :]]
    return np.clip(img + rng.integers(-30, 31, size=img.shape), 0, 255).astype(np.uint8)


def shap_reference(f, m):
    """shap's exact (base value, values) for a game of m features, all present in x, all absent in the background."""
    explainer = shap.KernelExplainer(f, np.zeros((1, m)))
    values = np.asarray(explainer.shap_values(np.ones((1, m)), nsamples=2 ** m - 2, l1_reg=False, silent=True))
    return float(np.atleast_1d(explainer.expected_value)[0]), values.reshape(m)


def image_game(img, labels, fill):
    """The image model's output for 0/1 rows of kept superpixels, the others painted with their `fill` colour."""
    def f(z):
        scores = []
        for keep in np.atleast_2d(z):
            painted = img.astype(np.float64).copy()
            for k in np.flatnonzero(keep == 0):
                painted[labels == k] = fill[k]
            scores.append(image_score([painted[y, x, c] for y, x, c in PIXELS]))
        return np.array(scores)
    return f


@pytest.mark.parametrize("hide", ["mean", "black"])
def test_image_shap_equals_kernel_explainer(spark, image_model, hide):
    images = [block_image(seed) for seed in (1, 2)]
    df = spark.createDataFrame([Row(image=Row(f"q{i}", SIDE, SIDE, 3, 16, bytearray(img.tobytes())))
                                for i, img in enumerate(images)], StructType([StructField("image", IMAGE_SCHEMA)]))
    out = ImageSHAP(model=image_model, targetCol="prediction", cellSize=11.0, hideColor=hide,
                    numSamples=2 ** 12 - 2).transform(df).collect()
    for row, img in zip(sorted(out, key=lambda r: r["image"]["origin"]), images):
        assert row["error"] is None
        sp = row["superpixels"]
        m = sp["count"]
        assert 2 <= m <= 12, m
        labels = np.array(sp["labels"]).reshape(SIDE, SIDE)
        flat = img.reshape(-1, 3).astype(np.float64)
        fill = np.zeros((m, 3))
        if hide == "mean":  # each superpixel's mean colour, rounded half up as the stage rounds
            fill = np.floor(np.array([flat[labels.ravel() == k].mean(axis=0) for k in range(m)]) + 0.5)
        f = image_game(img, labels, fill)
        base, expected = shap_reference(f, m)
        values = row["shapValues"][0].toArray()
        assert len(values) == m + 1
        print(f"{hide}: {m} superpixels, {np.abs(values[1:] - expected).max():.1e} from shap's values")
        np.testing.assert_allclose(values[0], base, rtol=0, atol=TOL)
        np.testing.assert_allclose(values[1:], expected, rtol=0, atol=TOL)
        np.testing.assert_allclose(values[1:].sum(), f(np.ones(m))[0] - f(np.zeros(m))[0], rtol=0, atol=1e-9)
        assert row["r2"].size == 1
        # overlay draws the values (not the base value) of the shapValues column as it draws a weight array
        drawn = ImageSHAP.overlay(row["image"], sp, row["shapValues"], top_k=2)
        np.testing.assert_array_equal(drawn, ImageSHAP.overlay(row["image"], sp, values[1:], top_k=2))


def token_score(tokens):
    """The tokens model (the SQL below computes the same)."""
    return ((2.0 if "food" in tokens and "slow" in tokens else 0.0) - (1.5 if "cold" in tokens else 0.0)
            + 0.25 * len(tokens) * (1.0 if "great" in tokens else 0.5))


TOKENS_SQL = ((
    "SELECT *, IF(array_contains(tokens, 'food') AND array_contains(tokens, 'slow'), 2.0, 0.0) "
    "- IF(array_contains(tokens, 'cold'), 1.5, 0.0) "
    "+ 0.25 * size(tokens) * IF(array_contains(tokens, 'great'), 1.0, 0.5) AS prediction FROM __THIS__"))


@pytest.fixture(scope="module")
def image_model(spark):
    return SQLTransformer(statement=IMAGE_SQL)


@pytest.fixture(scope="module")
def tokens_model(spark):
    return SQLTransformer(statement=TOKENS_SQL)
SENTENCES = ["the food was slow", "great food but cold and slow", "slow slow food cold", "great"]


def token_game(tokens, feature):
    """The tokens model's output for 0/1 rows of kept features; feature[t] is token t's feature."""
    def f(z):
        return np.array([token_score([t for t, k in zip(tokens, feature) if keep[k]]) for keep in np.atleast_2d(z)])
    return f


@pytest.mark.parametrize("bag_of_words", [True, False])
def test_text_shap_equals_kernel_explainer(spark, tokens_model, bag_of_words):
    df = spark.createDataFrame([(s.split(" "),) for s in SENTENCES], ["tokens"])
    out = TextSHAP(model=tokens_model, targetCol="prediction", bagOfWords=bag_of_words,
                   numSamples=2 ** 6 - 2).transform(df).collect()
    assert len(out) == len(SENTENCES)
    for row in out:
        tokens = list(row["tokens"])
        words = list(dict.fromkeys(tokens))
        feature = [words.index(t) for t in tokens] if bag_of_words else list(range(len(tokens)))
        m = len(words) if bag_of_words else len(tokens)
        f = token_game(tokens, feature)
        values = row["shapValues"][0].toArray()
        assert len(values) == m + 1
        if m == 1:  # shap needs no regression here: the one token gets all of f(x) - f(nothing)
            base, expected = f(np.zeros(1))[0], f(np.ones(1)) - f(np.zeros(1))
        else:
            base, expected = shap_reference(f, m)
        print(f"bagOfWords={bag_of_words}: {m} tokens, {np.abs(values[1:] - expected).max():.1e} from shap's values")
        np.testing.assert_allclose(values[0], base, rtol=0, atol=TOL)
        np.testing.assert_allclose(values[1:], expected, rtol=0, atol=TOL)
        np.testing.assert_allclose(values[1:].sum(), token_score(tokens) - token_score([]), rtol=0, atol=1e-9)


def test_bad_input_gives_null_and_the_reason_or_an_error_naming_the_column(spark, image_model, tokens_model):
    files = spark.createDataFrame([("bad.png", bytearray(b"not an image"))], ["path", "image"])
    row = ImageSHAP(model=image_model, targetCol="prediction", cellSize=16.0, numSamples=10).transform(files).first()
    assert row["shapValues"] is None and row["superpixels"] is None
    assert row["error"].startswith("ImageSHAP: column 'image', image with no origin: "), row["error"]
    with pytest.raises(Exception, match="column 'tokens' has type bigint"):
        TextSHAP(model=tokens_model, targetCol="prediction").transform(spark.range(1).toDF("tokens"))
    with pytest.raises(Exception, match="column 'tokens' does not exist"):
        TextSHAP(model=tokens_model, targetCol="prediction").transform(files)
    with pytest.raises(Exception, match="set 'model'"):
        TextSHAP().transform(spark.createDataFrame([(["a"],)], ["tokens"]))
