"""LightGBM on Spark against LightGBM itself (the lightgbm Python package of the same LightGBM version, 3.3.5):
one worker, deterministic, one thread, the same rows and parameters give the same predictions, SHAP values, feature
importances and early-stopping iteration, and models move both ways between Irbis and lightgbm."""

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")
from lightgbm_data import BASE, TOL, collect, frame, irbis_params  # noqa: E402
from pyspark.ml.linalg import Vectors  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402


@pytest.fixture(scope="module")
def cancer(spark):
    X, y = load_breast_cancer(return_X_y=True)
    return X, y, frame(spark, X, y).cache()


def test_binary_matches_lightgbm(spark, cancer):
    from irbis.lightgbm import LightGBMClassificationModel, LightGBMClassifier

    X, y, df = cancer
    model = irbis_params(LightGBMClassifier(), numIterations=30, numLeaves=15).setFeaturesShapCol("shap").fit(df)
    raw, prob, pred, shap = collect(model.transform(df), "rawPrediction", "probability", "prediction", "shap")
    ref = lgb.train({**BASE, "objective": "binary", "num_leaves": 15}, lgb.Dataset(X, y), 30)
    assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL
    assert np.abs(raw[:, 1] - ref.predict(X, raw_score=True)).max() < TOL
    assert np.array_equal(pred, (ref.predict(X) > 0.5).astype(float))
    contrib = ref.predict(X, pred_contrib=True)
    assert np.abs(shap - contrib).max() < TOL
    assert np.abs(shap.sum(axis=1) - raw[:, 1]).max() < 1e-9
    for kind in ("split", "gain"):
        theirs = ref.feature_importance(importance_type=kind)
        assert np.allclose(model.getFeatureImportances(kind), theirs, rtol=1e-12, atol=1e-9), kind
    # Irbis's model in lightgbm, lightgbm's model in Irbis: the same predictions either way.
    moved = lgb.Booster(model_str=model.getNativeModel())
    assert np.abs(moved.predict(X) - prob[:, 1]).max() < TOL
    back = LightGBMClassificationModel.loadNativeModelFromString(ref.model_to_string())
    assert back.numClasses == 2 and back.numFeatures == X.shape[1]
    (prob2,) = collect(back.transform(df), "probability")
    assert np.abs(prob2[:, 1] - ref.predict(X)).max() < TOL


def test_native_model_file_round_trip(spark, cancer, tmp_path):
    from irbis.lightgbm import LightGBMClassificationModel, LightGBMClassifier

    X, y, df = cancer
    model = irbis_params(LightGBMClassifier(), numIterations=5).fit(df)
    path = str(tmp_path / "model.txt")
    model.saveNativeModel(path)
    assert np.allclose(lgb.Booster(model_file=path).predict(X), collect(model.transform(df), "probability")[0][:, 1],
                       rtol=0, atol=TOL)
    loaded = LightGBMClassificationModel.loadNativeModelFromFile(path)
    assert loaded.getNativeModel() == model.getNativeModel()
    with pytest.raises(Exception, match="not a LightGBM model"):
        LightGBMClassificationModel.loadNativeModelFromString("tree\nnot a model")


def test_multiclass_matches_lightgbm(spark):
    from irbis.lightgbm import LightGBMClassifier

    X, y = load_iris(return_X_y=True)
    df = frame(spark, X, y)
    model = irbis_params(LightGBMClassifier(), numIterations=20).setFeaturesShapCol("shap").setLeafPredictionCol(
        "leaves").fit(df)
    prob, raw, shap, leaves = collect(model.transform(df), "probability", "rawPrediction", "shap", "leaves")
    ref = lgb.train({**BASE, "objective": "multiclass", "num_class": 3}, lgb.Dataset(X, y), 20)
    assert np.abs(prob - ref.predict(X)).max() < TOL
    assert np.abs(raw - ref.predict(X, raw_score=True)).max() < TOL
    assert np.abs(shap - ref.predict(X, pred_contrib=True)).max() < TOL
    assert np.array_equal(leaves, ref.predict(X, pred_leaf=True).astype(float))


@pytest.mark.parametrize("objective,extra", [
    ("regression", {}), ("regression_l1", {}), ("huber", {"alpha": 5.0}), ("quantile", {"alpha": 0.3}),
    ("poisson", {}), ("tweedie", {"tweedieVariancePower": 1.3}),
])
def test_regression_objectives_match_lightgbm(spark, objective, extra):
    from irbis.lightgbm import LightGBMRegressor

    X, y = load_diabetes(return_X_y=True)
    df = frame(spark, X, y)
    model = irbis_params(LightGBMRegressor(), numIterations=15, objective=objective, **extra).fit(df)
    (pred,) = collect(model.transform(df), "prediction")
    names = {"alpha": "alpha", "tweedieVariancePower": "tweedie_variance_power"}
    ref = lgb.train({**BASE, "objective": objective, **{names[k]: v for k, v in extra.items()}}, lgb.Dataset(X, y), 15)
    # quantile: lightgbmlib 3.3.510's natives write model format v4 (a LightGBM commit after the 3.3.5 release that
    # the Python package is), and their quantile leaf renewal interpolates percentiles in float: leaves differ in
    # the 8th significant digit. Every other objective agrees to 1e-9.
    rel = 1e-7 if objective == "quantile" else TOL
    assert np.abs(pred - ref.predict(X)).max() < rel * max(1.0, np.abs(pred).max())


