"""Camera-trap transfer learning: is this frame a snow leopard?

Data: a folder with ``labels.csv`` (path, species, is_snow_leopard, sequence, source, license; paths relative
to the folder) and the images, e.g. the 44 labelled camera-trap photographs of ``camera-traps/`` (17 snow
leopard frames in 3 bursts, 27 other frames). Every other file in the folder is read too, so that nothing is
skipped silently: an undecodable image (the truncated JPEG in ``malformed/``) gets null features and an error
message, and is reported and left out of training and evaluation with a printed count.

Four models, evaluated by leave-one-sequence-out (frames of one trigger burst are never split between train
and test; ``--folds K`` groups the sequences into K folds instead):

1. raw pixels: UnrollBinaryImage to 32x32, LogisticRegression;
2. deep features: ImageFeaturizer (EfficientNet-Lite0, 1280-d pooled features), LogisticRegression;
3. (2) trained on the training frames plus their horizontal flips (ImageSetAugmenter);
4. (3) with EnsembleByKey over ``sequence``: each frame gets the mean probability of its burst.

Every image is featurized once, and its flipped copy once, so the folds only fit logistic regressions. The
pipeline of model (4) (featurizer, logistic regression, EnsembleByKey), fitted on all frames, is saved, loaded
back and must predict identically. Usage::

    python examples/camera_traps.py --data camera-traps [--out DIR] [--folds K]
"""
import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
import traceback

import numpy as np
import pandas as pd

import irbis
from irbis.featurize import ImageFeaturizer
from irbis.image import ImageDecoder, ImageSetAugmenter, UnrollBinaryImage
from irbis.models import efficientnet_lite
from irbis.stages import EnsembleByKey
from pyspark.ml import PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Window
from pyspark.sql import functions as F

METADATA_FILES = {"labels.csv", "README.md"}  # files of the data folder that are not images
PIXELS = 32
MODELS = ["1 raw pixels 32x32 + LR", "2 deep features + LR", "3 deep features + flips + LR",
          "4 = 3 + EnsembleByKey(sequence)"]
TIMINGS = []


@contextlib.contextmanager
def timed(step):
    start = time.perf_counter()
    yield
    TIMINGS.append((step, time.perf_counter() - start))
    print(f"  [{TIMINGS[-1][1]:6.1f} s] {step}", flush=True)


def relative(path, root):
    """binaryFile's path (file:/abs/path) as a path relative to the data folder, like labels.csv's."""
    local = re.sub(r"^file:(//)?", "", path)
    return os.path.relpath(local, root).replace(os.sep, "/")


def convert_model(out):
    path = os.path.join(out, "efficientnet_lite0.onnx")
    if os.path.exists(path):
        return path, "cached"
    partial = path + ".partial"
    efficientnet_lite.export(partial, outputs=("logits",))
    os.replace(partial, path)  # never leaves a half-written model to be taken for a cached one
    return path, "converted"


def read_images(spark, data_dir):
    """Every file under data_dir (except labels.csv and README.md), with its relative path."""
    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(data_dir)
    paths = [r.path for r in files.select("path").collect()]
    mapping = spark.createDataFrame(pd.DataFrame({"path": paths, "relpath": [relative(p, data_dir) for p in paths]}))
    return files.join(mapping, "path").where(~F.col("relpath").isin(*METADATA_FILES))


def featurize(files, model_path):
    """Deep features of every image (copy 0) and of its horizontal flip (copy 1), computed once and cached.

    ImageSetAugmenter emits each image followed by its flipped copy; the copy number is their order within the
    task (monotonically_increasing_id follows it), checked later against features computed from the files."""
    decoded = ImageDecoder(inputCol="content", outputCol="image").transform(files.select("path", "relpath", "content"))
    augmented = ImageSetAugmenter(inputCol="image", outputCol="image", flipLeftRight=True, flipUpDown=False) \
        .transform(decoded).withColumn("rowid", F.monotonically_increasing_id())
    featurizer = ImageFeaturizer(inputCol="image", outputCol="features", modelLocation=model_path)
    return featurizer.transform(augmented.drop("content")) \
        .withColumn("copy", F.row_number().over(Window.partitionBy("relpath").orderBy("rowid")) - 1) \
        .select("relpath", "copy", "features", "error").cache()


