package irbis.lightgbm

import scala.collection.mutable

import irbis.core._
import org.apache.spark.ml.param._

/**
 * LightGBM's parameters as Spark Params: LightGBM's names in camelCase (as SynapseML names them), LightGBM's
 * defaults and ranges. Each Param that LightGBM reads is registered with its LightGBM name, so the parameter
 * text handed to LightGBM is built from the table, not by hand.
 */
trait LightGBMParams extends Params with LightGBMExecutionParams {
  private val nativeNames = mutable.LinkedHashMap[Param[_], String]()
  protected def native[P <: Param[_]](p: P, lightgbmName: String): P = { nativeNames(p) = lightgbmName; p }
  private val aliases = mutable.LinkedHashMap[Param[_], Param[_]]()

  /** `synapse` is SynapseML's name of `target`: setting either sets LightGBM's parameter (both set: they must agree). */
  protected def alias[P <: Param[_]](synapse: P, target: P): P = { aliases(synapse) = target; synapse }

  final val objective = native(new StringParam(this, "objective",
      "LightGBM's objective: binary, multiclass, multiclassova, cross_entropy (classifier); regression, " +
        "regression_l1, huber, fair, poisson, quantile, mape, gamma, tweedie (regressor); lambdarank, rank_xendcg " +
        "(ranker).", Validators.nonEmpty), "objective")
  final val boostingType = native(new EnumParam(this, "boostingType",
      "The boosting algorithm (LightGBM's `boosting`): gbdt, rf (random forest, needs bagging), dart, goss.",
      Seq("gbdt", "rf", "dart", "goss")), "boosting")
  final val numIterations = native(new IntParam(this, "numIterations",
      "Boosting iterations (LightGBM's num_iterations; trees per class).", Validators.gtEq(0)), "num_iterations")
  final val learningRate = native(new DoubleParam(this, "learningRate", "Shrinkage rate.", Validators.gt(0)),
    "learning_rate")
  final val numLeaves = native(new IntParam(this, "numLeaves", "Maximum leaves in one tree.",
      Validators.inRange(2, 131072)), "num_leaves")
  final val maxDepth = native(new IntParam(this, "maxDepth", "Maximum tree depth; <= 0 means no limit."), "max_depth")
  final val minDataInLeaf = native(new IntParam(this, "minDataInLeaf", "Minimal number of rows in one leaf.",
      Validators.gtEq(0)), "min_data_in_leaf")
  final val minSumHessianInLeaf = native(new DoubleParam(this, "minSumHessianInLeaf",
      "Minimal sum of hessians in one leaf.", Validators.gtEq(0)), "min_sum_hessian_in_leaf")
  final val minGainToSplit = native(new DoubleParam(this, "minGainToSplit", "Minimal gain to perform a split.",
      Validators.gtEq(0)), "min_gain_to_split")
  final val featureFraction = native(new DoubleParam(this, "featureFraction",
      "Fraction of features sampled for each tree.", Validators.inRange(0, 1, lowerInclusive = false)),
    "feature_fraction")
  final val baggingFraction = native(new DoubleParam(this, "baggingFraction",
      "Fraction of rows sampled for each bagging round (with baggingFreq > 0).",
      Validators.inRange(0, 1, lowerInclusive = false)), "bagging_fraction")
  final val baggingFreq = native(new IntParam(this, "baggingFreq", "Bag every k iterations; 0 disables bagging.",
      Validators.gtEq(0)), "bagging_freq")
  final val baggingSeed = native(new IntParam(this, "baggingSeed", "Random seed of bagging."), "bagging_seed")
  final val lambdaL1 = native(new DoubleParam(this, "lambdaL1", "L1 regularization.", Validators.gtEq(0)), "lambda_l1")
  final val lambdaL2 = native(new DoubleParam(this, "lambdaL2", "L2 regularization.", Validators.gtEq(0)), "lambda_l2")
  final val maxBin = native(new IntParam(this, "maxBin", "Maximum number of bins feature values are bucketed in.",
      Validators.gt(1)), "max_bin")
  final val minDataInBin = native(new IntParam(this, "minDataInBin", "Minimal number of rows in one bin.",
      Validators.gt(0)), "min_data_in_bin")
  final val binSampleCount = native(new IntParam(this, "binSampleCount",
      "Rows sampled to find bin boundaries (LightGBM's bin_construct_sample_cnt).", Validators.gt(0)),
    "bin_construct_sample_cnt")
  final val dropRate = native(new DoubleParam(this, "dropRate", "dart: fraction of trees dropped.",
      Validators.inRange(0, 1)), "drop_rate")
  final val maxDrop =
    native(new IntParam(this, "maxDrop", "dart: most trees dropped in one iteration; <= 0: no limit."),
      "max_drop")
  final val skipDrop = native(new DoubleParam(this, "skipDrop", "dart: probability of skipping dropout.",
      Validators.inRange(0, 1)), "skip_drop")
  final val topRate = native(new DoubleParam(this, "topRate", "goss: retain ratio of large gradient rows.",
      Validators.inRange(0, 1)), "top_rate")
  final val otherRate = native(new DoubleParam(this, "otherRate", "goss: retain ratio of small gradient rows.",
      Validators.inRange(0, 1)), "other_rate")
  final val boostFromAverage = native(new BooleanParam(this, "boostFromAverage",
      "Start from the label's average (the initial score), as LightGBM does by default."), "boost_from_average")
  final val metric = native(new StringParam(this, "metric",
      "Evaluation metric(s) on the validation rows, comma-separated (e.g. auc,binary_logloss); empty: the " +
        "objective's own metric."), "metric")
  final val seed = native(new IntParam(this, "seed",
      "Master random seed (LightGBM derives its other seeds from it); unset: LightGBM's fixed defaults."), "seed")
  final val deterministic = native(new BooleanParam(this, "deterministic",
      "Same model for the same data and parameters (LightGBM's deterministic; use with numThreads=1 for bitwise " +
        "repeatability)."), "deterministic")
  final val verbosity = native(new IntParam(this, "verbosity",
      "LightGBM's log level: < 0 fatal only, 0 warnings, 1 info, > 1 debug (printed to the executors' stdout)."),
    "verbosity")
  final val categoricalSlotIndexes = new IntArrayParam(this, "categoricalSlotIndexes",
    "Indexes of the feature vector's slots that are categorical (non-negative integer values).",
    Validators.each(Validators.gtEq(0)))
  final val categoricalSlotNames = new StringArrayParam(this, "categoricalSlotNames",
    "Names of categorical slots, as the feature vector's ML attribute metadata names them (VectorAssembler " +
      "writes them).")
  final val maxCatToOnehot = native(new IntParam(this, "maxCatToOnehot",
      "Categorical features with at most this many values are split one-vs-rest.", Validators.gt(0)),
    "max_cat_to_onehot")
  final val catSmooth = native(new DoubleParam(this, "catSmooth", "Smoothing of categorical splits.",
      Validators.gtEq(0)), "cat_smooth")
  final val catL2 = native(new DoubleParam(this, "catL2", "L2 regularization of categorical splits.",
      Validators.gtEq(0)), "cat_l2")

