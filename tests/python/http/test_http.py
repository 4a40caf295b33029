"""HTTPTransformer and SimpleHTTPTransformer against a real HTTP server on 127.0.0.1 (this process's threads).

The server (http.server.ThreadingHTTPServer) counts what it saw: requests per path and query, attempts per
request id, and the most requests in flight at once per path. Those counts, not the stage's own report, are
the reference for attempts and concurrency.
"""

import json
import socket
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import _parse_datatype_string


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.by_id = defaultdict(int)          # request id -> requests seen
        self.by_target = defaultdict(int)      # path?query -> requests seen
        self.in_flight = defaultdict(int)      # path -> requests being answered now
        self.max_in_flight = defaultdict(int)  # path -> most at once
        self.bodies = defaultdict(list)        # path?query -> request bodies

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{target}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real services: the JDK client reuses connections

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.answer()

    do_POST = do_PUT = do_GET

    def reply(self, status: int, body: bytes, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self):
        s: Server = self.server
        parts = urlsplit(self.path)
        path, q = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with s.lock:
            s.by_target[self.path] += 1
            s.bodies[self.path].append(body)
            s.in_flight[path] += 1
            s.max_in_flight[path] = max(s.max_in_flight[path], s.in_flight[path])
            seen = s.by_id[q.get("id")] = s.by_id[q.get("id")] + 1
        try:
            if path == "/echo":
                self.reply(200, body, [("X-Echo", self.headers.get("X-Test", "")), ("X-Method", self.command)])
            elif path == "/flaky":  # fails the first `fails` requests of an id
                if seen <= int(q["fails"]):
                    self.reply(503, b"try again")
                else:
                    self.reply(200, b"ok " + q["id"].encode())
            elif path == "/429":
                if seen <= int(q["fails"]):
                    self.reply(429, b"slow down", [("Retry-After", q["retry_after"])])
                else:
                    self.reply(200, b"ok")
            elif path.startswith("/slow"):
                time.sleep(int(q["ms"]) / 1000)
                self.reply(200, q.get("tag", "slow").encode())
            elif path == "/500":
                self.reply(500, b"boom")
            elif path == "/bad-json":
                self.reply(200, b'{"label": "cat",', [("Content-Type", "application/json")])
            elif path == "/first":  # answers a batch with the result of its first input only
                self.reply(200, json.dumps(json.loads(body)[:1]).encode())
            else:
                self.reply(404, b"no route")
        finally:
            with s.lock:
                s.in_flight[path] -= 1


@pytest.fixture(scope="module")
def server():
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def rid() -> str:
    return uuid.uuid4().hex[:10]


def literal_df(spark, rows, ddl: str):
    """A one-partition DataFrame of `rows` in their order, made in the JVM (createDataFrame would start
    Python workers, which costs seconds on a loaded machine)."""
    schema = _parse_datatype_string(ddl)
    structs = [F.struct(*[F.lit(v).cast(f.dataType).alias(f.name) for v, f in zip(row, schema.fields)])
               for row in rows]
    return spark.range(1).coalesce(1).select(F.inline(F.array(*structs)))


def requests_df(spark, urls, method="GET", body=None, headers=None):
    """One partition of (i, request) rows, in the order of `urls`; None gives a null request."""
    from irbis.http import HTTPTransformer

    df = literal_df(spark, list(enumerate(urls)), "i int, url string")
    request = HTTPTransformer.request("url", method=method, headers=headers,
                                      body=None if body is None else F.lit(body))
    return df.select("i", F.when(F.col("url").isNotNull(), request).alias("request"))


def responses(stage, df):
    return [r.response for r in stage.transform(df).orderBy("i").collect()]


def http(**params):
    from irbis.http import HTTPTransformer

    return HTTPTransformer(inputCol="request", backoffMs=0, **params)


# ---- HTTPTransformer ----

def test_echo_headers_body_and_null_request(spark, server):
    df = requests_df(spark, [server.url("/echo"), None], method="PUT", body="héllo", headers={"X-Test": "row"})
    echoed, null = responses(http(headers={"x-test": "stage", "X-Other": "1"}), df)
    assert null is None
    assert (echoed.status, echoed.error, echoed.attempts) == (200, None, 1)
    assert bytes(echoed.body) == "héllo".encode()
    assert echoed.headers["x-echo"] == "row" and echoed.headers["x-method"] == "PUT"
    assert 0 <= echoed.latencyMs < 30000


