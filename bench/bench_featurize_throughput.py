"""featurize_throughput: images/s from JPEG files to 1280-d EfficientNet-Lite0 features with ImageFeaturizer
(Spark local[2], the files read with the binaryFile source, the model cut before its classifier), against one
Python process doing the same with cv2 (decode, resize, crop and normalise exactly as the model's
'preprocessing' metadata says) and onnxruntime with 2 intra-op threads at its best batch size.

Images: the camera-trap JPEGs (snow_leopard/ and other/, mostly 2048x1536, so decoding counts) copied
`repeat` times into a temporary folder to make a few hundred files; both sides read the same files (from the
page cache after the warm-up). Model: the one `python -m irbis.models.efficientnet_lite` converts (it carries
its preprocessing as metadata, which ImageFeaturizer reads); without the converter's weights package, the
shared efficientnet_lite0.onnx with the preprocessing its README gives. The baseline runs a features-only
model (the converter's `features` output, or the shared model with its classifier's input made the output),
the same work as ImageFeaturizer's cut. Before timing, both sides' features of one copy of the set must agree
within 1e-4. Each side: a warm-up pass, then the best of 3 (the sides alternate, so that a busy moment on the
shared machine does not fall on one side only). The baseline's batch size is the fastest of a sweep of
onnxruntime alone over the preprocessed tensors.
"""
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from timing import best_of_alternating

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
FOLDER = SHARED / "data" / "camera-traps"
SHARED_MODEL = SHARED / "models" / "efficientnet_lite0.onnx"
MIN_IMAGES = 300
BATCH_SIZES = [1, 4, 8, 16, 32, 64]
TOL = 1e-4
TARGET = 1.0
# What ../shared/models/README.md gives for the shared model, which carries no metadata.
SHARED_PREPROCESSING = {"input": "input", "inputSize": 224, "resizeShortSide": 256, "resizeInterpolation": "bilinear",
                        "channelOrder": "RGB", "layout": "CHW", "scale": 1 / 255, "mean": [0.5, 0.5, 0.5],
                        "std": [0.5, 0.5, 0.5]}
INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "linear": cv2.INTER_LINEAR,
                  "bicubic": cv2.INTER_CUBIC, "cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


def models(tmp):
    """(model for ImageFeaturizer, features-only model for the baseline, preprocessing, which)."""
    try:
        from irbis.models import efficientnet_lite
        efficientnet_lite.weights_path()
    except Exception as e:  # no converter weights here: the shared model
        if not SHARED_MODEL.exists():
            raise FileNotFoundError(f"neither the converter's weights ({e}) nor {SHARED_MODEL}") from e
        import onnx
        from onnx.utils import Extractor
        model = onnx.load(str(SHARED_MODEL))
        features = Path(tmp) / "features.onnx"
        onnx.save(Extractor(model).extract_model(["input"], [model.graph.node[-1].input[0]]), str(features))
        return SHARED_MODEL, features, dict(SHARED_PREPROCESSING), "shared efficientnet_lite0.onnx"
    classifier = efficientnet_lite.export(Path(tmp) / "efficientnet_lite0.onnx", outputs=("logits",))
    features = efficientnet_lite.export(Path(tmp) / "efficientnet_lite0_features.onnx", outputs=("features",))
    meta = ort.InferenceSession(str(features), providers=["CPUExecutionProvider"]).get_modelmeta()
    return classifier, features, json.loads(meta.custom_metadata_map["preprocessing"]), "converted EfficientNet-Lite0"