  final val maxCatThreshold = native(new IntParam(this, "maxCatThreshold",
      "Most split points considered for one categorical feature.", Validators.gt(0)), "max_cat_threshold")
  final val minDataPerGroup = native(new IntParam(this, "minDataPerGroup",
      "Minimal number of rows per categorical group.", Validators.gt(0)), "min_data_per_group")
  final val posBaggingFraction = native(new DoubleParam(this, "posBaggingFraction",
      "binary: fraction of positive rows sampled for each bagging round (with baggingFreq > 0).",
      Validators.inRange(0, 1, lowerInclusive = false)), "pos_bagging_fraction")
  final val negBaggingFraction = native(new DoubleParam(this, "negBaggingFraction",
      "binary: fraction of negative rows sampled for each bagging round (with baggingFreq > 0).",
      Validators.inRange(0, 1, lowerInclusive = false)), "neg_bagging_fraction")
  final val featureFractionByNode = native(new DoubleParam(this, "featureFractionByNode",
      "Fraction of features sampled at each tree node.", Validators.inRange(0, 1, lowerInclusive = false)),
    "feature_fraction_bynode")
  final val xGBoostDartMode = native(new BooleanParam(this, "xGBoostDartMode",
      "dart: xgboost's dart mode (LightGBM's xgboost_dart_mode)."), "xgboost_dart_mode")
  final val uniformDrop = native(new BooleanParam(this, "uniformDrop", "dart: drop trees uniformly."), "uniform_drop")
  final val maxDeltaStep = native(new DoubleParam(this, "maxDeltaStep",
      "Limit of a leaf's output; <= 0: no limit."), "max_delta_step")
  final val maxBinByFeature = native(new IntArrayParam(this, "maxBinByFeature",
      "maxBin for each feature, in slot order; empty: maxBin for all.", Validators.each(Validators.gt(1))),
    "max_bin_by_feature")
  final val monotoneConstraints = native(new IntArrayParam(this, "monotoneConstraints",
      "Per feature, in slot order: 1 increasing, -1 decreasing, 0 no constraint; empty: none.",
      Validators.each(Validators.inRange(-1, 1))), "monotone_constraints")
  final val monotoneConstraintsMethod = native(new EnumParam(this, "monotoneConstraintsMethod",
      "How monotoneConstraints are enforced: basic, intermediate, advanced.", Seq("basic", "intermediate", "advanced")),
    "monotone_constraints_method")
  final val monotonePenalty = native(new DoubleParam(this, "monotonePenalty",
      "Penalty on splits of monotone features near the root.", Validators.gtEq(0)), "monotone_penalty")
  final val featureFractionSeed = native(new IntParam(this, "featureFractionSeed",
      "Random seed of featureFraction; unset: derived from seed, else LightGBM's default (2)."),
    "feature_fraction_seed")
  final val extraSeed = native(new IntParam(this, "extraSeed",
      "Random seed of extra trees; unset: derived from seed, else LightGBM's default (6)."), "extra_seed")
  final val dropSeed = native(new IntParam(this, "dropSeed",
      "dart: random seed of dropping; unset: derived from seed, else LightGBM's default (4)."), "drop_seed")
  final val dataRandomSeed = native(new IntParam(this, "dataRandomSeed",
      "Random seed of sampling rows for bin boundaries; unset: derived from seed, else LightGBM's default (1)."),
    "data_random_seed")
  final val objectiveSeed = native(new IntParam(this, "objectiveSeed",
      "Random seed of objectives that sample (rank_xendcg); unset: derived from seed, else LightGBM's default (5)."),
    "objective_seed")
  final val isProvideTrainingMetric = native(new BooleanParam(this, "isProvideTrainingMetric",
      "Evaluate the metrics on the training rows too (printed by LightGBM at verbosity >= 1)."),
    "is_provide_training_metric")
  final val useMissing = native(new BooleanParam(this, "useMissing",
      "Treat missing values (NaN) specially; false: as numbers."), "use_missing")
  final val zeroAsMissing = native(new BooleanParam(this, "zeroAsMissing",
      "Treat zeros (and absent sparse values) as missing."), "zero_as_missing")
  final val isEnableSparse = native(new BooleanParam(this, "isEnableSparse",
      "Let LightGBM store sparse features sparsely."), "is_enable_sparse")
  final val catl2 = alias(new DoubleParam(this, "catl2", "SynapseML's name of catL2.", Validators.gtEq(0)), catL2)
  final val minDataPerBin = alias(new IntParam(this, "minDataPerBin", "SynapseML's name of minDataInBin.",
      Validators.gt(0)), minDataInBin)
  final val modelString = new StringParam(this, "modelString",
    "A LightGBM model text to continue training from, as lightgbm.train's init_model: the rows start from its raw " +
      "scores and the new model holds its trees, then the new ones; empty: train from scratch.")
  final val improvementTolerance = new DoubleParam(this, "improvementTolerance",
    "earlyStoppingRound: a validation metric counts as improved only when it gets better by more than this.",
    Validators.gtEq(0))

