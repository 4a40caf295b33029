"""SynapseML's LightGBM code runs on Irbis with only the import changed: its documented examples, its Param names
(aliases where they differ from Irbis's), its model methods, and passThroughArgs as SynapseML documents it. Each
result is compared with lightgbm Python (3.3.5) on the same rows and parameters."""

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")
from lightgbm_data import BASE, TOL, collect, frame, irbis_params  # noqa: E402
from pyspark.ml.linalg import Vectors  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402


@pytest.fixture(scope="module")
def cancer(spark):
    X, y = load_breast_cancer(return_X_y=True)
    return X, y, frame(spark, X, y).cache()


def model_parameters(text):
    """The ``[name: value]`` lines of a LightGBM model text's parameters section."""
    out = {}
    for line in text.splitlines():
        if line.startswith("[") and ": " in line and line.endswith("]"):
            k, v = line[1:-1].split(": ", 1)
            out[k] = v
    return out


def test_synapseml_quickstart_classifier_runs_unchanged(spark, cancer, tmp_path):
    """SynapseML's LightGBM quickstart (classification): the constructor, fit, saveNativeModel,
    loadNativeModelFromFile, getFeatureImportances and transform, with only the import changed."""
    from irbis.lightgbm import LightGBMClassificationModel, LightGBMClassifier

    X, y, df = cancer
    model = LightGBMClassifier(objective="binary", featuresCol="features", labelCol="label", isUnbalance=True,
                               numThreads=1, deterministic=True)
    model = model.fit(df)
    path = str(tmp_path / "lgbmclassifier.model")
    model.saveNativeModel(path)
    model = LightGBMClassificationModel.loadNativeModelFromFile(path)
    ref = lgb.train({"objective": "binary", "is_unbalance": True, "num_threads": 1, "deterministic": True,
                     "verbose": -1}, lgb.Dataset(X, y), 100)
    assert np.allclose(model.getFeatureImportances(), ref.feature_importance("split"), rtol=0, atol=0)
    (prob,) = collect(model.transform(df), "probability")
    assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL


def test_synapseml_quickstart_quantile_regressor_and_ranker(spark):
    """The quickstart's quantile regression and ranker constructors (repartitionByGroupingColumn, leaf and SHAP
    columns, evalAt, metric), against lightgbm."""
    from irbis.lightgbm import LightGBMRanker, LightGBMRegressor

    X, y = load_diabetes(return_X_y=True)
    df = frame(spark, X, y)
    model = LightGBMRegressor(objective="quantile", alpha=0.2, learningRate=0.3, numLeaves=31, numThreads=1,
                              deterministic=True, numIterations=20).fit(df)
    ref = lgb.train({"objective": "quantile", "alpha": 0.2, "learning_rate": 0.3, "num_leaves": 31, "num_threads": 1,
                     "deterministic": True, "verbose": -1}, lgb.Dataset(X, y), 20)
    (pred,) = collect(model.transform(df), "prediction")
    # quantile leaves differ in the 8th digit between lightgbmlib's natives and lightgbm 3.3.5 (see the parity test).
    assert np.abs(pred - ref.predict(X)).max() < 1e-7 * np.abs(pred).max()
    assert len(model.getFeatureImportances()) == X.shape[1]

    rng = np.random.default_rng(3)
    Xr = rng.normal(size=(300, 5))
    yr = np.clip((Xr[:, 0] * 1.5 + rng.normal(scale=0.5, size=300)).round() + 1, 0, 3)
    query = np.repeat(np.arange(30), 10)
    dr = frame(spark, Xr, yr, query=query.tolist())
    ranker = LightGBMRanker(labelCol="label", featuresCol="features", groupCol="query", predictionCol="preds",
                            leafPredictionCol="leafPreds", featuresShapCol="importances",
                            repartitionByGroupingColumn=True, numLeaves=32, numIterations=20, evalAt=[1, 3, 5],
                            metric="ndcg", numThreads=1, deterministic=True, minDataInLeaf=5)
    ranked = ranker.fit(dr)
    preds, leaves, shap = collect(ranked.transform(dr), "preds", "leafPreds", "importances")
    rref = lgb.train({**BASE, "objective": "lambdarank", "num_leaves": 32, "eval_at": [1, 3, 5], "metric": "ndcg"},
                     lgb.Dataset(Xr, yr, group=np.full(30, 10, dtype=np.int32)), 20)
    assert np.abs(preds - rref.predict(Xr)).max() < TOL
    assert np.array_equal(leaves, rref.predict(Xr, pred_leaf=True))
    assert np.abs(shap - rref.predict(Xr, pred_contrib=True)).max() < TOL


