"""ONNXModel on the `onnx` package's own backend node test cases: models and expected outputs that nobody on the
project wrote. Every case in the contract (inputs and outputs that share a batch axis 0) must come back equal to
the expected outputs or be refused with a message naming the stage; none may come back with other values.

The sample is deterministic: every MODULE_STRIDE-th op module (importing one computes its cases' expected
outputs), then every CASE_STRIDE-th case in the contract, by name. Each case runs twice, on rows spread over two
partitions: as shipped (a fixed batch dimension) and with dim 0 of every input and output made symbolic.
"""
import importlib
import pkgutil
import warnings
from decimal import Decimal

import numpy as np
import onnx
import onnxruntime as ort
from pyspark.sql import types as T

MODULE_STRIDE = 5
CASE_STRIDE = 4
# Their expected outputs take seconds to compute (pooling in pure Python), which the sample cannot afford.
SLOW_MODULES = {"averagepool", "maxpool", "lppool", "conv", "convtranspose", "col2im", "deformconv"}

SPARK_TYPES = {np.float32: T.FloatType(), np.float64: T.DoubleType(), np.float16: T.FloatType(),
               np.int8: T.ByteType(), np.int16: T.ShortType(), np.int32: T.IntegerType(), np.int64: T.LongType(),
               np.uint8: T.ShortType(), np.uint16: T.IntegerType(), np.uint32: T.LongType(),
               np.uint64: T.DecimalType(20, 0), np.bool_: T.BooleanType(), np.object_: T.StringType()}


def load_cases():
    import onnx.backend.test.case.node as node_cases
    modules = sorted(m.name for m in pkgutil.iter_modules(node_cases.__path__) if not m.ispkg and not m.name.startswith("_"))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name in [m for m in modules if m not in SLOW_MODULES][::MODULE_STRIDE]:
            importlib.import_module(f"{node_cases.__name__}.{name}")
    return sorted(node_cases._NodeTestCases, key=lambda c: c.name)


def feeds_of(case):
    graph = case.model.graph
    initializers = {i.name for i in graph.initializer}
    return [i for i in graph.input if i.name not in initializers]


def shares_batch_axis(case):
    """Tensors only, of element types a Spark column holds, all with the same first dimension (at least 2)."""
    if not case.data_sets:
        return False
    inputs, outputs = case.data_sets[0]
    feeds, graph_outputs = feeds_of(case), case.model.graph.output
    if len(feeds) != len(inputs) or len(graph_outputs) != len(outputs):
        return False
    if not all(v.type.HasField("tensor_type") for v in list(feeds) + list(graph_outputs)):
        return False
    arrays = list(inputs) + list(outputs)
    if not all(isinstance(a, np.ndarray) and a.dtype.type in SPARK_TYPES and a.ndim >= 1 for a in arrays):
        return False
    return arrays[0].shape[0] >= 2 and all(a.shape[0] == arrays[0].shape[0] for a in arrays)