  final val earlyStoppingRound = new IntParam(this, "earlyStoppingRound",
    "Stop when no validation metric improved in this many iterations (needs validationIndicatorCol); the model " +
      "keeps the best iteration, as lightgbm.train does. 0 disables.", Validators.gtEq(0))
  final val numThreads = new IntParam(this, "numThreads",
    "OpenMP threads of each LightGBM worker (one per Spark task); 0: the cores of one Spark task " +
      "(spark.task.cpus), so that the tasks of one executor do not oversubscribe its cores.", Validators.gtEq(0))
  final val parallelism = new EnumParam(this, "parallelism",
    "How several workers share the work (LightGBM's tree_learner): data_parallel or voting_parallel.",
    Seq("data_parallel", "voting_parallel"))
  final val topK = native(new IntParam(this, "topK", "voting_parallel: features each worker votes for.",
      Validators.gt(0)), "top_k")
  final val numTasks = new IntParam(this, "numTasks",
    "LightGBM workers, one per Spark task, started together (barrier mode); 0: the input's partition count, " +
      "capped at the cluster's task slots. Above the slots available is refused.", Validators.gtEq(0))
  final val timeout = new WidenedDoubleParam(this, "timeout",
    "Seconds a worker waits for another (to connect, or for its next message) before the fit fails; LightGBM " +
      "counts whole minutes (rounded up). A lost executor costs up to this before Spark reruns the workers. A " +
      "double, as SynapseML's timeout (whose default is 1200; Irbis's is 120).",
    Validators.inRange(0, Int.MaxValue, lowerInclusive = false))
  final val passThroughArgs = new StringParam(this, "passThroughArgs",
    "Any other LightGBM parameter, as space-separated key=value text (e.g. 'extra_trees=true max_cat_threshold=16'); " +
      "keys (or their aliases) are checked against LightGBM's own list. A key wins over a Param left at its default, " +
      "as in SynapseML; a key whose Param is set must agree with it; keys Irbis sets (objective, num_iterations, " +
      "num_threads, tree_learner, ...) are refused, naming the Param to set instead.")

