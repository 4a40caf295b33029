"""ImageDecoder against cv2.imdecode: every camera-trap photograph and scikit-image sample, every colour
mode; EXIF orientation (also checked against PIL); the truncated file; a whole-folder job."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from pyspark.sql import functions as F

from image_data import (CAMERA_TRAPS, EXIF_ROTATED, TRUNCATED, all_files, by_path, camera_trap_files,
                        cv2_decoded, files_frame, md5)

MODES = {"color": cv2.IMREAD_COLOR, "grayscale": cv2.IMREAD_GRAYSCALE}


@pytest.fixture(scope="module")
def files(spark):
    df = files_frame(spark, all_files())
    yield df
    df.unpersist()


def decode(files, **params):
    from irbis.image import ImageDecoder

    out = ImageDecoder(**params).transform(files)
    return by_path(out.select("path", "image.height", "image.width", "image.nChannels", "image.mode",
                              "image.origin", F.md5("image.data").alias("md5"), "error").collect())


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_file_decodes_to_cv2s_pixels(files, mode):
    rows = decode(files, colorMode=mode)
    assert len(rows) == len(all_files())
    for path in all_files():
        row, ref = rows[str(path)], cv2_decoded(str(path), MODES[mode])
        if ref is None:
            assert row["height"] is None and str(path) in row["error"], path
            continue
        assert row["error"] is None, row["error"]
        channels = 1 if ref.ndim == 2 else ref.shape[2]
        assert (row["height"], row["width"], row["nChannels"]) == (ref.shape[0], ref.shape[1], channels), path
        assert row["mode"] == {1: 0, 3: 16}[channels] and row["origin"] == str(path)
        assert row["md5"] == md5(ref), f"{path}: pixels differ from cv2.imdecode"


def test_unchanged_keeps_channels_and_depth_reduction_matches_cv2(files):
    rows = decode(files, colorMode="unchanged")
    for path in all_files():
        ref = cv2_decoded(str(path), cv2.IMREAD_UNCHANGED)
        row = rows[str(path)]
        if ref is None or ref.dtype not in (np.uint8, np.uint16):
            assert row["height"] is None and row["error"], path
            continue
        if path.name == EXIF_ROTATED:
            ref = cv2_decoded(str(path))  # unchanged applies the orientation that IMREAD_UNCHANGED ignores
        expected = (ref >> 8).astype(np.uint8) if ref.dtype == np.uint16 else ref
        assert row["error"] is None and row["md5"] == md5(expected), path
        assert row["nChannels"] == (1 if ref.ndim == 2 else ref.shape[2])


def test_exif_orientation_is_applied_like_pil(files):
    rows = decode(files)
    path = CAMERA_TRAPS / "other" / EXIF_ROTATED
    with Image.open(path) as im:
        stored, upright = im.size, ImageOps.exif_transpose(im).size
    assert stored != upright
    assert (rows[str(path)]["width"], rows[str(path)]["height"]) == upright


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_in_every_mode(spark, orientation):
    """Synthetic JPEGs (PIL) with each orientation tag; 'unchanged' applies it itself, like IMREAD_COLOR."""
    from irbis.image import ImageDecoder

    rng = np.random.default_rng(orientation)
    files = []
    for mode in ("RGB", "L"):
        shape = (24, 40, 3) if mode == "RGB" else (24, 40)
        image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
        exif = Image.Exif()
        exif[0x0112] = orientation
        buf = io.BytesIO()
        image.save(buf, "JPEG", exif=exif, quality=95)
        files.append((f"mem:/{mode}-{orientation}.jpg", bytearray(buf.getvalue())))
    df = spark.createDataFrame(files, "path string, content binary")
    for mode, flags in [("color", cv2.IMREAD_COLOR), ("grayscale", cv2.IMREAD_GRAYSCALE),
                        ("unchanged", cv2.IMREAD_COLOR)]:
        rows = by_path(ImageDecoder(colorMode=mode).transform(df)
                       .select("path", "image.height", "image.width", F.md5("image.data").alias("md5")).collect())
        for path, content in files:
            ref_flags = cv2.IMREAD_GRAYSCALE if mode == "unchanged" and path.startswith("mem:/L") else flags
            ref = cv2.imdecode(np.frombuffer(bytes(content), np.uint8), ref_flags)
            assert (rows[path]["height"], rows[path]["width"]) == ref.shape[:2], (mode, path)
            assert rows[path]["md5"] == md5(ref), (mode, path)


def test_truncated_file_gives_null_and_a_message(files):
    rows = decode(files)
    path = str(CAMERA_TRAPS / "malformed" / TRUNCATED)
    assert rows[path]["height"] is None
    assert path in rows[path]["error"] and "truncated" in rows[path]["error"]
    assert rows[path]["error"].startswith("ImageDecoder: column 'content', image ")


def test_a_job_over_the_whole_folder_never_fails(spark):
    from irbis.image import ImageDecoder, ImageTransformer

    expected = len(camera_trap_files())
    images = ImageDecoder().readImages(spark, str(CAMERA_TRAPS))
    out = (ImageTransformer().resizeShortSide(256).centerCrop(224, 224)
           .normalize([0.406, 0.456, 0.485], [0.225, 0.224, 0.229], 1 / 255).toTensor().transform(images))
    rows = out.select("path", F.size("transformed").alias("n"), "error").collect()
    assert len(rows) == expected
    failed = [r for r in rows if r["error"] is not None]
    assert [r["path"].rsplit("/", 1)[-1] for r in failed] == [TRUNCATED]
    assert all(r["n"] == 3 * 224 * 224 for r in rows if r["error"] is None)


def test_max_pixels_names_the_file(files):
    rows = decode(files, maxPixels=3_000_000)
    big = str(CAMERA_TRAPS / "other" / "human.jpg")
    assert rows[big]["height"] is None
    assert f"image '{big}'" in rows[big]["error"] and "3072x1728 = 5308416 pixels, more than maxPixels = 3000000" in rows[big]["error"]
    assert rows[str(CAMERA_TRAPS / "other" / "ocelot.jpg")]["error"] is None
