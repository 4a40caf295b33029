"""ONNXModel against onnxruntime's own Python API on the same models and inputs."""
import math
import re

import numpy as np
import onnxruntime as ort
import pytest

import onnx_models
from cluster import last_json
from conftest import ROOT

SHARED_MODELS = ROOT.parent / "shared" / "models"
FLOAT_TOL = 1e-5


def reference(model_bytes, feeds):
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def onnx_stage(model_path, **params):
    from irbis.onnx import ONNXModel
    return ONNXModel(modelLocation=str(model_path), **params)


def save(tmp_path, name, model):
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_mlp_matches_onnxruntime_and_introspects(spark, tmp_path):
    model = onnx_models.mlp()
    x = np.random.default_rng(3).standard_normal((300, 64)).astype(np.float32)
    expected = reference(model.SerializeToString(), {"x": x})["logits"]
    df = spark.createDataFrame([(i, row.tolist()) for i, row in enumerate(x)], ["id", "x"]).repartition(3)
    stage = onnx_stage(save(tmp_path, "mlp", model), miniBatchSize=32,
                       softMaxDict={"logits": "probability"}, argMaxDict={"logits": "prediction"})
    rows = sorted(stage.transform(df).collect(), key=lambda r: r.id)
    got = np.array([r.logits for r in rows])
    assert np.abs(got - expected).max() < FLOAT_TOL
    e = np.exp(expected - expected.max(axis=1, keepdims=True))
    assert np.abs(np.array([r.probability for r in rows]) - e / e.sum(axis=1, keepdims=True)).max() < FLOAT_TOL
    assert [r.prediction for r in rows] == expected.argmax(axis=1).tolist()
    assert stage.modelInputs() == {"x": {"kind": "tensor", "type": "FLOAT", "shape": [-1, 64], "dimNames": ["batch", None]}}
    assert stage.modelOutputs()["logits"]["shape"] == [-1, 10]


def test_multi_input_multi_output(spark, tmp_path):
    model = onnx_models.multi_io()
    rng = np.random.default_rng(4)
    a = rng.standard_normal((50, 3)).astype(np.float32)
    b = rng.integers(-5, 5, (50, 2)).astype(np.int64)
    expected = reference(model.SerializeToString(), {"a": a, "b": b})
    df = spark.createDataFrame([(i, a[i].tolist(), b[i].tolist()) for i in range(50)], ["id", "a", "b"])
    rows = sorted(onnx_stage(save(tmp_path, "multi", model), feedDict={"a": "a", "b": "b"}, miniBatchSize=7)
                  .transform(df).collect(), key=lambda r: r.id)
    assert np.abs(np.array([r.scaled for r in rows]) - expected["scaled"]).max() < FLOAT_TOL
    assert [r.total for r in rows] == expected["total"].tolist()
    assert [list(r.positive) for r in rows] == expected["positive"].tolist()
    assert np.array_equal(np.array([r.as_double for r in rows]), expected["as_double"])


def test_string_input(spark, tmp_path):
    model = onnx_models.strings()
    words = ["snow leopard", "ibex", "wolf", "", "fox", "ÿ"]
    expected = reference(model.SerializeToString(), {"text": np.array(words, dtype=object)})
    df = spark.createDataFrame([(i, w) for i, w in enumerate(words)], ["id", "text"])
    rows = sorted(onnx_stage(save(tmp_path, "strings", model)).transform(df).collect(), key=lambda r: r.id)
    assert [r.code for r in rows] == expected["code"].tolist()
    assert [r.echo for r in rows] == list(expected["echo"])


def test_sklearn_classifier_seq_map_output(spark, tmp_path):
    model, x = onnx_models.sklearn_logistic()
    expected = reference(model.SerializeToString(), {"X": x})
    df = spark.createDataFrame([(i, row.tolist()) for i, row in enumerate(x)], ["id", "X"])
    rows = sorted(onnx_stage(save(tmp_path, "sk", model), miniBatchSize=16).transform(df).collect(), key=lambda r: r.id)
    assert [r.output_label for r in rows] == expected["output_label"].tolist()
    for r, probs in zip(rows, expected["output_probability"]):
        assert set(r.output_probability) == set(probs)
        assert max(abs(r.output_probability[k] - v) for k, v in probs.items()) < FLOAT_TOL


