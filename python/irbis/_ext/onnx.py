"""Hand-written additions to the generated ``irbis.onnx.ONNXModel`` (picked up by the generator)."""

import json
from typing import Any, Dict


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
