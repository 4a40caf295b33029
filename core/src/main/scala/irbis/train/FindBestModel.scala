package irbis.train

import irbis.core._
import org.apache.spark.ml.{Estimator, Model, PipelineStage, Transformer}
import org.apache.spark.ml.param.{DoubleArrayArrayParam, ParamMap, Params, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row, SparkSession}
import org.apache.spark.sql.types._

/** The metric a model selection ranks by, and how a candidate's scored data is evaluated. */
trait HasSelectionMetric extends HasScoredColumns {
  final val evaluationMetric = new EnumParam(this, "evaluationMetric",
    "The metric that ranks the models (the greatest wins, except mse, rmse and mae where the least wins; " +
      "ties go to the earlier model). AUC needs two classes and a scores column.",
    ModelSelection.Metrics)
  setDefault(evaluationMetric -> "accuracy")
  def getEvaluationMetric: String = $(evaluationMetric)
  def setEvaluationMetric(value: String): this.type = set(evaluationMetric, value)

  protected def isRegressionMetric: Boolean = RegressionMetrics.ScalarNames.contains(getEvaluationMetric)

  /** Every scalar metric of one model's scored output (classification or regression by the chosen metric). */
  protected def evaluate(scoredData: DataFrame): Seq[(String, Double)] = {
    val s = scored(scoredData.schema, uid)
    if (isRegressionMetric) RegressionMetrics.compute(scoredData, uid, s.label, s.predicted)
    else {
      if (getEvaluationMetric == "AUC" && s.scores.isEmpty) throw new IllegalArgumentException(
        s"$uid: evaluationMetric AUC needs class scores, but the scored data has no 'probability' or " +
          "'rawPrediction' column; set scoresCol")
      val m = ComputeModelStatistics.classification(scoredData, s)
      if (getEvaluationMetric == "AUC" && m.auc.isEmpty) throw new IllegalArgumentException(
        s"$uid: evaluationMetric AUC needs exactly two classes; the data has ${m.names.length} " +
          s"(${m.names.mkString(", ")})")
      m.scalars
    }
  }

  protected def selectionMetricNames: Seq[String] =
    if (isRegressionMetric) RegressionMetrics.ScalarNames else ClassificationMetrics.ScalarNames
}

private[train] object ModelSelection {
  val Metrics: Seq[String] = ClassificationMetrics.ScalarNames ++ RegressionMetrics.ScalarNames
  private val Minimized = Set("mse", "rmse", "mae")

  /** The index of the best value (NaN never wins; ties go to the first). */
  def best(metric: String, values: Seq[Double]): Int = {
    val sign = if (Minimized.contains(metric)) -1.0 else 1.0
    val candidates = values.zipWithIndex.filterNot(_._1.isNaN)
    require(candidates.nonEmpty, s"every candidate's $metric is NaN: nothing to choose from")
    candidates.foldLeft(candidates.head) { (b, c) => if (sign * c._1 > sign * b._1) c else b }._2
  }

  def describe(stage: PipelineStage): String = s"${stage.getClass.getSimpleName} (${stage.uid})"
}

class FindBestModel(override val uid: String) extends Estimator[BestModel] with IrbisStage with HasSelectionMetric {
  def this() = this(Identifiable.randomUID("FindBestModel"))

  override def stageDoc: String =
    "Scores the data with each of several fitted models and keeps the best by evaluationMetric. The fitted " +
      "BestModel transforms like the best model and holds every model's metrics and, for two classes with " +
      "scores, the best model's ROC curve."

  final val models = new StageArrayParam(this, "models",
    "The fitted models (Transformers whose output is scored data) to compare; at least one.",
    (a: Array[PipelineStage]) => a != null && a.nonEmpty && a.forall(_.isInstanceOf[Transformer]))
  def getModels: Array[PipelineStage] = $(models)
  def setModels(value: Array[PipelineStage]): this.type = set(models, value)

  override def transformSchema(schema: StructType): StructType = {
    require(isDefined(models), s"$uid: set models (the fitted models to compare)")
    getModels.head.transformSchema(schema)
  }