def test_retries_count_every_attempt(spark, server):
    run = rid()
    fails = [0, 1, 3, 2, 5]
    urls = [server.url(f"/flaky?id={run}-{i}&fails={n}") for i, n in enumerate(fails)]
    out = responses(http(maxRetries=3, concurrency=2), requests_df(spark, urls))
    for i, (n, r) in enumerate(zip(fails, out)):
        assert r.attempts == server.by_id[f"{run}-{i}"]  # what the server saw
        if n <= 3:
            assert (r.status, r.attempts, r.error, bytes(r.body)) == (200, n + 1, None, f"ok {run}-{i}".encode())
        else:
            assert (r.status, r.attempts) == (503, 4)
            assert r.error == f"GET {urls[i]}: HTTP 503 after 4 attempts: try again"


def test_429_counts_as_an_attempt_and_retry_after_is_honoured_and_capped(spark, server):
    run = rid()
    urls = [server.url(f"/429?id={run}-honoured&fails=1&retry_after=1"),
            server.url(f"/429?id={run}-capped&fails=2&retry_after=120"),
            server.url(f"/429?id={run}-exhausted&fails=9&retry_after=0")]
    honoured, capped, exhausted = responses(http(maxRetries=2, maxRetryAfterMs=1500, concurrency=3),
                                            requests_df(spark, urls))
    # backoffMs=0: only Retry-After can explain the wait
    assert (honoured.status, honoured.attempts) == (200, 2) and honoured.latencyMs >= 1000
    assert (capped.status, capped.attempts) == (200, 3)
    assert 3000 <= capped.latencyMs < 60000  # two waits capped at 1.5 s, not two of 120 s
    assert (exhausted.status, exhausted.attempts) == (429, 3)
    assert exhausted.error == f"GET {urls[2]}: HTTP 429 after 3 attempts: slow down"
    assert [server.by_id[f"{run}-{k}"] for k in ("honoured", "capped", "exhausted")] == [2, 3, 3]


def test_deadline_cuts_a_slow_attempt_and_prevents_a_late_retry(spark, server):
    run = rid()
    urls = [server.url(f"/slow?ms=20000&id={run}"), server.url(f"/429?id={run}-late&fails=5&retry_after=20")]
    start = time.monotonic()
    slow, late = responses(http(deadlineMs=800, readTimeoutMs=20000, maxRetries=3, maxRetryAfterMs=30000,
                                concurrency=2), requests_df(spark, urls))
    elapsed = time.monotonic() - start
    assert slow.status is None and slow.attempts == 1 and 700 <= slow.latencyMs < 3000
    assert slow.error == f"GET {urls[0]}: deadline of 800 ms (deadlineMs) reached after 1 attempt"
    assert (late.status, late.attempts) == (429, 1)
    assert late.error == (f"GET {urls[1]}: HTTP 429 on attempt 1; a retry after 20000 ms would pass the deadline "
                          "of 800 ms (deadlineMs), so no more attempts were made")
    assert late.latencyMs < 3000 and server.by_id[f"{run}-late"] == 1
    assert elapsed < 15  # the job waited neither for the 20 s response nor for the 20 s Retry-After


def test_read_timeout_is_retried(spark, server):
    url = server.url(f"/slow?ms=1500&id={rid()}")
    (r,) = responses(http(readTimeoutMs=300, maxRetries=1), requests_df(spark, [url]))
    assert (r.status, r.attempts) == (None, 2)
    assert r.error == f"GET {url}: no complete response within 300 ms (readTimeoutMs) after 2 attempts"
    assert 600 <= r.latencyMs < 2900
    assert server.by_target[url[len(server.url("")):]] == 2


