"""Hand-written additions to the generated ``irbis.lime`` stages (picked up by the generator).

``ImageLIME.overlay`` draws an image explanation: the ``top_k`` superpixels with the largest positive
weights keep their colours and get a green outline, the rest of the image is dimmed. It needs numpy
(the PNG is written with zlib), and OpenCV only to decode encoded image bytes.
"""

import struct
import zlib
from typing import Any, Optional, Sequence

from irbis._ext import accepting_keywords

__all__ = ["superpixel_clusters"]


def _image_array(image: Any) -> Any:
    """An image struct Row (Spark's image schema, BGR/BGRA/grey), an encoded image file's bytes (what a binaryFile
    ``content`` column holds; decoded as the JVM decodes it, OpenCV's IMREAD_COLOR) or an HxWxC BGR array, as
    HxWx3 RGB uint8."""
    import numpy as np

    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            import cv2
        except ImportError as e:
            raise ImportError("overlay: drawing on encoded image bytes needs OpenCV (pip install "
                              "opencv-python-headless); or pass the image struct or a BGR numpy array") from e
        arr = cv2.imdecode(np.frombuffer(bytes(image), dtype=np.uint8), cv2.IMREAD_COLOR)
        if arr is None:
            raise ValueError(f"overlay: the {len(image)} bytes given as the image are not an image file OpenCV can decode")
    elif isinstance(image, np.ndarray):
        arr = image if image.ndim == 3 else image[:, :, None]
    elif image is None:
        raise ValueError("overlay: the image is None (the row's explanation failed? see its error column)")
    elif hasattr(image, "__getitem__") and not isinstance(image, str):
        try:
            h, w, c = int(image["height"]), int(image["width"]), int(image["nChannels"])
            data = image["data"]
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"overlay: expected an image struct (height, width, nChannels, data), encoded image "
                             f"bytes or a numpy array, got {type(image).__name__}") from e
        arr = np.frombuffer(bytes(data), dtype=np.uint8).reshape(h, w, c)
    else:
        raise ValueError(f"overlay: expected an image struct (height, width, nChannels, data), encoded image bytes "
                         f"or a numpy array, got {type(image).__name__}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr[:, :, 2::-1] if arr.shape[2] >= 3 else arr).astype(np.uint8)


def _labels(superpixels: Any) -> Any:
    import numpy as np

    if superpixels is None:
        raise ValueError("overlay: the superpixels are None (the row was not explained: see its error column)")
    return np.asarray(superpixels["labels"], dtype=np.int64).reshape(int(superpixels["height"]), int(superpixels["width"]))


def _weights(explanation: Any, target_class: Optional[int]) -> Any:
    import numpy as np

    if isinstance(explanation, (list, tuple)) and len(explanation) > 0 and hasattr(explanation[0], "toArray"):
        # ImageSHAP's shapValues: one [base value, one value per superpixel] vector per explained class
        return explanation[target_class or 0].toArray()[1:]
    if isinstance(explanation, (np.ndarray, list, tuple)) and (len(explanation) == 0 or not hasattr(explanation[0], "asDict")):
        return np.asarray(explanation, dtype=np.float64)
    for entry in explanation:
        if target_class is None or int(entry["targetClass"]) == target_class:
            return entry["weights"].toArray()
    raise ValueError(f"the explanation has no target class {target_class}")



def superpixel_clusters(superpixels: Any) -> Any:
    """SynapseML's ``superpixels.clusters`` from Irbis's superpixel struct (``height``, ``width``, ``labels``): one
    list per superpixel, in label order, of its pixels' ``(x, y)`` (column, row) in row-major order."""
    labels = _labels(superpixels)
    clusters: Any = [[] for _ in range(int(labels.max()) + 1)]
    for y, row in enumerate(labels.tolist()):
        for x, label in enumerate(row):
            clusters[label].append((x, y))
    return clusters

def write_png(path: str, rgb: Any) -> None:
    """Writes an HxWx3 uint8 RGB array as an 8-bit PNG."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def overlay(image: Any, superpixels: Any, explanation: Sequence[Any], top_k: int = 5,
            path: Optional[str] = None, target_class: Optional[int] = None, dim: float = 0.3) -> Any:
    """The explanation drawn on the image, as an HxWx3 RGB uint8 array (also written as PNG to ``path``).

    ``image``: the explained column's value: an image struct Row or an encoded image file's bytes (or a BGR numpy
    array); ``superpixels``: the row's superpixel
    struct (ImageLIME's ``superpixelCol``); ``explanation``: the row's explanation column (the first entry, or
    the one for ``target_class``), ImageSHAP's ``shapValues`` column (the values of its first target class, or of
    the ``target_class``-th one, the base value left out) or a plain weight array. The ``top_k`` superpixels with the largest
    positive weights are shown as they are with a green outline; everything else is dimmed to ``dim``.
    """
    import numpy as np

    rgb = _image_array(image)
    labels = _labels(superpixels)
    if labels.shape != rgb.shape[:2]:
        raise ValueError(f"the superpixels are {labels.shape[0]}x{labels.shape[1]} but the image is "
                         f"{rgb.shape[0]}x{rgb.shape[1]}")
    weights = _weights(explanation, target_class)
    if len(weights) != labels.max() + 1:
        raise ValueError(f"{len(weights)} weights for {labels.max() + 1} superpixels")
    order = [int(i) for i in np.argsort(-weights) if weights[i] > 0][:top_k]
    chosen = np.isin(labels, order)
    out = np.where(chosen[:, :, None], rgb, (rgb * dim).astype(np.uint8))
    edge = np.zeros_like(chosen)
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    edge[1:, :] |= labels[:-1, :] != labels[1:, :]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:, 1:] |= labels[:, :-1] != labels[:, 1:]
    out[edge & chosen] = (0, 255, 0)
    if path is not None:
        write_png(path, out)
    return out


class _WithoutMetricsCol:
    """SynapseML's LIME stages write the weights as one vector per target class in outputCol and the fits' R^2 in
    metricsCol; Irbis writes one struct per class (targetClass, weights, intercept, r2) in outputCol."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accepting_keywords(cls, {"metricsCol": "setMetricsCol"})

    def setMetricsCol(self, value: str) -> Any:
        out = self.getOutputCol()
        raise ValueError(f"{type(self).__name__} has no metricsCol ('{value}'): each entry of outputCol ('{out}') "
                         f"holds its class's r2; SynapseML's columns are df.withColumn('{value}', "
                         f"F.transform('{out}', lambda e: e.r2)) and F.transform('{out}', lambda e: e.weights)")


class ImageLIMEExt(_WithoutMetricsCol):
    """``ImageLIME.overlay(image, superpixels, explanation, top_k=5, path=None)``: see :func:`overlay`."""

    overlay = staticmethod(overlay)
    write_png = staticmethod(write_png)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accepting_keywords(cls, {"targetClassesCol": "setTargetClassesCol"})

    def setTargetClassesCol(self, value: str) -> Any:
        raise ValueError(f"ImageLIME has no targetClassesCol ('{value}'): it explains the same classes in every row, "
                         "setTargetClasses([...]) (empty: each row's top class); for classes per row use "
                         "ImageSHAP(targetClassesCol=...)")


class ImageSHAPExt:
    """``ImageSHAP.overlay(image, superpixels, shapValues, top_k=5, path=None)``: see :func:`overlay`."""

    overlay = staticmethod(overlay)
    write_png = staticmethod(write_png)


def _feature_entries(values: Any) -> Any:
    """SynapseML's feature lists: names or dicts such as ``{"name": "age", "numSplits": 20}``, as the JSON strings
    that the JVM's ``numericFeatures``/``categoricalFeatures`` hold."""
    import json

    if values is None or isinstance(values, str):
        return values
    return [json.dumps(v, separators=(",", ":"), sort_keys=True) if isinstance(v, dict) else v for v in values]


class ICETransformerExt:
    """``numericFeatures`` and ``categoricalFeatures`` also take dicts (SynapseML's form), stored as JSON."""

    def _set(self, **kwargs: Any) -> Any:
        for name in ("numericFeatures", "categoricalFeatures"):
            if name in kwargs:
                kwargs[name] = _feature_entries(kwargs[name])
        return super()._set(**kwargs)


class _WithBackgroundData:
    """SynapseML's tabular and vector explainers are Transformers that take their background rows as a Param
    (``backgroundData=df``); Irbis's are Estimators fitted on them. ``setBackgroundData(df)`` (or the keyword) keeps
    the frame, and ``transform(df)`` fits on it, then explains ``df``. Saved stages do not keep the frame: save the
    fitted model instead."""

    _irbis_background: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accepting_keywords(cls, {"backgroundData": "setBackgroundData"})

    def setBackgroundData(self, value: Any) -> Any:
        """The rows the explanation is measured against (SynapseML's ``backgroundData``): ``fit`` runs on them when
        ``transform`` is called."""
        self._irbis_background = value
        return self

    def getBackgroundData(self) -> Any:
        return self._irbis_background

    def transform(self, dataset: Any, params: Any = None) -> Any:
        """Fits on the background data (``setBackgroundData``) and explains ``dataset``."""
        if self._irbis_background is None:
            name = type(self).__name__
            raise ValueError(f"{name}.transform needs the background rows: {name}(..., backgroundData=background)"
                             f".transform(df), or fit first: {name}(...).fit(background).transform(df)")
        stage = self.copy(params) if params else self
        return stage.fit(self._irbis_background).transform(dataset)


class TabularLIMEExt(_WithBackgroundData, _WithoutMetricsCol):
    """SynapseML's ``categoricalFeatures`` is ``categoricalCols``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accepting_keywords(cls, {"categoricalFeatures": "setCategoricalCols"})

    def setCategoricalFeatures(self, value: Any) -> Any:
        return self.setCategoricalCols(value)

    def getCategoricalFeatures(self) -> Any:
        return self.getCategoricalCols()


class VectorLIMEExt(_WithBackgroundData, _WithoutMetricsCol):
    pass


class TabularSHAPExt(_WithBackgroundData):
    pass


class VectorSHAPExt(_WithBackgroundData):
    pass


class _WithTokensCol:
    """SynapseML's text explainers read the tokens from ``tokensCol`` (a Tokenizer's output) and feed the model the
    kept tokens joined by spaces in ``inputCol``; the features are token positions. With ``tokensCol`` set, Irbis
    does exactly that: the model sees ``inputCol`` rebuilt as the tokens joined by single spaces (a Tokenizer's
    lower-cased words, not the original text), split back into the same tokens, ``bagOfWords`` False; the output
    keeps the original ``inputCol``. A token that is empty or holds whitespace would not come back from the join and
    is refused, naming the column."""

    _irbis_tokens_col: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accepting_keywords(cls, {"tokensCol": "setTokensCol"})

    def setTokensCol(self, value: str) -> Any:
        self._irbis_tokens_col = value
        return self.setBagOfWords(False)

    def getTokensCol(self) -> Any:
        return self._irbis_tokens_col

    def transform(self, dataset: Any, params: Any = None) -> Any:
        from pyspark.sql import functions as F

        tokens = self._irbis_tokens_col
        if tokens is None:
            return super().transform(dataset, params)
        name = type(self).__name__
        if tokens not in dataset.columns:
            raise ValueError(f"{name}: tokensCol '{tokens}' is not a column (have {', '.join(dataset.columns)})")
        text, kept = self.getInputCol(), "__irbis_original_text"
        bad = F.exists(F.col(tokens), lambda t: (t == "") | t.rlike(r"\s"))
        joined = (F.when(F.col(tokens).isNull(), F.lit(None).cast("string"))
                  .when(bad, F.raise_error(F.lit(f"{name}: tokensCol '{tokens}' holds an empty token or one with "
                                                 "whitespace, which the model's text (the tokens joined by spaces) "
                                                 "cannot give back; leave tokensCol unset to explain the words of "
                                                 f"'{text}'")))
                  .otherwise(F.concat_ws(" ", F.col(tokens))))
        out = super().transform(dataset.withColumn(kept, F.col(text)).withColumn(text, joined), params)
        return out.withColumn(text, F.col(kept)).drop(kept)


class TextSHAPExt(_WithTokensCol):
    pass


class TextLIMEExt(_WithTokensCol, _WithoutMetricsCol):
    pass
