"""Hand-written additions to the generated ``irbis.lightgbm`` models (picked up by the generator): the model in
LightGBM's own text format, its feature importances, and models trained by LightGBM elsewhere."""

from typing import Any, List, Sequence


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

    def _call(self, name: str, *args: Any) -> Any:
        self._transfer_params_to_java()
        return getattr(self._java_obj, name)(*args)

    # SynapseML's model methods.
    def getFeatureShaps(self, vector: Any) -> List[float]:
        """SHAP contributions of one feature vector: one per feature, then the expected value (per class)."""
        from pyspark.ml.common import _py2java
        from pyspark.sql import SparkSession

        return list(self._call("getFeatureShaps", _py2java(SparkSession.active().sparkContext, vector)))

    def getDenseFeatureShaps(self, values: Sequence[float]) -> List[float]:
        """SHAP contributions of one row given as its dense values."""
        from pyspark.ml.linalg import Vectors

        return self.getFeatureShaps(Vectors.dense([float(v) for v in values]))

    def getSparseFeatureShaps(self, size: int, indices: Sequence[int], values: Sequence[float]) -> List[float]:
        """SHAP contributions of one row given as a sparse vector's size, indices and values."""
        from pyspark.ml.linalg import Vectors

        return self.getFeatureShaps(Vectors.sparse(int(size), [int(i) for i in indices], [float(v) for v in values]))

    def getBoosterBestIteration(self) -> int:
        """The iteration early stopping kept (1-based), -1 if training ran to the end."""
        return int(self._call("getBoosterBestIteration"))

    def getBoosterNumTotalIterations(self) -> int:
        """The number of boosting iterations the model holds."""
        return int(self._call("getBoosterNumTotalIterations"))

    def getBoosterNumTotalModel(self) -> int:
        """The number of trees the model holds."""
        return int(self._call("getBoosterNumTotalModel"))

    def getBoosterNumFeatures(self) -> int:
        """The number of features the model was trained on."""
        return int(self._call("getBoosterNumFeatures"))

    def getBoosterNumClasses(self) -> int:
        """LightGBM's number of classes (1 for binary, regression and ranking models)."""
        return int(self._call("getBoosterNumClasses"))

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

    def getActualNumClasses(self) -> int:
        """SynapseML's name of numClasses."""
        return self.numClasses


class LightGBMRegressionModelExt(_NativeModel):
    pass


class LightGBMRankerModelExt(_NativeModel):
    pass


class _FitsAllTrees:
    """A fit's model predicts with all its trees: pyspark copies the estimator's numIterations (and modelString) onto
    the Python model, but a model that went on from modelString holds more iterations than the estimator trained, so
    the Java model's own numIterations is kept and modelString (whose trees the model holds) cleared."""

    def _fit(self, dataset: Any) -> Any:
        model = super()._fit(dataset)  # type: ignore[misc]
        model._set(numIterations=int(model._java_obj.getNumIterations()))
        model.clear(model.modelString)
        return model


class LightGBMClassifierExt(_FitsAllTrees):
    pass


class LightGBMRegressorExt(_FitsAllTrees):
    pass


class LightGBMRankerExt(_FitsAllTrees):
    pass