def test_connection_refused_is_retried_and_named(spark, server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/nothing"
    (r,) = responses(http(maxRetries=2), requests_df(spark, [url]))
    assert (r.status, r.attempts) == (None, 3)
    assert r.error.startswith(f"GET {url}: connection failed") and r.error.endswith("after 3 attempts")


def test_concurrency_is_bounded_per_task_and_order_is_kept(spark, server):
    delays = [400, 50, 300, 50, 250, 50, 100, 50, 200]
    run = rid()
    urls = [server.url(f"/slow-bounded?ms={ms}&tag={run}-{i}") for i, ms in enumerate(delays)]
    out = http(concurrency=3).transform(requests_df(spark, urls)).collect()  # no sort: the stage's own order
    assert [r.i for r in out] == list(range(len(delays)))
    assert [bytes(r.response.body).decode() for r in out] == [f"{run}-{i}" for i in range(len(delays))]
    assert server.max_in_flight["/slow-bounded"] == 3


def test_request_helper_and_input_checks(spark, server):
    from irbis.http import HTTPTransformer

    df = literal_df(spark, [("http://x",)], "url string")
    with pytest.raises(Exception, match="input column 'url' has type string; expected a request struct"):
        HTTPTransformer(inputCol="url").transform(df)
    bad = df.select(F.struct("url", F.lit(3).alias("timeout")).alias("r"))
    with pytest.raises(Exception, match="unknown field"):
        HTTPTransformer(inputCol="r").transform(bad)
    assert df.select(HTTPTransformer.request("url").alias("r")).schema["r"].dataType.simpleString() == \
        "struct<method:string,url:string,headers:map<string,string>,body:binary>"


# ---- SimpleHTTPTransformer ----

ROWS = [(1, "a", 0.5), (2, "b", None), (3, "c", -2.0), (4, None, 4.0), (5, "e", 0.0), (6, "f", 1e300), (7, "g", 7.0)]


def simple(server, path, **params):
    from irbis.http import SimpleHTTPTransformer

    params = {"inputCols": ["id", "s", "x"], "outputSchema": "id int, s string, x double", "maxRetries": 0, **params}
    return SimpleHTTPTransformer(url=server.url(path), **params)


def table(spark):
    return literal_df(spark, ROWS, "id int, s string, x double")


def test_simple_json_round_trip(spark, server):
    target = f"/echo?run={rid()}"
    out = simple(server, target).transform(table(spark)).collect()
    assert [(r.output.id, r.output.s, r.output.x) for r in out] == ROWS
    assert all(r.error is None for r in out)
    # the body sent is the row as a JSON object (to_json leaves out nulls)
    assert [json.loads(b) for b in server.bodies[target]][:2] == [{"id": 1, "s": "a", "x": 0.5}, {"id": 2, "s": "b"}]


def test_simple_batches_are_one_request_each_and_rows_keep_order(spark, server):
    from irbis.stages import FixedMiniBatchTransformer

    target = f"/echo?run={rid()}"
    stage = simple(server, target, miniBatcher=FixedMiniBatchTransformer(batchSize=3), concurrency=2)
    out = stage.transform(table(spark)).collect()
    assert [(r.id, r.s, r.x) for r in out] == ROWS
    assert [(r.output.id, r.output.s, r.output.x) for r in out] == ROWS
    assert all(r.error is None for r in out)
    assert [len(json.loads(b)) for b in server.bodies[target]] == [3, 3, 1]


def test_simple_failures_go_to_the_error_column(spark, server):
    from irbis.stages import FixedMiniBatchTransformer

    df = table(spark).limit(3)
    for path, status, reason in [
            ("/500", 500, f"POST {server.url('/500')}: HTTP 500 after 1 attempt: boom"),
            ("/bad-json", 200, f'POST {server.url("/bad-json")}: HTTP 200, the body is not valid JSON: '
                               '{"label": "cat",')]:
        out = simple(server, path).transform(df).collect()
        assert [(r.output, r.error.status, r.error.reason) for r in out] == [(None, status, reason)] * 3
    out = simple(server, "/first", miniBatcher=FixedMiniBatchTransformer(batchSize=3)).transform(df).collect()
    assert [r.id for r in out] == [1, 2, 3] and all(r.output is None for r in out)
    assert {r.error.reason for r in out} == {
        f"POST {server.url('/first')}: HTTP 200, the body has 1 results for a batch of 3 inputs"}
    misfit = simple(server, "/echo", outputSchema="id boolean").transform(df.limit(1)).first()
    assert misfit.output is None and "does not fit outputSchema struct<id:boolean>" in misfit.error.reason
