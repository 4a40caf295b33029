"""Spark Serving: a web service whose requests flow through a Spark pipeline (``irbis.serving`` on the JVM).

The HTTP server runs in the driver; each request becomes a row of a streaming DataFrame, and the reply that the
pipeline computes for it goes back to the waiting client::

    from irbis.serving import server, parse_request, make_reply, status

    requests = server(spark.readStream).address("127.0.0.1", 0, "api").load()
    replies = model.transform(parse_request(requests, "x1 DOUBLE, x2 DOUBLE")) \\
        .select("id", make_reply("prediction"))
    query = server(replies.writeStream).replyTo("api").trigger(processingTime="50 milliseconds").start()
    url("api")          # http://127.0.0.1:<bound port>/api
    status("api")       # {"accepted": ..., "replied": ..., "rejected": {"400": ...}, "expired": ..., ...}

Low-latency mode (``.option("mode", "lowLatency")`` on the reader): each partition's task serves its own HTTP
server in its executor and answers from there (Spark's continuous processing; ``replyTo`` sets the trigger);
:func:`partition_urls` gives their addresses.

Nothing in pyspark is patched: ``server()`` wraps a ``DataStreamReader`` or ``DataStreamWriter``.
"""

import json
from typing import Any, Dict, List, Union

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql.streaming import DataStreamReader, DataStreamWriter
from pyspark.sql.types import StructType

FORMAT = "irbis.serving"

__all__ = ["FORMAT", "server", "parse_request", "make_reply", "status", "url", "partition_urls", "stop",
           "ServerReader", "ServerWriter"]


def _jvm_serving(spark: SparkSession) -> Any:
    return spark.sparkContext._jvm.irbis.serving.Serving


class ServerReader:
    """``spark.readStream`` set to the serving source; ``address(host, port, name)`` then ``load()``."""

    def __init__(self, reader: DataStreamReader):
        self._reader = reader.format(FORMAT)

    def address(self, host: str = "127.0.0.1", port: int = 0, name: str = "api") -> "ServerReader":
        """Where the server listens (port 0: any free port; see :func:`url`) and the API name (its URL path)."""
        self._reader = self._reader.option("host", host).option("port", int(port)).option("name", name)
        return self

    def option(self, key: str, value: Any) -> "ServerReader":
        """maxPending, maxBodyBytes, requestTimeoutMs, retryAfterSeconds, handlerThreads, numPartitions, mode
        ("microBatch" or "lowLatency"), executorHost, executorPort, readTimeoutMs, idleTimeoutMs, maxConnections,
        maxHeaderBytes, token or tokenFile (see docs/SERVING.md)."""
        self._reader = self._reader.option(key, value)
        return self

    def load(self) -> DataFrame:
        """The requests (id, method, path, query, headers, body); the server is listening once this returns."""
        return self._reader.load()


class ServerWriter:
    """``df.writeStream`` set to the serving sink: ``replyTo(name)`` returns the DataStreamWriter to start."""

    def __init__(self, writer: DataStreamWriter, spark: SparkSession):
        self._writer = writer
        self._spark = spark

    def replyTo(self, name: str) -> DataStreamWriter:
        """The sink's options are the JVM's (``Serving.writerOptions``): a temporary checkpoint unless
        ``spark.sql.streaming.checkpointLocation`` is set, and asynchronous progress tracking; a low-latency
        server's writer gets a continuous trigger (epochs of ``Serving.EpochMs``)."""
        jvm = _jvm_serving(self._spark)
        options = dict(jvm.writerOptions(name))
        writer = self._writer.format(FORMAT).options(**options).outputMode("append")
        if jvm.isLowLatency(name):
            writer = writer.trigger(continuous=f"{jvm.EpochMs()} milliseconds")
        return writer

    reply_to = replyTo


def server(stream: Union[DataStreamReader, DataStreamWriter]) -> Union[ServerReader, ServerWriter]:
    """``server(spark.readStream)`` for the requests, ``server(df.writeStream)`` for the replies."""
    if isinstance(stream, DataStreamReader):
        return ServerReader(stream)
    if isinstance(stream, DataStreamWriter):
        return ServerWriter(stream, stream._df.sparkSession)
    raise TypeError(f"server() takes spark.readStream or df.writeStream, not {type(stream).__name__}")


def parse_request(df: DataFrame, schema: Union[StructType, str]) -> DataFrame:
    """``id`` and the fields of each request's JSON body. Bodies that are not JSON objects of ``schema`` (a
    StructType or DDL string; fields with ``nullable=False`` are required) leave the pipeline and get 400 with
    the reason."""
    if not isinstance(df, DataFrame):
        raise TypeError(f"parse_request() takes the requests DataFrame, not {type(df).__name__}")
    text = schema.json() if isinstance(schema, StructType) else str(schema)
    return DataFrame(_jvm_serving(df.sparkSession).parseRequest(df._jdf, text), df.sparkSession)


def make_reply(value: Union[Column, str], status: int = 200) -> Column:
    """The ``reply`` column: HTTP ``status`` with ``value`` (any type) as the JSON body; null is answered 500."""
    from pyspark.sql.classic.column import Column as ClassicColumn
    from pyspark.sql.classic.column import _to_java_column

    jcol = _to_java_column(value)
    spark = SparkSession.active()
    return ClassicColumn(_jvm_serving(spark).makeReply(jcol, int(status)))


def status(name: str, spark: SparkSession = None) -> Dict[str, Any]:
    """The server's counters: accepted == replied + abandoned + sum(rejected.values()) + expired + pending."""
    spark = spark or SparkSession.active()
    return json.loads(_jvm_serving(spark).status(name))


def url(name: str, spark: SparkSession = None) -> str:
    """``http://host:port/<name>``, with the port the server is bound to."""
    spark = spark or SparkSession.active()
    return str(_jvm_serving(spark).url(name))


def partition_urls(name: str, timeout: float = 60.0, spark: SparkSession = None) -> List[str]:
    """A low-latency server's partition servers (one per partition, in its executor), waiting up to ``timeout``
    seconds for its query to start them all. The driver's :func:`url` redirects (307) to them in turn."""
    spark = spark or SparkSession.active()
    return [str(u) for u in _jvm_serving(spark).partitionUrls(name, float(timeout * 1000))]


def stop(name: str, spark: SparkSession = None) -> None:
    """Stops the server (also done when its query stops): pending requests get 503 with Retry-After."""
    spark = spark or SparkSession.active()
    _jvm_serving(spark).stop(name)