  final val weightCol = new StringParam(this, "weightCol", "Column of non-negative row weights; empty: all 1.")
  final val initScoreCol = new StringParam(this, "initScoreCol",
    "Column of initial scores (raw margins) to boost from: a number, or one per class (vector or array) for " +
      "multiclass; empty: none. The model's scores do not include them, as in LightGBM.")
  final val validationIndicatorCol = new StringParam(this, "validationIndicatorCol",
    "Boolean column marking validation rows (for metric and earlyStoppingRound); empty: none.")
  final val featuresShapCol = new StringParam(this, "featuresShapCol",
    "Output column of SHAP feature contributions (LightGBM's pred_contrib: one per feature, then the expected " +
      "value; per class for multiclass); empty: not computed.")
  final val leafPredictionCol = new StringParam(this, "leafPredictionCol",
    "Output column of each tree's leaf index (LightGBM's pred_leaf); empty: not computed.")

  setDefault(boostingType -> "gbdt", numIterations -> 100, learningRate -> 0.1, numLeaves -> 31, maxDepth -> -1,
    minDataInLeaf -> 20, minSumHessianInLeaf -> 1e-3, minGainToSplit -> 0.0, featureFraction -> 1.0,
    baggingFraction -> 1.0, baggingFreq -> 0, baggingSeed -> 3, lambdaL1 -> 0.0, lambdaL2 -> 0.0, maxBin -> 255,
    minDataInBin -> 3, binSampleCount -> 200000, dropRate -> 0.1, maxDrop -> 50, skipDrop -> 0.5, topRate -> 0.2,
    otherRate -> 0.1, boostFromAverage -> true, metric -> "", deterministic -> false, verbosity -> -1,
    categoricalSlotIndexes -> Array.emptyIntArray, categoricalSlotNames -> Array.empty[String], maxCatToOnehot -> 4,
    catSmooth -> 10.0, catL2 -> 10.0, earlyStoppingRound -> 0, numThreads -> 0, parallelism -> "data_parallel",
    topK -> 20, numTasks -> 0, timeout -> 120.0, passThroughArgs -> "", weightCol -> "", initScoreCol -> "",
    validationIndicatorCol -> "", featuresShapCol -> "", leafPredictionCol -> "", maxCatThreshold -> 32,
    minDataPerGroup -> 100, posBaggingFraction -> 1.0, negBaggingFraction -> 1.0, featureFractionByNode -> 1.0,
    xGBoostDartMode -> false, uniformDrop -> false, maxDeltaStep -> 0.0, maxBinByFeature -> Array.emptyIntArray,
    monotoneConstraints -> Array.emptyIntArray, monotoneConstraintsMethod -> "basic", monotonePenalty -> 0.0,
    isProvideTrainingMetric -> false, useMissing -> true, zeroAsMissing -> false, isEnableSparse -> true,
    catl2 -> 10.0, minDataPerBin -> 3, improvementTolerance -> 0.0, modelString -> "")