def fold_assignment(sequences, k):
    """Sequence -> fold. k=None: one fold per sequence; otherwise sequences sorted by (label, id) dealt
    round-robin, so that every fold's training part has both classes."""
    ordered = sorted(sequences.items(), key=lambda kv: (-kv[1], kv[0]))
    return {s: (i if k is None else i % k) for i, (s, _) in enumerate(ordered)}


def lr(features_col):
    return LogisticRegression(featuresCol=features_col, labelCol="label", maxIter=100, regParam=0.01)


def p_leopard(df, col="probability"):
    return df.withColumn("p", vector_to_array(F.col(col))[1])


def frame_predictions(df, model_name, fold):
    rows = df.select("relpath", "sequence", "label", "p").toPandas()
    return rows.assign(model=model_name, fold=fold, pred=(rows.p >= 0.5).astype(float))


def summarize(preds):
    out = []
    for name in MODELS:
        m = preds[preds.model == name]
        frame_acc = (m.pred == m.label).mean()
        by_seq = m.groupby("sequence").agg(label=("label", "first"), votes=("pred", "mean"), p=("p", "mean"))
        # majority of the frames' predictions; a tie goes to the mean probability
        seq_pred = np.where(by_seq.votes == 0.5, by_seq.p >= 0.5, by_seq.votes > 0.5).astype(float)
        seq_acc = (seq_pred == by_seq.label).mean()
        found = int(((m.pred == 1) & (m.label == 1)).sum())
        false_alarms = int(((m.pred == 1) & (m.label == 0)).sum())
        out.append({"model": name, "frame acc": f"{frame_acc:.3f}", "sequence acc": f"{seq_acc:.3f}",
                    "leopard frames found": f"{found}/{int((m.label == 1).sum())}",
                    "false alarms": f"{false_alarms}/{int((m.label == 0).sum())}"})
    return pd.DataFrame(out)


DIGITS = ["111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
          "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111"]


