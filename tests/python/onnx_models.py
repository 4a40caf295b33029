"""Small ONNX graphs for the ONNXModel tests, built with the `onnx` package (deterministic, seeded).

`python tests/python/onnx_models.py` rewrites the tiny models that the Scala tests read from
core/src/test/resources/irbis/onnx/; the Python tests build every model afresh in a temporary folder.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]


def _model(nodes, inputs, outputs, inits=(), name="irbis_test"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=OPSET, ir_version=8, producer_name="irbis-tests")


def _t(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def multi_io():
    """Two inputs (float, int64), four outputs of four element types."""
    inits = [numpy_helper.from_array(np.array(2.0, np.float32), "two"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array(0, np.int64), "zero")]
    nodes = [helper.make_node("Mul", ["a", "two"], ["scaled"]),
             helper.make_node("ReduceSum", ["b", "axis1"], ["total"], keepdims=0),
             helper.make_node("Greater", ["b", "zero"], ["positive"]),
             helper.make_node("Cast", ["a"], ["as_double"], to=TensorProto.DOUBLE)]
    return _model(nodes, [_t("a", TensorProto.FLOAT, ["batch", 3]), _t("b", TensorProto.INT64, ["batch", 2])],
                  [_t("scaled", TensorProto.FLOAT, ["batch", 3]), _t("total", TensorProto.INT64, ["batch"]),
                   _t("positive", TensorProto.BOOL, ["batch", 2]), _t("as_double", TensorProto.DOUBLE, ["batch", 3])],
                  inits)


def strings():
    """A string input mapped to codes (ai.onnx.ml LabelEncoder) and echoed back as a string tensor."""
    nodes = [helper.make_node("LabelEncoder", ["text"], ["code"], domain="ai.onnx.ml",
                              keys_strings=["snow leopard", "ibex", "fox"], values_int64s=[1, 2, 3], default_int64=-1),
             helper.make_node("Identity", ["text"], ["echo"])]
    return _model(nodes, [_t("text", TensorProto.STRING, ["batch"])],
                  [_t("code", TensorProto.INT64, ["batch"]), _t("echo", TensorProto.STRING, ["batch"])])


def fixed_batch():
    """A graph whose batch dimension is fixed at 4."""
    w = numpy_helper.from_array(np.random.default_rng(1).standard_normal((5, 2)).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    return _model(nodes, [_t("x", TensorProto.FLOAT, [4, 5])], [_t("y", TensorProto.FLOAT, [4, 2])], [w])


def symbolic():
    """A symbolic non-batch dimension: sequences of any length."""
    inits = [numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    nodes = [helper.make_node("ReduceSum", ["x", "axis1"], ["total"], keepdims=0),
             helper.make_node("Mul", ["x", "two"], ["doubled"])]
    return _model(nodes, [_t("x", TensorProto.FLOAT, ["batch", "time"])],
                  [_t("total", TensorProto.FLOAT, ["batch"]), _t("doubled", TensorProto.FLOAT, ["batch", "time"])], inits)


def element_types():
    """Inputs of uint8, int32, int8, float16 and double, each cast to float."""
    names = [("u8", TensorProto.UINT8), ("i32", TensorProto.INT32), ("i8", TensorProto.INT8),
             ("f16", TensorProto.FLOAT16), ("f64", TensorProto.DOUBLE)]
    nodes = [helper.make_node("Cast", [n], [f"{n}_float"], to=TensorProto.FLOAT) for n, _ in names]
    return _model(nodes, [_t(n, e, ["batch", 2]) for n, e in names],
                  [_t(f"{n}_float", TensorProto.FLOAT, ["batch", 2]) for n, _ in names])


def mlp(sizes=(64, 256, 256, 10), seed=0):
    """A dense network: Gemm + Relu layers, logits out."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        inits += [numpy_helper.from_array((rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array((rng.standard_normal(n_out) * 0.1).astype(np.float32), f"b{i}")]
        out = "logits" if i == len(sizes) - 2 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [out if out == "logits" else f"g{i}"]))
        if out != "logits":
            nodes.append(helper.make_node("Relu", [f"g{i}"], [out]))
        prev = out
    return _model(nodes, [_t("x", TensorProto.FLOAT, ["batch", sizes[0]])],
                  [_t("logits", TensorProto.FLOAT, ["batch", sizes[-1]])], inits)


