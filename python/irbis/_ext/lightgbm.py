"""Hand-written additions to the generated ``irbis.lightgbm`` models (picked up by the generator): the model in
LightGBM's own text format, its feature importances, and models trained by LightGBM elsewhere."""

from typing import Any, List


class _NativeModel:
    def getNativeModel(self) -> str:
        """The model in LightGBM's text format: ``lightgbm.Booster(model_str=...)`` loads it."""
        self._transfer_params_to_java()
        return str(self._java_obj.getNativeModel())

    def saveNativeModel(self, path: str, overwrite: bool = True) -> None:
        """Writes the model text to ``path`` (any Hadoop path), as ``Booster.save_model`` does."""
        self._transfer_params_to_java()
        self._java_obj.saveNativeModel(path, overwrite)

    def getFeatureImportances(self, importance_type: str = "split") -> List[float]:
        """LightGBM's feature importances: ``"split"`` (times each feature is used) or ``"gain"``."""
        self._transfer_params_to_java()
        return list(self._java_obj.getFeatureImportances(importance_type))

    @property
    def numFeatures(self) -> int:
        """The number of features the model was trained on."""
        self._transfer_params_to_java()
        return int(self._java_obj.numFeatures())

    @classmethod
    def loadNativeModelFromString(cls, text: str) -> Any:
        """A model from LightGBM's text format (``Booster.model_to_string()``), trained anywhere."""
        from pyspark.sql import SparkSession

        jvm = SparkSession.active()._jvm
        return cls._from_java(getattr(jvm.irbis.lightgbm, cls.__name__).loadNativeModelFromString(text))

    @classmethod
    def loadNativeModelFromFile(cls, path: str) -> Any:
        """A model from a LightGBM model file (``Booster.save_model()``), any Hadoop path."""
        from pyspark.sql import SparkSession

        jvm = SparkSession.active()._jvm
        return cls._from_java(getattr(jvm.irbis.lightgbm, cls.__name__).loadNativeModelFromFile(path))


class LightGBMClassificationModelExt(_NativeModel):
    @property
    def numClasses(self) -> int:
        """The number of classes (2 for a binary model)."""
        self._transfer_params_to_java()
        return int(self._java_obj.numClasses())


class LightGBMRegressionModelExt(_NativeModel):
    pass


class LightGBMRankerModelExt(_NativeModel):
    pass