def test_synapseml_setters_and_pass_through_args_as_documented(spark, cancer):
    """The Scala-style setters of SynapseML's examples (setDefaultListenPort with two workers; setTimeout takes a
    double of seconds, as SynapseML's) and its documented passThroughArgs, which set LightGBM parameters that a
    Param leaves at its default."""
    from irbis.lightgbm import LightGBMClassifier

    X, y, _ = cancer
    df2 = frame(spark, X, y, 2)
    two = (LightGBMClassifier().setFeaturesCol("features").setRawPredictionCol("rawPrediction")
           .setDefaultListenPort(12402).setTimeout(90.5).setNumLeaves(5).setNumIterations(10).setObjective("binary")
           .setLabelCol("label").setLeafPredictionCol("leafPrediction").setFeaturesShapCol("featuresShap"))
    fitted = two.fit(df2)
    assert fitted.getBoosterNumTotalIterations() == 10 and fitted.getTimeout() == 90.5
    assert LightGBMClassifier(timeout=600).getTimeout() == 600.0 and LightGBMClassifier().getTimeout() == 120.0
    refused = r"^LightGBMClassifier\.timeout: invalid value 0\.0\. Expected: > 0 and <= 2147483647$"
    with pytest.raises(ValueError, match=refused):
        LightGBMClassifier().setTimeout(0)
    prob, leaves = collect(fitted.transform(df2), "probability", "leafPrediction")
    assert leaves.shape == (len(y), 10)
    assert ((prob[:, 1] > 0.5) == y).mean() > 0.9

    _, _, df = cancer
    passed = irbis_params(LightGBMClassifier(), numIterations=15).setPassThroughArgs(
        "force_row_wise=true min_sum_hessian_in_leaf=2e-3 num_leaf=7").fit(df)
    params = model_parameters(passed.getNativeModel())
    assert params["min_sum_hessian_in_leaf"] == "0.002" and params["num_leaves"] == "7"
    ref = lgb.train({**BASE, "objective": "binary", "force_row_wise": True, "min_sum_hessian_in_leaf": 2e-3,
                     "num_leaves": 7}, lgb.Dataset(X, y), 15)
    (prob,) = collect(passed.transform(df), "probability")
    assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL


def test_seed_derives_the_other_seeds_as_in_lightgbm(spark, cancer):
    """`seed` alone sets bagging's and feature sampling's seeds, as LightGBM derives them (Irbis hands LightGBM only
    the Params that are set); an explicit baggingSeed wins over it, as in LightGBM."""
    from irbis.lightgbm import LightGBMClassifier

    X, y, df = cancer
    sampled = {"baggingFraction": 0.6, "baggingFreq": 1, "featureFraction": 0.7, "numIterations": 15}
    native = {**BASE, "objective": "binary", "bagging_fraction": 0.6, "bagging_freq": 1, "feature_fraction": 0.7}
    for extra, ref_extra in [({"seed": 777}, {"seed": 777}),
                             ({"seed": 777, "baggingSeed": 11}, {"seed": 777, "bagging_seed": 11})]:
        model = irbis_params(LightGBMClassifier(), **sampled, **extra).fit(df)
        ref = lgb.train({**native, **ref_extra}, lgb.Dataset(X, y), 15)
        (prob,) = collect(model.transform(df), "probability")
        assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL, extra