  def setObjective(v: String): this.type = set(objective, v)
  def setBoostingType(v: String): this.type = set(boostingType, v)
  def setNumIterations(v: Int): this.type = set(numIterations, v)
  def setLearningRate(v: Double): this.type = set(learningRate, v)
  def setNumLeaves(v: Int): this.type = set(numLeaves, v)
  def setMaxDepth(v: Int): this.type = set(maxDepth, v)
  def setMinDataInLeaf(v: Int): this.type = set(minDataInLeaf, v)
  def setMinSumHessianInLeaf(v: Double): this.type = set(minSumHessianInLeaf, v)
  def setMinGainToSplit(v: Double): this.type = set(minGainToSplit, v)
  def setFeatureFraction(v: Double): this.type = set(featureFraction, v)
  def setBaggingFraction(v: Double): this.type = set(baggingFraction, v)
  def setBaggingFreq(v: Int): this.type = set(baggingFreq, v)
  def setBaggingSeed(v: Int): this.type = set(baggingSeed, v)
  def setLambdaL1(v: Double): this.type = set(lambdaL1, v)
  def setLambdaL2(v: Double): this.type = set(lambdaL2, v)
  def setMaxBin(v: Int): this.type = set(maxBin, v)
  def setMinDataInBin(v: Int): this.type = set(minDataInBin, v)
  def setBinSampleCount(v: Int): this.type = set(binSampleCount, v)
  def setDropRate(v: Double): this.type = set(dropRate, v)
  def setMaxDrop(v: Int): this.type = set(maxDrop, v)
  def setSkipDrop(v: Double): this.type = set(skipDrop, v)
  def setTopRate(v: Double): this.type = set(topRate, v)
  def setOtherRate(v: Double): this.type = set(otherRate, v)
  def setBoostFromAverage(v: Boolean): this.type = set(boostFromAverage, v)
  def setMetric(v: String): this.type = set(metric, v)
  def setSeed(v: Int): this.type = set(seed, v)
  def setDeterministic(v: Boolean): this.type = set(deterministic, v)
  def setVerbosity(v: Int): this.type = set(verbosity, v)
  def setCategoricalSlotIndexes(v: Array[Int]): this.type = set(categoricalSlotIndexes, v)
  def setCategoricalSlotNames(v: Array[String]): this.type = set(categoricalSlotNames, v)
  def setMaxCatToOnehot(v: Int): this.type = set(maxCatToOnehot, v)
  def setCatSmooth(v: Double): this.type = set(catSmooth, v)
  def setCatL2(v: Double): this.type = set(catL2, v)
  def setMaxCatThreshold(v: Int): this.type = set(maxCatThreshold, v)
  def setMinDataPerGroup(v: Int): this.type = set(minDataPerGroup, v)
  def setPosBaggingFraction(v: Double): this.type = set(posBaggingFraction, v)
  def setNegBaggingFraction(v: Double): this.type = set(negBaggingFraction, v)
  def setFeatureFractionByNode(v: Double): this.type = set(featureFractionByNode, v)
  def setXGBoostDartMode(v: Boolean): this.type = set(xGBoostDartMode, v)
  def setUniformDrop(v: Boolean): this.type = set(uniformDrop, v)
  def setMaxDeltaStep(v: Double): this.type = set(maxDeltaStep, v)
  def setMaxBinByFeature(v: Array[Int]): this.type = set(maxBinByFeature, v)
  def setMonotoneConstraints(v: Array[Int]): this.type = set(monotoneConstraints, v)
  def setMonotoneConstraintsMethod(v: String): this.type = set(monotoneConstraintsMethod, v)
  def setMonotonePenalty(v: Double): this.type = set(monotonePenalty, v)
  def setFeatureFractionSeed(v: Int): this.type = set(featureFractionSeed, v)
  def setExtraSeed(v: Int): this.type = set(extraSeed, v)
  def setDropSeed(v: Int): this.type = set(dropSeed, v)
  def setDataRandomSeed(v: Int): this.type = set(dataRandomSeed, v)
  def setObjectiveSeed(v: Int): this.type = set(objectiveSeed, v)
  def setIsProvideTrainingMetric(v: Boolean): this.type = set(isProvideTrainingMetric, v)
  def setUseMissing(v: Boolean): this.type = set(useMissing, v)
  def setZeroAsMissing(v: Boolean): this.type = set(zeroAsMissing, v)
  def setIsEnableSparse(v: Boolean): this.type = set(isEnableSparse, v)
  def setCatl2(v: Double): this.type = set(catl2, v)
  def setMinDataPerBin(v: Int): this.type = set(minDataPerBin, v)
  def setModelString(v: String): this.type = set(modelString, v)
  def getModelString: String = $(modelString)
  def setImprovementTolerance(v: Double): this.type = set(improvementTolerance, v)
  def setEarlyStoppingRound(v: Int): this.type = set(earlyStoppingRound, v)
  def setNumThreads(v: Int): this.type = set(numThreads, v)
  def setParallelism(v: String): this.type = set(parallelism, v)
  def setTopK(v: Int): this.type = set(topK, v)
  def setNumTasks(v: Int): this.type = set(numTasks, v)
  def setTimeout(v: Double): this.type = set(timeout, v)
  def setPassThroughArgs(v: String): this.type = set(passThroughArgs, v)
  def setWeightCol(v: String): this.type = set(weightCol, v)
  def setInitScoreCol(v: String): this.type = set(initScoreCol, v)
  def setValidationIndicatorCol(v: String): this.type = set(validationIndicatorCol, v)
  def setFeaturesShapCol(v: String): this.type = set(featuresShapCol, v)
  def setLeafPredictionCol(v: String): this.type = set(leafPredictionCol, v)
  def getObjective: String = $(objective)
  def getBoostingType: String = $(boostingType)
  def getNumIterations: Int = $(numIterations)
  def getLearningRate: Double = $(learningRate)
  def getNumLeaves: Int = $(numLeaves)
  def getMaxDepth: Int = $(maxDepth)
  def getMinDataInLeaf: Int = $(minDataInLeaf)
  def getMinSumHessianInLeaf: Double = $(minSumHessianInLeaf)
  def getMinGainToSplit: Double = $(minGainToSplit)
  def getFeatureFraction: Double = $(featureFraction)
  def getBaggingFraction: Double = $(baggingFraction)
  def getBaggingFreq: Int = $(baggingFreq)
  def getBaggingSeed: Int = $(baggingSeed)
  def getLambdaL1: Double = $(lambdaL1)
  def getLambdaL2: Double = $(lambdaL2)
  def getMaxBin: Int = $(maxBin)
  def getMinDataInBin: Int = effective(minDataInBin).getOrElse($(minDataInBin))
  def getBinSampleCount: Int = $(binSampleCount)
  def getDropRate: Double = $(dropRate)
  def getMaxDrop: Int = $(maxDrop)
  def getSkipDrop: Double = $(skipDrop)
  def getTopRate: Double = $(topRate)
  def getOtherRate: Double = $(otherRate)
  def getBoostFromAverage: Boolean = $(boostFromAverage)
  def getMetric: String = $(metric)
  def getSeed: Int = $(seed)
  def getDeterministic: Boolean = $(deterministic)
  def getVerbosity: Int = $(verbosity)
  def getCategoricalSlotIndexes: Array[Int] = $(categoricalSlotIndexes)
  def getCategoricalSlotNames: Array[String] = $(categoricalSlotNames)
  def getMaxCatToOnehot: Int = $(maxCatToOnehot)
  def getCatSmooth: Double = $(catSmooth)
  def getCatL2: Double = effective(catL2).getOrElse($(catL2))
  def getMaxCatThreshold: Int = $(maxCatThreshold)
  def getMinDataPerGroup: Int = $(minDataPerGroup)
  def getPosBaggingFraction: Double = $(posBaggingFraction)
  def getNegBaggingFraction: Double = $(negBaggingFraction)
  def getFeatureFractionByNode: Double = $(featureFractionByNode)
  def getXGBoostDartMode: Boolean = $(xGBoostDartMode)
  def getUniformDrop: Boolean = $(uniformDrop)
  def getMaxDeltaStep: Double = $(maxDeltaStep)
  def getMaxBinByFeature: Array[Int] = $(maxBinByFeature)
  def getMonotoneConstraints: Array[Int] = $(monotoneConstraints)
  def getMonotoneConstraintsMethod: String = $(monotoneConstraintsMethod)
  def getMonotonePenalty: Double = $(monotonePenalty)
  def getFeatureFractionSeed: Int = $(featureFractionSeed)
  def getExtraSeed: Int = $(extraSeed)
  def getDropSeed: Int = $(dropSeed)
  def getDataRandomSeed: Int = $(dataRandomSeed)
  def getObjectiveSeed: Int = $(objectiveSeed)
  def getIsProvideTrainingMetric: Boolean = $(isProvideTrainingMetric)
  def getUseMissing: Boolean = $(useMissing)
  def getZeroAsMissing: Boolean = $(zeroAsMissing)
  def getIsEnableSparse: Boolean = $(isEnableSparse)
  def getCatl2: Double = effective(catL2).getOrElse($(catL2))
  def getMinDataPerBin: Int = effective(minDataInBin).getOrElse($(minDataInBin))
  def getImprovementTolerance: Double = $(improvementTolerance)
  def getEarlyStoppingRound: Int = $(earlyStoppingRound)
  def getNumThreads: Int = $(numThreads)
  def getParallelism: String = $(parallelism)
  def getTopK: Int = $(topK)
  def getNumTasks: Int = $(numTasks)
  def getTimeout: Double = $(timeout)
  def getPassThroughArgs: String = $(passThroughArgs)
  def getWeightCol: String = $(weightCol)
  def getInitScoreCol: String = $(initScoreCol)
  def getValidationIndicatorCol: String = $(validationIndicatorCol)
  def getFeaturesShapCol: String = $(featuresShapCol)
  def getLeafPredictionCol: String = $(leafPredictionCol)

