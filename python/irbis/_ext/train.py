"""Hand-written additions to the generated ``irbis.train`` model-selection stages (picked up by the generator):
their result tables as DataFrames, and the fold assignment of ``TuneHyperparameters``."""

from typing import Any

from pyspark.sql import DataFrame


def _frame(java_df: Any, like: Any) -> DataFrame:
    from pyspark.sql import SparkSession

    return DataFrame(java_df, SparkSession.active())


class BestModelExt:
    def getAllModelMetrics(self) -> DataFrame:
        """One row per compared model: ``model_index``, ``model`` (class and uid) and every metric."""
        return _frame(self._java_obj.getAllModelMetrics(), self)

    def getRocCurve(self) -> DataFrame:
        """The chosen model's ROC curve: ``false_positive_rate``, ``true_positive_rate`` (two classes only)."""
        return _frame(self._java_obj.getRocCurve(), self)


class TuneHyperparametersExt:
    def assignFolds(self, dataset: DataFrame) -> DataFrame:
        """``dataset`` with the int column ``fold`` that cross-validation uses (deterministic for ``seed``)."""
        self._transfer_params_to_java()
        return DataFrame(self._java_obj.assignFolds(dataset._jdf), dataset.sparkSession)


class TuneHyperparametersModelExt:
    def getResults(self) -> DataFrame:
        """One row per candidate tried: ``model_index``, ``model``, ``params`` (JSON), ``metric`` (the mean over
        the folds) and ``fold_metrics``."""
        return _frame(self._java_obj.getResults(), self)
