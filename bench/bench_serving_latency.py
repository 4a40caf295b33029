"""serving_latency: a fitted PipelineModel (VectorAssembler + LogisticRegression) served by Irbis's Spark Serving,
against the same model served by a plain FastAPI + uvicorn app that calls ``model.transform`` on a one-row
DataFrame for each request (in this process, on the same SparkSession and JVM).

The load comes from ``wrk`` (Debian's package: ``apt-get install wrk``), closed loop: 1 and 16 connections, each
sending its next POST as soon as the previous one is answered, for ``DURATION`` seconds after a warm-up run.
wrk reports throughput and the latency percentiles (``--latency``: 50th, 99th). Every answer is checked to be a 200
(wrk counts non-2xx responses; a case with any is reported as failed, not timed).

Irbis runs with the default trigger (the next micro-batch starts as soon as the previous one ends) and with the
50 ms trigger of the docs. Targets of issue 5: p50 < 5 ms for this trivial pipeline at low load (1 client) and
throughput >= 10x the FastAPI baseline (16 clients). The micro-batch mode cannot meet the p50 target: a request
waits for the next micro-batch and then for its whole duration (planning, a Spark job, the commit); the table
shows by how much.

Not measured here (issue 5 asks for them; see its notes): open-loop load at fixed rates (wrk has no rate
control), the featurizer pipeline, the executor-hosted low-latency mode (not built).
"""
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

DURATION = 10
WARMUP = 3
BODY = {"x1": 0.8, "x2": 0.1}


def wrk(url, connections, duration):
    """(requests/s, p50 ms, p99 ms, non-2xx count) of a closed-loop wrk run posting BODY to url."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                 f"wrk.body = '{json.dumps(BODY)}'\n")
    script.close()
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{duration}s",
                          "--timeout", "30s", "--latency", "-s", script.name, url],
                         capture_output=True, text=True, check=True).stdout

    def millis(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    failed = (int(bad.group(1)) if bad else 0) + (1 if errors and "timeout 0" not in errors.group(1) else 0)
    return rate, millis("50%"), millis("99%"), failed


def fit_model(spark):
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler
    train = spark.createDataFrame([(0.0, 1.0, 0.0), (1.0, 0.0, 1.0), (0.2, 0.9, 0.0), (0.9, 0.1, 1.0)],
                                  ["x1", "x2", "label"])
    return Pipeline(stages=[VectorAssembler(inputCols=["x1", "x2"], outputCol="features"),
                            LogisticRegression()]).fit(train)


def check(url):
    request = urllib.request.Request(url, data=json.dumps(BODY).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        answer = json.loads(r.read())
    assert answer == {"prediction": 1.0}, answer


def measure(url, label, rows):
    check(url)
    wrk(url, 1, WARMUP)
    for connections in (1, 16):
        rate, p50, p99, failed = wrk(url, connections, DURATION)
        rows.append({"server": label, "clients": connections, "rate": rate, "p50": p50, "p99": p99,
                     "failed": failed})


def serve_irbis(spark, model, label, trigger_ms, rows):
    from pyspark.sql import functions as F
    from irbis.serving import make_reply, parse_request, server, url
    name = f"bench{trigger_ms}"
    requests = server(spark.readStream).address("127.0.0.1", 0, name).load()
    replies = model.transform(parse_request(requests, "x1 DOUBLE, x2 DOUBLE")) \
        .select("id", make_reply(F.struct("prediction")))
    writer = server(replies.writeStream).replyTo(name)
    if trigger_ms:
        writer = writer.trigger(processingTime=f"{trigger_ms} milliseconds")
    query = writer.start()
    try:
        measure(url(name), label, rows)
    finally:
        query.stop()


def serve_fastapi(spark, model, rows):
    import uvicorn
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Features(BaseModel):
        x1: float
        x2: float

    app = FastAPI()

    @app.post("/api")
    def predict(features: Features):
        row = model.transform(spark.createDataFrame([(features.x1, features.x2)], "x1 DOUBLE, x2 DOUBLE")) \
            .select("prediction").first()
        return {"prediction": row["prediction"]}

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        measure(f"http://127.0.0.1:{port}/api", "FastAPI + uvicorn, transform per request", rows)
    finally:
        srv.should_exit = True
        thread.join(30)


def run(spark):
    if shutil.which("wrk") is None:
        raise RuntimeError("serving_latency needs wrk (Debian: apt-get install wrk=4.1.0-3+b2); `make bench` installs it")
    model = fit_model(spark)
    rows = []
    serve_irbis(spark, model, "Irbis, default trigger", 0, rows)
    serve_irbis(spark, model, "Irbis, 50 ms trigger", 50, rows)
    serve_fastapi(spark, model, rows)

    print(f"\nserving_latency (wrk, closed loop, {DURATION} s per case, trivial pipeline: VectorAssembler + "
          "LogisticRegression)")
    header = f"{'server':<42} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  notes"
    print(header)
    print("-" * len(header))
    for r in rows:
        notes = [f"{r['failed']} failed answers"] if r["failed"] else []
        if r["server"].startswith("Irbis") and r["clients"] == 1:
            notes.append("p50 target < 5 ms " + ("met" if r["p50"] < 5 else "missed"))
        print(f"{r['server']:<42} {r['clients']:>7} {r['rate']:>9.1f} {r['p50']:>8.2f} {r['p99']:>8.2f}  "
              + ", ".join(notes))
    print()
    if any(r["failed"] for r in rows):
        raise RuntimeError("serving_latency: some answers were not 200; see the table above")

    def pick(server, clients):
        return next(r for r in rows if r["server"] == server and r["clients"] == clients)

    baseline = "FastAPI + uvicorn, transform per request"
    out = []
    for clients in (1, 16):
        irbis_row, base_row = pick("Irbis, default trigger", clients), pick(baseline, clients)
        out.append({"benchmark": "serving_latency", "case": f"trivial, {clients} client{'s' * (clients > 1)}",
                    "irbis": irbis_row["rate"], "baseline": base_row["rate"], "unit": "r/s",
                    "baseline_name": "FastAPI+uvicorn transform", **({"target": 10.0} if clients == 16 else {})})
    return out
