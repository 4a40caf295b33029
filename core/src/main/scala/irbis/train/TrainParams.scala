package irbis.train

import irbis.core._
import org.apache.spark.ml.Estimator
import org.apache.spark.ml.param.{Param, ParamMap, Params}
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.functions.isnan
import org.apache.spark.sql.types.{DoubleType, FloatType, StructType}

/** What TrainClassifier and TrainRegressor share: the learner, the label, the inputs and their featurization. */
trait TrainParams extends FeaturizeOptions with HasInputCols {
  final val labelCol = new StringParam(this, "labelCol", "The column to learn.", Validators.nonEmpty)
  final val featuresCol = new StringParam(this, "featuresCol",
    "The name of the assembled feature vector, kept in the scored output.", Validators.nonEmpty)
  setDefault(labelCol -> "label", featuresCol -> "features")
  def getLabelCol: String = $(labelCol)
  def setLabelCol(value: String): this.type = set(labelCol, value)
  def getFeaturesCol: String = $(featuresCol)
  def setFeaturesCol(value: String): this.type = set(featuresCol, value)

  /** The inputs: `inputCols` when set, else every column but the label. */
  protected def resolvedInputs(schema: StructType, stage: String): Array[String] = {
    Columns.require(schema, stage, getLabelCol)
    if (!isDefined(inputCols)) schema.fieldNames.filterNot(_ == getLabelCol)
    else {
      if (getInputCols.contains(getLabelCol)) throw new IllegalArgumentException(
        s"$stage: inputCols holds the label column '$getLabelCol'; a model cannot learn from its own label")
      getInputCols
    }
  }

  /** The rows with a label: a null (or NaN) label cannot be learnt from. */
  protected def labelled(df: DataFrame): DataFrame = {
    val l = ColumnRef(getLabelCol)
    df.schema(getLabelCol).dataType match {
      case DoubleType | FloatType => df.where(l.isNotNull && !isnan(l))
      case _ => df.where(l.isNotNull)
    }
  }
}

/** The learner Param of the training stages and how the learner is configured for the featurized table. */
trait HasLearner extends Params {
  final val model = new StageParam[Estimator[_]](this, "model",
    "The learner: any Spark ML Predictor Estimator (with featuresCol, labelCol and predictionCol), e.g. " +
      "LogisticRegression or RandomForestClassifier. Unset: the stage's default learner with Spark's defaults.",
    (e: Estimator[_]) => e != null && Seq("featuresCol", "labelCol", "predictionCol").forall(e.hasParam))
  def getModel: Estimator[_] = $(model)
  def setModel(value: Estimator[_]): this.type = set(model, value)

  protected def defaultLearner: Estimator[_]

  /** A copy of the learner reading `features` and `label` and writing Spark's standard output columns. */
  protected def configuredLearner(features: String, label: String): Estimator[_] = {
    val learner = get(model).getOrElse(defaultLearner).copy(ParamMap.empty)
    def put(name: String, value: String): Unit =
      if (learner.hasParam(name)) learner.set(learner.getParam(name).asInstanceOf[Param[Any]], value)
    put("featuresCol", features)
    put("labelCol", label)
    put("predictionCol", "prediction")
    put("rawPredictionCol", "rawPrediction")
    put("probabilityCol", "probability")
    learner
  }
}
