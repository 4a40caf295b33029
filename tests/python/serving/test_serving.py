"""Spark Serving with real HTTP clients on 127.0.0.1: a fitted pipeline answers every request with its own
prediction (checked against the same model's batch transform), and bad requests, bursts, dropped rows and task
failures each get their documented outcome."""

import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from conftest import ROOT, subprocess_env

SCHEMA = StructType([StructField("rid", StringType(), False), StructField("x1", DoubleType(), False),
                     StructField("x2", DoubleType(), False)])


def post(url, body, timeout=180):
    """(status, body text, headers) of a POST; HTTP errors are answers too."""
    data = body if isinstance(body, bytes) else body.encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST"), timeout=timeout) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


@pytest.fixture(scope="module")
def model(spark):
    rows = [(i / 4.0, 10 - i / 4.0, float(i / 4.0 + 0.3 * (10 - i / 4.0) > 5)) for i in range(40)]
    train = spark.createDataFrame(rows, ["x1", "x2", "label"])
    return Pipeline(stages=[VectorAssembler(inputCols=["x1", "x2"], outputCol="features"),
                            LogisticRegression(maxIter=20)]).fit(train)


def serve(spark, name, pipeline, **options):
    from irbis.serving import server, url

    reader = server(spark.readStream).address("127.0.0.1", 0, name)
    for k, v in options.items():
        reader = reader.option(k, v)
    query = server(pipeline(reader.load()).writeStream).replyTo(name) \
        .trigger(processingTime="50 milliseconds").start()
    return query, url(name)


def test_fitted_pipeline_answers_each_request_and_rejects_bad_ones(spark, model):
    from irbis.serving import make_reply, parse_request, status

    inputs = [(f"r{i}", (i * 7 % 41) / 4.0, (i * 3 % 37) / 4.0) for i in range(50)]
    expected = {r.rid: r.prediction for r in model.transform(spark.createDataFrame(inputs, SCHEMA)).collect()}
    assert set(expected.values()) == {0.0, 1.0}
    query, url = serve(spark, "py_lr", lambda requests: model.transform(parse_request(requests, SCHEMA))
                       .select("id", make_reply(F.struct("rid", "prediction"))), maxBodyBytes=2000, requestTimeoutMs=120000)
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda r: post(url, json.dumps({"rid": r[0], "x1": r[1], "x2": r[2]})), inputs))
        for (rid, _, _), (code, body, _) in zip(inputs, answers):
            assert code == 200, body
            assert json.loads(body) == {"rid": rid, "prediction": expected[rid]}
        code, body, _ = post(url, '{"rid": "a", "x1": 1.0')
        assert code == 400 and "not valid JSON" in json.loads(body)["error"]
        code, body, _ = post(url, '{"rid": "b", "x1": [1], "x2": 2}')
        assert code == 400 and "'x1' must be double" in json.loads(body)["error"]
        code, body, _ = post(url, json.dumps({"rid": "c" * 3000, "x1": 1, "x2": 2}))
        assert code == 413 and "2000 bytes" in json.loads(body)["error"]
        assert post(url, json.dumps({"rid": "again", "x1": 1, "x2": 2}))[0] == 200
        st = status("py_lr")
        assert (st["accepted"], st["replied"], st["rejected"], st["expired"], st["pending"], st["late"]) == \
            (54, 51, {"400": 2, "413": 1}, 0, 0, 0)
    finally:
        query.stop()


def test_dropped_rows_get_500_and_a_burst_gets_503_with_retry_after(spark):
    from irbis.serving import make_reply, parse_request, status

    query, url = serve(spark, "py_burst", lambda requests: parse_request(requests, "k INT")
                       .where(F.col("k") % 10 != 3).select("id", make_reply(F.col("k") * 2)),
                       maxPending=4, retryAfterSeconds=3, requestTimeoutMs=120000)
    try:
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda k: post(url, json.dumps({"k": k})), range(40)))
        codes = [a[0] for a in answers]
        assert 503 in codes and 200 in codes, codes
        for k, (code, body, headers) in enumerate(answers):
            if code == 503:
                assert headers.get("Retry-After") == "3" and "maxPending" in body
            elif k % 10 == 3:   # filtered out: answered when its batch commits, not left to time out (504)
                assert code == 500 and "no reply" in body
            else:
                assert (code, body) == (200, str(2 * k))
        st = status("py_burst")
        assert st["accepted"] == 40 and st["pending"] == 0 and st["expired"] == 0
        assert st["replied"] + sum(st["rejected"].values()) == 40
        assert st["rejected"]["503"] == codes.count(503)
    finally:
        query.stop()


SHARED_FEATURES = ROOT.parent / "shared" / "models" / "efficientnet_lite0_features.onnx"
CAMERA_TRAPS = ROOT.parent / "shared" / "data" / "camera-traps"


