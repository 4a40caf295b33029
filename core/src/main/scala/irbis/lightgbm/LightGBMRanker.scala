package irbis.lightgbm

import com.microsoft.ml.lightgbm.{lightgbmlibConstants => C}
import irbis.core.{IrbisReadable, IrbisStage, StringParam, Validators}
import org.apache.spark.ml.{PredictionModel, Predictor}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.ml.param.{DoubleArrayParam, IntArrayParam, IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

/** The ranker's own LightGBM Params. */
trait LightGBMRankerParams extends LightGBMParams {
  final val groupCol = new StringParam(this, "groupCol",
    "The query id column: the rows of one query are ranked against each other. Rows of a query must be together " +
      "in any order: the ranker gathers each query's rows in one partition.", Validators.nonEmpty)
  final val evalAt = native(new IntArrayParam(this, "evalAt", "Positions at which ndcg and map are evaluated.",
      Validators.each(Validators.gt(0))), "eval_at")
  final val labelGain = native(new DoubleArrayParam(this, "labelGain",
      "Gain of each relevance grade (LightGBM's default: 2^i - 1 for grades 0..30)."), "label_gain")
  final val maxPosition = native(new IntParam(this, "maxPosition",
      "Ranks optimized by lambdarank (LightGBM's lambdarank_truncation_level).", Validators.gt(0)),
    "lambdarank_truncation_level")
  setDefault(objective -> "lambdarank", groupCol -> "group", evalAt -> Array(1, 2, 3, 4, 5), maxPosition -> 30)
  def setGroupCol(v: String): this.type = set(groupCol, v)
  def getGroupCol: String = $(groupCol)
  def setEvalAt(v: Array[Int]): this.type = set(evalAt, v)
  def setLabelGain(v: Array[Double]): this.type = set(labelGain, v)
  def setMaxPosition(v: Int): this.type = set(maxPosition, v)
  def getEvalAt: Array[Int] = $(evalAt)
  def getLabelGain: Array[Double] = $(labelGain)
  def getMaxPosition: Int = $(maxPosition)
}

class LightGBMRanker(override val uid: String)
  extends Predictor[Vector, LightGBMRanker, LightGBMRankerModel]
  with LightGBMRankerParams with IrbisStage {
  def this() = this(Identifiable.randomUID("LightGBMRanker"))

  override def stageDoc: String =
    "Learning to rank with LightGBM (lambdarank or rank_xendcg), trained across the cluster (one LightGBM worker " +
      "per Spark task, barrier mode): labels are relevance grades (0, 1, 2, ...), groupCol says which rows belong " +
      "to one query. The model adds prediction, the ranking score, as LightGBM's predict gives it."

  // Declared with the model's own type: code generation reads the model class off fit's return type.
  override def fit(dataset: Dataset[_]): LightGBMRankerModel = super.fit(dataset).predictingWithAllTrees()

  override protected def train(dataset: Dataset[_]): LightGBMRankerModel = {
    val result = LightGBMFit(this, dataset, getFeaturesCol, getLabelCol, Ranking, Nil, Some(getGroupCol))
    copyValues(new LightGBMRankerModel(uid).setNativeModel(result.modelText).setBestIteration(result.bestIteration))
  }

  override def copy(extra: ParamMap): LightGBMRanker = defaultCopy(extra)
}

object LightGBMRanker extends IrbisReadable[LightGBMRanker]

class LightGBMRankerModel(override val uid: String)
  extends PredictionModel[Vector, LightGBMRankerModel]
  with LightGBMRankerParams with LightGBMModelBase with IrbisStage {
  def this() = this(Identifiable.randomUID("LightGBMRankerModel"))

  override def stageDoc: String =
    "A LightGBM ranking model: adds prediction (the score that orders a query's rows), and when set, SHAP " +
      "contributions (featuresShapCol) and leaf indexes (leafPredictionCol). Loads models trained by LightGBM " +
      "anywhere (loadNativeModelFromFile/FromString)."

  override def numFeatures: Int = withBooster(_.numFeatures)

  override def predict(features: Vector): Double = predictOne(features, C.C_API_PREDICT_NORMAL)(0)

  override def transformSchema(schema: StructType): StructType = extraOutputs(super.transformSchema(schema))

  override def transform(dataset: Dataset[_]): DataFrame =
    scoreOneNumber(dataset, transformSchema(dataset.schema, logging = true), $(predictionCol), $(featuresCol))

  override def copy(extra: ParamMap): LightGBMRankerModel =
    copyValues(new LightGBMRankerModel(uid), extra).setParent(parent)
}

object LightGBMRankerModel extends IrbisReadable[LightGBMRankerModel] {
  def loadNativeModelFromString(text: String): LightGBMRankerModel = new LightGBMRankerModel().setNativeModel(text)
  def loadNativeModelFromFile(path: String): LightGBMRankerModel =
    loadNativeModelFromString(LightGBMModelBase.readText(path))
}