def test_synapseml_param_names_reach_lightgbm(spark, cancer):
    """Params SynapseML has beyond the issue's list (its names; catl2 and minDataPerBin as aliases of catL2 and
    minDataInBin) give lightgbm's model for the same LightGBM parameters."""
    from irbis.lightgbm import LightGBMClassifier

    X, y, df = cancer
    synapse = {"posBaggingFraction": 0.7, "negBaggingFraction": 0.8, "baggingFreq": 1, "featureFractionByNode": 0.8,
               "maxDeltaStep": 0.7, "minDataPerBin": 5, "monotoneConstraints": [1] + [0] * (X.shape[1] - 1),
               "monotoneConstraintsMethod": "intermediate", "catl2": 5.0, "maxCatThreshold": 16,
               "minDataPerGroup": 50, "dataRandomSeed": 9, "featureFractionSeed": 4, "useMissing": True,
               "zeroAsMissing": False, "isProvideTrainingMetric": True, "numIterations": 15}
    native = {"pos_bagging_fraction": 0.7, "neg_bagging_fraction": 0.8, "bagging_freq": 1,
              "feature_fraction_bynode": 0.8, "max_delta_step": 0.7, "min_data_in_bin": 5,
              "monotone_constraints": [1] + [0] * (X.shape[1] - 1), "monotone_constraints_method": "intermediate",
              "cat_l2": 5.0, "max_cat_threshold": 16, "min_data_per_group": 50, "data_random_seed": 9,
              "feature_fraction_seed": 4, "use_missing": True, "zero_as_missing": False,
              "is_provide_training_metric": True}
    model = irbis_params(LightGBMClassifier(), **synapse).fit(df)
    assert model.getOrDefault("catL2") == 10.0 and model._java_obj.getCatL2() == 5.0
    ref = lgb.train({**BASE, "objective": "binary", **native}, lgb.Dataset(X, y), 15)
    (prob,) = collect(model.transform(df), "probability")
    assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL
    with pytest.raises(Exception, match=r"catL2: set to 6\.0 and 5\.0 \(through catL2 and catl2\)"):
        irbis_params(LightGBMClassifier(), catl2=5.0, catL2=6.0, numIterations=2).fit(df)


def test_synapseml_model_methods_match_lightgbm(spark, cancer):
    """getFeatureShaps (and the dense and sparse forms), getBooster*, startIteration/numIterations,
    predictDisableShapeCheck and getBoosterBestIteration, each against lightgbm's Booster."""
    from irbis.lightgbm import LightGBMClassifier

    X, y, df = cancer
    model = irbis_params(LightGBMClassifier(), numIterations=20).fit(df)
    ref = lgb.train({**BASE, "objective": "binary"}, lgb.Dataset(X, y), 20)
    contrib = ref.predict(X[:3], pred_contrib=True)
    assert np.abs(np.array(model.getFeatureShaps(Vectors.dense(X[0].tolist()))) - contrib[0]).max() < TOL
    assert np.abs(np.array(model.getDenseFeatureShaps(X[1].tolist())) - contrib[1]).max() < TOL
    nz = np.flatnonzero(X[2])
    assert np.abs(np.array(model.getSparseFeatureShaps(X.shape[1], nz.tolist(), X[2, nz].tolist()))
                  - contrib[2]).max() < TOL
    assert model.getBoosterNumTotalIterations() == ref.current_iteration() == 20
    assert model.getBoosterNumTotalModel() == ref.num_trees()
    assert model.getBoosterNumFeatures() == ref.num_feature()
    assert model.getBoosterNumClasses() == 1 and model.getActualNumClasses() == 2
    assert model.getBoosterBestIteration() == -1

    part = model.copy().setStartIteration(5).setNumIterations(8)
    (raw,) = collect(part.transform(df), "rawPrediction")
    assert np.abs(raw[:, 1] - ref.predict(X, raw_score=True, start_iteration=5, num_iteration=8)).max() < TOL
    leaves = collect(part.setLeafPredictionCol("leaf").transform(df), "leaf")[0]
    assert np.array_equal(leaves, ref.predict(X, pred_leaf=True, start_iteration=5, num_iteration=8))

    wider = frame(spark, np.column_stack([X, np.ones((len(y), 2))]), y)
    with pytest.raises(Exception, match=r"has size 32\. Expected: 30, the model's number of features"):
        model.transform(wider).collect()
    (prob,) = collect(model.copy().setPredictDisableShapeCheck(True).transform(wider), "probability")
    assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL

    rng = np.random.default_rng(11)
    valid = rng.random(len(y)) < 0.3
    dv = frame(spark, X, y, valid=valid.tolist())
    stopped = irbis_params(LightGBMClassifier(), numIterations=200, learningRate=0.3, metric="binary_logloss",
                           earlyStoppingRound=5).setValidationIndicatorCol("valid").fit(dv)
    sref = lgb.train({**BASE, "objective": "binary", "learning_rate": 0.3, "metric": "binary_logloss",
                      "early_stopping_round": 5}, lgb.Dataset(X[~valid], y[~valid]), 200,
                     valid_sets=[lgb.Dataset(X[valid], y[valid])], verbose_eval=False)
    assert stopped.getBoosterBestIteration() == sref.best_iteration > 0