  override def fit(dataset: Dataset[_]): BestModel = {
    require(isDefined(models), s"$uid: set models (the fitted models to compare)")
    val df = dataset.toDF()
    val scoredAll = getModels.map { m =>
      val out = m.asInstanceOf[Transformer].transform(df)
      (out, evaluate(out))
    }
    val names = selectionMetricNames
    val table = scoredAll.map { case (_, metrics) => names.map(n => metrics.toMap.apply(n)).toArray }
    val bestIndex = ModelSelection.best(getEvaluationMetric, table.map(_(names.indexOf(getEvaluationMetric))).toSeq)
    val bestScored = scoredAll(bestIndex)._1
    val roc = if (isRegressionMetric) Array.empty[Array[Double]]
    else {
      val s = scored(bestScored.schema, uid)
      val c = Classes.resolve(bestScored, s)
      s.scores.filter(_ => c.size == 2).map { sc =>
        RocAuc.curve(bestScored.select(Classes.scoreOf(bestScored.schema, sc, Classes.vectorIndex(c, 1)).as("score"),
            (c.labelIndex === 1.0).as("positive")), 1000)
      }.getOrElse(Array.empty[Array[Double]])
    }
    val model = new BestModel(uid + "_model")
      .setBestModel(getModels(bestIndex).asInstanceOf[Transformer])
      .setModelNames(getModels.map(ModelSelection.describe))
      .setMetricNames(names.toArray)
      .setModelMetrics(table)
      .setRocPoints(roc)
    copyValues(model).setParent(this)
  }

  override def copy(extra: ParamMap): FindBestModel = defaultCopy[FindBestModel](extra)
}

object FindBestModel extends IrbisReadable[FindBestModel]

class BestModel(override val uid: String) extends Model[BestModel] with IrbisStage with HasSelectionMetric {
  def this() = this(Identifiable.randomUID("BestModel"))

  override def stageDoc: String =
    "The model FindBestModel chose: transforms like it, and holds every compared model's metrics " +
      "(getAllModelMetrics) and the chosen model's ROC curve."

  final val bestModel = new StageParam[Transformer](this, "bestModel", "The chosen model.")
  def getBestModel: Transformer = $(bestModel)
  def setBestModel(value: Transformer): this.type = set(bestModel, value)

  final val modelNames = new StringArrayParam(this, "modelNames", "Each compared model: class (uid), in order.")
  def getModelNames: Array[String] = $(modelNames)
  def setModelNames(value: Array[String]): this.type = set(modelNames, value)

  final val metricNames = new StringArrayParam(this, "metricNames", "The names of the columns of allModelMetrics.")
  def getMetricNames: Array[String] = $(metricNames)
  def setMetricNames(value: Array[String]): this.type = set(metricNames, value)

  final val modelMetrics = new DoubleArrayArrayParam(this, "modelMetrics",
    "One row per compared model (in order), one value per metric of metricNames; as a DataFrame: " +
      "getAllModelMetrics.")
  def getModelMetrics: Array[Array[Double]] = $(modelMetrics)
  def setModelMetrics(value: Array[Array[Double]]): this.type = set(modelMetrics, value)

  final val rocPoints = new DoubleArrayArrayParam(this, "rocPoints",
    "The chosen model's ROC curve as [false positive rate, true positive rate] points from the highest " +
      "threshold down (at most about 1000 points); empty unless there are two classes and scores. As a " +
      "DataFrame: getRocCurve.")
  def getRocPoints: Array[Array[Double]] = $(rocPoints)
  def setRocPoints(value: Array[Array[Double]]): this.type = set(rocPoints, value)

  /** One row per compared model: its index, name, and every metric. */
  def getAllModelMetrics: DataFrame = {
    val schema = StructType(Seq(StructField("model_index", IntegerType, nullable = false),
      StructField("model", StringType, nullable = false)) ++
      getMetricNames.map(StructField(_, DoubleType, nullable = false)))
    val rows = getModelMetrics.zipWithIndex.map { case (values, i) =>
      Row.fromSeq(Seq(i, getModelNames(i)) ++ values.toSeq)
    }
    SparkSession.active.createDataFrame(java.util.Arrays.asList(rows: _*), schema)
  }

  /** The ROC curve as a DataFrame of (false_positive_rate, true_positive_rate). */
  def getRocCurve: DataFrame = {
    val schema = StructType(Seq(StructField("false_positive_rate", DoubleType, nullable = false),
        StructField("true_positive_rate", DoubleType, nullable = false)))
    SparkSession.active.createDataFrame(
      java.util.Arrays.asList(getRocPoints.map(p => Row(p(0), p(1))): _*), schema)
  }

  override def transformSchema(schema: StructType): StructType = getBestModel.transformSchema(schema)
  override def transform(dataset: Dataset[_]): DataFrame = getBestModel.transform(dataset)

  override def copy(extra: ParamMap): BestModel = copyValues(new BestModel(uid), extra).setParent(parent)
}

object BestModel extends IrbisReadable[BestModel]
