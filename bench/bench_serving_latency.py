"""serving_latency: two pipelines served by Irbis's Spark Serving, each against the same PipelineModel served by a
plain FastAPI + uvicorn app that calls ``model.transform`` on a one-row DataFrame for each request (in this
process, on the same SparkSession and JVM):
- trivial: VectorAssembler + LogisticRegression, request ``{"x1": .., "x2": ..}``, reply ``{"prediction": ..}``;
- featurizer: ImageFeaturizer (EfficientNet-Lite0 with its ImageNet head, the model featurize_throughput uses),
  request ``{"image": "<base64 JPEG>"}`` (a 640x480 camera-trap frame), reply the predicted class name.

The load comes from ``wrk`` (Debian's package: ``apt-get install wrk``), closed loop: 1 and 16 connections, each
sending its next POST as soon as the previous one is answered, for ``DURATION`` seconds after a warm-up run.
wrk reports throughput and the latency percentiles (``--latency``: 50th, 99th). The trivial pipeline's low-latency and
50 ms trigger servers get one more closed-loop row, one client under a slow-client attack: ``SLOW_CLIENTS``
connections that send a request line and one header and then wait (reopened whenever the server closes one),
reported as ratios of its p50 and p99 to the 1-client row of the same run (target: within 2x). Every answer is
checked to be a 200 (wrk counts non-2xx responses; a case with any is reported as failed, not timed).

Irbis runs in micro-batch mode with the default trigger (the next micro-batch starts as soon as the previous one
ends) and with the 50 ms trigger of the docs, and in low-latency mode (``mode=lowLatency``: one partition, whose
long-running task serves the requests from its executor; wrk is pointed at that partition's server). Targets of
issue 5: p50 < 5 ms for this trivial pipeline at low load (1 client) and throughput >= 10x the FastAPI baseline
(16 clients). The micro-batch mode cannot meet the p50 target: a request waits for the next micro-batch and then
for its whole duration (planning, a Spark job, the commit); the low-latency mode is there for it.

Open loop: ``h2load`` (Debian's nghttp2-client, HTTP/1.1) sends requests at a fixed rate whether or not the
earlier ones are answered, spread over up to 32 connections (each at rate/connections, so at these latencies no
connection has a request outstanding when its next one is due); the latencies of every request come from its
log file. Each server is driven at the rates of ``RATES`` it sustained in the closed loop with 16 clients (a rate
above that would only measure a growing queue).
"""
import base64
import json
import re
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

DURATION = 10
WARMUP = 3
OPEN_LOOP_DURATION = 8
RATES = {"trivial": (1, 50, 1000), "featurizer": (1, 20)}
BODY = {"x1": 0.8, "x2": 0.1}
SLOW_CLIENTS = 50


class SlowClients:
    """A slow-client attack ("slowloris") on the server at `url`, while the ``with`` block runs: `n` connections
    that each send a request line and one header, then nothing more; whenever the server closes one (a read
    deadline), it is opened again at once, so `n` are always held open. `reopened` counts the closes seen."""

    def __init__(self, url, n=SLOW_CLIENTS):
        host_port, _, path = url.split("://", 1)[1].partition("/")
        host, _, port = host_port.partition(":")
        self.address, self.path, self.n, self.reopened = (host, int(port)), "/" + path, n, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _open(self, selector):
        s = socket.create_connection(self.address, timeout=10)
        s.sendall(f"POST {self.path} HTTP/1.1\r\nHost: {self.address[0]}\r\n".encode())
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)

    def _hold(self):
        with selectors.DefaultSelector() as selector:
            for _ in range(self.n):
                self._open(selector)
            while not self._stop.is_set():
                for key, _ in selector.select(0.2):
                    # readable: an answer (408) or a close; either way the server is done with this connection
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                    self.reopened += 1
                    self._open(selector)
            for key in list(selector.get_map().values()):
                key.fileobj.close()

    def __enter__(self):
        self._thread.start()
        time.sleep(0.5)   # all connections open and holding
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)


