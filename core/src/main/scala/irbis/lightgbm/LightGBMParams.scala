package irbis.lightgbm

import scala.collection.mutable

import irbis.core._
import org.apache.spark.ml.param._

/**
 * LightGBM's parameters as Spark Params: LightGBM's names in camelCase (as SynapseML names them), LightGBM's
 * defaults and ranges. Each Param that LightGBM reads is registered with its LightGBM name, so the parameter
 * text handed to LightGBM is built from the table, not by hand.
 */
trait LightGBMParams extends Params {
  private val nativeNames = mutable.LinkedHashMap[Param[_], String]()
  protected def native[P <: Param[_]](p: P, lightgbmName: String): P = { nativeNames(p) = lightgbmName; p }

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
    "Fraction of features sampled for each tree.", Validators.inRange(0, 1, lowerInclusive = false)), "feature_fraction")
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
  final val maxDrop = native(new IntParam(this, "maxDrop", "dart: most trees dropped in one iteration; <= 0: no limit."),
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
    "Categorical features with at most this many values are split one-vs-rest.", Validators.gt(0)), "max_cat_to_onehot")
  final val catSmooth = native(new DoubleParam(this, "catSmooth", "Smoothing of categorical splits.",
    Validators.gtEq(0)), "cat_smooth")
  final val catL2 = native(new DoubleParam(this, "catL2", "L2 regularization of categorical splits.",
    Validators.gtEq(0)), "cat_l2")

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
  final val timeout = new IntParam(this, "timeout",
    "Seconds a worker waits for another (to connect, or for its next message) before the fit fails; LightGBM " +
      "counts whole minutes (at least 1). A lost executor costs up to this before Spark reruns the workers.",
    Validators.gt(0))
  final val passThroughArgs = new StringParam(this, "passThroughArgs",
    "Any other LightGBM parameter, as space-separated key=value text (e.g. 'extra_trees=true max_cat_threshold=16'); " +
      "keys are checked against LightGBM's own list, and a key that a Param above sets is refused.")

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
    topK -> 20, numTasks -> 0, timeout -> 120, passThroughArgs -> "", weightCol -> "", initScoreCol -> "",
    validationIndicatorCol -> "", featuresShapCol -> "", leafPredictionCol -> "")

  def setObjective(v: String): this.type = set(objective, v)
  def setBoostingType(v: String): this.type = set(boostingType, v)
  def setNumIterations(v: Int): this.type = set(numIterations, v)
  def setLearningRate(v: Double): this.type = set(learningRate, v)
  def setNumLeaves(v: Int): this.type = set(numLeaves, v)
  def setMaxDepth(v: Int): this.type = set(maxDepth, v)
  def setMinDataInLeaf(v: Int): this.type = set(minDataInLeaf, v)
  def setMinSumHessianInLeaf(v: Double): this.type = set(minSumHessianInLeaf, v)
  def setFeatureFraction(v: Double): this.type = set(featureFraction, v)
  def setBaggingFraction(v: Double): this.type = set(baggingFraction, v)
  def setBaggingFreq(v: Int): this.type = set(baggingFreq, v)
  def setLambdaL1(v: Double): this.type = set(lambdaL1, v)
  def setLambdaL2(v: Double): this.type = set(lambdaL2, v)
  def setMaxBin(v: Int): this.type = set(maxBin, v)
  def setMetric(v: String): this.type = set(metric, v)
  def setSeed(v: Int): this.type = set(seed, v)
  def setDeterministic(v: Boolean): this.type = set(deterministic, v)
  def setVerbosity(v: Int): this.type = set(verbosity, v)
  def setCategoricalSlotIndexes(v: Array[Int]): this.type = set(categoricalSlotIndexes, v)
  def setCategoricalSlotNames(v: Array[String]): this.type = set(categoricalSlotNames, v)
  def setEarlyStoppingRound(v: Int): this.type = set(earlyStoppingRound, v)
  def setNumThreads(v: Int): this.type = set(numThreads, v)
  def setParallelism(v: String): this.type = set(parallelism, v)
  def setNumTasks(v: Int): this.type = set(numTasks, v)
  def setTimeout(v: Int): this.type = set(timeout, v)
  def setPassThroughArgs(v: String): this.type = set(passThroughArgs, v)
  def setWeightCol(v: String): this.type = set(weightCol, v)
  def setInitScoreCol(v: String): this.type = set(initScoreCol, v)
  def setValidationIndicatorCol(v: String): this.type = set(validationIndicatorCol, v)
  def setFeaturesShapCol(v: String): this.type = set(featuresShapCol, v)
  def setLeafPredictionCol(v: String): this.type = set(leafPredictionCol, v)
  def getObjective: String = $(objective)
  def getNumIterations: Int = $(numIterations)
  def getEarlyStoppingRound: Int = $(earlyStoppingRound)
  def getNumTasks: Int = $(numTasks)
  def getWeightCol: String = $(weightCol)
  def getInitScoreCol: String = $(initScoreCol)
  def getValidationIndicatorCol: String = $(validationIndicatorCol)
  def getFeaturesShapCol: String = $(featuresShapCol)
  def getLeafPredictionCol: String = $(leafPredictionCol)
  def getPassThroughArgs: String = $(passThroughArgs)

  /** passThroughArgs as pairs, each key checked against LightGBM's list and against the Params' own names. */
  private[lightgbm] def passThrough: Seq[(String, String)] = {
    val own = nativeNames.values.toSet ++ Set("tree_learner", "num_threads", "num_class", "categorical_feature",
      "early_stopping_round", "num_machines", "machines", "local_listen_port")
    $(passThroughArgs).trim.split("\\s+").filter(_.nonEmpty).toSeq.map { kv =>
      val i = kv.indexOf('=')
      if (i <= 0 || i == kv.length - 1) throw new IllegalArgumentException(
        s"$uid.passThroughArgs: invalid entry '$kv'. Expected: key=value pairs separated by spaces")
      val (k, v) = (kv.substring(0, i), kv.substring(i + 1))
      if (!LightGBMNative.knownParameters.contains(k)) throw new IllegalArgumentException(
        s"$uid.passThroughArgs: unknown LightGBM parameter '$k'. Expected: a parameter of LightGBM " +
          s"${LightGBMNative.Version} (https://lightgbm.readthedocs.io/en/v3.3.5/Parameters.html)")
      if (own.contains(k)) throw new IllegalArgumentException(
        s"$uid.passThroughArgs: '$k' is set by a Param of this stage (or by Irbis). Expected: set it through the Param")
      k -> v
    }
  }

  /** Every LightGBM parameter this stage sets, in LightGBM's names, before the fit adds what it derives. */
  private[lightgbm] def nativeParameters: Seq[(String, String)] =
    nativeNames.toSeq.flatMap { case (p, name) =>
      get(p).orElse(getDefault(p)).map(v => name -> LightGBMParams.text(v)).filterNot { case (n, t) =>
        (n == "metric" || n == "objective") && t.isEmpty
      }
    } ++ passThrough
}

object LightGBMParams {
  def text(v: Any): String = v match {
    case a: Array[_] => a.map(text).mkString(",")
    case d: Double => if (d.isWhole && math.abs(d) < 1e15) d.toLong.toString else d.toString
    case other => other.toString
  }

  def parameterString(pairs: Seq[(String, String)]): String = pairs.map { case (k, v) => s"$k=$v" }.mkString(" ")
}
