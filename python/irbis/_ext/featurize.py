"""Hand-written additions to the generated ``irbis.featurize.ImageFeaturizer`` (picked up by the generator)."""

from typing import Any

from irbis._runtime import kinds


class ImageFeaturizerExt:
    """Loading a catalogue model straight into the featurizer."""

    def setModel(self, schema: Any) -> Any:
        """Reads the model that ``schema`` (an :class:`irbis.models.ModelSchema`, as
        ``ModelDownloader.downloadByName`` returns it) points at, and sets the preprocessing Params the
        catalogue gives (the JVM's ``ImageFeaturizer.setModel`` does both)."""
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
