"""Hand-written additions to the generated ``irbis.onnx.ONNXModel`` (picked up by the generator)."""

import json
from types import SimpleNamespace
from typing import Any, Dict

from pyspark.ml.util import _jvm


class ONNXModelExt:
    """Model introspection on the driver: what the graph expects and what it returns."""

    def modelInputs(self) -> Dict[str, Dict[str, Any]]:
        """Graph inputs: name to ``{"kind", "type", "shape", "dimNames"}``; -1 marks a symbolic dimension."""
        self._transfer_params_to_java()
        return json.loads(self._java_obj.modelInputsJson())

    def modelOutputs(self) -> Dict[str, Dict[str, Any]]:
        """Graph outputs, described like :py:meth:`modelInputs` (sequences and maps have key/value types)."""
        self._transfer_params_to_java()
        return json.loads(self._java_obj.modelOutputsJson())

    # SynapseML's spellings (docs/MIGRATING_FROM_SYNAPSEML.md).

    def getModelInputs(self) -> Dict[str, "NodeInfo"]:
        """SynapseML's form of :py:meth:`modelInputs`: name to a ``NodeInfo`` (``.name``, ``.value_info``)."""
        return {name: NodeInfo(name, info) for name, info in self.modelInputs().items()}

    def getModelOutputs(self) -> Dict[str, "NodeInfo"]:
        """SynapseML's form of :py:meth:`modelOutputs`."""
        return {name: NodeInfo(name, info) for name, info in self.modelOutputs().items()}

    def setDeviceType(self, value: str) -> Any:
        """SynapseML's name for ``executionProvider``: ``"CPU"`` or ``"CUDA"``, in any case."""
        return self.setExecutionProvider(str(_jvm().irbis.onnx.ONNXModel.executionProviderOf(value)))

    def getDeviceType(self) -> str:
        return self.getExecutionProvider()

    def sliceAtOutput(self, output: str) -> Any:
        """A copy whose model ends at the inner tensor ``output``, fetched (flattened per row) into a column of
        that name, or into the fetchDict column that already names it."""
        self._transfer_params_to_java()
        return type(self)._from_java(self._java_obj.sliceAtOutput(output))


class NodeInfo:
    """A graph input or output as SynapseML's ``getModelInputs`` describes it: ``name`` and ``value_info``,
    whose attributes are those of :py:meth:`ONNXModelExt.modelInputs`' dicts (``kind``, ``type``, ``shape``...)."""

    def __init__(self, name: str, info: Dict[str, Any]) -> None:
        self.name = name
        self.value_info = SimpleNamespace(**info)

    def __repr__(self) -> str:
        return f"NodeInfo(name={self.name}, info={self.value_info})"
