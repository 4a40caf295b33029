"""Hand-written additions to the generated ``irbis.http`` stages (picked up by the generator)."""

from typing import Dict, Optional, Union

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, MapType, StringType

ColumnOrName = Union[Column, str]


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