def test_fixed_batch_dimension_pads_last_batch(spark, tmp_path):
    model = onnx_models.fixed_batch()
    x = np.random.default_rng(5).standard_normal((10, 5)).astype(np.float32)
    padded = np.vstack([x, np.zeros((2, 5), np.float32)])
    expected = np.vstack([reference(model.SerializeToString(), {"x": padded[i:i + 4]})["y"] for i in range(0, 12, 4)])[:10]
    df = spark.createDataFrame([(i, row.tolist()) for i, row in enumerate(x)], ["id", "x"]).coalesce(1)
    rows = sorted(onnx_stage(save(tmp_path, "fixed", model), miniBatchSize=3).transform(df).collect(), key=lambda r: r.id)
    assert len(rows) == 10
    assert np.abs(np.array([r.y for r in rows]) - expected).max() < FLOAT_TOL


@pytest.mark.parametrize("batch", [1, 4])
def test_symbolic_non_batch_dimension(spark, tmp_path, batch):
    """Sequences of mixed lengths, also within one minibatch (one ORT call per length there)."""
    model = onnx_models.symbolic()
    seqs = [np.arange(n, dtype=np.float32) * 0.5 for n in (3, 3, 7, 1, 7, 3)]
    df = spark.createDataFrame([(i, s.tolist()) for i, s in enumerate(seqs)], ["id", "x"]).coalesce(1)
    rows = sorted(onnx_stage(save(tmp_path, "sym", model), miniBatchSize=batch).transform(df).collect(), key=lambda r: r.id)
    assert len(rows) == len(seqs)
    for r, s in zip(rows, seqs):
        expected = reference(model.SerializeToString(), {"x": s[None, :]})
        assert r.total == pytest.approx(float(expected["total"][0]), abs=FLOAT_TOL)
        assert np.array_equal(np.array(r.doubled, np.float32), expected["doubled"][0])


def test_element_type_conversions(spark, tmp_path):
    model = onnx_models.element_types()
    rows_in = [(i, [i, 255 - i], [i * 1000, -i], [i, -i], [i / 3, -i / 7], [i * 0.1, i * 1e10]) for i in range(20)]
    feeds = {"u8": np.array([r[1] for r in rows_in], np.uint8), "i32": np.array([r[2] for r in rows_in], np.int32),
             "i8": np.array([r[3] for r in rows_in], np.int8), "f16": np.array([r[4] for r in rows_in], np.float16),
             "f64": np.array([r[5] for r in rows_in], np.float64)}
    expected = reference(model.SerializeToString(), feeds)
    df = spark.createDataFrame(rows_in, ["id", "u8", "i32", "i8", "f16", "f64"])
    rows = sorted(onnx_stage(save(tmp_path, "types", model), feedDict={n: n for n in feeds}).transform(df).collect(),
                  key=lambda r: r.id)
    for name in feeds:
        got = np.array([getattr(r, f"{name}_float") for r in rows], np.float32)
        assert np.array_equal(got, expected[f"{name}_float"]), name


def test_python_save_load_round_trip(spark, tmp_path):
    from irbis.onnx import ONNXModel
    model_path = save(tmp_path, "mlp", onnx_models.mlp())
    stage = ONNXModel(modelLocation=str(model_path), argMaxDict={"logits": "best"})
    df = spark.createDataFrame([(list(map(float, range(64))),)], ["x"])
    before = stage.transform(df).collect()
    stage.write().save(str(tmp_path / "stage"))
    model_path.unlink()
    again = ONNXModel.load(str(tmp_path / "stage"))
    assert again.transform(df).collect() == before
    assert again.getArgMaxDict() == {"logits": "best"}


