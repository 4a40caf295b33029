"""shipping: how long an ONNX model takes to become usable on every executor of a 2-worker standalone cluster
(tests/python/cluster.py), against what the machine's disk and loopback allow for its size.

Three models, made here with the `onnx` package: payloads of about 20 MB and 200 MB (one .onnx file, which the
driver reads into the stage and Spark broadcasts) and a folder of about 2.2 GB (a small .onnx file and its weights in
external data files, which the driver zips once, uncompressed, and each executor fetches and unpacks). Each is a chain
of Gathers from 4 MiB weight vectors, summed: every weight byte must be loaded, and compute is negligible.

For each model, in one application, with its files out of the page cache first:
- driver: from ONNXModel(...) to transform() returning (the payload read and hashed, the driver's own ONNX session,
  the broadcast or the archive);
- executors: the first action, one task on each executor (asserted by pid), until both have answered;
- session: the same action after each executor's sessions were closed (shipping already done) minus a warm one;
- shipping: the first action minus that one.
The bounds are the model's size over the disk's cold read speed and over a loopback TCP copy's speed, both measured
in the same run; the ratio is the time to usable over the larger bound. Generated files live in a temporary folder.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from bench_scaling import on_cluster
from onnx import TensorProto, helper, numpy_helper

K = 1 << 20  # floats per weight vector: 4 MiB
PER_FILE = 64  # weight vectors per external data file: 256 MiB files
MODELS = [("20 MB payload", 5, False), ("200 MB payload", 48, False), ("2.2 GB folder", 520, True)]
ROWS = [7, K - 1]  # one row per executor: the index every Gather reads

DRIVER = r"""
import json, sys, time
import irbis
from irbis.onnx import ONNXModel

url, cfg = sys.argv[1], json.loads(sys.argv[3])
spark = irbis.session(master=url, app_name="irbis-bench-shipping", **{
    "spark.ui.enabled": "false", "spark.cores.max": "2", "spark.executor.cores": "1",
    "spark.executor.memory": "1g", "spark.driver.memory": "2g",
    "spark.driver.extraJavaOptions": "-Djava.io.tmpdir=" + cfg["tmp"]})  # the folder's zip among the bench's files
while spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() < 3:
    time.sleep(0.1)
rows = spark.range(len(cfg["rows"]), numPartitions=len(cfg["rows"])).selectExpr(
    "array(element_at(array(" + ",".join(map(str, cfg["rows"])) + "), cast(id + 1 as int))) as idx")
WHO = ["reflect('java.lang.ProcessHandle', 'current') as pid",
       "reflect('java.lang.System', 'getProperty', 'user.dir') as dir"]

def on_both(df):
    "Collects df, one task per executor; fails unless both executors ran one."
    got = df.selectExpr("*", *WHO).collect()
    pids = {r.pid for r in got}
    if len(pids) != 2:
        raise AssertionError(f"the tasks ran in {len(pids)} executor(s), not 2: {[r.asDict() for r in got]}")
    return got

def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out

def close_sessions():
    "Each executor closes its ONNX sessions (the next task opens them again, from what was shipped)."
    on_both(rows.selectExpr("reflect('irbis.onnx.OnnxSessions', 'closeAll') as closed"))

# The first ONNX model of an application also pays once per JVM for ONNX Runtime's natives and the JIT: a tiny one
# takes that first, in the driver and in both executors.
start = time.perf_counter()
on_both(ONNXModel(modelLocation=cfg["warmup"]).transform(rows))
result = {"warmup": time.perf_counter() - start}
for m in cfg["models"]:
    start = time.perf_counter()
    stage = ONNXModel(modelLocation=m["path"], intraOpNumThreads=1)
    out = stage.transform(rows).select("idx", "y")
    driver = time.perf_counter() - start
    first, got = timed(lambda: on_both(out))
    warm = min(timed(lambda: on_both(out))[0] for _ in range(2))
    close_sessions()
    reopened, _ = timed(lambda: on_both(out))
    close_sessions()  # free the executors' native memory before the next model
    result[m["name"]] = {"driver": driver, "first": first, "warm": warm, "reopened": reopened,
                         "y": {str(r.idx[0]): r.y[0] for r in got}, "executors": sorted({r.dir for r in got})}