def wrk(url, body, connections, duration, timeout=30):
    """(requests/s, p50 ms, p99 ms, non-2xx count) of a closed-loop wrk run posting the JSON `body` to url;
    requests not answered within `timeout` seconds count as failed."""
    with tempfile.TemporaryDirectory() as tmp:
        payload, script = Path(tmp) / "body.json", Path(tmp) / "post.lua"
        payload.write_text(json.dumps(body))
        script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                          f'local f = io.open("{payload}", "rb")\nwrk.body = f:read("*a")\nf:close()\n')
        out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{duration}s",
                              "--timeout", f"{timeout}s", "--latency", "-s", str(script), url],
                             capture_output=True, text=True, check=True).stdout

    def millis(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:   # no request was answered
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    failed = (int(bad.group(1)) if bad else 0) + (1 if errors and "timeout 0" not in errors.group(1) else 0)
    return rate, millis("50%"), millis("99%"), failed


def h2load(url, body, rate, duration):
    """(achieved requests/s, p50 ms, p99 ms, non-2xx count) of an open-loop h2load run at `rate` requests/s."""
    connections = max(1, min(32, int(rate)))
    with tempfile.TemporaryDirectory() as tmp:
        payload, log = Path(tmp) / "body.json", Path(tmp) / "requests.tsv"
        payload.write_text(json.dumps(body))
        subprocess.run(["h2load", "--h1", "-c", str(connections), "--rps", f"{rate / connections:.6f}",
                        "-D", str(duration), "-d", str(payload), "-H", "Content-Type: application/json",
                        f"--log-file={log}", url], capture_output=True, text=True, check=True)
        # one line per request: start (us since the epoch), status, microseconds until the whole response
        fields = [line.split("\t") for line in log.read_text().splitlines() if line]
    latencies = sorted(int(f[2]) / 1000 for f in fields)
    bad = sum(1 for f in fields if not f[1].startswith("2"))

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return len(fields) / duration, pct(0.5), pct(0.99), bad


class Case:
    """A pipeline to serve: its fitted PipelineModel, the request body, the parse_request schema, how the
    parsed requests become the model's input (Irbis's side) and how one request becomes a one-row DataFrame
    (FastAPI's side), the reply column and the expected answer."""

    def __init__(self, name, model, body, schema, prepare, to_row, reply_col, expected):
        self.name, self.model, self.body, self.schema, self.prepare = name, model, body, schema, prepare
        self.to_row, self.reply_col, self.expected = to_row, reply_col, expected


def trivial_case(spark):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler
    train = spark.createDataFrame([(0.0, 1.0, 0.0), (1.0, 0.0, 1.0), (0.2, 0.9, 0.0), (0.9, 0.1, 1.0)],
                                  ["x1", "x2", "label"])
    model = Pipeline(stages=[VectorAssembler(inputCols=["x1", "x2"], outputCol="features"),
                             LogisticRegression()]).fit(train)
    return Case("trivial", model, BODY, "x1 DOUBLE, x2 DOUBLE", lambda parsed: parsed,
                lambda spark, body: spark.createDataFrame([(body["x1"], body["x2"])], "x1 DOUBLE, x2 DOUBLE"),
                "prediction", {"prediction": 1.0})


def featurizer_case(spark, tmp):
    """ImageFeaturizer with the ImageNet head on one camera-trap frame re-encoded at 640x480; the expected
    answer is what the same pipeline's batch transform gives."""
    import cv2
    from bench_featurize_throughput import models, sample_jpegs
    from pyspark.ml import PipelineModel
    from pyspark.sql import functions as F

    from irbis.featurize import ImageFeaturizer
    model_path = models(tmp)[0]
    frame = cv2.resize(cv2.imread(str(sample_jpegs()[0])), (640, 480), interpolation=cv2.INTER_AREA)
    jpeg = cv2.imencode(".jpg", frame)[1].tobytes()
    featurizer = ImageFeaturizer(inputCol="bytes", modelLocation=str(model_path), headless=False)
    model = PipelineModel(stages=[featurizer])
    expected = model.transform(spark.createDataFrame([(jpeg,)], "bytes BINARY")).first()["predictedClass"]

    def to_row(spark, body):
        return spark.createDataFrame([(base64.b64decode(body["image"]),)], "bytes BINARY")

    return Case("featurizer", model, {"image": base64.b64encode(jpeg).decode()}, "image STRING",
                lambda parsed: parsed.select("id", F.unbase64("image").alias("bytes")), to_row,
                "predictedClass", {"predictedClass": expected})


def check(url, case):
    request = urllib.request.Request(url, data=json.dumps(case.body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as r:
        answer = json.loads(r.read())
    assert answer == case.expected, (case.name, answer, case.expected)


def measure(url, case, label, rows, attack=False):
    """The closed-loop rows (1 and 16 clients), with `attack` one client again under a slow-client attack
    (``SLOW_CLIENTS`` connections held open with partial headers, see SlowClients), then the open-loop rows."""
    check(url, case)
    wrk(url, case.body, 1, WARMUP)
    for connections in (1, 16):
        rate, p50, p99, failed = wrk(url, case.body, connections, DURATION)
        rows.append({"case": case.name, "server": label, "clients": connections, "rate": rate, "p50": p50,
                     "p99": p99, "failed": failed})
    capacity = rows[-1]["rate"]
    if attack:
        with SlowClients(url) as slow:
            rate, p50, p99, failed = wrk(url, case.body, 1, DURATION)
            reopened = slow.reopened
        base = rows[-2]
        rows.append({"case": case.name, "server": label, "clients": ATTACKED, "rate": rate, "p50": p50, "p99": p99,
                     "failed": failed + (rate == 0), "p50_ratio": p50 / base["p50"], "p99_ratio": p99 / base["p99"],
                     "reopened": reopened})
    for target in RATES[case.name]:
        if target <= capacity:
            rate, p50, p99, failed = h2load(url, case.body, target, OPEN_LOOP_DURATION)
            rows.append({"case": case.name, "server": label, "clients": f"{target}/s", "rate": rate, "p50": p50,
                         "p99": p99, "failed": failed})


def serve_irbis(spark, case, label, trigger_ms, rows, low_latency=False):
    from pyspark.sql import functions as F

    from irbis.serving import make_reply, parse_request, partition_urls, server, url
    name = f"bench_{case.name}_{trigger_ms}_{'ll' if low_latency else 'mb'}"
    reader = server(spark.readStream).address("127.0.0.1", 0, name).option("maxBodyBytes", 4 << 20)
    if low_latency:
        reader = reader.option("mode", "lowLatency").option("numPartitions", 1)
    attack = case.name == "trivial" and (low_latency or trigger_ms == 50)
    replies = case.model.transform(case.prepare(parse_request(reader.load(), case.schema))) \
        .select("id", make_reply(F.struct(case.reply_col)))
    writer = server(replies.writeStream).replyTo(name)
    if trigger_ms:
        writer = writer.trigger(processingTime=f"{trigger_ms} milliseconds")
    query = writer.start()
    try:
        measure(partition_urls(name)[0] if low_latency else url(name), case, label, rows, attack)
    finally:
        query.stop()


def serve_fastapi(spark, case, rows):
    import uvicorn
    from fastapi import FastAPI, Request
    from starlette.concurrency import run_in_threadpool

    app = FastAPI()

    @app.post("/api")
    async def predict(request: Request):
        body = await request.json()
        # Spark work off the event loop, as a sync endpoint would run it (uvicorn's thread pool).
        row = await run_in_threadpool(
            lambda: case.model.transform(case.to_row(spark, body)).select(case.reply_col).first())
        return {case.reply_col: row[case.reply_col]}

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        measure(f"http://127.0.0.1:{port}/api", case, FASTAPI, rows)
    finally:
        srv.should_exit = True
        thread.join(30)


FASTAPI = "FastAPI + uvicorn, transform per request"
ATTACKED = f"1+{SLOW_CLIENTS} slow"
LOW_LATENCY = "Irbis, low-latency mode"


def run(spark):
    if shutil.which("wrk") is None or shutil.which("h2load") is None:
        raise RuntimeError("serving_latency needs wrk and h2load (Debian: apt-get install wrk=4.1.0-3+b2 "
                           "nghttp2-client=1.52.0-1+deb12u3); `make bench` installs them")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in (trivial_case(spark), featurizer_case(spark, tmp)):
            serve_irbis(spark, case, "Irbis, default trigger", 0, rows)
            serve_irbis(spark, case, "Irbis, 50 ms trigger", 50, rows)
            serve_irbis(spark, case, LOW_LATENCY, 0, rows, low_latency=True)
            serve_fastapi(spark, case, rows)

    print(f"\nserving_latency (clients n: wrk, closed loop, {DURATION} s; load n/s: h2load, open loop, "
          f"{OPEN_LOOP_DURATION} s)")
    header = f"{'pipeline':<11} {'server':<42} {'load':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  notes"
    print(header)
    print("-" * len(header))
    for r in rows:
        notes = [f"{r['failed']} failed answers"] if r["failed"] else []
        if r["case"] == "trivial" and r["server"].startswith("Irbis") and r["clients"] in (1, "1/s"):
            notes.append("p50 target < 5 ms " + ("met" if r["p50"] < 5 else "missed"))
        if r["clients"] == ATTACKED:
            notes.append(f"p50 {r['p50_ratio']:.2f}x, p99 {r['p99_ratio']:.2f}x the 1-client row of this run "
                         f"(target <= 2x: {'met' if r['p50_ratio'] <= 2 and r['p99_ratio'] <= 2 else 'missed'}); "
                         f"{r['reopened']} slow connections closed by the server (408) and opened again")
        print(f"{r['case']:<11} {r['server']:<42} {str(r['clients']):>7} {r['rate']:>9.1f} {r['p50']:>8.2f} "
              f"{r['p99']:>8.2f}  " + ", ".join(notes))
    print()
    if any(r["failed"] for r in rows):
        raise RuntimeError("serving_latency: some answers were not 200; see the table above")

    def pick(case, server, clients):
        return next(r for r in rows if r["case"] == case and r["server"] == server and r["clients"] == clients)

    out = []
    for case in ("trivial", "featurizer"):
        for mode, label in (("", "Irbis, 50 ms trigger"), ("low-lat. ", LOW_LATENCY)):
            for clients in (1, 16):
                irbis_row, base_row = pick(case, label, clients), pick(case, FASTAPI, clients)
                name = f"{mode}{case}, {clients} client{'s' * (clients > 1)}"
                out.append({"benchmark": "serving_latency", "case": name,
                            "irbis": irbis_row["rate"], "baseline": base_row["rate"], "unit": "r/s",
                            "baseline_name": "FastAPI+uvicorn transform",
                            **({"target": 10.0} if clients == 16 else {})})
    for mode, label in (("", "Irbis, 50 ms trigger"), ("low-lat. ", LOW_LATENCY)):
        attacked, alone = pick("trivial", label, ATTACKED), pick("trivial", label, 1)
        # one closed-loop client: its rate is 1 / its mean latency, so a rate ratio >= 0.5 is a latency within 2x
        out.append({"benchmark": "serving_latency", "case": f"{mode}trivial, {SLOW_CLIENTS} slow",
                    "irbis": attacked["rate"], "baseline": alone["rate"], "unit": "r/s",
                    "baseline_name": "same, no slow clients", "target": 0.5})
    return out