@pytest.mark.skipif(not (SHARED_MODELS / "efficientnet_lite0.onnx").exists(), reason="needs ../shared/models")
def test_efficientnet_lite0_matches_onnxruntime(spark):
    path = SHARED_MODELS / "efficientnet_lite0.onnx"
    x = np.random.default_rng(6).uniform(-1, 1, (6, 3, 224, 224)).astype(np.float32)
    expected = reference(path.read_bytes(), {"input": x})["logits"]
    df = spark.createDataFrame([(i, x[i].tolist()) for i in range(6)], ["id", "input"])
    rows = sorted(onnx_stage(path, miniBatchSize=4, argMaxDict={"logits": "cls"}).transform(df).collect(),
                  key=lambda r: r.id)
    assert np.abs(np.array([r.logits for r in rows]) - expected).max() < FLOAT_TOL
    assert [r.cls for r in rows] == expected.argmax(axis=1).tolist()


# Run in the shared application on the standalone cluster (tests/python/cluster.py): sessions counted per executor before and
# after, since earlier jobs of the run may have opened other models there.
ON_CLUSTER = r"""
import json
from irbis.onnx import ONNXModel
probes = spark.sparkContext._jvm.irbis.testkit.Probes
before = dict(probes.onnxSessionCounts(spark._jsparkSession, 16))
stage = ONNXModel(modelLocation=args[0], argMaxDict={"logits": "best"})
df = spark.range(400).selectExpr("id", "transform(sequence(1, 64), i -> cast(id * i % 7 as float)) as x").repartition(8)
for _ in range(3):
    assert stage.transform(df).count() == 400
after = dict(probes.onnxSessionCounts(spark._jsparkSession, 16))
print(json.dumps({"before": before, "after": after}))
"""


@pytest.mark.own_spark
@pytest.mark.parametrize("form", ["bytes", "folder"])
def test_each_executor_creates_its_session_once(tmp_path, form, cluster_app):
    """Several executor JVMs: each opens the model once, from the broadcast bytes or, for a model folder
    with external data, from its own local copy of the folder."""
    # weights of its own: the shared application's executors may hold other tests' sessions of the default MLP
    model = onnx_models.mlp(seed=1931 if form == "bytes" else 1932)
    model_path = save(tmp_path, "mlp", model) if form == "bytes" else \
        onnx_models.external_folder(tmp_path, "mlp_folder", model)
    counts = last_json(cluster_app.run(f"ONNX sessions per executor ({form})", ON_CLUSTER, str(model_path)))
    before, after = counts["before"], counts["after"]
    assert len(after) == 2, counts
    # an executor that ran the job's tasks opened the model once for the three passes (tasks this short may all
    # go to one executor; the cluster pipelines test checks that ONNXModel runs in both)
    opened = [after[e] - before.get(e, 0) for e in after]
    assert set(opened) <= {0, 1} and sum(opened) >= 1, counts


def test_bad_rows_are_named_and_recorded(spark, tmp_path):
    """Ragged arrays, nulls inside arrays and wrong sizes: a clear error, or with errorCol the reason per row
    while every good row still equals onnxruntime's output."""
    from pyspark.sql.types import ArrayType, FloatType, LongType, StructField, StructType
    model = onnx_models.symbolic()
    path = save(tmp_path, "sym", model)
    schema = StructType([StructField("id", LongType()), StructField("x", ArrayType(ArrayType(FloatType(), True), True))])
    good = [[1.0, 2.0], [3.0, 4.0]]
    rows_in = [(0, good), (1, [[1.0, 2.0], [3.0]]), (2, [[1.0, None], [3.0, 4.0]]), (3, None), (4, good)]
    df = spark.createDataFrame(rows_in, schema).coalesce(1)
    flat = df.selectExpr("id", "flatten(x) as x")
    with pytest.raises(Exception, match=r"column 'x' holds a ragged array: element 0 has shape \[2\] but element 1 has \[1\]"):
        onnx_stage(path, miniBatchSize=8).transform(df.where("id = 1")).collect()
    with pytest.raises(Exception, match="column 'x' holds a null inside an array"):
        onnx_stage(path, miniBatchSize=8).transform(flat.where("id = 2")).collect()
    out = {r.id: r for r in onnx_stage(path, miniBatchSize=8, errorCol="error").transform(flat).collect()}
    expected = reference(model.SerializeToString(), {"x": np.array([[1, 2, 3, 4]], np.float32)})
    for i in (0, 4):
        assert out[i].error is None and np.array_equal(np.array(out[i].doubled, np.float32), expected["doubled"][0])
    assert out[1].error is None and out[1].total == pytest.approx(6.0)  # flattened, the ragged row is 3 values
    assert "null inside an array" in out[2].error and out[2].total is None
    assert out[3].error is None and out[3].total is None  # a null row gives null outputs, not an error