spark.stop()
print(json.dumps(result))
"""


def gather_chain(path: Path, layers: int, external: bool, rng: np.random.Generator) -> dict:
    """A model y = sum_i w_i[idx] over `layers` weight vectors of K floats (as a file, or a folder with external
    data); returns, per index in ROWS, the sum it must give."""
    inits, nodes, expected = [], [], {str(i): 0.0 for i in ROWS}
    if external:
        path.mkdir()
    for i in range(layers):
        w = rng.random(K, dtype=np.float32)
        for r in ROWS:
            expected[str(r)] += float(w[r])
        if external:
            data = f"weights{i // PER_FILE}.bin"
            with open(path / data, "ab") as f:
                offset = f.tell()
                f.write(w.tobytes())
            t = TensorProto(name=f"w{i}", data_type=TensorProto.FLOAT, dims=[K], data_location=TensorProto.EXTERNAL)
            for key, value in (("location", data), ("offset", str(offset)), ("length", str(w.nbytes))):
                t.external_data.add(key=key, value=value)
        else:
            t = numpy_helper.from_array(w, f"w{i}")
        inits.append(t)
        nodes.append(helper.make_node("Gather", [f"w{i}", "idx"], [f"g{i}"]))
        if i > 0:
            nodes.append(helper.make_node("Add", [f"s{i - 1}" if i > 1 else "g0", f"g{i}"],
                                          ["y" if i == layers - 1 else f"s{i}"]))
    graph = helper.make_graph(nodes, "gather_chain",
                              [helper.make_tensor_value_info("idx", TensorProto.INT64, ["batch", 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    (path / "model.onnx" if external else path).write_bytes(model.SerializeToString())
    return expected


STAMP = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d) ")
BROADCAST = re.compile(r"Started reading broadcast variable (\d+) with (\d+) pieces|"
                       r"Reading broadcast variable (\d+) took (\d+) ms")


def executor_logs(cluster: Path) -> list:
    return [p.read_text(errors="replace") for p in sorted(cluster.glob("worker-*/app-*/*/stderr"))]


def broadcast_reads(log: str) -> list:
    """Seconds each executor took to read each broadcast of more than one piece (4 MiB), in order (Spark's log)."""
    pieces, took = {}, {}
    for m in BROADCAST.finditer(log):
        if m.group(1):
            pieces[m.group(1)] = int(m.group(2))
        else:
            took[m.group(3)] = int(m.group(4)) / 1000
    return [took.get(b) for b in sorted(pieces, key=int) if pieces[b] > 1]


def archive_steps(log: str, name: str) -> dict:
    """Seconds (to Spark's log's one-second resolution) an executor spent fetching the archive `name` from the
    driver, copying it out of the fetch cache and unpacking it."""
    lines = [line for line in log.splitlines() if STAMP.match(line)]
    at = [datetime.strptime(line[:17], "%y/%m/%d %H:%M:%S") for line in lines]
    fetch = next(i for i, line in enumerate(lines) if "Executor: Fetching" in line and name in line)
    copy = next(i for i in range(fetch, len(lines)) if "Utils: Copying" in lines[i])
    unpack = next(i for i in range(copy, len(lines)) if "Unpacking an archive" in lines[i])
    done = min(unpack + 1, len(lines) - 1)
    return {"fetch": (at[copy] - at[fetch]).total_seconds(), "copy": (at[unpack] - at[copy]).total_seconds(),
            "unpack": (at[done] - at[unpack]).total_seconds()}


def files_of(path: Path) -> list:
    return sorted(path.iterdir()) if path.is_dir() else [path]


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in files_of(path))


def uncache(path: Path) -> None:
    """Drops the files' pages from the page cache, so that the next read comes from the disk."""
    for f in files_of(path):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def disk_read_speed(path: Path) -> float:
    """Bytes per second reading the files cold, in 8 MiB reads."""
    uncache(path)
    buf, total = bytearray(8 << 20), 0
    start = time.perf_counter()
    for f in files_of(path):
        with open(f, "rb", buffering=0) as fh:
            while n := fh.readinto(buf):
                total += n
    return total / (time.perf_counter() - start)


