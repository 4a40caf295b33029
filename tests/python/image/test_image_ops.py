"""Every ImageTransformer operation against OpenCV-Python on the same inputs: every kind of input (the distinct
camera-trap photographs and every scikit-image sample, image_data.distinct_files), decoded by
cv2.imdecode(IMREAD_COLOR) on the reference side.

8-bit results must be identical byte for byte (compared by MD5 computed in Spark, so that no large image
travels to Python), with one exception that the user docs state (ImageTransformer's `operations`,
ResizeImageTransformer's `interpolation`; checked below): INTER_CUBIC resizing may differ by 1 grey level in a
few percent of pixels. Both sides run OpenCV 4.13.0 with the same SIMD dispatch, but the two builds come from
different compilers (bytedeco: GCC 11; opencv-python: the manylinux toolchain). Float
tensors must be identical (numpy float32 reference, same operation order).
Rows whose image does not fit an operation (centerCrop bigger than the image) must be null with an error
naming the op, and files cv2 cannot decode must be null with an error.
"""

from pathlib import Path
from typing import Callable, Dict, Optional

import cv2
import numpy as np
import pytest
from pyspark.sql import functions as F

from image_data import by_path, cv2_decoded, distinct_files, files_frame, md5

INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
                  "area": cv2.INTER_AREA, "lanczos4": cv2.INTER_LANCZOS4,
                  "linearExact": cv2.INTER_LINEAR_EXACT, "nearestExact": cv2.INTER_NEAREST_EXACT}
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class Unfit(Exception):
    """The reference's way of saying: this image must give null plus an error naming `op`."""

    def __init__(self, op: str):
        super().__init__(op)
        self.op = op


