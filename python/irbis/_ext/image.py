"""Hand-written additions to the generated ``irbis.image`` stages (picked up by the generator).

``ImageTransformer`` gets the same fluent operation methods as in Scala. Each builds a JSON object that the
JVM validates and completes with defaults (``ImageTransformer.canonicalOperation``), so Python and Scala
store identical strings in the ``operations`` param and a bad field fails at the call that adds it.
"""

import json
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
from pyspark import SparkContext
from pyspark.ml.util import _jvm
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import DataType

Number = Union[int, float]

__all__ = ["toNDArray"]


def toNDArray(image: Row) -> np.ndarray:
    """An image struct (Spark's image schema, as ImageDecoder and ImageTransformer write it) as a
    ``height x width x channels`` uint8 array with the colour channels in RGB order (alpha last), as
    SynapseML's ``toNDArray`` returns; a grey image has one channel."""
    pixels = np.frombuffer(bytes(image.data), dtype=np.uint8).reshape(image.height, image.width, image.nChannels)
    if image.nChannels == 1:
        return pixels.copy()
    return np.concatenate([pixels[:, :, 2::-1], pixels[:, :, 3:]], axis=2)


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

    def _withScala(self, call: Callable[[Any], Any]) -> Any:
        # SynapseML's spellings are Scala methods of ImageTransformer; running them on a JVM stage holding this
        # list keeps their mapping (OpenCV codes to fields) in one place.
        current = list(self.getOrDefault(self.operations)) if self.isDefined(self.operations) else []
        stage = _jvm().irbis.image.ImageTransformer.withOperations(json.dumps(current))
        call(stage)
        return self._set(operations=[str(op) for op in stage.getOperations()])

    def resize(self, height: Union[int, Tuple[int, int], None] = None, width: Union[int, bool, None] = None,
               interpolation: str = "linear", *, size: Union[int, Tuple[int, int], None] = None,
               keep_aspect_ratio: Optional[bool] = None) -> Any:
        """Resizes to ``height`` x ``width`` with ``cv2.resize`` (``interpolation``: nearest, linear, cubic,
        area, lanczos4, linearExact, nearestExact; linear is OpenCV's default and does not anti-alias).

        SynapseML's forms work too: ``resize(size, keep_aspect_ratio=True)`` (an int: the short side becomes
        ``size``, or both sides when ``keep_aspect_ratio`` is false) and ``resize(size=(width, height))``."""
        if size is None and (isinstance(height, tuple) or isinstance(width, bool) or width is None):
            size, keep_aspect_ratio = height, width if isinstance(width, bool) else keep_aspect_ratio
        if size is None:
            return self.addOperation({"op": "resize", "height": height, "width": width,
                                      "interpolation": interpolation})
        if isinstance(size, tuple):
            return self.resize(size[1], size[0], interpolation)
        if keep_aspect_ratio is False:
            return self.resize(size, size, interpolation)
        return self.resizeShortSide(size, interpolation)

    def resizeShortSide(self, size: int, interpolation: str = "linear") -> Any:
        """Resizes so that the short side is ``size``; the long side becomes ``floor(size * long / short)``."""
        return self.addOperation({"op": "resize", "shortSide": size, "interpolation": interpolation})

    def crop(self, x: int, y: int, height: int, width: int) -> Any:
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

    def boxBlur(self, kernelWidth: int, kernelHeight: int) -> Any:
        """``cv2.blur``: each pixel becomes the mean of the ``kernelWidth`` x ``kernelHeight`` box around it."""
        return self.addOperation({"op": "boxBlur", "kernelWidth": kernelWidth, "kernelHeight": kernelHeight})

    def threshold(self, threshold: Number, maxValue: Number = 255.0, type: Union[str, int] = "binary",
                  method: str = "fixed") -> Any:
        """``cv2.threshold``; ``type``: binary, binaryInv, trunc, toZero, toZeroInv; ``method``: fixed, otsu,
        triangle (the last two on 1-channel 8-bit images). An OpenCV code (``cv2.THRESH_BINARY``, optionally
        ``| cv2.THRESH_OTSU``), as SynapseML takes, stands for both."""
        if isinstance(type, int):
            return self._withScala(lambda j: j.threshold(float(threshold), float(maxValue), type))
        return self.addOperation({"op": "threshold", "threshold": threshold, "maxValue": maxValue,
                                  "type": type, "method": method})

    def flip(self, mode: Union[str, int] = 1) -> Any:
        """Mirrors the image: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or ``"both"``; or an
        OpenCV flip code as SynapseML takes: 0 up-down, positive (the default, 1) left-right, negative both."""
        if isinstance(mode, int):
            return self._withScala(lambda j: j.flip(mode))
        return self.addOperation({"op": "flip", "mode": mode})

    def normalize(self, mean: Sequence[Number], std: Sequence[Number], scale: Number = 1.0, *,
                  color_scale_factor: Optional[Number] = None) -> Any:
        """``(pixel * scale - mean) / std`` per channel (current channel order), in float32; the list must
        then end with :py:meth:`toTensor`.

        With SynapseML's ``color_scale_factor`` instead of ``scale``, ``mean`` and ``std`` are in RGB order
        and the list ends here, with an RGB CHW tensor (``normalizeToTensor`` in Scala)."""
        if color_scale_factor is not None:
            return self._withScala(lambda j: j.normalizeToTensor(
                _doubles(mean), _doubles(std), float(color_scale_factor), "RGB"))
        return self.addOperation({"op": "normalize", "mean": list(mean), "std": list(std), "scale": scale})

    def colorFormat(self, format: int) -> Any:
        """SynapseML's ``cv2.cvtColor`` by code (``cv2.COLOR_BGR2GRAY``...): see ``convertColor``."""
        return self._withScala(lambda j: j.colorFormat(format))

    def blur(self, height: Number, width: Number) -> Any:
        """SynapseML's box blur of ``height`` x ``width`` pixels (its own code swaps them; this does not)."""
        return self._withScala(lambda j: j.blur(float(height), float(width)))

    def gaussianKernel(self, aperture_size: int, sigma: Number) -> Any:
        """SynapseML's Gaussian blur: a 2-D ``aperture_size`` x ``aperture_size`` kernel (its own code blurs
        vertically only)."""
        return self.gaussianBlur(aperture_size, sigma)

    def setTensorElementType(self, value: DataType) -> Any:
        """SynapseML's tensor element type: Irbis's tensors are float32, so only ``FloatType()`` is accepted."""
        jtype = _jvm().org.apache.spark.sql.types.DataType.fromJson(value.json())
        return self._withScala(lambda j: j.setTensorElementType(jtype))

    def toTensor(self, layout: str = "CHW", channelOrder: str = "RGB") -> Any:
        """Ends the list: the output column becomes a float array in ``layout`` (CHW or HWC) with the colour
        channels in ``channelOrder`` (RGB or BGR)."""
        return self.addOperation({"op": "toTensor", "layout": layout, "channelOrder": channelOrder})


def _doubles(values: Sequence[Number]) -> Any:
    array = SparkContext._gateway.new_array(_jvm().double, len(values))
    for i, v in enumerate(values):
        array[i] = float(v)
    return array


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
