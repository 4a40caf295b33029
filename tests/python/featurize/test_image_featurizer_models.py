"""ImageFeaturizer on models of other shapes and preprocessing: the metadata's resize interpolation, HWC
(NHWC) inputs, symbolic height and width, the size read from the model. References: OpenCV-Python for the
preprocessing and onnxruntime's Python API for the network, on small CNNs built here with onnx.helper
(random weights) and the camera-trap photographs."""

import json

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from image_data import TRUNCATED, camera_trap_files, files_frame

TOL = 1e-4
INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
                  "area": cv2.INTER_AREA, "lanczos4": cv2.INTER_LANCZOS4}
MEAN, STD = [0.5, 0.4, 0.3], [0.25, 0.5, 1.0]


def cnn(layout="CHW", size=16, outputs=("logits",), metadata=None):
    """Conv 3->4 (3x3) + Relu + GlobalAveragePool + Flatten ('features', 4-d) + Gemm to 3 logits. HWC models
    transpose their [batch, H, W, 3] input first; size None makes height and width symbolic."""
    rng = np.random.default_rng(11)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv.w"),
             numpy_helper.from_array((rng.standard_normal(4) * 0.1).astype(np.float32), "conv.b"),
             numpy_helper.from_array(rng.standard_normal((3, 4)).astype(np.float32), "fc.w"),
             numpy_helper.from_array((rng.standard_normal(3) * 0.1).astype(np.float32), "fc.b")]
    h, w = (size, size) if size else ("height", "width")
    nodes = []
    if layout == "HWC":
        nodes.append(helper.make_node("Transpose", ["image"], ["chw"], perm=[0, 3, 1, 2]))
        shape, first = ["batch", h, w, 3], "chw"
    else:
        shape, first = ["batch", 3, h, w], "image"
    nodes += [helper.make_node("Conv", [first, "conv.w", "conv.b"], ["conv"], kernel_shape=[3, 3]),
              helper.make_node("Relu", ["conv"], ["relu"]),
              helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
              helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
              helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["logits"], transB=1)]
    dims = {"features": 4, "logits": 3}
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["batch", dims[o]]) for o in outputs],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata is not None:
        helper.set_model_props(model, {"preprocessing": json.dumps(metadata)})
    return model


def save(model, path):
    path.write_bytes(model.SerializeToString())
    return str(path)


