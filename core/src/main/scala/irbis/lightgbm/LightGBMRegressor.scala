package irbis.lightgbm

import com.microsoft.ml.lightgbm.{lightgbmlibConstants => C}
import irbis.core.{IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.ml.param.{DoubleParam, ParamMap}
import org.apache.spark.ml.regression.{RegressionModel, Regressor}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

/** The regressor's own LightGBM Params. */
trait LightGBMRegressorParams extends LightGBMParams {
  final val alpha = native(new DoubleParam(this, "alpha",
      "The quantile of the quantile objective, and huber's delta.", Validators.gt(0)), "alpha")
  final val tweedieVariancePower = native(new DoubleParam(this, "tweedieVariancePower",
      "tweedie: the variance power, between 1 (poisson-like) and 2 (gamma-like).", Validators.inRange(1, 2)),
    "tweedie_variance_power")
  setDefault(objective -> "regression", alpha -> 0.9, tweedieVariancePower -> 1.5)
  def setAlpha(v: Double): this.type = set(alpha, v)
  def setTweedieVariancePower(v: Double): this.type = set(tweedieVariancePower, v)
  def getAlpha: Double = $(alpha)
  def getTweedieVariancePower: Double = $(tweedieVariancePower)
}

class LightGBMRegressor(override val uid: String)
  extends Regressor[Vector, LightGBMRegressor, LightGBMRegressionModel]
  with LightGBMRegressorParams with IrbisStage {
  def this() = this(Identifiable.randomUID("LightGBMRegressor"))

  override def stageDoc: String =
    "Gradient-boosted trees for regression with LightGBM, trained across the cluster (one LightGBM worker per " +
      "Spark task, barrier mode): objectives regression (L2), regression_l1, huber, fair, poisson, quantile " +
      "(alpha), mape, gamma, tweedie. The model adds prediction as LightGBM's predict gives it, optionally SHAP " +
      "contributions and leaf indexes."

  // Declared with the model's own type: code generation reads the model class off fit's return type.
  override def fit(dataset: Dataset[_]): LightGBMRegressionModel = super.fit(dataset).predictingWithAllTrees()

  override protected def train(dataset: Dataset[_]): LightGBMRegressionModel = {
    val result = LightGBMFit(this, dataset, getFeaturesCol, getLabelCol, Regression, Nil, None)
    copyValues(new LightGBMRegressionModel(uid).setNativeModel(result.modelText).setBestIteration(result.bestIteration))
  }

  override def copy(extra: ParamMap): LightGBMRegressor = defaultCopy(extra)
}

object LightGBMRegressor extends IrbisReadable[LightGBMRegressor]

class LightGBMRegressionModel(override val uid: String)
  extends RegressionModel[Vector, LightGBMRegressionModel]
  with LightGBMRegressorParams with LightGBMModelBase with IrbisStage {
  def this() = this(Identifiable.randomUID("LightGBMRegressionModel"))

  override def stageDoc: String =
    "A LightGBM regression model: adds prediction (LightGBM's predict, e.g. exp of the raw score for poisson), and " +
      "when set, SHAP contributions (featuresShapCol) and leaf indexes (leafPredictionCol). Loads models trained by " +
      "LightGBM anywhere (loadNativeModelFromFile/FromString)."

  override def numFeatures: Int = withBooster(_.numFeatures)

  override def predict(features: Vector): Double = predictOne(features, C.C_API_PREDICT_NORMAL)(0)

  override def transformSchema(schema: StructType): StructType = extraOutputs(super.transformSchema(schema))

  override def transform(dataset: Dataset[_]): DataFrame =
    scoreOneNumber(dataset, transformSchema(dataset.schema, logging = true), $(predictionCol), $(featuresCol))

  override def copy(extra: ParamMap): LightGBMRegressionModel =
    copyValues(new LightGBMRegressionModel(uid), extra).setParent(parent)
}

object LightGBMRegressionModel extends IrbisReadable[LightGBMRegressionModel] {
  def loadNativeModelFromString(text: String): LightGBMRegressionModel =
    new LightGBMRegressionModel().setNativeModel(text)
  def loadNativeModelFromFile(path: String): LightGBMRegressionModel =
    loadNativeModelFromString(LightGBMModelBase.readText(path))

}
