"""image_pipeline: images/s for decode -> resize (short side 256) -> centre crop 224 -> normalise -> CHW RGB
float tensor, over the camera-trap JPEGs (snow_leopard/ and other/, mostly 2048x1536) repeated to at least
2,000 images, against one Python process driving a multiprocessing pool of 2 that does the same with cv2.

Both sides start from the encoded bytes already in memory (Spark: a broadcast DataFrame cross-joined with
one partition per copy, so that both cores stay busy to the end; Python: each worker of a spawned pool reads
the files once when it starts, so no bytes are pickled, and indices are handed out in chunks of 8; spawned,
not forked: a fork of this process, whose ONNX Runtime and OpenCV thread pools hold locks, can deadlock) and
throw the tensors away (Spark: path, tensor and error to the noop sink; Python: workers return only the tensor's
size). Each side's best of three timed runs counts, after one warm-up run (JIT, native loading, page cache);
the two sides' runs alternate, so that a busy moment on the machine does not fall on one side only. Irbis runs the one-pass
stage on the bytes (ImageTransformer decodes binary input itself). With IRBIS_BENCH_TWO_STAGES=1 it also
times ImageDecoder followed by ImageTransformer, whose full-size image column in between (up to 24 MB a row
here) needs more than the default 1 GB driver heap of `make bench`.
"""
import math
import multiprocessing as mp
import os
from pathlib import Path

import cv2
import numpy as np
from pyspark.sql import functions as F
from timing import best_of_alternating

from irbis.image import ImageDecoder, ImageTransformer

HERE = Path(__file__).resolve().parent
FOLDER = HERE.parent.parent / "shared" / "data" / "camera-traps"
MIN_IMAGES = 2000
MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # RGB
STD = np.array([0.229, 0.224, 0.225], np.float32)

_files = []  # in each worker: the encoded files, read by _init_worker


def _init_worker(paths):
    # One OpenCV thread per process: the pool's two processes already use both cores.
    cv2.setNumThreads(1)
    _files[:] = [np.frombuffer(Path(p).read_bytes(), np.uint8) for p in paths]


def _cv2_pipeline(index: int) -> int:
    img = cv2.imdecode(_files[index], cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    size = (256 * w // h, 256) if h <= w else (256, 256 * h // w)
    img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    y, x = (img.shape[0] - 224) // 2, (img.shape[1] - 224) // 2
    img = img[y:y + 224, x:x + 224, ::-1]  # BGR -> RGB
    t = ((img.astype(np.float32) * np.float32(1 / 255) - MEAN) / STD).transpose(2, 0, 1)
    return np.ascontiguousarray(t).nbytes


def run(spark):
    paths = sorted(p for d in ("snow_leopard", "other") for p in (FOLDER / d).glob("*.jpg"))
    if not paths:
        raise FileNotFoundError(f"no camera-trap JPEGs under {FOLDER}")
    repeat = math.ceil(MIN_IMAGES / len(paths))
    n = repeat * len(paths)

    files = spark.createDataFrame([(str(p), bytearray(p.read_bytes())) for p in paths], "path string, content binary")
    files = files.cache()
    files.count()
    copies = spark.range(0, repeat, 1, numPartitions=repeat).withColumnRenamed("id", "copy")
    repeated = copies.crossJoin(F.broadcast(files))
    ops = (ImageTransformer(outputCol="tensor").resizeShortSide(256).centerCrop(224, 224)
           .normalize(MEAN.tolist(), STD.tolist(), 1 / 255).toTensor("CHW", "RGB"))
    one_pass = ops.copy().setInputCol("content")
    decoder = ImageDecoder()

    def irbis_one_pass():
        one_pass.transform(repeated).select("path", "tensor", "error").write.format("noop").mode("overwrite").save()

    def irbis_two_stages():
        (ops.transform(decoder.transform(repeated)).select("path", "tensor", "error")
         .write.format("noop").mode("overwrite").save())

    checked = one_pass.transform(repeated).where(F.col("error").isNotNull() | (F.size("tensor") != 3 * 224 * 224))
    assert checked.count() == 0, "the benchmark's images must all decode"

    order = [i % len(paths) for i in range(n)]
    with mp.get_context("spawn").Pool(2, initializer=_init_worker, initargs=([str(p) for p in paths],)) as pool:
        def cv2_pool():
            sum(pool.imap_unordered(_cv2_pipeline, order, chunksize=8))

        sides = [irbis_one_pass, cv2_pool]
        if os.environ.get("IRBIS_BENCH_TWO_STAGES") == "1":
            sides.append(irbis_two_stages)
        one_pass_s, pool_s, *rest = best_of_alternating(3, *sides)
    two_stages_s = rest[0] if rest else None
    files.unpersist()

    case = f"{n} JPEGs (~3 MP) -> 3x224x224"
    baseline_name = "cv2, multiprocessing pool of 2"
    rows = [dict(benchmark="image_pipeline", case=case, unit="i/s", irbis=n / one_pass_s,
                 baseline=n / pool_s, baseline_name=baseline_name)]
    if two_stages_s is not None:
        rows.append(dict(benchmark="image_pipeline", case=case + ", 2 stages", unit="i/s", irbis=n / two_stages_s,
                         baseline=n / pool_s, baseline_name=baseline_name))
    return rows
