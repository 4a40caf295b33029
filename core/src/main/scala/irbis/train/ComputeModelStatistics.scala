package irbis.train

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{ParamMap, Params}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types._

/** Classification or regression statistics, or `auto`. */
trait HasStatisticsKind extends Params {
  final val evaluationMetric = new EnumParam(this, "evaluationMetric",
    "Which metrics or statistics: 'auto' chooses classification when the predictions carry class metadata, a " +
      "scores column exists or the label is not numeric, else regression.", Seq("auto", "classification", "regression"))
  setDefault(evaluationMetric -> "auto")
  def getEvaluationMetric: String = $(evaluationMetric)
  def setEvaluationMetric(value: String): this.type = set(evaluationMetric, value)
}

trait HasScoredColumns extends Params {
  final val labelCol = new StringParam(this, "labelCol",
    "The column of true labels (original values or class indices). Unset: the label column that the trained " +
      "model recorded in the scored data's metadata (TrainClassifier's and TrainRegressor's models do), else 'label'.")
  setDefault(labelCol -> Scored.DefaultLabel)
  def getLabelCol: String = $(labelCol)
  def setLabelCol(value: String): this.type = set(labelCol, value)

  final val scoredLabelsCol = new StringParam(this, "scoredLabelsCol",
    "The column of predicted labels. Unset: 'scored_labels' when present (predicted labels with the label's " +
      "values), else 'prediction' (class indices, or regression predictions).")
  def getScoredLabelsCol: String = $(scoredLabelsCol)
  def setScoredLabelsCol(value: String): this.type = set(scoredLabelsCol, value)

  final val scoresCol = new StringParam(this, "scoresCol",
    "The column of class scores: a vector with one score per class (index i is class level i), or a numeric " +
      "score of the greater class for binary problems. Unset: the scores column the trained model recorded in the " +
      "scored data's metadata, else 'probability' when present, else 'rawPrediction'.")
  def getScoresCol: String = $(scoresCol)
  def setScoresCol(value: String): this.type = set(scoresCol, value)

  protected def scored(schema: StructType, stage: String): Scored =
    Scored.resolve(schema, stage, get(labelCol), get(scoredLabelsCol), get(scoresCol))

  /** Classification unless the data looks like regression output (numeric label, no class metadata or scores). */
  protected def isClassification(schema: StructType, mode: String, stage: String): Boolean = mode match {
    case "classification" => true
    case "regression" => false
    case _ =>
      val s = scored(schema, stage)
      s.metadataLevels.isDefined || s.scores.isDefined || !Columns.isNumeric(schema(s.label).dataType)
  }
}

class ComputeModelStatistics(override val uid: String) extends Transformer with IrbisStage with HasScoredColumns
  with HasStatisticsKind {
  def this() = this(Identifiable.randomUID("ComputeModelStatistics"))

  override def stageDoc: String =
    "Computes the metrics of scored data as a one-row DataFrame. Classification: accuracy; per-class, macro and " +
      "support-weighted precision, recall and F1 (a class never predicted or never present scores 0, as " +
      "scikit-learn's zero_division=0); the confusion matrix (rows: true class, columns: predicted class, in " +
      "the order of `classes`); and for two classes the exact ROC AUC over all distinct thresholds (ties count " +
      "one half, as scikit-learn's roc_auc_score). Regression: mse, rmse, r2 (1 - SSres/SStot; for a constant " +
      "label 1 if the predictions are exact, else 0, as scikit-learn) and mae."

  override def transformSchema(schema: StructType): StructType = {
    val s = scored(schema, uid)
    if (isClassification(schema, getEvaluationMetric, uid)) ComputeModelStatistics.classificationSchema
    else {
      Columns.requireType(schema, uid, s.label, "a numeric label for regression")(Columns.isNumeric)
      ComputeModelStatistics.regressionSchema
    }
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    val df = dataset.toDF()
    val spark = df.sparkSession
    val row = if (isClassification(df.schema, getEvaluationMetric, uid)) {
      val m = ComputeModelStatistics.classification(df, scored(df.schema, uid))
      Row.fromSeq(m.scalars.map(_._2) ++ Seq(m.names.toSeq, m.confusion.map(_.toSeq).toSeq,
        m.precision.toSeq, m.recall.toSeq, m.f1.toSeq, m.support.toSeq, m.total))
    } else {
      val s = scored(df.schema, uid)
      Row.fromSeq(RegressionMetrics.compute(df, uid, s.label, s.predicted).map(_._2) :+ df.count())
    }
    spark.createDataFrame(java.util.List.of(row), schema)
  }

  override def copy(extra: ParamMap): ComputeModelStatistics = defaultCopy(extra)
}

object ComputeModelStatistics extends IrbisReadable[ComputeModelStatistics] {
  private def doubles(names: Seq[String]) = names.map(StructField(_, DoubleType, nullable = false))

  val classificationSchema: StructType = StructType(doubles(ClassificationMetrics.ScalarNames) ++ Seq(
    StructField("classes", ArrayType(StringType, containsNull = false), nullable = false),
    StructField("confusion_matrix", ArrayType(ArrayType(LongType, containsNull = false), containsNull = false),
      nullable = false),
    StructField("precision_per_class", ArrayType(DoubleType, containsNull = false), nullable = false),
    StructField("recall_per_class", ArrayType(DoubleType, containsNull = false), nullable = false),
    StructField("f1_per_class", ArrayType(DoubleType, containsNull = false), nullable = false),
    StructField("support_per_class", ArrayType(LongType, containsNull = false), nullable = false),
    StructField("count", LongType, nullable = false)))

  val regressionSchema: StructType =
    StructType(doubles(RegressionMetrics.ScalarNames) :+ StructField("count", LongType, nullable = false))

  private[train] def classification(df: DataFrame, s: Scored): ClassificationMetrics =
    ClassificationMetrics.compute(df, s, Classes.resolve(df, s))
}