RECEIVER = r"""
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
conn, _ = s.accept()
buf = bytearray(4 << 20)
while conn.recv_into(buf):
    pass
"""


def loopback_speed(total: int = 2 << 30) -> float:
    """Bytes per second sent over a 127.0.0.1 TCP connection to another process, which reads and drops them."""
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(receiver.stdout.readline())
        chunk = memoryview(bytes(4 << 20))
        with socket.create_connection(("127.0.0.1", port)) as s:
            start = time.perf_counter()
            for _ in range(total // len(chunk)):
                s.sendall(chunk)
            s.shutdown(socket.SHUT_WR)
            receiver.wait(timeout=60)
            return total / (time.perf_counter() - start)
    finally:
        receiver.kill()


def run(spark):
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        rng = np.random.default_rng(0)
        models = []
        for label, layers, external in MODELS:
            path = tmp / (label.replace(" ", "-") + ("" if external else ".onnx"))
            expected = gather_chain(path, layers, external, rng)
            models.append({"name": label, "path": str(path), "size": size_of(path), "expected": expected})
        disk = disk_read_speed(Path(models[-1]["path"]))
        loopback = loopback_speed()
        warmup = tmp / "warmup.onnx"
        gather_chain(warmup, 2, False, rng)
        for m in models:
            uncache(Path(m["path"]))
        cfg = {"models": models, "rows": ROWS, "warmup": str(warmup), "tmp": name}
        result = on_cluster(tmp, 2, cfg, DRIVER, "shipping")
        logs = executor_logs(tmp / "cluster-2")
        assert len(logs) == 2, f"{len(logs)} executor logs"
        broadcasts = [broadcast_reads(log)[1:] for log in logs]  # the warm-up model's first
        archives = [archive_steps(log, "irbis-onnx-") for log in logs]

    print(f"shipping: disk read (cold) {disk / 1e6:.0f} MB/s, loopback TCP copy {loopback / 1e6:.0f} MB/s")
    print(f"{'model':<16} {'size MB':>8} {'usable s':>9} {'driver s':>9} {'shipping s':>10} {'session s':>9} "
          f"{'disk-bound s':>12} {'loopback-bound s':>16} {'ratio':>6}")
    rows = []
    for m in models:
        r = result[m["name"]]
        for idx, y in m["expected"].items():
            assert abs(r["y"][idx] - y) <= 1e-4 * abs(y), (m["name"], idx, r["y"][idx], y)
        assert len(r["executors"]) == 2 and all("/worker-" in d for d in r["executors"]), r["executors"]
        usable = r["driver"] + r["first"]
        bound_disk, bound_loop = m["size"] / disk, m["size"] / loopback
        print(f"{m['name']:<16} {m['size'] / 1e6:>8.0f} {usable:>9.2f} {r['driver']:>9.2f} "
              f"{r['first'] - r['reopened']:>10.2f} {r['reopened'] - r['warm']:>9.2f} {bound_disk:>12.2f} "
              f"{bound_loop:>16.2f} {usable / max(bound_disk, bound_loop):>5.1f}x")
        rows.append(dict(benchmark="shipping", case=f"{m['name']} to 2 executors", unit="MB/s",
                         irbis=m["size"] / 1e6 / usable, baseline=m["size"] / 1e6 / max(bound_disk, bound_loop),
                         baseline_name="disk or loopback bound"))
    print(f"shipping: the warm-up model (8 MiB, the application's first: ONNX Runtime's natives, the JIT) took "
          f"{result['warmup']:.1f} s to usable")
    for m, reads in zip((m for m in models if "payload" in m["name"]), zip(*broadcasts)):
        print(f"shipping: {m['name']}: each executor read the broadcast in "
              + ", ".join(f"{t:.2f} s" for t in reads) + " (Spark's log)")
    print(f"shipping: {models[-1]['name']}: per executor, fetching the archive from the driver, copying it from the "
          "fetch cache, unpacking it (Spark's log, 1 s resolution; the unpacking until the next line logged): "
          + "; ".join(f"{a['fetch']:.0f} s, {a['copy']:.0f} s, {a['unpack']:.0f} s" for a in archives))
    return rows
