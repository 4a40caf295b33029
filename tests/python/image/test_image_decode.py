"""ImageDecoder against cv2.imdecode: every kind of input (the distinct camera-trap photographs and every
scikit-image sample, image_data.distinct_files), every colour mode; EXIF orientation (also checked against PIL);
the truncated file; a whole-folder job over every camera-trap photograph."""

import io
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from pyspark.sql import functions as F

from image_data import (
    CAMERA_TRAPS,
    EXIF_ROTATED,
    TRUNCATED,
    by_path,
    camera_trap_files,
    cv2_decoded,
    distinct_files,
    files_frame,
    md5,
)

MODES = {"color": cv2.IMREAD_COLOR, "grayscale": cv2.IMREAD_GRAYSCALE}


@pytest.fixture(scope="module")
def files(spark):
    df = files_frame(spark, distinct_files())
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
    assert len(rows) == len(distinct_files())
    for path in distinct_files():
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
    for path in distinct_files():
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


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR (valid CRC) claims width x height, followed by a token IDAT: it need not decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """SOI, a JFIF APP0, then a baseline SOF0 frame header claiming width x height (3 components), EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + bytes([1, 1, 0, 0, 1, 0, 1, 0, 0])
    components = b"".join(bytes([i, 0x11, 0]) for i in (1, 2, 3))
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 8 + len(components), 8, height, width, 3) + components
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif_claiming(width: int, height: int) -> bytes:
    """The logical screen and one image descriptor claim width x height; a token LZW block; the trailer."""
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + frame + b"\x3b"


def bmp_claiming(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def tiff_claiming(width: int, height: int, order: str = "<") -> bytes:
    """One directory: 8-bit grey, one uncompressed strip at an offset past the end of the file (a 20000 x
    20000 TIFF of this kind, or of 400 KB of deflated zeros, costs 1.2 GB once decoded)."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 4096),
               (277, 3, 1), (278, 4, height), (279, 4, min(width * height, 2**32 - 1))]
    ifd = struct.pack(order + "H", len(entries)) + b"".join(
        struct.pack(order + "HHII", tag, kind, 1, value) if kind == 4 else struct.pack(order + "HHIHH", tag, kind, 1, value, 0)
        for tag, kind, value in entries) + struct.pack(order + "I", 0)
    return (b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8) + ifd


SMALL = (np.arange(29 * 41 * 3) % 251).astype(np.uint8).reshape(29, 41, 3)


def cv2_encoded(ext: str, image=SMALL, params=()) -> bytes:
    ok, encoded = cv2.imencode(ext, image, list(params))
    assert ok, ext
    return encoded.tobytes()


# The other formats OpenCV decodes: files that cv2 wrote, with only the size fields of their headers changed.
def webp_lossless_claiming(width: int, height: int) -> bytes:
    data = bytearray(cv2_encoded(".webp", params=[cv2.IMWRITE_WEBP_QUALITY, 101]))
    assert data[12:16] == b"VP8L"
    bits = struct.unpack("<I", data[21:25])[0] & ~((1 << 28) - 1)
    data[21:25] = struct.pack("<I", bits | (width - 1) | ((height - 1) << 14))
    return bytes(data)


def webp_lossy_claiming(width: int, height: int) -> bytes:
    data = bytearray(cv2_encoded(".webp", params=[cv2.IMWRITE_WEBP_QUALITY, 80]))
    assert data[12:16] == b"VP8 " and data[23:26] == b"\x9d\x01\x2a"
    data[26:30] = struct.pack("<HH", width, height)
    return bytes(data)


