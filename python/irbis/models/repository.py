"""The model catalogue and verified downloads, over the JVM's ``irbis.featurize.ModelRepository`` and
``ModelDownloader`` (the one implementation of reading catalogues, copying and verifying).

Python adds two things the JVM cannot do: a progress bar on stderr, and models whose catalogue uri is
``convert:<module>`` (such as the default EfficientNet-Lite0), which are made here by running the module's
``export(path)`` converter and then placed and verified by the JVM like any other download::

    import irbis
    from irbis.models import ModelDownloader

    spark = irbis.session()
    schema = ModelDownloader(spark, "models").downloadByName("EfficientNetLite0")
    featurizer = ImageFeaturizer(inputCol="content").setModel(schema)
"""

import dataclasses
import importlib
import json
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple, Union

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from irbis._runtime.wrapper import java_message as _java_message

# Only the project's own converters may run: a catalogue is data, and importing a module runs code.
CONVERTER_PACKAGE = "irbis.models."
# Smaller downloads finish before a bar would be worth drawing.
PROGRESS_MIN_BYTES = 1 << 20


class ModelDownloadError(IOError):
    """A download that failed or did not verify (the message names the model, the uri and the problem)."""


def _jvm(spark: SparkSession) -> Any:
    return spark.sparkContext._jvm


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Calls the JVM; its exceptions become Python ones with the JVM's message."""
    try:
        return fn(*args)
    except Exception as e:  # Py4JJavaError, or pyspark's conversion of it
        cls, message = _java_message(e)
        if not cls and not isinstance(e, Py4JJavaError):
            raise
        if cls == "irbis.featurize.ModelDownloadException":
            raise ModelDownloadError(message) from None
        if cls == "java.util.NoSuchElementException":
            raise KeyError(message) from None
        if cls in ("java.lang.IllegalArgumentException", "java.lang.IllegalStateException"):
            raise ValueError(message) from None
        if cls.startswith("java.io.") or cls.startswith("java.net."):
            raise ModelDownloadError(message) from None
        raise


@dataclasses.dataclass(frozen=True)
class ModelSchema:
    """One catalogue model (fields as in the JVM's ``irbis.featurize.ModelSchema``, which validates them).

    ``layerNames[k]`` is the tensor that ``cutOutputLayers = k`` exposes (``layerNames[0]`` is the output);
    ``preprocessing`` has the keys of the ONNX 'preprocessing' metadata that ImageFeaturizer reads.
    """

    name: str
    uri: str
    sha256: str
    size: int
    inputNode: str
    layerNames: Tuple[str, ...]
    modelType: str
    dataset: str
    preprocessing: Dict[str, Any]
    license: str

    @classmethod
    def from_json(cls, text: str) -> "ModelSchema":
        fields = json.loads(text)
        fields["layerNames"] = tuple(fields["layerNames"])
        return cls(**fields)

    def to_json(self) -> str:
        fields = dataclasses.asdict(self)
        fields["layerNames"] = list(self.layerNames)
        return json.dumps(fields, sort_keys=True)

    @property
    def isConverted(self) -> bool:
        return self.uri.lower().startswith("convert:")

    def withUri(self, uri: str) -> "ModelSchema":
        return dataclasses.replace(self, uri=uri)

    def _to_java(self, spark: Optional[SparkSession] = None) -> Any:
        spark = spark or SparkSession.active()
        return _call(_jvm(spark).irbis.featurize.ModelSchema.fromJson, self.to_json())

    @classmethod
    def _from_java(cls, java: Any) -> "ModelSchema":
        return cls.from_json(java.toJson())


class ModelRepository:
    """A catalogue of models (``{"format": 1, "models": [...]}``), read from and written to any Hadoop path."""

    def __init__(self, java: Any, spark: Optional[SparkSession] = None):
        self._java = java
        self._spark = spark or SparkSession.active()

    @classmethod
    def bundled(cls, spark: Optional[SparkSession] = None) -> "ModelRepository":
        """The catalogue in the Irbis jar (EfficientNet-Lite0)."""
        spark = spark or SparkSession.active()
        return cls(_jvm(spark).irbis.featurize.ModelRepository.bundled(), spark)

    @classmethod
    def load(cls, path: str, spark: Optional[SparkSession] = None) -> "ModelRepository":
        spark = spark or SparkSession.active()
        return cls(_call(_jvm(spark).irbis.featurize.ModelRepository.load, str(path), spark._jsparkSession), spark)

    @classmethod
    def from_json(cls, text: str, spark: Optional[SparkSession] = None) -> "ModelRepository":
        spark = spark or SparkSession.active()
        return cls(_call(_jvm(spark).irbis.featurize.ModelRepository.fromJson, text), spark)

    @classmethod
    def of(cls, models: List[ModelSchema], spark: Optional[SparkSession] = None) -> "ModelRepository":
        return cls.from_json(json.dumps({"format": 1, "models": [json.loads(m.to_json()) for m in models]}), spark)

    def listModels(self) -> List[ModelSchema]:
        return [ModelSchema._from_java(m) for m in self._java.listModelsJava()]

    def get(self, name: str) -> ModelSchema:
        return ModelSchema._from_java(_call(self._java.get, name))

    def withModel(self, schema: ModelSchema) -> "ModelRepository":
        return ModelRepository(self._java.withModel(schema._to_java(self._spark)), self._spark)

    def save(self, path: str) -> None:
        _call(self._java.save, str(path), self._spark._jsparkSession)

    def to_json(self) -> str:
        return str(self._java.toJson())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelRepository) and bool(self._java.equals(other._java))

    def __repr__(self) -> str:
        return str(self._java.toString())