def test_column_and_input_types_must_agree(spark, tmp_path):
    strings_path = save(tmp_path, "strings", onnx_models.strings())
    numbers = spark.createDataFrame([(1.5,)], ["text"])
    with pytest.raises(Exception, match="column 'text' \\(double\\) cannot feed graph input 'text', whose elements are string"):
        onnx_stage(strings_path).transform(numbers)
    words = spark.createDataFrame([(["a", "b", "c"],)], ["x"])
    with pytest.raises(Exception, match="column 'x' \\(array<string>\\) cannot feed graph input 'x', whose elements are float"):
        onnx_stage(save(tmp_path, "mlp", onnx_models.mlp(sizes=(3, 2)))).transform(words)


def test_output_without_batch_dimension_is_refused(spark, tmp_path):
    path = save(tmp_path, "nobatch", onnx_models.no_batch_output())
    df = spark.createDataFrame([([1.0, -2.0],), ([3.0, 4.0],)], ["x"])
    assert [list(r.y) for r in onnx_stage(path, fetchDict={"y": "y"}).transform(df).collect()] == [[1.0, 0.0], [3.0, 4.0]]
    with pytest.raises(Exception, match="graph output 'constant' is a tensor of shape \\[3\\], but Irbis needs one value per input row"):
        onnx_stage(path, fetchDict={"constant": "constant"}).transform(df).collect()


def test_new_model_location_replaces_the_loaded_model(spark, tmp_path):
    small, large = save(tmp_path, "a", onnx_models.mlp(sizes=(4, 3))), save(tmp_path, "b", onnx_models.mlp(sizes=(4, 5)))
    stage = onnx_stage(small)
    assert stage.modelOutputs()["logits"]["shape"] == [-1, 3]
    stage.setModelLocation(str(large))
    assert stage.modelOutputs()["logits"]["shape"] == [-1, 5]
    df = spark.createDataFrame([([1.0, 2.0, 3.0, 4.0],)], ["x"])
    assert len(stage.transform(df).first().logits) == 5


def test_scalar_boolean_and_int16_columns(spark, tmp_path):
    model = onnx_models.scalar_inputs()
    rows_in = [(i, i * 0.25 - 1, (i * 37) % 600 - 300, i % 3 == 0) for i in range(30)]
    feeds = {"s_f": np.array([r[1] for r in rows_in], np.float32), "s_i16": np.array([r[2] for r in rows_in], np.int16),
             "s_b": np.array([r[3] for r in rows_in], bool)}
    expected = reference(model.SerializeToString(), feeds)
    df = spark.createDataFrame(rows_in, "id long, f double, i16 short, b boolean")
    stage = onnx_stage(save(tmp_path, "scalars", model), feedDict={"s_f": "f", "s_i16": "i16", "s_b": "b"}, miniBatchSize=7)
    rows = sorted(stage.transform(df).collect(), key=lambda r: r.id)
    for name in feeds:
        assert np.array_equal(np.array([getattr(r, f"{name}_float") for r in rows], np.float32), expected[f"{name}_float"]), name