def short_side(img: np.ndarray, n: int, interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    h, w = img.shape[:2]
    size = (max(1, n * w // h), n) if h <= w else (n, max(1, n * h // w))  # cv2 takes (width, height)
    return cv2.resize(img, size, interpolation=interpolation)


def center_crop(img: np.ndarray, h: int, w: int, op: str = "centerCrop") -> np.ndarray:
    H, W = img.shape[:2]
    if h > H or w > W:
        raise Unfit(op)
    y, x = (H - h) // 2, (W - w) // 2
    return img[y:y + h, x:x + w]


def crop(img: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    if x + w > img.shape[1] or y + h > img.shape[0]:
        raise Unfit("crop")
    return img[y:y + h, x:x + w]


def normalized(img: np.ndarray, mean, std, scale) -> np.ndarray:
    f = img.astype(np.float32) * np.float32(scale)
    return (f - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)


def tensor(img: np.ndarray, layout: str, swap: bool) -> np.ndarray:
    """`swap` exchanges the first and third channels; a fourth (alpha) stays last."""
    t = img[..., [2, 1, 0, *range(3, img.shape[2])]] if swap and img.ndim == 3 else img
    if t.ndim == 2:
        return t.astype(np.float32).ravel()
    return (t.transpose(2, 0, 1) if layout == "CHW" else t).astype(np.float32).ravel()


def gray(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


# Largest allowed |difference| in grey levels, for the cases that are not bit-identical (see the docstring).
TOLERANCE = {"resize-cubic": 1, "resize-upscale-cubic": 1}


def test_the_cubic_difference_is_in_the_user_docs():
    from irbis.image import ImageTransformer, ResizeImageTransformer

    for doc in (ImageTransformer.operations.doc, ResizeImageTransformer.interpolation.doc,
                ImageTransformer.__doc__, ResizeImageTransformer.__doc__):
        text = " ".join(doc.split())
        assert "cubic (INTER_CUBIC) may differ by 1 grey level" in text, text

# name -> (fluent calls on an ImageTransformer, reference on cv2's decoded BGR image)
CASES: Dict[str, tuple] = {
    **{f"resize-{name}": (lambda t, n=name: t.resize(150, 201, n),
                          lambda i, c=code: cv2.resize(i, (201, 150), interpolation=c))
       for name, code in INTERPOLATIONS.items()},
    "resizeShortSide-256": (lambda t: t.resizeShortSide(256), lambda i: short_side(i, 256)),
    "resizeShortSide-100-area": (lambda t: t.resizeShortSide(100, "area"),
                                 lambda i: short_side(i, 100, cv2.INTER_AREA)),
    "resize-upscale-lanczos4": (lambda t: t.resize(1200, 1600, "lanczos4"),
                                lambda i: cv2.resize(i, (1600, 1200), interpolation=cv2.INTER_LANCZOS4)),
    "resize-upscale-cubic": (lambda t: t.centerCrop(100, 100).resize(300, 300, "cubic"),
                             lambda i: cv2.resize(center_crop(i, 100, 100), (300, 300), interpolation=cv2.INTER_CUBIC)),
    "crop": (lambda t: t.crop(13, 7, width=101, height=57), lambda i: crop(i, 13, 7, 101, 57)),
    "centerCrop-224": (lambda t: t.centerCrop(224, 224), lambda i: center_crop(i, 224, 224)),
    "centerCrop-odd": (lambda t: t.centerCrop(101, 77), lambda i: center_crop(i, 101, 77)),
    "convertColor-RGB": (lambda t: t.convertColor("RGB"), lambda i: cv2.cvtColor(i, cv2.COLOR_BGR2RGB)),
    "convertColor-GRAY": (lambda t: t.convertColor("GRAY"), gray),
    "convertColor-GRAY-BGR": (lambda t: t.convertColor("GRAY").convertColor("BGR"),
                              lambda i: cv2.cvtColor(gray(i), cv2.COLOR_GRAY2BGR)),
    "convertColor-RGB-GRAY": (lambda t: t.convertColor("RGB").convertColor("GRAY"),
                              lambda i: cv2.cvtColor(cv2.cvtColor(i, cv2.COLOR_BGR2RGB), cv2.COLOR_RGB2GRAY)),
    "gaussianBlur-5-1.5": (lambda t: t.gaussianBlur(5, 1.5), lambda i: cv2.GaussianBlur(i, (5, 5), 1.5)),
    "gaussianBlur-sigma-only": (lambda t: t.gaussianBlur(0, 2.0), lambda i: cv2.GaussianBlur(i, (0, 0), 2.0)),
    "gaussianBlur-3x7": (lambda t: t.gaussianBlur(3, 0.0, kernelHeight=7, sigmaY=2.5),
                         lambda i: cv2.GaussianBlur(i, (3, 7), 0, sigmaY=2.5)),
    **{f"threshold-{name}": (lambda t, n=name: t.threshold(127, 200, n),
                             lambda i, c=code: cv2.threshold(i, 127, 200, c)[1])
       for name, code in {"binary": cv2.THRESH_BINARY, "binaryInv": cv2.THRESH_BINARY_INV,
                          "trunc": cv2.THRESH_TRUNC, "toZero": cv2.THRESH_TOZERO,
                          "toZeroInv": cv2.THRESH_TOZERO_INV}.items()},
    "threshold-otsu": (lambda t: t.convertColor("GRAY").threshold(0, 255, "binary", "otsu"),
                       lambda i: cv2.threshold(gray(i), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]),
    "threshold-triangle": (lambda t: t.convertColor("GRAY").threshold(0, 255, "binaryInv", "triangle"),
                           lambda i: cv2.threshold(gray(i), 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_TRIANGLE)[1]),
    **{f"flip-{mode}": (lambda t, m=mode: t.flip(m), lambda i, c=code: cv2.flip(i, c))
       for mode, code in {"horizontal": 1, "vertical": 0, "both": -1}.items()},
    "chain-8bit": (lambda t: t.resizeShortSide(300).centerCrop(256, 256).flip("horizontal").gaussianBlur(3, 0.8)
                   .convertColor("RGB").crop(10, 20, width=200, height=180),
                   lambda i: crop(cv2.cvtColor(cv2.GaussianBlur(cv2.flip(center_crop(short_side(i, 300), 256, 256), 1),
                                                                (3, 3), 0.8), cv2.COLOR_BGR2RGB), 10, 20, 200, 180)),
}

TENSOR_CASES: Dict[str, tuple] = {
    "imagenet-CHW-RGB": (lambda t: t.resizeShortSide(256).centerCrop(224, 224)
                         .normalize(IMAGENET_MEAN[::-1], IMAGENET_STD[::-1], 1 / 255).toTensor("CHW", "RGB"),
                         lambda i: tensor(normalized(center_crop(short_side(i, 256), 224, 224),
                                                     IMAGENET_MEAN[::-1], IMAGENET_STD[::-1], 1 / 255), "CHW", True)),
    "rgb-normalize-HWC-BGR": (lambda t: t.resize(64, 48, "area").convertColor("RGB")
                              .normalize(IMAGENET_MEAN, IMAGENET_STD, 1 / 255).toTensor("HWC", "BGR"),
                              lambda i: tensor(normalized(cv2.cvtColor(cv2.resize(i, (48, 64), interpolation=cv2.INTER_AREA),
                                                                       cv2.COLOR_BGR2RGB), IMAGENET_MEAN, IMAGENET_STD,
                                                          1 / 255), "HWC", True)),
    "raw-CHW-BGR": (lambda t: t.resize(32, 40).toTensor("CHW", "BGR"),
                    lambda i: tensor(cv2.resize(i, (40, 32)), "CHW", False)),
    "gray-scalar-normalize": (lambda t: t.resize(30, 20).convertColor("GRAY").normalize([127.5], [2.5]).toTensor(),
                              lambda i: tensor(normalized(gray(cv2.resize(i, (20, 30))), [127.5], [2.5], 1.0), "CHW", True)),
}


@pytest.fixture(scope="module")
def files(spark):
    df = files_frame(spark, distinct_files())
    yield df
    df.unpersist()


def expectation(reference: Callable, path) -> Optional[object]:
    img = cv2_decoded(str(path))
    if img is None:
        return None
    try:
        return reference(img)
    except Unfit as e:
        return e


def pixels(image) -> np.ndarray:
    return np.frombuffer(image["data"], np.uint8).reshape(image["height"], image["width"], image["nChannels"])


def missing(value) -> bool:
    """pandas shows a null string as NaN."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def transformer(calls):
    from irbis.image import ImageTransformer

    return calls(ImageTransformer(inputCol="content"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_8bit_operation_equals_opencv_python(files, case):
    calls, reference = CASES[case]
    out = transformer(calls).transform(files)
    rows = by_path(out.select("path", "transformed.height", "transformed.width", "transformed.nChannels",
                              F.md5("transformed.data").alias("md5"), "error").collect())
    checked, differing = 0, {}
    for path in distinct_files():
        row, expected = rows[str(path)], expectation(reference, path)
        if expected is None:
            assert row["md5"] is None and "cannot decode" in row["error"], path
        elif isinstance(expected, Unfit):
            assert row["md5"] is None and f"({expected.op})" in row["error"] and str(path) in row["error"], row["error"]
        else:
            assert row["error"] is None, row["error"]
            channels = 1 if expected.ndim == 2 else expected.shape[2]
            assert (row["height"], row["width"], row["nChannels"]) == (*expected.shape[:2], channels), path
            if row["md5"] != md5(expected):
                assert case in TOLERANCE, f"{case}: {path.name} differs from OpenCV-Python"
                differing[str(path)] = expected
            checked += 1
    assert checked > len(distinct_files()) // 2
    # The images that differ at all, fetched in one job, must differ by no more than the case's tolerance.
    if differing:
        fetched = out.where(F.col("path").isin(list(differing))).select("path", "transformed").collect()
        assert sorted(r["path"] for r in fetched) == sorted(differing)
        for r in fetched:
            actual, expected = pixels(r["transformed"]), differing[r["path"]]
            diff = np.abs(actual.astype(int) - expected.reshape(actual.shape).astype(int)).max()
            assert diff <= TOLERANCE[case], f"{case}: {Path(r['path']).name} differs by {diff} levels"


@pytest.mark.parametrize("case", sorted(TENSOR_CASES))
def test_tensor_output_equals_numpy_and_opencv_python(spark, files, case):
    calls, reference = TENSOR_CASES[case]
    out = transformer(calls).transform(files).select("path", "transformed", "error")
    previous = spark.conf.get("spark.sql.execution.arrow.pyspark.enabled")
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    try:
        rows = {r.path: r for r in out.toPandas().itertuples()}
    finally:
        spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", previous)
    for path in distinct_files():
        row, expected = rows[str(path)], expectation(reference, path)
        if expected is None or isinstance(expected, Unfit):
            assert missing(row.transformed) and not missing(row.error), path
            continue
        assert missing(row.error), row.error
        actual = np.asarray(row.transformed, dtype=np.float32)
        assert actual.shape == expected.shape, path
        assert np.array_equal(actual, expected), f"{case}: {path.name}: max |diff| {np.abs(actual - expected).max()}"


def test_image_struct_input_gives_the_same_as_binary_input(spark, files):
    from irbis.image import ImageDecoder, ImageTransformer

    t = ImageTransformer().resizeShortSide(64).centerCrop(60, 60).convertColor("RGB")
    via_struct = t.transform(ImageDecoder().transform(files))
    direct = t.copy().setInputCol("content").transform(files)

    def digests(df):
        return sorted(df.select("path", F.md5("transformed.data")).collect())

    assert digests(via_struct) == digests(direct)


# Images that are not 3-channel, decoded with colorMode "unchanged": BGRA PNGs and a greyscale JPEG. The
# reference starts from cv2.imdecode(IMREAD_UNCHANGED) of the same bytes.
UNCHANGED = ["horse.png", "logo.png", "african_elephants_bw.jpg"]
CONVERSIONS = {1: {"BGR": cv2.COLOR_GRAY2BGR, "RGB": cv2.COLOR_GRAY2RGB, "GRAY": None},
               4: {"BGR": cv2.COLOR_BGRA2BGR, "RGB": cv2.COLOR_BGRA2RGB, "GRAY": cv2.COLOR_BGRA2GRAY}}


def unchanged_path(name: str):
    return next(p for p in distinct_files() if p.name == name)


def unchanged_reference(name: str) -> np.ndarray:
    img = cv2_decoded(str(unchanged_path(name)), cv2.IMREAD_UNCHANGED)
    assert img is not None and img.dtype == np.uint8 and channels(img) != 3, name
    return img


def channels(img: np.ndarray) -> int:
    return 1 if img.ndim == 2 else img.shape[2]


@pytest.fixture(scope="module")
def unchanged_files(spark):
    df = files_frame(spark, [unchanged_path(n) for n in UNCHANGED])
    yield df
    df.unpersist()


def transform_unchanged(files, name: str, calls, via: str):
    """One file through the calls: from its bytes, or from ImageDecoder's image struct."""
    from irbis.image import ImageDecoder, ImageTransformer

    one = files.where(F.col("path") == str(unchanged_path(name)))
    if via == "struct":
        return calls(ImageTransformer()).transform(ImageDecoder(colorMode="unchanged").transform(one)).head()
    return calls(ImageTransformer(inputCol="content", colorMode="unchanged")).transform(one).head()


@pytest.mark.parametrize("via", ["binary", "struct"])
@pytest.mark.parametrize("to", ["BGR", "RGB", "GRAY"])
@pytest.mark.parametrize("name", UNCHANGED)
def test_convert_color_of_grey_and_alpha_images_equals_opencv_python(unchanged_files, name, to, via):
    img = unchanged_reference(name)
    code = CONVERSIONS[channels(img)][to]
    expected = img if code is None else cv2.cvtColor(img, code)
    row = transform_unchanged(unchanged_files, name, lambda t: t.convertColor(to), via)
    assert row["error"] is None, row["error"]
    actual = pixels(row["transformed"])
    assert actual.shape == (*expected.shape[:2], channels(expected))
    assert np.array_equal(actual, expected.reshape(actual.shape)), f"{name} -> {to}"


@pytest.mark.parametrize("normalize", [False, True], ids=["raw", "normalize"])
@pytest.mark.parametrize("layout,order", [(la, o) for la in ("CHW", "HWC") for o in ("RGB", "BGR")])
@pytest.mark.parametrize("name", UNCHANGED)
def test_tensor_of_grey_and_alpha_images_equals_numpy(unchanged_files, name, layout, order, normalize):
    img = unchanged_reference(name)
    c = channels(img)
    mean, std = [0.1 + 0.2 * k for k in range(c)], [0.2 + 0.05 * k for k in range(c)]

    def calls(t):
        return (t.normalize(mean, std, 1 / 255) if normalize else t).toTensor(layout, order)

    values = normalized(img, mean, std, 1 / 255) if normalize else img
    expected = tensor(values, layout, swap=order == "RGB")
    row = transform_unchanged(unchanged_files, name, calls, "binary")
    assert row["error"] is None, row["error"]
    actual = np.asarray(row["transformed"], dtype=np.float32)
    assert actual.shape == expected.shape
    assert np.array_equal(actual, expected), f"{name}: max |diff| {np.abs(actual - expected).max()}"