@pytest.mark.skipif(not SHARED_FEATURES.exists() or not (CAMERA_TRAPS / "labels.csv").exists(),
                    reason="needs ../shared/models and ../shared/data")
def test_camera_trap_classifier_is_served_and_each_frame_gets_its_own_prediction(spark):
    """ImageFeaturizer (EfficientNet-Lite0 features) + LogisticRegression fitted on camera-trap photographs,
    served: 16 frames posted as base64 JPEGs by 4 clients at once, each answered with its own id and the
    prediction and probability that the same model's batch transform gives for the same bytes."""
    import base64
    import csv

    from pyspark.ml.functions import vector_to_array

    from irbis.featurize import ImageFeaturizer
    from irbis.serving import make_reply, parse_request, status

    with open(CAMERA_TRAPS / "labels.csv", encoding="utf-8") as f:
        labels = list(csv.DictReader(f))
    leopards, others = ([r for r in labels if r["is_snow_leopard"] == value] for value in ("1", "0"))
    frames = leopards[:8] + others[:8]
    data = [(r["path"], (CAMERA_TRAPS / r["path"]).read_bytes(), float(r["is_snow_leopard"])) for r in frames]
    train = spark.createDataFrame(data, "rid STRING, bytes BINARY, label DOUBLE")
    featurizer = ImageFeaturizer(inputCol="bytes", outputCol="features", modelLocation=str(SHARED_FEATURES),
                                 inputSize=224, resizeShortSide=256, channelOrder="RGB", scale=1 / 255,
                                 mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    model = Pipeline(stages=[featurizer, LogisticRegression(maxIter=50, regParam=0.01)]).fit(train)
    p_leopard = vector_to_array("probability")[1].alias("p_leopard")
    expected = {r.rid: r for r in model.transform(train).select("rid", "prediction", p_leopard).collect()}

    def pipeline(requests):
        parsed = parse_request(requests, "rid STRING, image STRING") \
            .select("id", "rid", F.unbase64("image").alias("bytes"))
        return model.transform(parsed).select("id", make_reply(F.struct("rid", "prediction", p_leopard)))

    query, url = serve(spark, "camera_traps", pipeline, maxBodyBytes=16 << 20, requestTimeoutMs=120000)
    try:
        bodies = [json.dumps({"rid": rid, "image": base64.b64encode(content).decode()}) for rid, content, _ in data]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda b: post(url, b), bodies))
        for (rid, _, _), (code, body, _) in zip(data, answers):
            assert code == 200, body
            got = json.loads(body)
            assert got["rid"] == rid and got["prediction"] == expected[rid].prediction, (got, expected[rid])
            assert abs(got["p_leopard"] - expected[rid].p_leopard) < 1e-9, (got, expected[rid])
        st = status("camera_traps")
        assert (st["accepted"], st["replied"], st["rejected"], st["late"]) == (16, 16, {}, 0)
    finally:
        query.stop()


# A service whose UDF fails as `fault` says (substituted for %s), asked 12 requests by 4 clients at once.
FAULTY_SERVICE = """
    import json, os, signal, sys, time, urllib.error, urllib.request
    from concurrent.futures import ThreadPoolExecutor
    import psutil
    import irbis
    from pyspark import TaskContext
    from pyspark.sql import functions as F
    from irbis.serving import make_reply, parse_request, server, status, url

    marker = args[0]

    @F.udf("string")
    def echo(rid):
%s
        return rid

    requests = server(spark.readStream).address("127.0.0.1", 0, "flaky") \\
        .option("requestTimeoutMs", 120000).load()
    replies = parse_request(requests, "rid STRING").select("id", make_reply(echo("rid")))
    query = server(replies.writeStream).replyTo("flaky").trigger(processingTime="50 milliseconds").start()

    def ask(i):
        req = urllib.request.Request(url("flaky"), data=json.dumps({"rid": f"q{i}"}).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=180) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(12)))
    print(json.dumps({"answers": answers, "status": status("flaky"), "failed": query.exception() is not None}))
    query.stop()
"""
# FAULTY_SERVICE with a Spark of its own, for a master other than the shared standalone cluster's.
OWN_SPARK = """
    import sys
    import irbis
    args = sys.argv[1:2]
    spark = irbis.session(master=sys.argv[2], **{"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})
"""

FAIL_FIRST_ATTEMPTS = """
    if TaskContext.get().attemptNumber() == 0:
        raise RuntimeError("injected failure of a first attempt")"""