def test_ranking_matches_lightgbm(spark):
    from irbis.lightgbm import LightGBMRanker

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5))
    y = np.clip((X[:, 0] * 1.5 + rng.normal(scale=0.5, size=300)).round() + 1, 0, 3)
    query = np.repeat(np.arange(30), 10)
    df = frame(spark, X, y, query=query.tolist())
    model = irbis_params(LightGBMRanker(), numIterations=10).setGroupCol("query").fit(df)
    (pred,) = collect(model.transform(df), "prediction")
    ref = lgb.train({**BASE, "objective": "lambdarank"}, lgb.Dataset(X, y, group=np.full(30, 10, dtype=np.int32)), 10)
    assert np.abs(pred - ref.predict(X)).max() < TOL


def test_weights_init_scores_and_categorical_slots_match_lightgbm(spark):
    from irbis.lightgbm import LightGBMClassifier

    rng = np.random.default_rng(5)
    n = 400
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 6, size=n).astype(float), rng.normal(size=n)])
    y = ((X[:, 0] + (X[:, 1] % 3 == 0) * 1.5 + rng.normal(scale=0.5, size=n)) > 0.7).astype(float)
    w = rng.uniform(0.2, 3.0, size=n)
    init = rng.normal(scale=0.3, size=n)
    df = frame(spark, X, y, w=w.tolist(), init=init.tolist())
    model = irbis_params(LightGBMClassifier(), numIterations=15, categoricalSlotIndexes=[1]).setWeightCol(
        "w").setInitScoreCol("init").fit(df)
    (raw,) = collect(model.transform(df), "rawPrediction")
    ref = lgb.train({**BASE, "objective": "binary"}, lgb.Dataset(X, y, weight=w, init_score=init,
                                                                categorical_feature=[1]), 15)
    # As in LightGBM, the model's scores leave out the initial scores it was trained from.
    assert np.abs(raw[:, 1] - ref.predict(X, raw_score=True)).max() < TOL
    assert "categorical_feature=1" in model.getNativeModel() or "[categorical_feature: 1]" in model.getNativeModel()


def test_early_stopping_stops_where_lightgbm_stops(spark, cancer):
    from irbis.lightgbm import LightGBMClassifier

    X, y, _ = cancer
    rng = np.random.default_rng(11)
    valid = rng.random(len(y)) < 0.3
    df = frame(spark, X, y, valid=valid.tolist())
    params = {**BASE, "objective": "binary", "learning_rate": 0.3, "metric": "binary_logloss"}
    ref = lgb.train({**params, "early_stopping_round": 5}, lgb.Dataset(X[~valid], y[~valid]), 200,
                    valid_sets=[lgb.Dataset(X[valid], y[valid])], verbose_eval=False)
    assert 0 < ref.best_iteration < 200
    model = irbis_params(LightGBMClassifier(), numIterations=200, learningRate=0.3, metric="binary_logloss",
                         earlyStoppingRound=5).setValidationIndicatorCol("valid").fit(df)
    assert lgb.Booster(model_str=model.getNativeModel()).current_iteration() == ref.best_iteration
    (prob,) = collect(model.transform(df), "probability")
    assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL


def test_sparse_vectors_train_through_csr_as_lightgbm_does(spark):
    """Sparse feature vectors go to LightGBM as CSR (the first row is sparse): the same model as lightgbm's on the
    same matrix in scipy's CSR form; a dense row among them is taken as its non-zero entries."""
    from pyspark.ml.linalg import SparseVector
    from scipy.sparse import csr_matrix

    from irbis.lightgbm import LightGBMClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = np.where(X > np.median(X, axis=0), X, 0.0)
    rows = []
    for i in range(len(y)):
        nz = np.flatnonzero(X[i])
        vec = Vectors.dense(X[i].tolist()) if i == 5 else SparseVector(X.shape[1], nz.tolist(), X[i, nz].tolist())
        rows.append((i, vec, float(y[i])))
    df = spark.createDataFrame(rows, ["id", "features", "label"]).repartition(1).sortWithinPartitions("id")
    model = irbis_params(LightGBMClassifier(), numIterations=20).fit(df)
    (prob,) = collect(model.transform(df), "probability")
    ref = lgb.train({**BASE, "objective": "binary"}, lgb.Dataset(csr_matrix(X), y), 20)
    assert np.abs(prob[:, 1] - ref.predict(csr_matrix(X))).max() < TOL