def sklearn_logistic():
    """A scikit-learn LogisticRegression on iris, converted by skl2onnx (label + seq(map) probabilities)."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    x, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=500).fit(x.astype(np.float32), y)
    return to_onnx(clf, x[:1].astype(np.float32), target_opset={"": 17, "ai.onnx.ml": 3}), x.astype(np.float32)


def _cast_each(names, to, suffix):
    """Per-row scalar inputs ((name, element type) pairs), each cast to `to` as the output `<name>_<suffix>`."""
    nodes = [helper.make_node("Cast", [n], [f"{n}_{suffix}"], to=to) for n, _ in names]
    return _model(nodes, [_t(n, e, ["batch"]) for n, e in names], [_t(f"{n}_{suffix}", to, ["batch"]) for n, _ in names])


def scalar_inputs():
    """Per-row scalars of three element types (float, int16, bool), each cast to float."""
    return _cast_each([("s_f", TensorProto.FLOAT), ("s_i16", TensorProto.INT16), ("s_b", TensorProto.BOOL)],
                      TensorProto.FLOAT, "float")


def image_chw():
    """A uint8 image input in CHW layout (3 x 4 x 5), cast to float: shows exactly what was fed."""
    nodes = [helper.make_node("Cast", ["img"], ["pixels"], to=TensorProto.FLOAT)]
    return _model(nodes, [_t("img", TensorProto.UINT8, ["batch", 3, 4, 5])], [_t("pixels", TensorProto.FLOAT, ["batch", 3, 4, 5])])


def weighted_pixel_sum(height, width, seed=0):
    """A uint8 CHW image (3 x height x width) to one score per image: the sum of its pixels times fixed random weights."""
    weights = np.random.default_rng(seed).standard_normal((1, 3, height, width)).astype(np.float32)
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes")]
    nodes = [helper.make_node("Cast", ["img"], ["f"], to=TensorProto.FLOAT), helper.make_node("Mul", ["f", "w"], ["fw"]),
             helper.make_node("ReduceSum", ["fw", "axes"], ["score"], keepdims=0)]
    return _model(nodes, [_t("img", TensorProto.UINT8, ["batch", 3, height, width])],
                  [_t("score", TensorProto.FLOAT, ["batch"])], inits)


def fixed_batch_strings():
    """String input with a batch fixed at 3 (the last batch is padded with empty strings)."""
    nodes = [helper.make_node("LabelEncoder", ["text"], ["code"], domain="ai.onnx.ml",
                              keys_strings=["snow leopard", "ibex", ""], values_int64s=[1, 2, 99], default_int64=-1)]
    return _model(nodes, [_t("text", TensorProto.STRING, [3])], [_t("code", TensorProto.INT64, [3])])


def no_batch_output():
    """A graph with one per-row output and one output that is a constant without a batch dimension."""
    inits = [numpy_helper.from_array(np.array([1.0, 2.0, 3.0], np.float32), "table")]
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Identity", ["table"], ["constant"])]
    return _model(nodes, [_t("x", TensorProto.FLOAT, ["batch", 2])],
                  [_t("y", TensorProto.FLOAT, ["batch", 2]), _t("constant", TensorProto.FLOAT, [3])], inits)


def recurrent_state():
    """A recurrent cell's shapes: a state [2, batch, 4] (two layers, the batch on axis 1) beside an input [batch, 3].
    out = x @ w + the layers' sum of the state; new_state = 2 * state."""
    w = numpy_helper.from_array(np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32), "w")
    inits = [w, numpy_helper.from_array(np.array([0], np.int64), "axis0"), numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"]),
             helper.make_node("ReduceSum", ["state", "axis0"], ["layers"], keepdims=0),
             helper.make_node("Add", ["xw", "layers"], ["out"]), helper.make_node("Mul", ["state", "two"], ["new_state"])]
    return _model(nodes, [_t("state", TensorProto.FLOAT, [2, "batch", 4]), _t("x", TensorProto.FLOAT, ["batch", 3])],
                  [_t("out", TensorProto.FLOAT, ["batch", 4]), _t("new_state", TensorProto.FLOAT, [2, "batch", 4])], inits)


