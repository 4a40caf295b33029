package irbis.train

import irbis.core._
import org.apache.spark.ml.{Estimator, Model, Transformer}
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.regression.LinearRegression
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types._

class TrainRegressor(override val uid: String) extends Estimator[TrainedRegressorModel]
  with IrbisStage with TrainParams with HasLearner {
  def this() = this(Identifiable.randomUID("TrainRegressor"))

  override def stageDoc: String =
    "Trains any Spark ML regressor on a raw table: the inputs (every column but the label, unless inputCols is " +
      "set) are featurized as Featurize does and the learner (`model`, by default LinearRegression) is fitted on " +
      "the numeric label. Rows with a missing label are left out. The fitted model adds `prediction`."

  override protected def defaultLearner: Estimator[_] = new LinearRegression()

  private def checkLabel(schema: StructType): Unit =
    Columns.requireType(schema, uid, getLabelCol, "a numeric column (for classes, use TrainClassifier)")(
      Columns.isNumeric)

  override def transformSchema(schema: StructType): StructType = {
    val inputs = resolvedInputs(schema, uid)
    checkLabel(schema)
    TrainedRegressorModel.recorded(configuredLearner(getFeaturesCol, getLabelCol)
        .transformSchema(featurizer(inputs, getFeaturesCol, uid).transformSchema(schema)), getLabelCol)
  }

  override def fit(dataset: Dataset[_]): TrainedRegressorModel = {
    transformSchema(dataset.schema, logging = true)
    val df = labelled(dataset.toDF())
    val inputs = resolvedInputs(df.schema, uid)
    val featurizerModel = featurizer(inputs, getFeaturesCol, Identifiable.randomUID("Featurize")).fit(df)
    val doubleLabel = Columns.internalPrefix("TrainRegressor") + "label"
    val train = featurizerModel.transform(df).withColumn(doubleLabel, ColumnRef(getLabelCol).cast(DoubleType))
    val fitted = configuredLearner(getFeaturesCol, doubleLabel).fit(train).asInstanceOf[Transformer]
    copyValues(new TrainedRegressorModel(uid).setInputCols(inputs).setFeaturizer(featurizerModel)
        .setFittedLearner(fitted).setParent(this))
  }

  override def copy(extra: ParamMap): TrainRegressor = defaultCopy[TrainRegressor](extra)
}

object TrainRegressor extends IrbisReadable[TrainRegressor]

class TrainedRegressorModel(override val uid: String) extends Model[TrainedRegressorModel]
  with IrbisStage with TrainParams {
  def this() = this(Identifiable.randomUID("TrainedRegressorModel"))

  override def stageDoc: String =
    "Scores a raw table with the regressor that TrainRegressor fitted: the featurized inputs go to the learner, " +
      "whose `prediction` is added."

  final val featurizer = new StageParam[FeaturizeModel](this, "featurizer", "The fitted featurization of the inputs.")
  def getFeaturizer: FeaturizeModel = $(featurizer)
  def setFeaturizer(value: FeaturizeModel): this.type = set(featurizer, value)

  final val fittedLearner = new StageParam[Transformer](this, "fittedLearner", "The fitted Spark ML regression model.")
  def getFittedLearner: Transformer = $(fittedLearner)
  def setFittedLearner(value: Transformer): this.type = set(fittedLearner, value)

  override def transformSchema(schema: StructType): StructType =
    TrainedRegressorModel.recorded(getFittedLearner.transformSchema(getFeaturizer.transformSchema(schema)), getLabelCol)

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    getFittedLearner.transform(getFeaturizer.transform(dataset)).withMetadata("prediction",
      schema("prediction").metadata)
  }

  override def copy(extra: ParamMap): TrainedRegressorModel =
    copyValues(new TrainedRegressorModel(uid), extra).setParent(parent)
}

object TrainedRegressorModel extends IrbisReadable[TrainedRegressorModel] {

  /** The learner's output, whose `prediction` records the label column for the metric stages (Scored.record). */
  private[train] def recorded(learnerOut: StructType, label: String): StructType =
    Levels.put(learnerOut,
      learnerOut("prediction").copy(metadata = Scored.record(learnerOut("prediction").metadata, label, None)))
}