class _ProgressBar:
    """``name [#######-------]  48%   8.9/18.5 MB`` on one line of a text stream, redrawn in place."""

    def __init__(self, name: str, total: int, stream: TextIO, width: int = 30):
        self.name, self.total, self.stream, self.width = name, max(total, 1), stream, width
        self.last = -1

    def draw(self, done: int, final: bool = False) -> None:
        permille = min(1000, done * 1000 // self.total)
        if permille == self.last and not final:
            return
        self.last = permille
        filled = permille * self.width // 1000
        self.stream.write(f"\r{self.name} [{'#' * filled}{'-' * (self.width - filled)}] {permille / 10:5.1f}% "
                          f"{done / 1e6:6.1f}/{self.total / 1e6:.1f} MB" + ("\n" if final else ""))
        self.stream.flush()


class ModelDownloader:
    """Downloads catalogue models into ``targetDir`` (a local folder or any Hadoop URI), verified by size and
    SHA-256; a verified file already there is reused.

    Parameters
    ----------
    spark : SparkSession
    targetDir : str
        Where ``<name>.onnx`` files go.
    repository : ModelRepository, optional
        The catalogue; the one bundled in the jar by default.
    progress : bool
        Draw a progress bar on ``stream`` (stderr) while a download of 1 MiB or more runs.
    """

    def __init__(self, spark: SparkSession, targetDir: Union[str, Path],
                 repository: Optional[ModelRepository] = None, progress: bool = True,
                 stream: Optional[TextIO] = None):
        self._spark = spark
        self.targetDir = str(targetDir)
        self.repository = repository or ModelRepository.bundled(spark)
        self.progress = progress
        self.stream = stream
        self._java = _jvm(spark).irbis.featurize.ModelDownloader(
            spark._jsparkSession, self.targetDir, self.repository._java)

    def listModels(self) -> List[ModelSchema]:
        return self.repository.listModels()

    def isDownloaded(self, schema: Union[str, ModelSchema]) -> bool:
        schema = self.repository.get(schema) if isinstance(schema, str) else schema
        return bool(self._java.isDownloaded(schema._to_java(self._spark)))

    def downloadByName(self, name: str) -> ModelSchema:
        """The catalogue model ``name``, with ``uri`` at its verified copy in ``targetDir``."""
        return self.downloadModel(self.repository.get(name))

    def downloadModel(self, schema: ModelSchema) -> ModelSchema:
        """Copies (or, for a ``convert:`` uri, makes) the model; returns it with ``uri`` at the verified copy."""
        if schema.isConverted and not self.isDownloaded(schema):
            return self._convert(schema)
        return self._transfer(schema._to_java(self._spark), schema)

    def _convert(self, schema: ModelSchema) -> ModelSchema:
        module_name = schema.uri[len("convert:"):]
        if not module_name.startswith(CONVERTER_PACKAGE):
            raise ValueError(f"model '{schema.name}': uri {schema.uri} names a converter outside "
                             f"{CONVERTER_PACKAGE}*; only Irbis's own converters run")
        module = importlib.import_module(module_name)
        with tempfile.TemporaryDirectory(prefix="irbis-convert-") as tmp:
            made = Path(tmp) / f"{schema.name}.onnx"
            module.export(made)
            # The JVM verifies the converter's output against the catalogue and places it like a download.
            placed = self._transfer(schema.withUri(made.as_uri())._to_java(self._spark), schema)
        return placed

    def _transfer(self, java_schema: Any, schema: ModelSchema) -> ModelSchema:
        """Runs the JVM download in a thread while this one draws the progress bar (and passes Ctrl-C on)."""
        progress = self._java.progress()
        before = progress.transfers()
        outcome: Dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["schema"] = _call(self._java.downloadModel, java_schema)
            except BaseException as e:  # re-raised in the calling thread
                outcome["error"] = e

        thread = threading.Thread(target=work, name=f"irbis-download-{schema.name}", daemon=True)
        thread.start()
        show = self.progress and schema.size >= PROGRESS_MIN_BYTES
        bar = _ProgressBar(schema.name, schema.size, self.stream or sys.stderr) if show else None
        try:
            while thread.is_alive():
                thread.join(0.1)
                if bar is not None and progress.transfers() != before:
                    bar.draw(int(progress.bytesDone()))
        except KeyboardInterrupt:
            self._java.cancel()
            thread.join()
            raise
        if bar is not None and progress.transfers() != before:
            bar.draw(int(progress.bytesDone()), final=True)
        if "error" in outcome:
            raise outcome["error"]
        result = ModelSchema._from_java(outcome["schema"])
        return dataclasses.replace(schema, uri=result.uri)
