"""ICETransformer against scikit-learn's ``sklearn.inspection.partial_dependence``.

The Spark models (a linear and a logistic regression on a few columns of scikit-learn's diabetes data) are handed
to scikit-learn as estimators that compute the same function from the Spark model's coefficients in numpy, so
that ``partial_dependence`` (method "brute", ``percentiles=(0, 1)``, ``grid_resolution = numSplits + 1``) gives
the reference grid, individual curves and averages. They must equal the stage's within 1e-9, for numeric features
(a grid from the column's minimum to its maximum) and for a categorical one (every value, as numTopValues exceeds
their number).
"""

import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import LinearRegression
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.datasets import load_diabetes
from sklearn.inspection import partial_dependence

from irbis.lime import ICETransformer

TOL = 1e-9
COLUMNS = ["age", "bmi", "bp", "sex"]
NUM_SPLITS = 7


class LinearFunction(RegressorMixin, BaseEstimator):
    """A fitted Spark LinearRegressionModel's prediction, w.x + b, in numpy."""

    def __init__(self, coef=None, intercept=0.0):
        self.coef = coef
        self.intercept = intercept

    def fit(self, X, y=None):
        self.coef_, self.intercept_ = np.asarray(self.coef), float(self.intercept)
        return self

    def predict(self, X):
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_


class LogisticFunction(ClassifierMixin, BaseEstimator):
    """A fitted binary Spark LogisticRegressionModel's probabilities, sigmoid(w.x + b), in numpy."""

    def __init__(self, coef=None, intercept=0.0):
        self.coef = coef
        self.intercept = intercept

    def fit(self, X, y=None):
        self.coef_, self.intercept_, self.classes_ = np.asarray(self.coef), float(self.intercept), np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = 1.0 / (1.0 + np.exp(-(np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_)))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


@pytest.fixture(scope="module")
def diabetes(spark):
    data = load_diabetes(as_frame=True)
    frame = data.frame[COLUMNS + ["target"]].iloc[:40].reset_index(drop=True)
    frame["label"] = (frame["target"] > frame["target"].median()).astype(float)
    frame["id"] = np.arange(len(frame))
    return frame, spark.createDataFrame(frame)


@pytest.fixture(scope="module")
def models(diabetes):
    _, df = diabetes
    assembler = VectorAssembler(inputCols=COLUMNS, outputCol="features")
    linear = Pipeline(stages=[assembler, LinearRegression(labelCol="target")]).fit(df)
    logistic = Pipeline(stages=[assembler, LogisticRegression(labelCol="label", regParam=0.01)]).fit(df)
    lin, log = linear.stages[-1], logistic.stages[-1]
    return {
        "linear": (linear, "prediction",
                   LinearFunction(lin.coefficients.toArray(), lin.intercept).fit(None)),
        "logistic": (logistic, "probability",
                     LogisticFunction(log.coefficients.toArray(), log.intercept).fit(None)),
    }


def reference(estimator, frame, feature, categorical):
    X = frame[COLUMNS]
    i = COLUMNS.index(feature)
    if not categorical:
        assert X[feature].nunique() > NUM_SPLITS + 1  # else scikit-learn takes the unique values as the grid
    r = partial_dependence(estimator, X, [i], kind="both", method="brute", percentiles=(0, 1),
                           grid_resolution=NUM_SPLITS + 1, categorical_features=[i] if categorical else None)
    return r["grid_values"][0], r["individual"][0], r["average"][0]


def curve(mapping):
    keys = np.array(sorted(mapping))
    return keys, np.array([mapping[k].toArray()[0] for k in sorted(mapping)])


@pytest.mark.parametrize("model_name", ["linear", "logistic"])
def test_ice_and_pd_equal_scikit_learn(spark, diabetes, models, model_name):
    frame, df = diabetes
    model, target, estimator = models[model_name]
    ice = ICETransformer(model=model, targetCol=target, targetClasses=[1],
                         numericFeatures=[{"name": "bmi", "numSplits": NUM_SPLITS}, "age"],
                         categoricalFeatures=["sex"], numSplits=NUM_SPLITS)
    individual = {r["id"]: r for r in ice.transform(df).collect()}
    average = ice.setKind("average").transform(df).collect()
    assert len(individual) == len(frame) and len(average) == 1
    for feature, categorical in [("bmi", False), ("age", False), ("sex", True)]:
        grid, curves, mean = reference(estimator, frame, feature, categorical)
        column = f"{feature}_dependence"
        for row_id in range(len(frame)):
            keys, values = curve(individual[row_id][column])
            np.testing.assert_allclose(keys, grid, rtol=0, atol=1e-12)
            np.testing.assert_allclose(values, curves[row_id], rtol=0, atol=TOL)
        keys, values = curve(average[0][column])
        np.testing.assert_allclose(keys, grid, rtol=0, atol=1e-12)
        np.testing.assert_allclose(values, mean, rtol=0, atol=TOL)


def test_feature_dicts_are_stored_as_json(spark):
    ice = ICETransformer(numericFeatures=[{"name": "bmi", "rangeMin": 0.0, "rangeMax": 1.0}, "age"])
    assert ice.getNumericFeatures() == ['{"name":"bmi","rangeMax":1.0,"rangeMin":0.0}', "age"]
    ice.setCategoricalFeatures([{"name": "sex", "numTopValues": 1}])
    assert ice.getCategoricalFeatures() == ['{"name":"sex","numTopValues":1}']
    with pytest.raises(Exception, match="unknown key"):
        ice.setNumericFeatures([{"name": "bmi", "splits": 3}])
