"""Hand-written additions to the generated ``irbis.http`` stages (picked up by the generator)."""

from typing import Any, Callable, Dict, Optional, Union

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, MapType, StringType

ColumnOrName = Union[Column, str]

__all__ = ["JSONOutputParser", "http_udf"]


def _column(value: ColumnOrName) -> Column:
    return value if isinstance(value, Column) else F.col(value)


class HTTPTransformerExt:
    @staticmethod
    def request(url: ColumnOrName, method: Union[str, Column] = "GET",
                headers: Union[Dict[str, str], Column, None] = None,
                body: Optional[ColumnOrName] = None) -> Column:
        """A request column of the struct ``{method, url, headers, body}`` that HTTPTransformer reads.

        ``url`` and ``body`` are columns or column names (a string body is sent as UTF-8); ``method`` is a
        literal such as ``"POST"`` or a column; ``headers`` a literal dict or a map column.
        """
        method_col = method if isinstance(method, Column) else F.lit(method)
        if headers is None:
            headers = {}
        if isinstance(headers, dict):
            pairs = [F.lit(x) for kv in sorted(headers.items()) for x in kv]
            headers_col = F.create_map(*pairs) if pairs else F.create_map()
        else:
            headers_col = headers
        body_col = F.lit(None) if body is None else _column(body)
        return F.struct(
            method_col.cast(StringType()).alias("method"),
            _column(url).cast(StringType()).alias("url"),
            headers_col.cast(MapType(StringType(), StringType())).alias("headers"),
            body_col.cast(BinaryType()).alias("body"))


# SynapseML's spellings (docs/MIGRATING_FROM_SYNAPSEML.md).

def http_udf(func: Callable[..., Any]) -> Callable[..., Column]:
    """SynapseML's ``http_udf``: ``func`` returns a ``requests.Request`` (or ``PreparedRequest``); the UDF
    turns it into the request struct ``{method, url, headers, body}`` that HTTPTransformer reads."""
    from pyspark.sql.types import StructField, StructType

    schema = StructType([StructField("method", StringType()), StructField("url", StringType()),
                         StructField("headers", MapType(StringType(), StringType())),
                         StructField("body", BinaryType())])

    def to_struct(*args: Any) -> Optional[tuple]:
        request = func(*args)
        if request is None:
            return None
        prepared = request.prepare() if hasattr(request, "prepare") else request
        body = prepared.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        return (prepared.method, prepared.url, dict(prepared.headers or {}), body)

    return F.udf(to_struct, schema)


class JSONOutputParser:
    """SynapseML's parser of JSON responses for SimpleHTTPTransformer: only its ``dataType`` is used, as
    SimpleHTTPTransformer's ``outputSchema``."""

    def __init__(self) -> None:
        self.dataType: Any = None

    def setDataType(self, value: Any) -> "JSONOutputParser":
        self.dataType = value
        return self

    def setInputCol(self, value: str) -> "JSONOutputParser":
        raise ValueError("JSONOutputParser is only taken by SimpleHTTPTransformer.setOutputParser here: to parse a "
                         "column of JSON strings use pyspark.sql.functions.from_json(col, schema)")

    setOutputCol = setInputCol


class SimpleHTTPTransformerExt:
    def setOutputParser(self, parser: Any) -> Any:
        """SynapseML's ``setOutputParser(JSONOutputParser().setDataType(t))``: ``outputSchema`` becomes ``t``."""
        if not isinstance(parser, JSONOutputParser) or parser.dataType is None:
            raise ValueError("SimpleHTTPTransformer parses JSON responses only: pass "
                             "JSONOutputParser().setDataType(<the response's type>), or setOutputSchema(...)")
        data_type = parser.dataType
        return self.setOutputSchema(data_type if isinstance(data_type, str) else data_type.json())