def test_model_string_continues_training_as_lightgbm_init_model(spark, cancer):
    """modelString: training goes on from a model, as lightgbm.train(init_model=...) does (its trees first, the rows'
    initial scores its raw scores), also with early stopping on validation rows."""
    from irbis.lightgbm import LightGBMClassifier

    X, y, df = cancer
    first = irbis_params(LightGBMClassifier(), numIterations=8).fit(df)
    ref_first = lgb.train({**BASE, "objective": "binary"}, lgb.Dataset(X, y), 8)
    more = irbis_params(LightGBMClassifier(), numIterations=6, learningRate=0.2).setModelString(
        first.getNativeModel()).fit(df)
    ref = lgb.train({**BASE, "objective": "binary", "learning_rate": 0.2}, lgb.Dataset(X, y), 6, init_model=ref_first)
    assert more.getBoosterNumTotalIterations() == ref.current_iteration() == 14
    (prob,) = collect(more.transform(df), "probability")
    assert np.abs(prob[:, 1] - ref.predict(X)).max() < TOL
    with pytest.raises(Exception, match=r"modelString and initScoreCol are both set"):
        LightGBMClassifier(modelString=first.getNativeModel(), initScoreCol="label").fit(df)
    with pytest.raises(Exception, match=r"not a LightGBM model"):
        LightGBMClassifier(modelString="tree\nnonsense").fit(df)


def test_improvement_tolerance_stops_where_the_recorded_metric_says(spark, cancer):
    """improvementTolerance: the stop that lightgbm's recorded validation metric gives when an improvement must
    exceed the tolerance (lightgbm 3.3.5 has no tolerance, so the expected stop is computed from its history)."""
    from irbis.lightgbm import LightGBMClassifier

    X, y, _ = cancer
    rng = np.random.default_rng(11)
    valid = rng.random(len(y)) < 0.3
    dv = frame(spark, X, y, valid=valid.tolist())
    history = {}
    lgb.train({**BASE, "objective": "binary", "learning_rate": 0.3, "metric": "binary_logloss"},
              lgb.Dataset(X[~valid], y[~valid]), 200, valid_sets=[lgb.Dataset(X[valid], y[valid])],
              valid_names=["v"], callbacks=[lgb.record_evaluation(history)], verbose_eval=False)
    losses = history["v"]["binary_logloss"]
    tolerance, rounds = 0.01, 3
    best, best_at, expected = losses[0], 0, None
    for i, loss in enumerate(losses[1:], start=1):
        if loss < best - tolerance:
            best, best_at = loss, i
        elif i - best_at >= rounds:
            expected = best_at + 1
            break
    assert expected is not None
    model = irbis_params(LightGBMClassifier(), numIterations=200, learningRate=0.3, metric="binary_logloss",
                         earlyStoppingRound=rounds, improvementTolerance=tolerance).setValidationIndicatorCol(
        "valid").fit(dv)
    assert model.getBoosterBestIteration() == expected
    assert model.getBoosterNumTotalIterations() == expected


def test_what_irbis_cannot_do_is_refused_with_what_to_do(spark, cancer):
    from irbis.lightgbm import LightGBMClassifier

    _, _, df = cancer
    with pytest.raises(Exception, match=r"numBatches: 2, but Irbis trains on all rows at once\. Expected: 0"):
        LightGBMClassifier(numBatches=2).fit(df)
    with pytest.raises(Exception, match=r"deviceType: 'gpu', but the LightGBM natives Irbis ships run on CPUs"):
        LightGBMClassifier(deviceType="gpu").fit(df)
    five = df.withColumn("label", (df["id"] % 5).cast("double"))
    with pytest.raises(Exception, match=r"labelCol 'label' has 5 classes \(labels 0\.\.4\)\. Expected: at most "
                                        r"maxNumClasses \(3\)"):
        LightGBMClassifier(maxNumClasses=3).fit(five)
