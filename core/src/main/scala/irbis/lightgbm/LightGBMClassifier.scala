package irbis.lightgbm

import com.microsoft.ml.lightgbm.{lightgbmlibConstants => C}
import irbis.core.{IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.attribute.{Attribute, BinaryAttribute, NominalAttribute}
import org.apache.spark.ml.classification.{ProbabilisticClassificationModel, ProbabilisticClassifier}
import org.apache.spark.ml.linalg.{DenseVector, Vector, Vectors}
import org.apache.spark.ml.param.{BooleanParam, DoubleParam, IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions.{col, isnan, max, when}
import org.apache.spark.sql.types.StructType

/** The classifier's own LightGBM Params. */
trait LightGBMClassifierParams extends LightGBMParams {
  final val isUnbalance = native(new BooleanParam(this, "isUnbalance",
      "Binary: reweight the classes as if they were balanced."), "is_unbalance")
  final val scalePosWeight = native(new DoubleParam(this, "scalePosWeight",
      "Binary: weight of the positive class.", Validators.gt(0)), "scale_pos_weight")
  final val maxNumClasses = new IntParam(this, "maxNumClasses",
    "Most classes a fit accepts (the largest label plus one, or the label's metadata): a guard against a label " +
      "column that is not class indexes.", Validators.gt(1))
  setDefault(objective -> "binary", isUnbalance -> false, scalePosWeight -> 1.0, maxNumClasses -> 100)
  def setIsUnbalance(v: Boolean): this.type = set(isUnbalance, v)
  def setScalePosWeight(v: Double): this.type = set(scalePosWeight, v)
  def setMaxNumClasses(v: Int): this.type = set(maxNumClasses, v)
  def getIsUnbalance: Boolean = $(isUnbalance)
  def getScalePosWeight: Double = $(scalePosWeight)
  def getMaxNumClasses: Int = $(maxNumClasses)
}

class LightGBMClassifier(override val uid: String)
  extends ProbabilisticClassifier[Vector, LightGBMClassifier, LightGBMClassificationModel]
  with LightGBMClassifierParams with IrbisStage {
  def this() = this(Identifiable.randomUID("LightGBMClassifier"))

  override def stageDoc: String =
    "Gradient-boosted trees for classification with LightGBM, trained across the cluster: one LightGBM worker per " +
      "Spark task (barrier mode), connected through LightGBM's own network. Two classes use the binary objective, " +
      "more use multiclass (labels are class indexes 0..n-1). The model adds rawPrediction, probability and " +
      "prediction, optionally SHAP contributions and leaf indexes, and predicts as LightGBM itself does."

  // Declared with the model's own type: code generation reads the model class off fit's return type.
  override def fit(dataset: Dataset[_]): LightGBMClassificationModel = super.fit(dataset).predictingWithAllTrees()

  override protected def train(dataset: Dataset[_]): LightGBMClassificationModel = {
    val n = classCount(dataset)
    if (n > getMaxNumClasses) throw new IllegalArgumentException(
      s"$uid: labelCol '$getLabelCol' has $n classes (labels 0..${n - 1}). Expected: at most maxNumClasses " +
        s"($getMaxNumClasses); raise it if the labels are class indexes")
    // The default objective follows the classes; one the user set is kept (and refused if it cannot learn them).
    val objectiveName = if (n > 2 && !isSet(objective)) "multiclass" else getObjective
    val multi = Set("multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr").contains(objectiveName)
    if (!multi && n > 2) throw new IllegalArgumentException(
      s"$uid.objective: '$objectiveName' learns two classes, but labelCol '$getLabelCol' has $n. Expected: multiclass or multiclassova")
    val derived = Seq("objective" -> objectiveName) ++ (if (multi) Seq("num_class" -> n.toString) else Nil)
    val result =
      LightGBMFit(this, dataset, getFeaturesCol, getLabelCol, Classification(if (multi) n else 2), derived, None)
    copyValues(
      new LightGBMClassificationModel(uid).setNativeModel(result.modelText).setBestIteration(result.bestIteration))
  }

  /** The classes: from the label's ML attribute metadata when it has them, else the largest label plus one. */
  private def classCount(dataset: Dataset[_]): Int = {
    val field = dataset.schema(getLabelCol)
    Attribute.fromStructField(field) match {
      case b: BinaryAttribute => 2
      case a: NominalAttribute if a.getNumValues.isDefined => math.max(2, a.getNumValues.get)
      case _ =>
        val label = col(getLabelCol).cast("double")
        val top = dataset.toDF().agg(max(when(!isnan(label), label))).head()
        if (top.isNullAt(0)) 2
        else {
          val m = top.getDouble(0)
          // A label that is not a class index is reported with its row by the workers.
          if (m >= 0 && m.isWhole && m < Int.MaxValue - 1) math.max(2, m.toInt + 1) else 2
        }
    }
  }

  override def copy(extra: ParamMap): LightGBMClassifier = defaultCopy(extra)
}

object LightGBMClassifier extends IrbisReadable[LightGBMClassifier]

class LightGBMClassificationModel(override val uid: String)
  extends ProbabilisticClassificationModel[Vector, LightGBMClassificationModel]
  with LightGBMClassifierParams with LightGBMModelBase with IrbisStage {
  def this() = this(Identifiable.randomUID("LightGBMClassificationModel"))

  override def stageDoc: String =
    "A LightGBM classification model: adds rawPrediction (LightGBM's raw scores; for two classes [-s, s]), " +
      "probability (as LightGBM's predict gives it), prediction (the most probable class, or as Spark's thresholds " +
      "say), and when set, SHAP contributions (featuresShapCol) and leaf indexes (leafPredictionCol). Loads models " +
      "trained by LightGBM anywhere (loadNativeModelFromFile/FromString)."

  override def numClasses: Int = math.max(2, withBooster(_.numClasses))

  /** SynapseML's name of numClasses. */
  def getActualNumClasses: Int = numClasses
  override def numFeatures: Int = withBooster(_.numFeatures)

  override def predictRaw(features: Vector): Vector =
    LightGBMClassificationModel.raw(predictOne(features, C.C_API_PREDICT_RAW_SCORE), withBooster(_.numClasses))

  override protected def raw2probabilityInPlace(rawPrediction: Vector): Vector = rawPrediction match {
    case d: DenseVector =>
      val (objectiveName, sigmoid) = withBooster(b => (b.objectiveName, b.sigmoid))
      val p = LightGBMClassificationModel.probability(d.values, objectiveName, sigmoid).getOrElse(
        throw new UnsupportedOperationException(s"$uid: probabilities of objective '$objectiveName' come " +
          "from transform() only"))
      System.arraycopy(p, 0, d.values, 0, p.length)
      d
    case other => throw new IllegalArgumentException(s"$uid: expected a dense raw prediction, got $other")
  }

  override def transformSchema(schema: StructType): StructType = extraOutputs(super.transformSchema(schema))

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    val (rawCol, probCol, predCol) = ($(rawPredictionCol), $(probabilityCol), $(predictionCol))
    val (objectiveName, sigmoid, boosterClasses) = withBooster(b => (b.objectiveName, b.sigmoid, b.numClasses))
    val inJvm =
      LightGBMClassificationModel.probability(new Array[Double](boosterClasses), objectiveName, sigmoid).isDefined
    val thresholds = if (isDefined(this.thresholds)) Some($(this.thresholds)) else None
    val needScores = rawCol.nonEmpty || probCol.nonEmpty || predCol.nonEmpty
    val types = (if (needScores) Seq(C.C_API_PREDICT_RAW_SCORE) else Nil) ++
      (if (needScores && !inJvm) Seq(C.C_API_PREDICT_NORMAL) else Nil) ++ extraTypes
    val extras = extraTypes.size
    val produced = (if (needScores) Seq(rawCol, probCol, predCol).filter(_.nonEmpty) else Nil) ++ extraColumns
    score(dataset.toDF(), $(featuresCol), schema, types, produced,
      { results =>
        val out = scala.collection.mutable.ArrayBuffer[Any]()
        if (needScores) {
          val raw = results(0)
          val p = if (inJvm) LightGBMClassificationModel.probability(raw, objectiveName, sigmoid).get
          else LightGBMClassificationModel.twoClasses(results(1))
          if (rawCol.nonEmpty) out += LightGBMClassificationModel.raw(raw, boosterClasses)
          if (probCol.nonEmpty) out += Vectors.dense(p)
          if (predCol.nonEmpty) out += LightGBMClassificationModel.prediction(p, thresholds)
        }
        results.takeRight(extras).foreach(r => out += Vectors.dense(r))
        out.toArray
      })
  }

  override def copy(extra: ParamMap): LightGBMClassificationModel =
    copyValues(new LightGBMClassificationModel(uid), extra).setParent(parent)
}

object LightGBMClassificationModel extends IrbisReadable[LightGBMClassificationModel] {

  /** A model from LightGBM's text format, as lightgbm's Booster.model_to_string() writes it. */
  def loadNativeModelFromString(text: String): LightGBMClassificationModel =
    new LightGBMClassificationModel().setNativeModel(text)

  /** A model from a file in LightGBM's text format (any Hadoop path), as Booster.save_model() writes it. */
  def loadNativeModelFromFile(path: String): LightGBMClassificationModel =
    loadNativeModelFromString(LightGBMModelBase.readText(path))

  /** Spark's raw prediction: LightGBM's per-class raw scores, or [-s, s] for LightGBM's one score of two classes. */
  private[lightgbm] def raw(scores: Array[Double], classes: Int): Vector =
    if (classes == 1) Vectors.dense(-scores(0), scores(0)) else Vectors.dense(scores.clone())

  private[lightgbm] def twoClasses(p: Array[Double]): Array[Double] = if (p.length == 1) Array(1 - p(0), p(0)) else p

  /**
   * The probabilities LightGBM's predict gives, from its raw scores, for the objectives whose conversion is a
   * sigmoid or softmax (binary, multiclass, multiclassova, cross_entropy); None for others (LightGBM computes them).
   */
  private[lightgbm] def probability(raw: Array[Double], objective: String, sigmoid: Double): Option[Array[Double]] = {
    def logistic(x: Double, s: Double) = 1.0 / (1.0 + math.exp(-s * x))
    objective match {
      case "binary" =>
        val s = if (raw.length == 2) raw(1) else raw(0)
        val p = logistic(s, sigmoid)
        Some(Array(1 - p, p))
      case "cross_entropy" | "xentropy" =>
        val s = if (raw.length == 2) raw(1) else raw(0)
        val p = logistic(s, 1.0)
        Some(Array(1 - p, p))
      case "multiclass" | "softmax" =>
        val top = raw.max
        val e = raw.map(x => math.exp(x - top))
        val sum = e.sum
        Some(e.map(_ / sum))
      case "multiclassova" | "multiclass_ova" | "ova" | "ovr" => Some(raw.map(logistic(_, sigmoid)))
      case _ => None
    }
  }

  /** The predicted class as Spark's probabilistic classifiers choose it (thresholds scale the probabilities). */
  private[lightgbm] def prediction(p: Array[Double], thresholds: Option[Array[Double]]): Double = {
    var best = 0
    var top = Double.NegativeInfinity
    var i = 0
    while (i < p.length) {
      val scaled = thresholds.map(t => p(i) / t(i)).getOrElse(p(i))
      if (scaled > top) { top = scaled; best = i }
      i += 1
    }
    best.toDouble
  }
}
