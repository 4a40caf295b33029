"""Inputs and references for the image tests: the shared camera-trap photographs (../shared next to the
repository), scikit-image's bundled sample images, and OpenCV-Python as the independent reference."""

import functools
import hashlib
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest

from conftest import ROOT

CAMERA_TRAPS = ROOT.parent / "shared" / "data" / "camera-traps"
TRUNCATED = "african_elephants_truncated_file.jpg"
EXIF_ROTATED = "african_elephants_with_exif_orientation.jpg"


def camera_trap_files() -> List[Path]:
    if not CAMERA_TRAPS.is_dir():
        pytest.skip(f"the camera-trap images are not at {CAMERA_TRAPS}")
    return sorted(CAMERA_TRAPS.rglob("*.jpg"))


# The camera-trap photographs that differ in kind: camera and size (Reconyx day colour and night infrared, Snapshot
# Serengeti, NACTI, 3264x2448, 3072x1728, 1046x802, 640x640), colour model (greyscale, CMYK), an EXIF orientation and
# a truncated file. The other 33 are further frames of the same cameras and bursts: an operation checked on these
# (and on scikit-image's samples, every format and depth) meets no new case on them, only more decoding time.
DISTINCT_CAMERA_TRAPS = (
    "snow_leopard/avgarch_2012-11-24_16-59-05.jpg", "snow_leopard/avgarch_2012-12-29_23-33-45.jpg",
    "other/african_elephants.jpg", "other/african_elephants_bw.jpg", "other/african_elephants_cmyk.jpg",
    "other/african_elephants_with_exif_orientation.jpg", "other/american_black_bear.jpg", "other/blank2.jpg",
    "other/human.jpg", "other/ocelot.jpg", "other/squirrel_frame102542.jpg", f"malformed/{TRUNCATED}")


@functools.lru_cache(maxsize=None)
def distinct_camera_trap_files() -> List[Path]:
    paths = [CAMERA_TRAPS / name for name in DISTINCT_CAMERA_TRAPS]
    present = set(camera_trap_files())
    assert all(p in present for p in paths), sorted(set(paths) - present)
    return sorted(paths)


@functools.lru_cache(maxsize=None)
def distinct_files() -> List[Path]:
    """Every kind of image input once: the distinct camera-trap photographs and scikit-image's samples."""
    return distinct_camera_trap_files() + skimage_files()


def skimage_files() -> List[Path]:
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    return sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg", ".tif", ".gif"))


@functools.lru_cache(maxsize=None)
def all_files() -> List[Path]:
    return camera_trap_files() + skimage_files()


def read(path: Path) -> bytes:
    return path.read_bytes()


@functools.lru_cache(maxsize=None)
def cv2_decoded(path: str, flags: Optional[int] = None) -> Optional[np.ndarray]:
    """OpenCV-Python's decoding (the reference), cached: every op test starts from it."""
    import cv2

    flags = cv2.IMREAD_COLOR if flags is None else flags
    return cv2.imdecode(np.frombuffer(Path(path).read_bytes(), np.uint8), flags)


def md5(array: np.ndarray) -> str:
    return hashlib.md5(np.ascontiguousarray(array).tobytes()).hexdigest()


def files_frame(spark, paths: List[Path]):
    """Like binaryFile's output (path, content), for exactly these files, cached."""
    rows = [(str(p), bytearray(p.read_bytes())) for p in paths]
    return spark.createDataFrame(rows, "path string, content binary").repartition(2).cache()


def by_path(rows) -> Dict[str, dict]:
    return {r["path"]: r.asDict() for r in rows}
