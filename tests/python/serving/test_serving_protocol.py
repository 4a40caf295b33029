"""The serving server's HTTP protocol from Python, on raw sockets on 127.0.0.1: the table of malformed requests
that the Scala suite (ServingProtocolSuite) runs too, each answered once with the status a client must see and
counted once; a slow client that gets 408 while others are served; pipelined requests; the bearer token."""

import json
import re
import socket
import urllib.error
import urllib.request
from urllib.parse import urlparse

from pyspark.sql import functions as F

from conftest import ROOT

TABLE = json.loads((ROOT / "core" / "src" / "test" / "resources" / "irbis" / "serving" / "protocol_cases.json")
                   .read_text(encoding="utf-8"))


def expand(template, name):
    def one(m):
        what = m.group(1)
        if what == "name":
            return name
        if what.startswith("bytes:"):
            return "x" * int(what[6:])
        return "".join(f"X-Filler-{i}: v\r\n" for i in range(int(what[8:])))
    return re.sub(r"\{(name|bytes:\d+|headers:\d+)\}", one, template).encode()


def read_answer(sock):
    """(status, lower-case headers, body) of one response, and whether the server then closed the connection."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, {}, data.decode(errors="replace"), True
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    sock.settimeout(5)
    try:
        closed = sock.recv(1) == b""
    except socket.timeout:
        closed = False
    return int(lines[0].split(" ")[1]), headers, body.decode(), closed


def post(url, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def serve(spark, name, **options):
    from irbis.serving import make_reply, parse_request, server, url

    reader = server(spark.readStream).address("127.0.0.1", 0, name)
    for k, v in options.items():
        reader = reader.option(k, v)
    replies = parse_request(reader.load(), "k INT").select("id", make_reply(F.col("k") + 1))
    query = server(replies.writeStream).replyTo(name).trigger(processingTime="50 milliseconds").start()
    return query, url(name)


def test_each_malformed_request_gets_its_status_once_and_a_slow_client_408(spark):
    from irbis.serving import status

    query, url = serve(spark, "py_protocol", readTimeoutMs=2000, **TABLE["options"])
    port = urlparse(url).port
    try:
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        slow.sendall(b"POST /py_protocol HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # and nothing more
        for case in TABLE["cases"]:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(expand(case["request"], "py_protocol"))
                code, headers, body, closed = read_answer(s)
            assert code == case["status"] and closed and json.loads(body)["error"], (case["case"], code, body)
            if "header" in case:
                assert headers.get(case["header"][0].lower()) == case["header"][1], (case["case"], headers)
        assert post(url, json.dumps({"k": 1}).encode()) == (200, "2")
        # HTTP/1.1 pipelining: three requests in one write, answered in order on the kept-alive connection
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"".join(f'POST /py_protocol HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\n{{"k":{k}}}'
                               .encode() for k in (4, 5, 6)))
            s.settimeout(30)
            data = b""
            while data.count(b"HTTP/1.1 ") < 3 or not data.endswith(b"7"):
                data += s.recv(65536)
        assert [part.split(b"\r\n\r\n")[1][:1] for part in data.split(b"HTTP/1.1 ")[1:]] == [b"5", b"6", b"7"], data
        code, _, body, closed = read_answer(slow)
        assert code == 408 and closed and "readTimeoutMs" in body
        slow.close()
        assert post(url, b'{"k": 1, "s": "\xff"}')[0] == 400   # not UTF-8: no silent U+FFFD
        st = status("py_protocol")
        expected = {}
        for case in TABLE["cases"]:
            expected[str(case["status"])] = expected.get(str(case["status"]), 0) + 1
        expected["408"] = 1
        expected["400"] += 1
        assert st["rejected"] == expected
        assert (st["accepted"], st["replied"], st["expired"], st["pending"], st["abandoned"]) == \
            (len(TABLE["cases"]) + 6, 4, 0, 0, 0)
    finally:
        query.stop()


def test_bearer_token_guards_the_service_and_its_status(spark):
    from irbis.serving import status

    query, url = serve(spark, "py_token", token="py-s3cret")
    try:
        assert post(url, b'{"k": 1}')[0] == 401
        assert post(url, b'{"k": 1}', token="py-s3cres")[0] == 401
        assert post(url, b'{"k": 1}', token="py-s3cret") == (200, "2")
        try:
            urllib.request.urlopen(url + "/_status", timeout=30)
            raise AssertionError("_status answered without the token")
        except urllib.error.HTTPError as e:
            assert e.code == 401 and e.headers["WWW-Authenticate"].startswith("Bearer")
        st = status("py_token")
        assert (st["accepted"], st["replied"], st["rejected"]) == (4, 1, {"401": 3}), st
    finally:
        query.stop()