def with_symbolic_batch(model):
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    initializers = {i.name for i in copy.graph.initializer}
    for value in [v for v in copy.graph.input if v.name not in initializers] + list(copy.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_param = "N"
    return copy


def close(got, want, case):
    if want.dtype.kind in "f":
        got = np.asarray(got, np.float64)
        return got.shape == want.shape and np.allclose(got, want.astype(np.float64), rtol=case.rtol, atol=case.atol,
                                                       equal_nan=True)
    if want.dtype == object:
        return np.array_equal(np.asarray(got, dtype=object), want)
    return np.array_equal(np.asarray(got), want) and np.asarray(got).shape == want.shape


def row_separable(case, symbolic):
    """The contract: each row alone, through onnxruntime, gives that row of the expected outputs (else axis 0 is not
    a batch, e.g. softmax over axis 0)."""
    inputs, outputs = case.data_sets[0]
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(symbolic.SerializeToString(), options, providers=["CPUExecutionProvider"])
        names = [f.name for f in feeds_of(case)]
        for i in range(inputs[0].shape[0]):
            got = session.run(None, {n: x[i:i + 1] for n, x in zip(names, inputs)})
            if not all(close(g[0], w[i], case) for g, w in zip(got, outputs)):
                return False
    except Exception:  # onnxruntime cannot run it row by row: outside the contract
        return False
    return True


def plain(value):
    """A collected Spark value as nested lists of Python numbers (uint64 comes back as Decimal)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return int(value) if isinstance(value, Decimal) else value


def decimals(value):
    """uint64 values for a decimal(20,0) column."""
    return [decimals(v) for v in value] if isinstance(value, list) else Decimal(value)


def spark_type(x):
    element = SPARK_TYPES[x.dtype.type]
    for _ in range(x.ndim - 1):
        element = T.ArrayType(element, False)
    return element


def cell(x, i):
    return decimals(x[i].tolist()) if x.dtype.type == np.uint64 else np.asarray(x[i]).tolist()


def case_frame(spark, case):
    """The case's rows twice over, one whole batch in each of two partitions, with their row numbers."""
    inputs = case.data_sets[0][0]
    batch = inputs[0].shape[0]
    fields = [T.StructField("id", T.LongType()), T.StructField("row", T.IntegerType())]
    fields += [T.StructField(f"in{k}", spark_type(x)) for k, x in enumerate(inputs)]
    cells = [[cell(x, i) for x in inputs] for i in range(batch)]
    rows = [(i, i % batch, *cells[i % batch]) for i in range(2 * batch)]
    # A local list is cut into even, ordered slices, as many as the session's default parallelism (local[2]).
    df = spark.createDataFrame(rows, T.StructType(fields))
    assert df.rdd.getNumPartitions() == 2
    return df, batch


def run_irbis(spark, tmp_path, case, symbolic):
    """For each form of the model ('fixed', 'symbolic'): 'pass', 'refused' (with the stage's own message) or what
    went wrong. The forms that get past planning run in one Spark job."""
    from irbis.onnx import ONNXModel
    df, batch = case_frame(spark, case)
    outputs = case.data_sets[0][1]
    stages, outcome, out = {}, {}, df
    for tag, model in (("fixed", case.model), ("symbolic", symbolic)):
        path = tmp_path / f"{case.name}_{tag}.onnx"
        path.write_bytes(model.SerializeToString())
        stage = ONNXModel(modelLocation=str(path), miniBatchSize=2,
                          feedDict={f.name: f"in{k}" for k, f in enumerate(feeds_of(case))},
                          fetchDict={f"{tag}{k}": o.name for k, o in enumerate(case.model.graph.output)})
        try:
            out = stage.transform(out)
            stages[tag] = stage
        except Exception as e:  # noqa: BLE001 - the message decides whether it is a clear refusal
            outcome[tag] = failure(stage, e)
    try:
        results = dict.fromkeys(stages, out.collect()) if stages else {}
    except Exception:  # noqa: BLE001 - one of them failed while running: each on its own says which
        results = {}
        for tag, stage in stages.items():
            try:
                results[tag] = stage.transform(df).collect()
            except Exception as e:  # noqa: BLE001
                outcome[tag] = failure(stage, e)
    for tag, got in results.items():
        assert sorted(r.id for r in got) == list(range(2 * batch))
        outcome[tag] = "pass"
        wrong = [(r, k) for r in got for k, want in enumerate(outputs) if not close(plain(r[f"{tag}{k}"]), want[r.row], case)]
        if wrong:
            r, k = wrong[0]
            outcome[tag] = (f"wrong: output {case.model.graph.output[k].name} row {r.row}: {r[f'{tag}{k}']!r}, "
                            f"expected {outputs[k][r.row]!r}")
    return outcome


def failure(stage, e):
    message = str(e)
    return "refused" if f"{stage.uid}: " in message else f"unclear error: {message[:300]}"


def test_backend_node_cases_are_exact_or_refused(spark, tmp_path):
    contract = []
    for case in load_cases():
        if shares_batch_axis(case):
            symbolic = with_symbolic_batch(case.model)
            if row_separable(case, symbolic):
                contract.append((case, symbolic))
    sample = contract[::CASE_STRIDE]
    results = {f"{case.name} ({tag})": outcome for case, symbolic in sample
               for tag, outcome in run_irbis(spark, tmp_path, case, symbolic).items()}
    counts = {k: sum(1 for v in results.values() if v == k) for k in ("pass", "refused")}
    bad = {k: v for k, v in results.items() if v not in ("pass", "refused")}
    print(f"\nconformance: {len(sample)} cases of {len(contract)} in the contract, {len(results)} runs: "
          f"{counts['pass']} pass, {counts['refused']} refused, {len(bad)} wrong or unclear")
    for name, outcome in sorted(results.items()):
        print(f"  {name}: {outcome}")
    assert len(sample) >= 20
    assert not bad, bad
