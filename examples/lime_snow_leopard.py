"""Why does the camera-trap classifier call this frame a snow leopard? LIME on Spark.

1. Fit the camera-trap classifier: ImageFeaturizer (EfficientNet-Lite0 pooled features) + LogisticRegression on
   every readable photograph of the data folder (``labels.csv``: path, is_snow_leopard, ...), each resized to
   256 pixels wide first (LIME scores every perturbed copy of an image, so small images keep it cheap).
2. Explain snow-leopard frames with ImageLIME: SLIC superpixels, ``--samples`` perturbed copies per image (each
   superpixel kept with probability 0.7, hidden ones painted with their mean colour), all copies of all images
   scored in one distributed pass of the classifier, a weighted ridge regression per image.
3. Write one PNG per image: the top superpixels for "snow leopard" in full colour with a green outline, the
   rest dimmed.

Usage::

    python examples/lime_snow_leopard.py --data camera-traps --features efficientnet_lite0_features.onnx \\
        [--out DIR] [--images N] [--samples 300]

The functions are what ``tests/python/lime/test_lime.py`` runs on its own session.
"""
import argparse
import csv
import os
import time

import cv2
import numpy as np
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.sql import Row
from pyspark.sql.types import BinaryType, DoubleType, IntegerType, StringType, StructField, StructType

import irbis
from irbis.featurize import ImageFeaturizer
from irbis.lime import ImageLIME

IMAGE = StructType([StructField("origin", StringType()), StructField("height", IntegerType()),
                   StructField("width", IntegerType()), StructField("nChannels", IntegerType()),
                   StructField("mode", IntegerType()), StructField("data", BinaryType())])
SAMPLES, CELL_SIZE, HIDE_COLOR, SEED = 300, 24.0, "mean", 1


def small(path, width=256):
    """The image at `path` resized to `width` pixels wide (BGR), or None if OpenCV cannot read it."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        return None
    h, w = img.shape[:2]
    return cv2.resize(img, (width, width * h // w), interpolation=cv2.INTER_AREA)


def image_row(bgr, origin):
    h, w, c = bgr.shape
    return Row(origin=origin, height=h, width=w, nChannels=c, mode=16, data=bytearray(bgr.tobytes()))


def load_photos(data):
    """[(image row, is_snow_leopard)] for every readable photograph in `data`/labels.csv, sorted by path."""
    with open(os.path.join(data, "labels.csv"), encoding="utf-8") as f:
        labels = {r["path"]: float(r["is_snow_leopard"]) for r in csv.DictReader(f)}
    return [(image_row(img, p), y) for p, y in sorted(labels.items())
            if (img := small(os.path.join(data, p))) is not None]


def fit_classifier(spark, photos, features):
    """ImageFeaturizer (the headless EfficientNet-Lite0 at `features`) + LogisticRegression, fitted on `photos`."""
    train = spark.createDataFrame(photos, StructType([StructField("image", IMAGE), StructField("label", DoubleType())]))
    featurizer = ImageFeaturizer(inputCol="image", outputCol="features", modelLocation=str(features),
                                 inputSize=224, resizeShortSide=256, channelOrder="RGB", scale=1 / 255,
                                 mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    return Pipeline(stages=[featurizer, LogisticRegression(maxIter=100, regParam=0.01)]).fit(train)


def explain(spark, classifier, images, samples=SAMPLES, seed=SEED, hide_color=HIDE_COLOR):
    """ImageLIME rows (image, superpixels, explanation of class 1 = snow leopard) for the image rows `images`."""
    df = spark.createDataFrame([(img,) for img in images], StructType([StructField("image", IMAGE)]))
    lime = ImageLIME(model=classifier, targetClasses=[1], cellSize=CELL_SIZE, numSamples=samples,
                     hideColor=hide_color, seed=seed)
    return lime.transform(df).collect()


def write_overlay(row, out_dir, top=6):
    """The explanation of `row` drawn over its image: returns (PNG path, RGB picture)."""
    name = os.path.splitext(os.path.basename(row["image"]["origin"]))[0]
    path = os.path.join(out_dir, f"{name}_lime.png")
    picture = ImageLIME.overlay(row["image"], row["superpixels"], row["explanation"], top_k=top, path=path)
    return path, picture


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--features", required=True, help="efficientnet_lite0_features.onnx")
    ap.add_argument("--out", default="lime-out")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--samples", type=int, default=SAMPLES)
    ap.add_argument("--top", type=int, default=6)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    spark = irbis.session()

    photos = load_photos(args.data)
    start = time.perf_counter()
    classifier = fit_classifier(spark, photos, args.features)
    print(f"classifier fitted on {len(photos)} images in {time.perf_counter() - start:.1f} s")

    leopards = [img for img, y in photos if y == 1.0]
    chosen = leopards[::max(1, len(leopards) // args.images)][:args.images]
    start = time.perf_counter()
    explained = explain(spark, classifier, chosen, samples=args.samples)
    print(f"{len(explained)} images x {args.samples} samples explained in {time.perf_counter() - start:.1f} s")
    for r in explained:
        e = r["explanation"][0]
        path, _ = write_overlay(r, args.out, args.top)
        print(f"{path}: {r['superpixels']['count']} superpixels, local R^2 {e['r2']:.2f}, "
              f"top weights {np.round(np.sort(e['weights'].toArray())[::-1][:args.top], 3).tolist()}")
    spark.stop()


if __name__ == "__main__":
    main()