# The first task to see q3 kills, as a machine is lost, the worker daemon that runs its executor and that executor
# JVM (an ancestor of its Python worker), and records the worker's pid; the marker file, created exclusively, makes
# it happen once across executors and attempts.
KILL_WORKER = """
    if rid == "q3":
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return rid
        jvm = next(p for p in psutil.Process(os.getpid()).parents() if p.name() == "java")
        worker = jvm.parent()
        os.write(fd, json.dumps([worker.pid, jvm.pid]).encode())
        os.close(fd)
        os.kill(worker.pid, signal.SIGKILL)
        os.kill(jvm.pid, signal.SIGKILL)
        time.sleep(60)"""


# A low-latency service on the standalone cluster (two executor JVMs with one core each, one per worker, so each of
# the two partitions' long-running tasks runs in its own executor): every id is asked of a partition's server, and the listening
# processes are found by their ports.
LOW_LATENCY_SERVICE = """
import json, sys, time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
import psutil
import irbis
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import functions as F
from irbis.serving import make_reply, parse_request, partition_urls, server, status, url

rows = [(i / 4.0, 10 - i / 4.0, float(i / 4.0 + 0.3 * (10 - i / 4.0) > 5)) for i in range(40)]
model = Pipeline(stages=[VectorAssembler(inputCols=["x1", "x2"], outputCol="features"),
                         LogisticRegression(maxIter=20)]).fit(spark.createDataFrame(rows, ["x1", "x2", "label"]))
inputs = [(f"r{i}", (i * 7 % 41) / 4.0, (i * 3 % 37) / 4.0) for i in range(24)]
# the batch transform first: the serving query then holds both executors' cores
batch = model.transform(spark.createDataFrame(inputs, "rid STRING, x1 DOUBLE, x2 DOUBLE"))
expected = {r.rid: r.prediction for r in batch.collect()}

requests = server(spark.readStream).address("127.0.0.1", 0, "fast").option("mode", "lowLatency") \
    .option("numPartitions", 2).load()
replies = model.transform(parse_request(requests, "rid STRING NOT NULL, x1 DOUBLE NOT NULL, x2 DOUBLE NOT NULL")) \
    .select("id", make_reply(F.struct("rid", "prediction")))
query = server(replies.writeStream).replyTo("fast").start()
urls = partition_urls("fast", timeout=120)

def post(u, body):
    req = urllib.request.Request(u, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read()), None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers.get("Location")

with ThreadPoolExecutor(4) as pool:
    answers = list(pool.map(lambda t: post(urls[t[0] % 2], dict(zip(["rid", "x1", "x2"], t[1]))), enumerate(inputs)))
front = post(url("fast"), {"rid": "f", "x1": 1.0, "x2": 2.0})
listening = {c.laddr.port: c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
pids = [listening.get(int(u.split(":")[2].split("/")[0])) for u in urls]
result = {"urls": urls, "answers": answers, "expected": expected, "front": front, "status": status("fast"),
          "pids": pids, "names": [psutil.Process(p).name() if p else None for p in pids],
          "driver": spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()}
query.stop()
deadline = time.time() + 30
def refused(u):
    try:
        urllib.request.urlopen(u + "/_status", timeout=5)
        return False
    except OSError:
        return True
while not all(refused(u) for u in urls) and time.time() < deadline:
    time.sleep(0.2)
result["stopped"] = all(refused(u) for u in urls)
print(json.dumps(result))
"""


@pytest.mark.own_spark
def test_low_latency_mode_answers_from_the_executors_that_hold_the_connections(cluster_app):
    """mode=lowLatency on the standalone cluster: each partition's server listens in its own executor JVM (not the
    driver's), every request gets its own prediction, the driver's address redirects to the partitions' servers,
    and the servers stop with the query."""
    printed = cluster_app.run("low-latency serving", LOW_LATENCY_SERVICE)
    result = json.loads(printed.strip().splitlines()[-1])
    assert len(result["urls"]) == 2 and len(set(result["pids"])) == 2, result
    assert result["names"] == ["java", "java"] and result["driver"] not in result["pids"], result
    for i, (code, body, _) in enumerate(result["answers"]):
        assert code == 200 and body == {"rid": f"r{i}", "prediction": result["expected"][f"r{i}"]}, body
    code, _, location = result["front"]
    assert code == 307 and location in result["urls"]
    st = result["status"]
    assert (st["accepted"], st["replied"], st["rejected"], st["expired"], st["pending"], st["partitions"]) == \
        (24, 24, {}, 0, 0, result["urls"])
    assert result["stopped"]


@pytest.mark.parametrize("master, fault", [("local[2,3]", FAIL_FIRST_ATTEMPTS),
                                           (None, KILL_WORKER)],
                         ids=["first-attempts-fail", "worker-killed"])