def test_image_struct_feeds_chw_uint8(spark, tmp_path):
    """Spark image structs (HWC, BGR bytes) feed a CHW uint8 input as numpy's transpose of the same bytes."""
    from pyspark.ml.image import ImageSchema
    model = onnx_models.image_chw()
    rng = np.random.default_rng(9)
    images = [rng.integers(0, 256, (4, 5, 3), dtype=np.uint8) for _ in range(6)]
    structs = [(i, (f"mem://{i}", 4, 5, 3, 16, img.tobytes())) for i, img in enumerate(images)]
    df = spark.createDataFrame(structs, f"id long, img {ImageSchema.columnSchema.simpleString()}")
    expected = reference(model.SerializeToString(), {"img": np.stack([img.transpose(2, 0, 1) for img in images])})
    rows = sorted(onnx_stage(save(tmp_path, "img", model), miniBatchSize=4).transform(df).collect(), key=lambda r: r.id)
    assert np.array_equal(np.array([r.pixels for r in rows], np.float32), expected["pixels"])
    short = spark.createDataFrame([(0, ("bad", 4, 5, 3, 16, b"\x00" * 10))], df.schema)
    with pytest.raises(Exception, match="column 'img' holds an image of 4x5x3 .* with 10 bytes of data; 60 expected"):
        onnx_stage(save(tmp_path, "img", model)).transform(short).collect()


def test_fixed_batch_string_input_pads_with_empty_strings(spark, tmp_path):
    model = onnx_models.fixed_batch_strings()
    words = ["ibex", "snow leopard", "wolf", "ibex"]
    padded = words + ["", ""]
    expected = np.concatenate([reference(model.SerializeToString(), {"text": np.array(padded[i:i + 3], dtype=object)})["code"]
                               for i in (0, 3)])[:4]
    df = spark.createDataFrame(list(enumerate(words)), ["id", "text"]).coalesce(1)
    rows = sorted(onnx_stage(save(tmp_path, "fixed_strings", model)).transform(df).collect(), key=lambda r: r.id)
    assert [r.code for r in rows] == expected.tolist()


def test_model_folder_with_external_data(spark, tmp_path):
    import shutil

    from irbis.onnx import ONNXModel
    model = onnx_models.mlp()
    folder = onnx_models.external_folder(tmp_path, "mlp_external", model)
    x = np.random.default_rng(12).standard_normal((40, 64)).astype(np.float32)
    expected = reference(model.SerializeToString(), {"x": x})["logits"]
    df = spark.createDataFrame([(i, row.tolist()) for i, row in enumerate(x)], ["id", "x"]).repartition(2)
    stage = ONNXModel(modelLocation=str(folder))
    assert stage.modelInputs()["x"]["shape"] == [-1, 64]
    got = np.array([r.logits for r in sorted(stage.transform(df).collect(), key=lambda r: r.id)])
    assert np.abs(got - expected).max() < FLOAT_TOL
    with pytest.raises(Exception, match="keeps its weights in external data files.*set modelLocation to the folder"):
        ONNXModel(modelLocation=str(folder / "model.onnx")).transform(df).collect()
    stage.write().save(str(tmp_path / "saved"))
    shutil.rmtree(folder)  # the saved stage carries its own copy of the folder
    loaded = ONNXModel.load(str(tmp_path / "saved"))
    again = np.array([r.logits for r in sorted(loaded.transform(df).collect(), key=lambda r: r.id)])
    assert np.array_equal(again, got)