class Cv2Preprocess:
    """The metadata's preprocessing with cv2 and numpy: decode (BGR), resize (short side or straight), centre
    crop, channel order, (x * scale - mean) / std in float32, CHW."""

    def __init__(self, pre):
        assert pre.get("layout", "CHW") == "CHW", pre
        self.size = int(pre["inputSize"])
        self.short = int(pre.get("resizeShortSide", 0))
        self.interpolation = INTERPOLATIONS[pre.get("resizeInterpolation", "bilinear")]
        self.rgb = pre.get("channelOrder", "RGB") == "RGB"
        self.scale = np.float32(pre["scale"])
        self.mean = np.array(pre["mean"], np.float32)
        self.std = np.array(pre["std"], np.float32)

    def __call__(self, data):
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        s = self.size
        if self.short:
            h, w = img.shape[:2]
            nh, nw = (self.short, self.short * w // h) if h <= w else (self.short * h // w, self.short)
            img = cv2.resize(img, (nw, nh), interpolation=self.interpolation)
            top, left = (nh - s) // 2, (nw - s) // 2
            img = img[top:top + s, left:left + s]
        else:
            img = cv2.resize(img, (s, s), interpolation=self.interpolation)
        if self.rgb:
            img = img[:, :, ::-1]
        return ((img.astype(np.float32) * self.scale - self.mean) / self.std).transpose(2, 0, 1)


def baseline_features(session, name, prep, paths, batch):
    out = []
    for i in range(0, len(paths), batch):
        x = np.stack([prep(p.read_bytes()) for p in paths[i:i + batch]])
        out.append(session.run(None, {name: x})[0])
    return np.concatenate(out)


def best_batch(session, name, tensors):
    rates = {}
    for b in BATCH_SIZES:
        session.run(None, {name: tensors[:b]})
        start = time.perf_counter()
        for i in range(0, len(tensors), b):
            session.run(None, {name: tensors[i:i + b]})
        rates[b] = len(tensors) / (time.perf_counter() - start)
    return max(rates, key=rates.get), rates


def sample_jpegs():
    """The shared camera-trap JPEGs; on a clone without ../shared, the demo's photographs (the first frame of
    each, fetched by examples/sample_data.py), so that `make bench` runs anywhere `make demo` does."""
    originals = sorted(p for d in ("snow_leopard", "other") for p in (FOLDER / d).glob("*.jpg"))
    if originals:
        return originals
    sys.path.insert(0, str(HERE.parent / "examples"))
    import sample_data
    labels, _ = sample_data.ensure(sample_data.DEFAULT_OUT)
    frames = labels.drop_duplicates("sequence")["path"]
    return [Path(sample_data.DEFAULT_OUT) / p for p in frames]


def run(spark):
    from irbis.featurize import ImageFeaturizer

    originals = sample_jpegs()
    repeat = math.ceil(MIN_IMAGES / len(originals))
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "images"
        paths = []
        for k in range(repeat):
            (images / f"copy{k}").mkdir(parents=True)
            for p in originals:
                paths.append(Path(shutil.copyfile(p, images / f"copy{k}" / f"{p.parent.name}-{p.name}")))
        n = len(paths)
        classifier, features_model, pre, which = models(tmp)

        params = dict(inputCol="content", modelLocation=str(classifier), errorCol="error")
        if which.startswith("shared"):  # no metadata: the same preprocessing as Params
            params.update({k: pre[k] for k in ("inputSize", "resizeShortSide", "channelOrder", "scale", "mean", "std")})
        featurizer = ImageFeaturizer(**params)
        files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(str(images))

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        session = ort.InferenceSession(str(features_model), opts, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        prep = Cv2Preprocess(pre)

        # Same features on both sides (one copy of the set), or the comparison means nothing.
        first = files.where(files.path.contains("/copy0/"))
        got = {r.path.split("/")[-1]: r for r in featurizer.transform(first).select("path", "features", "error").collect()}
        copy0 = [p for p in paths if p.parent.name == "copy0"]
        want = baseline_features(session, name, prep, copy0, 16)
        for p, w in zip(copy0, want):
            r = got[p.name]
            assert r.error is None, r.error
            diff = float(np.abs(r.features.toArray() - w).max())
            assert diff < TOL, f"{p.name}: ImageFeaturizer and the cv2 + onnxruntime baseline differ by {diff}"

        batch, rates = best_batch(session, name, np.stack([prep(p.read_bytes()) for p in copy0[:32]] * 2))
        print(f"featurize_throughput: {n} images, {which}; onnxruntime alone (2 threads), images/s by batch size: "
              + ", ".join(f"{b}: {r:.0f}" for b, r in rates.items()) + f" -> baseline batch {batch}")

        def irbis_pass():
            featurizer.transform(files).select("path", "features", "error").write.format("noop").mode("overwrite").save()

        def baseline_pass():
            baseline_features(session, name, prep, paths, batch)

        irbis_s, baseline_s = best_of_alternating(3, irbis_pass, baseline_pass)
    ratio = baseline_s / irbis_s
    print(f"featurize_throughput: ImageFeaturizer {n / irbis_s:.1f} images/s, cv2 + onnxruntime {n / baseline_s:.1f} "
          f"images/s: {ratio:.2f}x (target >= {TARGET:.1f}x){'' if ratio >= TARGET else '  BELOW TARGET'}")
    return [dict(benchmark="featurize_throughput", case=f"{n} JPEGs (~3 MP) -> 1280-d", unit="i/s", irbis=n / irbis_s,
                 baseline=n / baseline_s, baseline_name=f"cv2 + ORT python, batch {batch}", target=TARGET)]