def cv2_tensor(path, size, short, interpolation="bilinear", layout="CHW", mean=MEAN, std=STD):
    """cv2 decode, RGB, short side to `short` (long side floored) and centre crop, or straight to size x size
    (short = 0), (x / 255 - mean) / std in float32, CHW or HWC."""
    img = cv2.cvtColor(cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    flag = INTERPOLATIONS[interpolation]
    if short:
        h, w = img.shape[:2]
        nh, nw = (short, short * w // h) if h <= w else (short * h // w, short)
        img = cv2.resize(img, (nw, nh), interpolation=flag)
        top, left = (nh - size) // 2, (nw - size) // 2
        img = img[top:top + size, left:left + size]
    else:
        img = cv2.resize(img, (size, size), interpolation=flag)
    x = (img.astype(np.float32) * np.float32(1 / 255) - np.array(mean, np.float32)) / np.array(std, np.float32)
    return x.transpose(2, 0, 1) if layout == "CHW" else x


def reference_features(model, tensors):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["features"], {"image": np.stack(tensors)})[0]


@pytest.fixture(scope="module")
def photos():
    return [p for p in camera_trap_files() if not p.name.endswith(TRUNCATED)][::5]


@pytest.fixture(scope="module")
def files(spark, photos):
    df = files_frame(spark, photos)
    yield df
    df.unpersist()


def featurize(df, model_path, **params):
    from irbis.featurize import ImageFeaturizer
    stage = ImageFeaturizer(inputCol="content", modelLocation=model_path, miniBatchSize=4, **params)
    rows = stage.transform(df).select("path", "features", "error").collect()
    assert all(r.error is None for r in rows), [r.error for r in rows if r.error]
    return {r.path: r.features.toArray() for r in rows}


def assert_matches(got, photos, want):
    worst = max(float(np.abs(got[str(p)] - w).max()) for p, w in zip(photos, want))
    assert len(got) == len(photos) and worst < TOL, worst


@pytest.mark.parametrize("interpolation", ["nearest", "area", "bilinear", "lanczos4"])
def test_resize_interpolation_param_matches_cv2(tmp_path, files, photos, interpolation):
    model = cnn()
    path = save(model, tmp_path / "cnn.onnx")
    got = featurize(files, path, resizeInterpolation=interpolation, resizeShortSide=20, mean=MEAN, std=STD)
    want = reference_features(cnn(outputs=("features",)), [cv2_tensor(p, 16, 20, interpolation) for p in photos])
    assert_matches(got, photos, want)
    if interpolation != "bilinear":  # the choice matters on these images, so the test would notice it being ignored
        bilinear = reference_features(cnn(outputs=("features",)), [cv2_tensor(p, 16, 20) for p in photos])
        assert max(float(np.abs(got[str(p)] - b).max()) for p, b in zip(photos, bilinear)) > 10 * TOL


def test_resize_interpolation_comes_from_the_metadata(tmp_path, files, photos):
    meta = {"resizeShortSide": 0, "resizeInterpolation": "area", "mean": MEAN, "std": STD, "layout": "CHW"}
    path = save(cnn(metadata=meta), tmp_path / "cnn.onnx")
    got = featurize(files, path)
    want = reference_features(cnn(outputs=("features",)), [cv2_tensor(p, 16, 0, "area") for p in photos])
    assert_matches(got, photos, want)
    bad = save(cnn(metadata=dict(meta, resizeInterpolation="bilinearish")), tmp_path / "bad.onnx")
    with pytest.raises(Exception, match="metadata has resizeInterpolation = \"bilinearish\", which is not valid"):
        featurize(files, bad)


def test_hwc_model_is_fed_hwc_tensors(tmp_path, files, photos):
    """Layout and size come from the input's shape [batch, 16, 16, 3] (no metadata, no inputSize)."""
    path = save(cnn("HWC"), tmp_path / "hwc.onnx")
    got = featurize(files, path, resizeShortSide=20, mean=MEAN, std=STD)
    want = reference_features(cnn("HWC", outputs=("features",)), [cv2_tensor(p, 16, 20, layout="HWC") for p in photos])
    assert_matches(got, photos, want)
    # CHW values read as HWC (what ignoring the layout would feed) give other features.
    wrong = reference_features(cnn("HWC", outputs=("features",)),
                               [cv2_tensor(p, 16, 20).reshape(16, 16, 3) for p in photos])
    assert max(float(np.abs(got[str(p)] - c).max()) for p, c in zip(photos, wrong)) > 10 * TOL
    from irbis.featurize import ImageFeaturizer
    stage = ImageFeaturizer(inputCol="content", modelLocation=path, layout="CHW", resizeShortSide=20)
    with pytest.raises(Exception, match=r"has shape \[\?, 16, 16, 3\], 16 x 3 \(height x width\) in layout CHW; "
                                        r"ImageFeaturizer makes square inputs \(check layout\)"):
        stage.transform(files)
    with pytest.raises(Exception, match=r"has shape \[\?, 16, 16, 3\]; the preprocessing makes \[batch, 3, 16, 16\] "
                                        r"\(layout CHW; check inputSize and layout\)"):
        stage.setInputSize(16).transform(files)


def test_hwc_from_metadata_with_symbolic_size(tmp_path, files, photos):
    meta = {"layout": "HWC", "inputSize": 12, "resizeShortSide": 14, "mean": MEAN, "std": STD}
    path = save(cnn("HWC", size=None, metadata=meta), tmp_path / "hwc.onnx")
    got = featurize(files, path)
    want = reference_features(cnn("HWC", size=None, outputs=("features",)),
                              [cv2_tensor(p, 12, 14, layout="HWC") for p in photos])
    assert_matches(got, photos, want)


def test_symbolic_height_and_width(tmp_path, files, photos):
    path = save(cnn(size=None), tmp_path / "symbolic.onnx")
    from irbis.featurize import ImageFeaturizer
    with pytest.raises(Exception, match=r"has shape \[\?, 3, \?, \?\], a symbolic height or width, and neither "
                                        r"inputSize nor the model's preprocessing metadata gives the size to feed: "
                                        r"set inputSize"):
        ImageFeaturizer(inputCol="content", modelLocation=path).transform(files)
    reference = cnn(size=None, outputs=("features",))
    for size, short in [(16, 20), (24, 0)]:
        got = featurize(files, path, inputSize=size, resizeShortSide=short, mean=MEAN, std=STD)
        assert_matches(got, photos, reference_features(reference, [cv2_tensor(p, size, short) for p in photos]))
    with_meta = save(cnn(size=None, metadata={"inputSize": 10, "resizeShortSide": 12, "mean": MEAN, "std": STD}),
                     tmp_path / "symbolic_meta.onnx")
    got = featurize(files, with_meta)
    assert_matches(got, photos, reference_features(reference, [cv2_tensor(p, 10, 12) for p in photos]))
    # headless = false runs the whole (uncut) model with the size fixed too: softmax of onnxruntime's logits
    full = ort.InferenceSession(cnn(size=None).SerializeToString(), providers=["CPUExecutionProvider"])
    logits = full.run(["logits"], {"image": np.stack([cv2_tensor(p, 10, 12) for p in photos])})[0].astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = featurize(files, with_meta, headless=False)
    assert_matches(probs, photos, e / e.sum(axis=1, keepdims=True))


def test_size_comes_from_a_fixed_model_input(tmp_path, files, photos):
    """No metadata and no inputSize: a fixed [batch, 3, 16, 16] input gives the size (not the default 224)."""
    path = save(cnn(size=16), tmp_path / "fixed.onnx")
    got = featurize(files, path, resizeShortSide=0, mean=MEAN, std=STD)
    assert_matches(got, photos, reference_features(cnn(outputs=("features",)), [cv2_tensor(p, 16, 0) for p in photos]))


def as_folder(model, folder):
    """The model saved as ONNX keeps models over 2 GB: a graph file and its weights in an external data file."""
    import onnx
    folder.mkdir()
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (folder / "weights.bin").stat().st_size > 0
    return str(folder)


def test_model_folder_with_external_data(spark, tmp_path, files, photos):
    from irbis.featurize import ImageFeaturizer
    params = dict(resizeShortSide=20, mean=MEAN, std=STD)
    folder = as_folder(cnn(), tmp_path / "model")
    got = featurize(files, folder, **params)
    assert_matches(got, photos, reference_features(cnn(outputs=("features",)), [cv2_tensor(p, 16, 20) for p in photos]))
    stage = ImageFeaturizer(inputCol="content", modelLocation=folder, miniBatchSize=4, **params)
    stage.save(str(tmp_path / "stage"))
    loaded = ImageFeaturizer.load(str(tmp_path / "stage"))
    assert loaded.getModelLocation().startswith(f"file:{tmp_path / 'stage' / 'modelFolder'}")
    again = {r.path: r.features.toArray() for r in loaded.transform(files).select("path", "features").collect()}
    assert all(np.array_equal(again[p], got[p]) for p in got)
    # symbolic height and width in a folder: the fixed-shape copy keeps reading the folder's weights
    symbolic = as_folder(cnn(size=None), tmp_path / "symbolic")
    got = featurize(files, symbolic, inputSize=12, **params)
    assert_matches(got, photos, reference_features(cnn(size=None, outputs=("features",)),
                                                   [cv2_tensor(p, 12, 20) for p in photos]))
