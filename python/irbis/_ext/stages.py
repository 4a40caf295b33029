"""Hand-written additions to generated ``irbis.stages`` classes (picked up by the generator)."""

import sys
from typing import Any, Optional


class UDFTransformerExt:
    """Python UDFs for :class:`UDFTransformer`: ``setUDF`` takes a pyspark UDF (``pyspark.sql.functions.udf``
    or ``pandas_udf``, or a function they decorated) and stores it, cloudpickled, in the ``udf`` Param, which
    is saved with the stage. A saved Python UDF loads in any process with the same Python major.minor
    version (Spark's Python worker checks it) where the modules the function uses are importable. Scala UDFs
    are set from Scala (``setUDF``) and read here as bytes (``getUdf``)."""

    def setUDF(self, function: Any) -> Any:
        from pyspark import SparkContext
        from pyspark.serializers import CloudPickleSerializer

        f = getattr(function, "_unwrapped", function)  # what @udf returns wraps the UserDefinedFunction
        missing = [a for a in ("func", "returnType", "evalType", "deterministic") if not hasattr(f, a)]
        if missing:
            raise TypeError(f"UDFTransformer.setUDF expects a pyspark UDF (pyspark.sql.functions.udf or pandas_udf), "
                            f"got {type(function).__name__}")
        sc = SparkContext._active_spark_context
        if sc is None:
            raise RuntimeError("UDFTransformer.setUDF needs an active SparkContext (irbis.session())")
        command = CloudPickleSerializer().dumps((f.func, f.returnType))
        payload = sc._jvm.irbis.stages.UDFTransformer.pythonPayload(
            getattr(f, "_name", None) or "udf", bytearray(command), f.returnType.json(), int(f.evalType),
            bool(f.deterministic), sc.pythonExec, sc.pythonVer, dict(sc.environment), list(sc._python_includes))
        return self.setUdf(bytes(payload))

    def getUDF(self) -> Optional[Any]:
        """The Python UDF held in ``udf`` (a ``pyspark.sql.udf.UserDefinedFunction``), or None if it holds a
        Scala function."""
        from pyspark import SparkContext
        from pyspark.serializers import CloudPickleSerializer
        from pyspark.sql.udf import UserDefinedFunction

        sc = SparkContext._active_spark_context
        parts = sc._jvm.irbis.stages.UDFTransformer.pythonParts(bytearray(self.getUdf()))
        if parts is None:
            return None
        version = "%d.%d" % sys.version_info[:2]
        if parts["pythonVer"] != version:
            raise RuntimeError(f"{self.uid}: the UDF was pickled by Python {parts['pythonVer']}; this is Python {version}")
        func, return_type = CloudPickleSerializer().loads(bytes(parts["command"]))
        return UserDefinedFunction(func, return_type, parts["name"], parts["evalType"], parts["deterministic"])


class FixedMiniBatchTransformerExt:
    def setBuffered(self, value: bool) -> Any:
        """SynapseML's background pre-fetch of batches: the batches are the same without it, and Irbis forms
        them in the task's own thread, so the setting is accepted and has no effect."""
        if not isinstance(value, bool):
            raise TypeError(f"setBuffered takes True or False, got {value!r}")
        return self


class StratifiedRepartitionExt:
    def setLabelCol(self, value: str) -> Any:
        """SynapseML's name for the label column, Irbis's ``inputCol``."""
        return self.setInputCol(value)

    def getLabelCol(self) -> str:
        return self.getInputCol()