  /** The Params whose value a fit hands LightGBM even when left at their default (which differs from LightGBM's). */
  private def passedByDefault: Set[Param[_]] = Set(verbosity, objective)

  /** A Param's value, also when set through its SynapseML alias (see [[alias]]); set both ways, they must agree. */
  private[lightgbm] def effective[T](p: Param[T]): Option[T] = {
    val names = p +: aliases.collect { case (a, target) if target eq p => a.asInstanceOf[Param[T]] }.toSeq
    names.flatMap(get(_)).distinct match {
      case Seq() => None
      case Seq(v) => Some(v)
      case values => throw new IllegalArgumentException(s"$uid.${p.name}: set to ${values.mkString(" and ")} " +
          s"(through ${names.map(_.name).mkString(" and ")}). Expected: one value")
    }
  }

  /**
   * passThroughArgs as pairs, each key checked against LightGBM's list and resolved to its LightGBM name. A key wins
   * over a Param left at its default (as in SynapseML); a key whose Param is also set must agree with it; keys that
   * Irbis sets from other Params or derives during the fit are refused, naming what to set instead.
   */
  private[lightgbm] def passThrough: Seq[(String, String)] = {
    val pairs = $(passThroughArgs).trim.split("\\s+").filter(_.nonEmpty).toSeq.map { kv =>
      val i = kv.indexOf('=')
      if (i <= 0 || i == kv.length - 1) throw new IllegalArgumentException(
        s"$uid.passThroughArgs: invalid entry '$kv'. Expected: key=value pairs separated by spaces")
      val (k, v) = (kv.substring(0, i), kv.substring(i + 1))
      val name = LightGBMNative.parameterNames.getOrElse(k,
        throw new IllegalArgumentException(
          s"$uid.passThroughArgs: unknown LightGBM parameter '$k'. Expected: a parameter of LightGBM " +
            s"${LightGBMNative.Version} (https://lightgbm.readthedocs.io/en/v3.3.5/Parameters.html)"))
      LightGBMParams.setByIrbis.get(name).foreach { instead =>
        throw new IllegalArgumentException(
          s"$uid.passThroughArgs: '$k' (LightGBM's $name) is set by Irbis. Expected: $instead")
      }
      nativeNames.collectFirst { case (p, n) if n == name => p }.foreach { p =>
        effective(p.asInstanceOf[Param[Any]]).map(LightGBMParams.text).filter(_ != v).foreach { set =>
          throw new IllegalArgumentException(s"$uid.passThroughArgs: '$k=$v', but Param ${p.name} is set to $set. " +
            s"Expected: one of the two (passThroughArgs wins over a Param left at its default)")
        }
      }
      name -> v
    }
    pairs.groupBy(_._1).collectFirst {
      case (n, kvs) if kvs.length > 1 =>
        throw new IllegalArgumentException(
          s"$uid.passThroughArgs: LightGBM's $n given ${kvs.length} times. Expected: once")
    }
    pairs
  }

