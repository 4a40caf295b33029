"""ImageSetAugmenter, UnrollImage and UnrollBinaryImage against numpy and OpenCV-Python on every kind of camera-trap
photograph (image_data.DISTINCT_CAMERA_TRAPS), starting from cv2.imdecode of the same bytes (ImageDecoder's pixels are checked against it in
test_image_decode.py). Full-size vectors are large, so the unrolling tests without a resize use the smaller
frames."""

from typing import Dict, List

import cv2
import numpy as np
import pytest
from pyspark.sql import functions as F

from image_data import TRUNCATED, camera_trap_files, cv2_decoded, distinct_camera_trap_files, files_frame, md5

# 640x640 and 1046x802 frames: a full vector is about 1 to 2.5 million doubles.
SMALL = ["ocelot.jpg", "squirrel_frame102542.jpg", "squirrel_frame95610.jpg"]
FLAGS = {"color": cv2.IMREAD_COLOR, "grayscale": cv2.IMREAD_GRAYSCALE}


def channel_major(img: np.ndarray) -> np.ndarray:
    """The documented order: index (c * height + y) * width + x, values 0 to 255 as doubles."""
    planes = img[:, :, None] if img.ndim == 2 else img
    return np.ascontiguousarray(planes.transpose(2, 0, 1)).astype(np.float64).ravel()


def small_paths():
    paths = [p for p in camera_trap_files() if p.name in SMALL]
    assert len(paths) == len(SMALL)
    return paths


@pytest.fixture(scope="module")
def traps(distinct_traps):
    return distinct_traps


@pytest.fixture(scope="module")
def small(spark):
    df = files_frame(spark, small_paths())
    yield df
    df.unpersist()


def grouped(rows, key: str = "path") -> Dict[str, List[dict]]:
    out: Dict[str, List[dict]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(r.asDict())
    return out


@pytest.mark.parametrize("left_right,up_down", [(True, False), (False, True), (True, True), (False, False)])
def test_augmented_copies_are_numpy_flips_of_the_decoded_image(traps, left_right, up_down):
    from irbis.image import ImageDecoder, ImageSetAugmenter

    decoded = ImageDecoder().transform(traps)
    out = ImageSetAugmenter(flipLeftRight=left_right, flipUpDown=up_down).transform(decoded)
    rows = grouped(out.select("path", "image.height", "image.width", F.md5("image.data").alias("md5"),
                              "error").collect())
    copies = 1 + left_right + up_down
    assert set(rows) == {str(p) for p in distinct_camera_trap_files()}
    for path in distinct_camera_trap_files():
        got, ref = rows[str(path)], cv2_decoded(str(path))
        assert len(got) == copies, path
        if ref is None:
            assert path.name == TRUNCATED
            assert all(r["md5"] is None and str(path) in r["error"] for r in got)
            continue
        expected = [ref] + ([np.flip(ref, axis=1)] if left_right else []) + ([np.flip(ref, axis=0)] if up_down else [])
        # The original first, then left-right, then up-down: the order the stage documents.
        assert [r["md5"] for r in got] == [md5(e) for e in expected], path
        assert all((r["height"], r["width"]) == ref.shape[:2] and r["error"] is None for r in got)


@pytest.mark.parametrize("mode", sorted(FLAGS))
def test_unroll_image_is_the_documented_channel_major_order(small, mode):
    from irbis.image import ImageDecoder, UnrollImage

    images = ImageDecoder(colorMode=mode).transform(small)
    rows = UnrollImage().transform(images).select("path", "unrolled", "error").collect()
    assert len(rows) == len(SMALL)
    for r in rows:
        assert r["error"] is None, r["error"]
        expected = channel_major(cv2_decoded(r["path"], FLAGS[mode]))
        assert np.array_equal(r["unrolled"].toArray(), expected), r["path"]


def test_unroll_binary_image_without_resize_equals_numpy(small):
    from irbis.image import UnrollBinaryImage

    rows = UnrollBinaryImage().transform(small).select("path", "unrolled", "error").collect()
    assert len(rows) == len(SMALL)
    for r in rows:
        assert r["error"] is None, r["error"]
        assert np.array_equal(r["unrolled"].toArray(), channel_major(cv2_decoded(r["path"]))), r["path"]


@pytest.mark.parametrize("height,width,interpolation", [(30, 40, "linear"), (45, 37, "area"), (64, 64, "nearest")])
def test_unroll_binary_image_with_resize_equals_cv2_resize(traps, height, width, interpolation):
    from irbis.image import UnrollBinaryImage

    code = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST}[interpolation]
    stage = UnrollBinaryImage(height=height, width=width, interpolation=interpolation)
    rows = {r["path"]: r for r in stage.transform(traps).select("path", "unrolled", "error").collect()}
    assert len(rows) == len(distinct_camera_trap_files())
    for path in distinct_camera_trap_files():
        row, ref = rows[str(path)], cv2_decoded(str(path))
        if ref is None:
            assert row["unrolled"] is None and str(path) in row["error"]
            continue
        assert row["error"] is None, row["error"]
        expected = channel_major(cv2.resize(ref, (width, height), interpolation=code))
        assert expected.size == 3 * height * width
        assert np.array_equal(row["unrolled"].toArray(), expected), path