def webp_extended_claiming(width: int, height: int) -> bytes:
    """A VP8X header (what animated and alpha WebP files start with): the canvas size, 24 bits a side."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def ppm_claiming(width: int, height: int) -> bytes:
    return f"P6\n# a comment\n{width} {height}\n255\n".encode() + b"\0" * 64


def pam_claiming(width: int, height: int) -> bytes:
    data = cv2_encoded(".pam")
    assert b"WIDTH 41\nHEIGHT 29\n" in data
    return data.replace(b"WIDTH 41\nHEIGHT 29\n", f"WIDTH {width}\nHEIGHT {height}\n".encode(), 1)


def pfm_claiming(width: int, height: int) -> bytes:
    data = cv2_encoded(".pfm", SMALL.astype(np.float32) / 255)
    assert data.startswith(b"PF\n41 29\n")
    return f"PF\n{width} {height}\n".encode() + data[len(b"PF\n41 29\n"):]


def sun_raster_claiming(width: int, height: int) -> bytes:
    data = bytearray(cv2_encoded(".sr"))
    data[4:12] = struct.pack(">II", width, height)
    return bytes(data)


def hdr_claiming(width: int, height: int) -> bytes:
    data = cv2_encoded(".hdr", SMALL.astype(np.float32) / 255)
    assert b"\n\n-Y 29 +X 41\n" in data
    return data.replace(b"-Y 29 +X 41", f"-Y {height} +X {width}".encode(), 1)


def jp2_claiming(width: int, height: int) -> bytes:
    """The JP2 boxes up to the image header (ihdr: height, width, 3 components of 8 bits)."""
    def box(kind: bytes, content: bytes) -> bytes:
        return struct.pack(">I", 8 + len(content)) + kind + content
    ihdr = box(b"ihdr", struct.pack(">IIHBBBB", height, width, 3, 7, 7, 0, 0))
    return (box(b"jP  ", b"\r\n\x87\n") + box(b"ftyp", b"jp2 \0\0\0\0jp2 ") + box(b"jp2h", ihdr)
            + box(b"jp2c", b"\xff\x4f\xff\x51" + b"\0" * 40))


# Sizes past what any format's header field can hold are not claimable: JPEG and GIF store 16-bit sides,
# WebP 14 bits (24 for the canvas of an extended file).
CLAIMS = {"png": (png_claiming, 100_000, 100_000), "jpeg": (jpeg_claiming, 65_000, 64_000),
          "gif": (gif_claiming, 60_000, 50_000), "bmp": (bmp_claiming, 100_000, 90_000),
          "tiff": (tiff_claiming, 20_000, 20_000), "tiff-mm": (lambda w, h: tiff_claiming(w, h, ">"), 30_000, 20_000),
          "webp-lossless": (webp_lossless_claiming, 16_384, 16_384), "webp": (webp_lossy_claiming, 16_383, 16_000),
          "webp-extended": (webp_extended_claiming, 100_000, 100_000), "ppm": (ppm_claiming, 20_000, 20_000),
          "pam": (pam_claiming, 20_000, 30_000), "pfm": (pfm_claiming, 20_000, 20_000),
          "sr": (sun_raster_claiming, 20_000, 20_000), "hdr": (hdr_claiming, 40_000, 20_000),
          "jp2": (jp2_claiming, 20_000, 20_000)}
# Where PIL reads the same claimed size (it has no reader of the others, or decodes their data to open them).
PIL_READS = {"png", "jpeg", "gif", "bmp", "tiff", "tiff-mm", "webp-lossless", "webp", "ppm", "sr"}


def make_claim(kind: str) -> bytes:
    make, w, h = CLAIMS[kind]
    return make(w, h)


def test_max_pixels_refuses_a_huge_header_before_decoding(spark, monkeypatch):
    from irbis.image import ImageDecoder

    files = [(f"mem:/huge.{kind}", bytearray(make_claim(kind))) for kind in CLAIMS]
    assert all(len(content) < 16_000 for _, content in files)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # PIL's own bomb guard would refuse to open them
    for kind in sorted(PIL_READS):  # PIL reads the same claimed size from the crafted headers
        with Image.open(io.BytesIO(make_claim(kind))) as im:
            assert im.size == CLAIMS[kind][1:], kind
    decoder = ImageDecoder()
    limit = decoder.getMaxPixels()
    df = spark.createDataFrame(files, "path string, content binary")
    started = time.monotonic()
    rows = by_path(decoder.transform(df).select("path", "image", "error").collect())
    assert time.monotonic() - started < 30
    for kind, (_, w, h) in CLAIMS.items():
        assert w * h > limit
        row = rows[f"mem:/huge.{kind}"]
        assert row["image"] is None, kind
        assert f"{w}x{h} = {w * h} pixels, more than maxPixels = {limit}" in row["error"], row["error"]
        assert "image 'mem:/huge." + kind + "'" in row["error"]


@pytest.mark.parametrize("ext", [".tiff", ".webp", ".ppm", ".sr"])
def test_max_pixels_at_the_limit_is_the_size_opencv_decodes(spark, ext):
    """The size read from the header is the one OpenCV decodes: one pixel over the limit is refused, at the limit
    the pixels are cv2's."""
    from irbis.image import ImageDecoder

    source = cv2_decoded(str(CAMERA_TRAPS / "other" / "ocelot.jpg"))
    assert source is not None
    small = cv2.resize(source, (41, 29), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(ext, small, [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else [])
    assert ok
    ref = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    h, w = ref.shape[:2]
    df = spark.createDataFrame([("mem:/x" + ext, bytearray(encoded.tobytes()))], "path string, content binary")
    refused = ImageDecoder(maxPixels=w * h - 1).transform(df).select("image", "error").head()
    assert refused["image"] is None
    assert f"{w}x{h} = {w * h} pixels, more than maxPixels = {w * h - 1}" in refused["error"], refused["error"]
    kept = ImageDecoder(maxPixels=w * h).transform(df).select(F.md5("image.data").alias("md5"), "error").head()
    assert kept["error"] is None and kept["md5"] == md5(ref)