  /**
   * Every LightGBM parameter this stage sets, in LightGBM's names, before the fit adds what it derives: the Params
   * that are set (or whose default differs from LightGBM's), then passThroughArgs. A Param left at LightGBM's default
   * is not passed, so that LightGBM's own rules apply (e.g. `seed` derives the other seeds only when they are unset).
   */
  private[lightgbm] def nativeParameters: Seq[(String, String)] = {
    val extra = passThrough
    nativeNames.toSeq.filterNot { case (_, name) => extra.exists(_._1 == name) }.flatMap { case (p, name) =>
      val value = effective(p.asInstanceOf[Param[Any]]).orElse(if (passedByDefault(p)) getDefault(p) else None)
      value.map(v => name -> LightGBMParams.text(v)).filterNot(_._2.isEmpty)
    } ++ extra
  }
}

object LightGBMParams {

  /** LightGBM parameters Irbis sets itself, with what to set instead. */
  private val setByIrbis: Map[String, String] = Map(
    "objective" -> "the objective Param", "num_iterations" -> "numIterations",
    "num_class" -> "nothing: the classes come from labelCol", "tree_learner" -> "parallelism",
    "num_threads" -> "numThreads", "categorical_feature" -> "categoricalSlotIndexes or categoricalSlotNames",
    "early_stopping_round" -> "earlyStoppingRound", "num_machines" -> "numTasks", "machines" -> "numTasks",
    "machine_list_filename" -> "numTasks", "local_listen_port" -> "defaultListenPort",
    "time_out" -> "timeout, in seconds (LightGBM's time_out counts minutes: Irbis rounds timeout up to them)",
    "input_model" -> "modelString")

  def text(v: Any): String = v match {
    case a: Array[_] => a.map(text).mkString(",")
    case d: Double => if (d.isWhole && math.abs(d) < 1e15) d.toLong.toString else d.toString
    case other => other.toString
  }

  def parameterString(pairs: Seq[(String, String)]): String = pairs.map { case (k, v) => s"$k=$v" }.mkString(" ")
}