def test_inputs_that_disagree_about_the_batch_axis_are_refused_or_run_unbatched(spark, tmp_path):
    """A recurrent state [2, batch, 4] beside an input [batch, 3]: stacking rows on axis 0 would read layer j of
    row i as layer i of row j. Batched, it is refused naming both inputs; unbatched, each row is one whole call."""
    model = onnx_models.recurrent_state()
    path = save(tmp_path, "rnn", model)
    rng = np.random.default_rng(13)
    states = [rng.standard_normal((2, 1, 4)).astype(np.float32) for _ in range(4)]
    xs = [rng.standard_normal((1, 3)).astype(np.float32) for _ in range(4)]
    df = spark.createDataFrame([(i, states[i].tolist(), xs[i].tolist()) for i in range(4)], ["id", "state", "x"]).coalesce(1)
    feeds = {"state": "state", "x": "x"}
    with pytest.raises(Exception, match=r"inputs disagree about the batch axis.*'state' \[2, batch, 4\].*'x' \[batch, 3\]"
                                        r".*unbatched"):
        onnx_stage(path, feedDict=feeds).transform(df.selectExpr("id", "state[0] as state", "x[0] as x")).collect()
    rows = sorted(onnx_stage(path, feedDict=feeds, unbatched=True).transform(df).collect(), key=lambda r: r.id)
    for i, r in enumerate(rows):
        expected = reference(model.SerializeToString(), {"state": states[i], "x": xs[i]})
        assert np.array_equal(np.array(r.out, np.float32), expected["out"])
        assert np.array_equal(np.array(r.new_state, np.float32), expected["new_state"])


