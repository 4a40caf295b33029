"""TrainClassifier / TrainRegressor on scikit-learn's bundled real datasets, against a scikit-learn pipeline of the
same learner family on the same split (standardised inputs, the same L2 penalty): accuracy / R2 within 2 points."""
import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def split(loader, names=False, classification=True):
    data = loader(as_frame=True)
    X, y = data.data, data.target
    if names:  # string labels, to check that scores come back as the original values
        y = pd.Series(np.asarray(data.target_names)[y], name="target")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y if classification else None)
    return X_train, X_test, y_train, y_test


def to_spark(spark, X, y):
    pdf = X.copy()
    pdf["target"] = y.values
    pdf.insert(0, "row", np.arange(len(pdf)))
    return spark.createDataFrame(pdf).orderBy("row")


@pytest.mark.parametrize("loader,names", [(datasets.load_breast_cancer, False), (datasets.load_wine, True),
                                          (datasets.load_digits, False)],
                         ids=["breast_cancer", "wine", "digits"])
def test_classifier_matches_sklearn_logistic_regression(spark, loader, names):
    from pyspark.ml.classification import LogisticRegression

    from irbis.train import TrainClassifier

    X_train, X_test, y_train, y_test = split(loader, names)
    C = 1.0  # sklearn: C * sum(loss) + |w|^2 / 2; Spark: mean(loss) + regParam * |w|^2 / 2
    reference = make_pipeline(StandardScaler(), SkLogisticRegression(C=C, max_iter=5000)).fit(X_train, y_train)
    sk_accuracy = accuracy_score(y_test, reference.predict(X_test))

    learner = LogisticRegression(regParam=1.0 / (C * len(X_train)), maxIter=500, tol=1e-9)
    model = TrainClassifier(model=learner, labelCol="target", inputCols=list(X_train.columns)).fit(
        to_spark(spark, X_train, y_train))
    scored = model.transform(to_spark(spark, X_test, y_test)).select("row", "target", "scored_labels", "prediction")
    out = scored.orderBy("row").toPandas()
    assert list(out["target"]) == list(y_test)  # the label keeps its original values
    levels = sorted(set(y_train))
    assert list(out["scored_labels"]) == [levels[int(i)] for i in out["prediction"]]
    accuracy = accuracy_score(y_test, out["scored_labels"])
    print(f"{loader.__name__}: irbis {accuracy:.4f}, scikit-learn {sk_accuracy:.4f}")
    assert abs(accuracy - sk_accuracy) <= 0.02


def test_regressor_matches_sklearn_linear_regression(spark):
    from irbis.train import TrainRegressor

    X_train, X_test, y_train, y_test = split(datasets.load_diabetes, classification=False)
    sk_r2 = r2_score(y_test, SkLinearRegression().fit(X_train, y_train).predict(X_test))
    model = TrainRegressor(labelCol="target", inputCols=list(X_train.columns)).fit(to_spark(spark, X_train, y_train))
    out = model.transform(to_spark(spark, X_test, y_test)).select("row", "prediction").orderBy("row").toPandas()
    r2 = r2_score(y_test, out["prediction"])
    print(f"diabetes: irbis R2 {r2:.4f}, scikit-learn {sk_r2:.4f}")
    assert abs(r2 - sk_r2) <= 0.02
