"""Hand-written additions to the generated ``irbis.image`` stages (picked up by the generator).

``ImageTransformer`` gets the same fluent operation methods as in Scala. Each builds a JSON object that the
JVM validates and completes with defaults (``ImageTransformer.canonicalOperation``), so Python and Scala
store identical strings in the ``operations`` param and a bad field fails at the call that adds it.
"""

import json
from typing import Any, Dict, Optional, Sequence, Union

from pyspark.ml.util import _jvm
from pyspark.sql import DataFrame, SparkSession

Number = Union[int, float]


class ImageTransformerExt:
    """Fluent construction of the operation list: ``ImageTransformer().resize(224, 224).toTensor()``."""

    def _set(self, **kwargs: Any) -> Any:
        # Every way of setting `operations` (constructor, setParams, setOperations) is checked here, so
        # a bad list fails where it is given, with the JVM's message naming the element, op and field.
        ops = kwargs.get("operations")
        if ops is not None:
            _jvm().irbis.image.ImageTransformer.validateOperations(json.dumps(list(ops)))
        return super()._set(**kwargs)

    def addOperation(self, op: Dict[str, Any]) -> Any:
        """Appends one operation given as a dict such as ``{"op": "flip", "mode": "both"}``."""
        text = _jvm().irbis.image.ImageTransformer.canonicalOperation(json.dumps(op, separators=(",", ":")))
        current = list(self.getOrDefault(self.operations)) if self.isDefined(self.operations) else []
        return self._set(operations=current + [str(text)])

    def clearOperations(self) -> Any:
        """Empties the operation list."""
        return self._set(operations=[])

    def resize(self, height: int, width: int, interpolation: str = "linear") -> Any:
        """Resizes to ``height`` x ``width`` with ``cv2.resize`` (``interpolation``: nearest, linear, cubic,
        area, lanczos4, linearExact, nearestExact; linear is OpenCV's default and does not anti-alias)."""
        return self.addOperation({"op": "resize", "height": height, "width": width, "interpolation": interpolation})

    def resizeShortSide(self, size: int, interpolation: str = "linear") -> Any:
        """Resizes so that the short side is ``size``; the long side becomes ``floor(size * long / short)``."""
        return self.addOperation({"op": "resize", "shortSide": size, "interpolation": interpolation})

    def crop(self, x: int, y: int, width: int, height: int) -> Any:
        """Cuts the rectangle whose top-left corner is (``x``, ``y``); it must fit in the image."""
        return self.addOperation({"op": "crop", "x": x, "y": y, "width": width, "height": height})

    def centerCrop(self, height: int, width: int) -> Any:
        """Cuts ``height`` x ``width`` from the centre (offsets floored)."""
        return self.addOperation({"op": "centerCrop", "height": height, "width": width})

    def convertColor(self, to: str) -> Any:
        """Converts to ``"BGR"``, ``"RGB"`` or ``"GRAY"`` from the current channel order (``cv2.cvtColor``)."""
        return self.addOperation({"op": "convertColor", "to": to})

    def gaussianBlur(self, kernelSize: int, sigma: Number = 0.0, *, kernelHeight: Optional[int] = None,
                     sigmaY: Number = 0.0) -> Any:
        """``cv2.GaussianBlur`` with a ``kernelSize`` x ``kernelHeight`` (default: square) kernel."""
        return self.addOperation({"op": "gaussianBlur", "kernelWidth": kernelSize,
                                  "kernelHeight": kernelSize if kernelHeight is None else kernelHeight,
                                  "sigmaX": sigma, "sigmaY": sigmaY})

    def threshold(self, threshold: Number, maxValue: Number = 255.0, type: str = "binary",
                  method: str = "fixed") -> Any:
        """``cv2.threshold``; ``type``: binary, binaryInv, trunc, toZero, toZeroInv; ``method``: fixed, otsu,
        triangle (the last two on 1-channel 8-bit images)."""
        return self.addOperation({"op": "threshold", "threshold": threshold, "maxValue": maxValue,
                                  "type": type, "method": method})

    def flip(self, mode: str) -> Any:
        """Mirrors the image: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or ``"both"``."""
        return self.addOperation({"op": "flip", "mode": mode})

    def normalize(self, mean: Sequence[Number], std: Sequence[Number], scale: Number = 1.0) -> Any:
        """``(pixel * scale - mean) / std`` per channel (current channel order), in float32; the list must
        then end with :py:meth:`toTensor`."""
        return self.addOperation({"op": "normalize", "mean": list(mean), "std": list(std), "scale": scale})

    def toTensor(self, layout: str = "CHW", channelOrder: str = "RGB") -> Any:
        """Ends the list: the output column becomes a float array in ``layout`` (CHW or HWC) with the colour
        channels in ``channelOrder`` (RGB or BGR)."""
        return self.addOperation({"op": "toTensor", "layout": layout, "channelOrder": channelOrder})


class ImageDecoderExt:
    """Reading folders of images with this decoder's settings."""

    def readImages(self, spark: SparkSession, path: str, recursive: bool = True,
                   pathGlobFilter: Optional[str] = None, sampleRatio: float = 1.0, seed: int = 0) -> DataFrame:
        """Reads and decodes the image files under ``path`` (a file, a folder or a Hadoop glob).

        ``recursive`` descends into sub-folders; ``pathGlobFilter`` filters file names (default: the
        extensions OpenCV reads); ``sampleRatio`` keeps each file with that probability, chosen by a hash of
        its path and ``seed`` before any file is read. Columns: path, modificationTime, length, and this
        decoder's output and error columns (see ``irbis.image.ImageReader`` in Scala).
        """
        reader = _jvm().irbis.image.ImageReader
        glob = reader.ImageFiles() if pathGlobFilter is None else pathGlobFilter
        self._transfer_params_to_java()
        jdf = reader.read(spark._jsparkSession, path, bool(recursive), glob, float(sampleRatio), int(seed),
                          self._java_obj)
        return DataFrame(jdf, spark)