@pytest.mark.own_spark
def test_failed_tasks_are_retried_and_every_request_answered_once(tmp_path, master, fault, request):
    """Task failures on first attempts (local[2,3]), or a worker lost with its executor in the middle of a
    micro-batch during a burst of requests (the shared standalone cluster: two workers, one executor JVM on each):
    the retried tasks replay the same requests on the executor left, and every request gets its own answer exactly
    once, before its deadline, with exact counters. The lost worker is then started again for the later tests."""
    service = textwrap.dedent(FAULTY_SERVICE % textwrap.indent(textwrap.dedent(fault).strip("\n"), " " * 8))
    marker = tmp_path / "killed"
    if fault is KILL_WORKER:
        app, cluster = request.getfixturevalue("cluster_app"), request.getfixturevalue("standalone_cluster")
        try:
            printed = app.run("worker killed mid-batch", service, str(marker))
        finally:
            if marker.exists():
                worker, executor = json.loads(marker.read_text())
                psutil.wait_procs([p for p in map(process, (worker, executor)) if p], timeout=30)
                cluster.restart_worker(worker)
                app.run("the lost worker's executor replaced", "wait_for_executors(2)")  # for the later jobs
    else:
        script = tmp_path / "flaky.py"
        script.write_text(textwrap.dedent(OWN_SPARK) + service + "spark.stop()\n")
        run = subprocess.run([sys.executable, str(script), str(marker), master], env=subprocess_env(),
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        printed = run.stdout
    result = json.loads(printed.strip().splitlines()[-1])
    assert result["answers"] == [[200, json.dumps(f"q{i}")] for i in range(12)]
    st = result["status"]
    assert (st["accepted"], st["replied"], st["rejected"], st["expired"], st["late"], result["failed"]) == \
        (12, 12, {}, 0, 0, False)
    if fault is KILL_WORKER:
        assert worker not in cluster.pids, "the lost worker was not replaced"
        assert not psutil.pid_exists(worker) and not psutil.pid_exists(executor), (worker, executor)


def process(pid):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def raw_request(port, name, body, declared=None):
    """The bytes of a POST /<name> with a Content-Length of `declared` (default: the body's length)."""
    head = (f"POST /{name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) if declared is None else declared}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def read_response(sock):
    """(status, body text) of the response on a socket the server closes after answering."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode()


def test_slow_and_disconnecting_clients_get_their_outcome_and_the_server_keeps_serving(spark):
    """A client that stops in the middle of its body while others are served, then sends the rest, is answered;
    a client that hangs
    up before its reply, or in the middle of its body, has an outcome in the counters, and later requests are
    answered."""
    import socket
    import threading
    import time
    from urllib.parse import urlparse

    from irbis.serving import make_reply, parse_request, status

    query, url = serve(spark, "py_clients", lambda requests: parse_request(requests, "k INT")
                       .select("id", make_reply(F.col("k") + 1)), requestTimeoutMs=120000)
    port = urlparse(url).port
    try:
        assert post(url, json.dumps({"k": 0}))[0] == 200  # the first micro-batch has started
        slow, started, fast_done = {}, threading.Event(), threading.Event()

        def slow_client():
            body = json.dumps({"k": 41}).encode()
            with socket.create_connection(("127.0.0.1", port), timeout=180) as s:
                s.sendall(raw_request(port, "py_clients", body[:3], declared=len(body)))
                started.set()
                slow["others_served_meanwhile"] = fast_done.wait(120)  # holds its handler thread mid-body
                for i in range(3, len(body), 3):
                    time.sleep(0.05)
                    s.sendall(body[i:i + 3])
                slow["answer"] = read_response(s)

        trickler = threading.Thread(target=slow_client)
        trickler.start()
        assert started.wait(60)
        fast = [post(url, json.dumps({"k": k})) for k in range(1, 4)]
        fast_done.set()
        trickler.join(200)
        assert [(c, b) for c, b, _ in fast] == [(200, str(k + 1)) for k in range(1, 4)]
        assert slow["others_served_meanwhile"], "the fast clients waited for the slow one"
        assert slow["answer"] == (200, "42")

        # hangs up right after sending a whole request: the pipeline still computes its reply, which finds the
        # connection closed: counted as abandoned, not replied
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(raw_request(port, "py_clients", json.dumps({"k": 7}).encode()))
        # hangs up in the middle of its body: 400 (the body could not be read), counted
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(raw_request(port, "py_clients", b'{"k": ', declared=100))
        deadline = time.monotonic() + 120
        while status("py_clients")["pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert post(url, json.dumps({"k": 9}))[:2] == (200, "10")
        st = status("py_clients")
        assert st["pending"] == 0 and st["expired"] == 0 and st["late"] == 0
        assert (st["accepted"], st["replied"], st["abandoned"], st["rejected"]) == (8, 6, 1, {"400": 1}), st
    finally:
        query.stop()
