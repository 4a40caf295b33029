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
    def _set(self, **kwargs: Any) -> Any:
        """A paramSpace from SynapseML's GridSpace or RandomSpace also sets its searchMode, unless given."""
        return super()._set(**_with_search_mode(kwargs))  # type: ignore[misc]

    def assignFolds(self, dataset: DataFrame) -> DataFrame:
        """``dataset`` with the int column ``fold`` that cross-validation uses (deterministic for ``seed``)."""
        self._transfer_params_to_java()
        return DataFrame(self._java_obj.assignFolds(dataset._jdf), dataset.sparkSession)


class TuneHyperparametersModelExt:
    def getResults(self) -> DataFrame:
        """One row per candidate tried: ``model_index``, ``model``, ``params`` (JSON), ``metric`` (the mean over
        the folds) and ``fold_metrics``."""
        return _frame(self._java_obj.getResults(), self)


# SynapseML's spellings (docs/MIGRATING_FROM_SYNAPSEML.md): setters onto Irbis's own Params, and the helpers
# that build TuneHyperparameters' paramSpace.

__all__ = ["DiscreteHyperParam", "GridSpace", "HyperparamBuilder", "RandomSpace", "RangeHyperParam"]


class _FeaturizeSpellings:
    """Featurize's SynapseML spellings, shared by the stages that featurize (Featurize, TrainClassifier,
    TrainRegressor)."""

    def setNumFeatures(self, value: int) -> Any:
        """SynapseML's name for ``numTextFeatures`` (hashed slots per text column)."""
        return self.setNumTextFeatures(value)

    def getNumFeatures(self) -> int:
        return self.getNumTextFeatures()

    def setImputeMissing(self, value: bool) -> Any:
        """SynapseML's switch for imputation: Irbis always imputes (``imputeMode``), so only True is taken."""
        if not value:
            raise ValueError("Featurize always imputes missing numeric values (imputeMode 'Mean' or 'Median'); "
                             "to keep them, drop Featurize's imputation by filling or filtering the rows yourself "
                             "(e.g. dataset.na.drop()) before Featurize")
        return self

    def setVectorAssemblerHandleInvalid(self, value: str) -> Any:
        """SynapseML passes this to VectorAssembler; Irbis imputes first, so no invalid value reaches it."""
        raise ValueError("Featurize imputes missing values before assembling (imputeMode), so VectorAssembler never "
                         "sees one: remove setVectorAssemblerHandleInvalid; to skip such rows, filter them first "
                         "(dataset.na.drop())")


class FeaturizeExt(_FeaturizeSpellings):
    pass


class TrainClassifierExt(_FeaturizeSpellings):
    pass


class TrainRegressorExt(_FeaturizeSpellings):
    pass


class TextFeaturizerExt:
    def setUseStopWordsRemover(self, value: bool) -> Any:
        """SynapseML's name for ``removeStopWords`` (SynapseML's default is False, Irbis's True)."""
        return self.setRemoveStopWords(value)

    def getUseStopWordsRemover(self) -> bool:
        return self.getRemoveStopWords()

    def setDefaultStopWordLanguage(self, value: str) -> Any:
        """SynapseML's name for ``stopWordsLanguage``."""
        return self.setStopWordsLanguage(value)

    def setUseTokenizer(self, value: bool) -> Any:
        """Irbis always tokenizes (``tokenizerPattern``); a column of tokens goes to HashingTF directly."""
        if not value:
            raise ValueError("TextFeaturizer always tokenizes its string column; for a column that already holds "
                             "tokens use pyspark.ml.feature.HashingTF (and IDF) on it")
        return self


class ComputePerInstanceStatisticsExt:
    def setScoredProbabilitiesCol(self, value: str) -> Any:
        """SynapseML's column of class probabilities: Irbis reads them from ``scoresCol``."""
        return self.setScoresCol(value)


class _Space(str):
    """A paramSpace (Irbis's JSON) that also says which searchMode it is for."""

    searchMode = "grid"


def _with_search_mode(kwargs: dict) -> dict:
    space = kwargs.get("paramSpace")
    if isinstance(space, _Space):
        kwargs["paramSpace"] = str(space)
        if kwargs.get("searchMode") is None:
            kwargs["searchMode"] = space.searchMode
    return kwargs


class DiscreteHyperParam:
    """SynapseML's list of values to try for one param."""

    def __init__(self, values: list, seed: int = 0) -> None:
        self.values = list(values)

    def _spec(self, random: bool) -> dict:
        return {"random": {"values": self.values}} if random else {"grid": self.values}


class RangeHyperParam:
    """SynapseML's uniform range for one param: whole numbers when both ends are ints, else doubles."""

    def __init__(self, min: Any, max: Any, seed: int = 0) -> None:  # noqa: A002 (SynapseML's keywords)
        self.min, self.max = min, max

    def _spec(self, random: bool) -> dict:
        if not random:
            raise ValueError(f"GridSpace takes DiscreteHyperParam only, not RangeHyperParam({self.min}, {self.max}): "
                             "list the values to try with DiscreteHyperParam([...]), or use RandomSpace")
        kind = "int" if all(isinstance(x, int) and not isinstance(x, bool) for x in (self.min, self.max)) else "double"
        return {"random": {"min": self.min, "max": self.max, "type": kind}}


class HyperparamBuilder:
    """SynapseML's builder of a search space: (estimator, param, values) triples. The estimator may be a
    TrainClassifier's or TrainRegressor's learner: the space is keyed by its uid."""

    def __init__(self) -> None:
        self._entries: list = []

    def addHyperparam(self, est: Any, param: Any, hyperParam: Any) -> "HyperparamBuilder":
        self._entries.append((est, param, hyperParam))
        return self

    def build(self) -> list:
        """The (param, (estimator, hyperParam)) pairs, as SynapseML's build returns them."""
        return [(param, (est, hp)) for est, param, hp in self._entries]


class _SearchSpace:
    _random = False

    def __init__(self, paramDistributions: list) -> None:
        self._pairs = list(paramDistributions)

    def space(self) -> str:
        """The paramSpace to pass to TuneHyperparameters (which then takes this searchMode too)."""
        import json

        by_uid: dict = {}
        for param, (est, hp) in self._pairs:
            name = param if isinstance(param, str) else param.name
            by_uid.setdefault(est.uid, {})[name] = hp._spec(self._random)
        space = _Space(json.dumps(by_uid, sort_keys=True))
        space.searchMode = "random" if self._random else "grid"
        return space


class GridSpace(_SearchSpace):
    """Every combination of DiscreteHyperParam values (searchMode 'grid')."""


class RandomSpace(_SearchSpace):
    """numRuns random draws per model (searchMode 'random')."""

    _random = True