def write_png(path, rgb):
    """A minimal PNG encoder (8-bit RGB, no filtering), for when Pillow is not installed."""
    import struct
    import zlib
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def confusion_png_plain(cm, path, cell=150, scale=8):
    """The 2x2 matrix as shaded cells (rows true other/leopard, columns predicted) with the counts drawn in
    a 3x5 bitmap font; no other text."""
    img = np.full((2 * cell + 2, 2 * cell + 2, 3), 255, dtype=np.uint8)
    for t in range(2):
        for p in range(2):
            shade = int(255 - 200 * cm[t, p] / max(cm.max(), 1))
            y0, x0 = t * cell + 1, p * cell + 1
            img[y0:y0 + cell, x0:x0 + cell] = (shade, shade, 255)
            img[y0 - 1, x0 - 1:x0 + cell + 1] = img[y0 + cell, x0 - 1:x0 + cell + 1] = 0
            img[y0 - 1:y0 + cell + 1, x0 - 1] = img[y0 - 1:y0 + cell + 1, x0 + cell] = 0
            text = str(cm[t, p])
            ty, tx = y0 + (cell - 5 * scale) // 2, x0 + (cell - (4 * len(text) - 1) * scale) // 2
            for i, ch in enumerate(text):
                for bit, on in enumerate(DIGITS[int(ch)]):
                    if on == "1":
                        yy, xx = ty + (bit // 3) * scale, tx + (4 * i + bit % 3) * scale
                        img[yy:yy + scale, xx:xx + scale] = 0 if shade > 128 else 255
    write_png(path, img)


def confusion_png(preds, path, title):
    cm = np.zeros((2, 2), dtype=int)
    for t, p in zip(preds.label.astype(int), preds.pred.astype(int)):
        cm[t, p] += 1
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:  # e.g. the `make demo` virtual environment (requirements-user.txt has no Pillow)
        confusion_png_plain(cm, path)
        return cm
    try:
        font, small = ImageFont.load_default(size=28), ImageFont.load_default(size=16)
    except TypeError:  # Pillow < 10.1 or no FreeType: the bitmap font
        font = small = ImageFont.load_default()
    cell, left, top = 150, 170, 90
    img = Image.new("RGB", (left + 2 * cell + 20, top + 2 * cell + 60), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 10), title, fill="black", font=small)
    d.text((left, top - 45), "predicted:  other          snow leopard", fill="black", font=small)
    for t, name in enumerate(["true: other", "true: leopard"]):
        d.text((10, top + t * cell + cell // 2 - 8), name, fill="black", font=small)
        for p in range(2):
            shade = int(255 - 200 * cm[t, p] / max(cm.max(), 1))
            box = [left + p * cell, top + t * cell, left + (p + 1) * cell, top + (t + 1) * cell]
            d.rectangle(box, fill=(shade, shade, 255), outline="black")
            d.text((box[0] + cell // 2 - 16, box[1] + cell // 2 - 16), str(cm[t, p]),
                   fill="black" if shade > 128 else "white", font=font)
    d.text((10, top + 2 * cell + 20), f"{len(preds)} frames, per-frame predictions", fill="black", font=small)
    img.save(path)
    return cm


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder with labels.csv and the images")
    parser.add_argument("--out", help="output folder (default: a new temporary folder)")
    parser.add_argument("--folds", type=int, default=None,
                        help="K-fold by sequence instead of leave-one-sequence-out (the default)")
    args = parser.parse_args()
    data_dir = os.path.realpath(args.data)
    out = os.path.realpath(args.out) if args.out else tempfile.mkdtemp(prefix="irbis-camera-traps-")
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()

    with timed("start Spark"):
        spark = irbis.session(app_name="irbis-camera-traps", **{"spark.sql.shuffle.partitions": "4",
                                                                 "spark.ui.showConsoleProgress": "false"})
        spark.sparkContext.setLogLevel("ERROR")
    try:
        ok = run(spark, data_dir, out, args.folds)
    finally:
        spark.stop()
    print("timings:")
    for step, seconds in TIMINGS:
        print(f"  {seconds:7.1f} s  {step}")
    print(f"  {time.perf_counter() - start:7.1f} s  total")
    print(f"outputs in {out}")
    return 0 if ok else 1


def run(spark, data_dir, out, k):
    with timed("EfficientNet-Lite0 to ONNX"):
        model_path, how = convert_model(out)
    print(f"model: {model_path} ({how})")

    labels = pd.read_csv(os.path.join(data_dir, "labels.csv"))
    per_seq = labels.groupby("sequence").is_snow_leopard.nunique()
    if (per_seq > 1).any():
        raise ValueError(f"sequences with mixed labels: {list(per_seq[per_seq > 1].index)}")
    labels_df = spark.createDataFrame(labels[["path", "species", "is_snow_leopard", "sequence"]]
                                      .rename(columns={"path": "relpath"})) \
        .withColumn("label", F.col("is_snow_leopard").cast("double"))

    with timed("read files, featurize every image and its flip once (cached)"):
        files = read_images(spark, data_dir).cache()
        features = featurize(files, model_path)
        feats = features.toPandas()
    with timed("raw pixels 32x32 of every image (cached)"):
        pixels = UnrollBinaryImage(inputCol="content", outputCol="pixels", height=PIXELS, width=PIXELS) \
            .transform(files).select("relpath", "pixels", F.col("error").alias("pixel_error")).cache()
        pix = pixels.toPandas()

    on_disk = set(feats.relpath)
    counts = feats.groupby("relpath").size()
    assert (counts == 2).all(), f"expected an image and its flip per file: {counts[counts != 2]}"
    bad = feats[feats.features.isna()].groupby("relpath").error.first()
    bad_pixels = pix[pix.pixels.isna()].set_index("relpath").pixel_error
    unlabelled = sorted(on_disk - set(labels.path))
    missing = sorted(set(labels.path) - on_disk)
    print(f"files: {len(on_disk)} read, {len(labels)} rows in labels.csv")
    print(f"undecodable (null features, dropped): {len(bad)}")
    for path, error in bad.items():
        print(f"  {path}: {error}")
    if set(bad_pixels.index) != set(bad.index):
        print(f"  note: UnrollBinaryImage failed on {sorted(bad_pixels.index)}")
    print(f"files without a row in labels.csv (dropped): {len(unlabelled)} {unlabelled}")
    print(f"labels.csv rows without a file (dropped): {len(missing)} {missing}")
    dropped = set(bad.index) | set(bad_pixels.index)

    usable = labels_df.where(~F.col("relpath").isin(*dropped, *missing) if dropped or missing else F.lit(True))
    frames = usable.join(features, "relpath").join(pixels, "relpath").cache()
    n = frames.where("copy = 0").count()
    sequences = {r.sequence: r.label for r in frames.select("sequence", "label").distinct().collect()}
    folds = fold_assignment(sequences, k)
    n_folds = len(set(folds.values()))
    scheme = "leave-one-sequence-out" if k is None else f"{k}-fold by sequence (sequences dealt round-robin by label)"
    print(f"evaluation: {scheme}, {n_folds} folds, {n} frames in {len(sequences)} sequences "
          f"({sum(sequences.values()):.0f} snow leopard sequences)")
    fold_of = spark.createDataFrame(pd.DataFrame({"sequence": list(folds), "fold": list(folds.values())}))
    # one partition: ~90 small rows, and every L-BFGS iteration is a Spark job whose cost is mostly per task
    frames = frames.join(fold_of, "sequence").coalesce(1).cache()

    preds = []
    ensemble = EnsembleByKey(keys=["sequence"], cols=["probability"], colNames=["sequenceProbability"],
                             collapseGroup=False)
    with timed(f"{n_folds} folds x 3 logistic regressions (+ EnsembleByKey)"):
        for fold in range(n_folds):
            train, test = frames.where(F.col("fold") != fold), frames.where((F.col("fold") == fold) & (F.col("copy") == 0))
            originals = train.where("copy = 0")
            m1 = lr("pixels").fit(originals)
            preds.append(frame_predictions(p_leopard(m1.transform(test)), MODELS[0], fold))
            m2 = lr("features").fit(originals)
            preds.append(frame_predictions(p_leopard(m2.transform(test)), MODELS[1], fold))
            m3 = lr("features").fit(train)  # originals and their flips; the test frames are never flipped
            scored = m3.transform(test)
            preds.append(frame_predictions(p_leopard(scored), MODELS[2], fold))
            preds.append(frame_predictions(p_leopard(ensemble.transform(scored), "sequenceProbability"),
                                           MODELS[3], fold))
    preds = pd.concat(preds, ignore_index=True)
    table = summarize(preds)

    cm = confusion_png(preds[preds.model == MODELS[3]], os.path.join(out, "confusion_model4.png"),
                       f"model 4 (flips + EnsembleByKey), {scheme}")

    with timed("fit model 4 on all frames, save, load, compare"):
        final_lr = lr("features").fit(frames)
        featurizer = ImageFeaturizer(inputCol="content", outputCol="features", modelLocation=model_path)
        pipeline = PipelineModel(stages=[featurizer, final_lr, ensemble])
        saved = os.path.join(out, "camera-traps-model4")
        pipeline.write().overwrite().save(saved)
        reloaded = PipelineModel.load(saved)
        test_files = files.join(usable.select("relpath", "sequence"), "relpath")
        cols = ["relpath", "probability", "sequenceProbability"]
        before = p_leopard(pipeline.transform(test_files), "sequenceProbability").select(*cols, "p").toPandas()
        after = p_leopard(reloaded.transform(test_files), "sequenceProbability").select(*cols, "p").toPandas()
        from_cache = p_leopard(ensemble.transform(final_lr.transform(frames.where("copy = 0"))),
                               "sequenceProbability").select(*cols, "p").toPandas()
    before, after, from_cache = (d.sort_values("relpath").reset_index(drop=True) for d in (before, after, from_cache))
    same = before.relpath.equals(after.relpath) and all(
        a.toArray().tolist() == b.toArray().tolist()
        for c in ("probability", "sequenceProbability") for a, b in zip(before[c], after[c]))
    cache_diff = float(np.max(np.abs(before.p.to_numpy() - from_cache.p.to_numpy())))

    print()
    print(f"snow leopard or not, {scheme} ({n_folds} folds), {n} frames, {len(sequences)} sequences:")
    print(table.to_string(index=False))
    print("per-sequence accuracy: majority of the frames' predictions (tie: mean probability); for model 4 every "
          "frame already carries its sequence's mean probability")
    print(f"model 4 confusion matrix (rows true other/leopard, columns predicted): {cm.tolist()} -> "
          f"{os.path.join(out, 'confusion_model4.png')}")
    print(f"saved pipeline {saved} (ImageFeaturizer, LogisticRegression, EnsembleByKey; fitted on all {n} frames "
          f"and their flips): reloaded predicts identically: {same}")
    print(f"pipeline from files vs cached features (checks the flip bookkeeping): max |dp| = {cache_diff:.2e}")
    return same and cache_diff < 1e-6 and len(preds) == 4 * n


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.exit(1)