def shown(v):
    """A double as Irbis's messages write it: whole numbers exactly, others as their shortest repr."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return str(int(v)) if v == int(v) else repr(v)


def test_values_an_integer_input_cannot_hold_are_refused(spark, tmp_path):
    """Double and long columns feed integer and bool inputs only where the value is exact: never wrapped,
    saturated, truncated or NaN turned into 0."""
    model = onnx_models.integer_inputs()
    path = save(tmp_path, "ints", model)
    inputs = ["u8", "i8", "i16", "i32", "i64", "b"]
    good = [(0, 255.0, -128.0, 32767.0, -2.0 ** 31, 2.0 ** 62, 1.0), (1, 0.0, 127.0, -32768.0, 2.0 ** 31 - 1, -3.0, 0.0)]
    schema = "id long, u8 double, i8 double, i16 double, i32 double, i64 double, b double"
    expected = reference(model.SerializeToString(), {
        "u8": np.array([r[1] for r in good], np.uint8), "i8": np.array([r[2] for r in good], np.int8),
        "i16": np.array([r[3] for r in good], np.int16), "i32": np.array([r[4] for r in good], np.int32),
        "i64": np.array([r[5] for r in good], np.int64), "b": np.array([r[6] for r in good], bool)})
    stage = onnx_stage(path, feedDict={n: n for n in inputs})
    rows = sorted(stage.transform(spark.createDataFrame(good, schema)).collect(), key=lambda r: r.id)
    for n in inputs:
        assert [getattr(r, f"{n}_double") for r in rows] == expected[f"{n}_double"].tolist(), n
    bad = {"u8": [300.0, -1.0, 2.7, float("nan")], "i8": [200.0, float("inf")], "i16": [40000.0],
           "i32": [3e9, -1e10], "i64": [2.0 ** 63, 0.5], "b": [2.0, -1.0]}
    cases = [(column, v) for column, values in bad.items() for v in values]
    rows_in = [tuple(good[1])]
    for k, (column, v) in enumerate(cases):
        row = [2 + k] + list(good[0][1:])
        row[1 + inputs.index(column)] = v
        rows_in.append(tuple(row))
    df = spark.createDataFrame(rows_in, schema).coalesce(1)
    with pytest.raises(Exception, match=r"column 'u8' row 1 .*holds 300, which graph input 'u8' \(uint8\) cannot hold"):
        stage.transform(df).collect()
    out = sorted(onnx_stage(path, feedDict={n: n for n in inputs}, errorCol="error").transform(df).collect(),
                 key=lambda r: r.id)
    assert out[0].error is None and out[0].u8_double == expected["u8_double"][1]
    for r, (column, v) in zip(out[1:], cases):
        assert re.search(rf"column '{column}' row {r.id - 1} .*holds {re.escape(shown(v))}, .*graph input '{column}'",
                         r.error), (column, v, r.error)
        assert r.u8_double is None
    longs = spark.createDataFrame([(0, 256, 7)], "id long, u8 long, i32 long").selectExpr(
        "id", "u8", "0L as i8", "0L as i16", "i32", "0L as i64", "true as b")
    with pytest.raises(Exception, match=r"column 'u8' row 0 .*holds 256.*uint8"):
        stage.transform(longs).collect()


def test_unsigned_outputs_are_widened_not_wrapped(spark, tmp_path):
    from decimal import Decimal
    model = onnx_models.unsigned_outputs()
    x = np.array([[40000, 3_000_000_000], [-1, 255], [2 ** 40 + 7, -(2 ** 63)]], np.int64)
    expected = reference(model.SerializeToString(), {"x": x})
    df = spark.createDataFrame([(i, row.tolist()) for i, row in enumerate(x)], ["id", "x"])
    out = onnx_stage(save(tmp_path, "unsigned_out", model)).transform(df)
    types = {f.name: f.dataType.simpleString() for f in out.schema.fields}
    assert (types["u8"], types["u16"], types["u32"], types["u64"]) == \
        ("array<smallint>", "array<int>", "array<bigint>", "array<decimal(20,0)>")
    rows = sorted(out.collect(), key=lambda r: r.id)
    for n in ("u8", "u16", "u32"):
        assert [list(getattr(r, n)) for r in rows] == expected[n].tolist(), n
    assert [list(r.u64) for r in rows] == [[Decimal(int(v)) for v in row] for row in expected["u64"]]


def test_unsigned_inputs_are_refused_when_planned(spark, tmp_path):
    path = save(tmp_path, "unsigned_in", onnx_models.unsigned_inputs())
    df = spark.createDataFrame([(1, 2, 3)], "u16 long, u32 long, u64 long")
    with pytest.raises(Exception, match=r"graph input 'u16' has element type uint16, which ONNX Runtime's Java API"):
        onnx_stage(path, feedDict={"u16": "u16", "u32": "u32", "u64": "u64"}).transform(df)


def test_inputs_and_outputs_of_unknown_rank(spark, tmp_path):
    """Declared without a shape is not a scalar: each row runs with its own shape (one row per call, as nothing
    says where a batch axis would be), and each output row carries the shape the tensor came back with."""
    model = onnx_models.unknown_rank()
    path = save(tmp_path, "unknown", model)
    values = [np.array([1.5, -2.0, 3.0], np.float32), np.array([[1.0, -1.0], [0.5, 4.0]], np.float32), np.array([-7.0], np.float32)]
    df = spark.createDataFrame([(0, values[0].tolist(), None), (1, None, values[1].tolist()), (2, values[2].tolist(), None)],
                               "id long, flat array<float>, square array<array<float>>")
    for column, ids in (("flat", (0, 2)), ("square", (1,))):
        for unbatched in (False, True):
            out = onnx_stage(path, feedDict={"x": column}, unbatched=unbatched).transform(df.where(f"{column} is not null"))
            assert out.schema["y"].dataType.simpleString() == "struct<shape:array<bigint>,values:array<float>>"
            rows = sorted(out.collect(), key=lambda r: r.id)
            for r, i in zip(rows, ids):
                feed = values[i] if unbatched else values[i][None]
                expected = reference(model.SerializeToString(), {"x": feed})
                for name in ("y", "total"):
                    want = expected[name] if unbatched else expected[name][0]
                    assert list(getattr(r, name).shape) == list(want.shape), (name, i, unbatched)
                    assert np.array_equal(np.array(getattr(r, name)["values"], np.float32), want.ravel()), (name, i)


@pytest.mark.parametrize("content", [b"", b"not a model, just some text\n", "truncated"])
def test_a_file_that_is_not_a_model_is_named(spark, tmp_path, content):
    good = onnx_models.mlp().SerializeToString()
    data = good[: len(good) // 3] if content == "truncated" else content
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    stage = onnx_stage(path)
    with pytest.raises(Exception, match=rf"{stage.uid}: .*{re.escape(str(path))}.* is not a model ONNX Runtime can load: "
                                        rf"{len(data)} bytes.*{data[:8].hex()}"):
        stage.transform(spark.createDataFrame([([0.0] * 64,)], ["x"]))