def integer_inputs():
    """Inputs of uint8, int8, int16, int32, int64 and bool, each cast to double (which holds all their values)."""
    names = [("u8", TensorProto.UINT8), ("i8", TensorProto.INT8), ("i16", TensorProto.INT16),
             ("i32", TensorProto.INT32), ("i64", TensorProto.INT64), ("b", TensorProto.BOOL)]
    nodes = [helper.make_node("Cast", [n], [f"{n}_double"], to=TensorProto.DOUBLE) for n, _ in names]
    return _model(nodes, [_t(n, e, ["batch"]) for n, e in names],
                  [_t(f"{n}_double", TensorProto.DOUBLE, ["batch"]) for n, _ in names])


def unsigned_outputs():
    """An int64 input cast to uint8, uint16, uint32 and uint64 outputs (ONNX casts wrap modulo 2^bits)."""
    names = [("u8", TensorProto.UINT8), ("u16", TensorProto.UINT16), ("u32", TensorProto.UINT32), ("u64", TensorProto.UINT64)]
    nodes = [helper.make_node("Cast", ["x"], [n], to=e) for n, e in names]
    return _model(nodes, [_t("x", TensorProto.INT64, ["batch", 2])], [_t(n, e, ["batch", 2]) for n, e in names])


def unsigned_inputs():
    """Inputs of uint16, uint32 and uint64, each cast to double."""
    return _cast_each([("u16", TensorProto.UINT16), ("u32", TensorProto.UINT32), ("u64", TensorProto.UINT64)],
                      TensorProto.DOUBLE, "double")


def unknown_rank():
    """An input and an output declared without any shape (rank unknown): y = relu(x) * 2, and the sum of x."""
    inits = [numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Mul", ["r", "two"], ["y"]),
             helper.make_node("ReduceSum", ["x"], ["total"], keepdims=1)]
    return _model(nodes, [_t("x", TensorProto.FLOAT, None)],
                  [_t("y", TensorProto.FLOAT, None), _t("total", TensorProto.FLOAT, None)], inits)


TINY_CNN_PREPROCESSING = {"inputSize": 8, "resizeShortSide": 10, "channelOrder": "RGB", "layout": "CHW",
                          "scale": 1 / 255, "mean": [0.5, 0.4, 0.3], "std": [0.25, 0.5, 1.0]}


def tiny_cnn():
    """A small image classifier, input [batch,3,8,8]: Conv 3->4 (3x3) + Relu + GlobalAveragePool + Flatten (the
    4-d features) + Gemm to 3 logits; with `preprocessing` metadata as the EfficientNet-Lite converter writes."""
    import json
    rng = np.random.default_rng(7)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv.w"),
             numpy_helper.from_array((rng.standard_normal(4) * 0.1).astype(np.float32), "conv.b"),
             numpy_helper.from_array(rng.standard_normal((3, 4)).astype(np.float32), "fc.w"),
             numpy_helper.from_array((rng.standard_normal(3) * 0.1).astype(np.float32), "fc.b")]
    nodes = [helper.make_node("Conv", ["input", "conv.w", "conv.b"], ["conv"], name="conv", kernel_shape=[3, 3]),
             helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
             helper.make_node("GlobalAveragePool", ["relu"], ["pooled"], name="pool"),
             helper.make_node("Flatten", ["pooled"], ["features"], name="flatten", axis=1),
             helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["logits"], name="fc", transB=1)]
    model = _model(nodes, [_t("input", TensorProto.FLOAT, ["batch", 3, 8, 8])],
                   [_t("logits", TensorProto.FLOAT, ["batch", 3])], inits)
    helper.set_model_props(model, {"preprocessing": json.dumps(TINY_CNN_PREPROCESSING, sort_keys=True)})
    return model


TINY = {"multi_io": multi_io, "strings": strings, "fixed_batch": fixed_batch, "symbolic": symbolic,
        "tiny_cnn": tiny_cnn}

def external_folder(tmp_path, name, model):
    """The model saved as ONNX keeps models over 2 GB: a folder with the graph and its weights in a data file."""
    folder = tmp_path / name
    folder.mkdir()
    copy = onnx.ModelProto()
    copy.CopyFrom(model)  # save_model moves the weights out of the proto it is given
    onnx.save_model(copy, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (folder / "weights.bin").stat().st_size > (folder / "model.onnx").stat().st_size
    return folder


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "core/src/test/resources/irbis/onnx"
    out.mkdir(parents=True, exist_ok=True)
    for name, build in TINY.items():
        (out / f"{name}.onnx").write_bytes(build().SerializeToString())
        print("wrote", out / f"{name}.onnx")

