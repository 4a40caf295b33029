"""Hand-written additions to the generated ``irbis.featurize.ImageFeaturizer`` (picked up by the generator)."""

from typing import Any

from irbis._ext import accepting_keywords
from irbis._runtime import kinds


class ImageFeaturizerExt:
    """Loading a catalogue model straight into the featurizer; SynapseML's ``autoConvertToColor`` and
    ``ignoreDecodingErrors`` keywords and setters, which name what Irbis always does."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accepting_keywords(cls, {"autoConvertToColor": "setAutoConvertToColor",
                                 "ignoreDecodingErrors": "setIgnoreDecodingErrors"})

    def setAutoConvertToColor(self, value: bool) -> Any:
        """True: grey and four-channel images are converted to 3-channel colour (Irbis's ``colorMode="color"``)."""
        if not value:
            raise ValueError("ImageFeaturizer autoConvertToColor=False: Irbis always feeds the model the channels "
                             "it takes; set colorMode instead ('color', 'grayscale' or 'unchanged')")
        return self.setColorMode("color")

    def setIgnoreDecodingErrors(self, value: bool) -> Any:
        """True: an image that cannot be decoded gets null features, which Irbis always does (the reason is in
        errorCol)."""
        if not value:
            raise ValueError("ImageFeaturizer ignoreDecodingErrors=False: Irbis never fails the job on an image it "
                             "cannot decode, it writes null features and the reason in errorCol; to stop on one, "
                             "check that column: df.where(F.col('error').isNotNull()).count() == 0")
        return self

    def setModel(self, schema: Any) -> Any:
        """Reads the model that ``schema`` (an :class:`irbis.models.ModelSchema`, as
        ``ModelDownloader.downloadByName`` returns it) points at, and sets the preprocessing Params the
        catalogue gives (the JVM's ``ImageFeaturizer.setModel`` does both). A name (SynapseML's
        ``setModel("ResNet50")``) is refused with what to write: Irbis downloads into a folder you choose."""
        if isinstance(schema, str):
            raise ValueError(_by_name_refusal(schema))
        if self.isSet(self.modelPayload):
            self.clear(self.modelPayload)
        self._transfer_params_to_java()
        from irbis.models.repository import _call
        _call(self._java_obj.setModel, schema._to_java())
        from irbis._runtime.wrapper import params_bridge
        bridge = params_bridge()
        for param in self.params:
            name = param.name
            if self._irbis_kind(name) not in kinds.COMPLEX and bridge.isSet(self._java_obj, name):
                self._set(**{name: self._irbis_read_java(name)})
        return self


def _by_name_refusal(name: str) -> str:
    from pyspark.sql import SparkSession

    from irbis.models.repository import ModelRepository

    spark = SparkSession.getActiveSession()
    known = [m.name for m in ModelRepository.bundled(spark).listModels()] if spark is not None else []
    fix = ("ImageFeaturizer().setModel(ModelDownloader(spark, folder).downloadByName({!r})) (from irbis.models "
           "import ModelDownloader), or setModelLocation(path) for an ONNX file of your own")
    if name in known:
        return f"ImageFeaturizer.setModel({name!r}): name the folder the model is downloaded to: " + fix.format(name)
    return (f"ImageFeaturizer.setModel({name!r}): Irbis's catalogue has no model {name!r} (it has "
            f"{', '.join(known) or 'the models ModelRepository.bundled(spark).listModels() lists'}); write "
            + fix.format(known[0] if known else "EfficientNetLite0"))
