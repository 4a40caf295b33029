package irbis.stages

import irbis.core._
import org.apache.spark.internal.Logging
import org.apache.spark.ml.{Estimator, Model, PipelineStage, Transformer}
import org.apache.spark.ml.param.{BooleanParam, ParamMap, Params}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

trait TimerParams extends Params {
  final val disableMaterialization = new BooleanParam(this, "disableMaterialization",
    "Time only the building of the result's plan; by default the result is cached and counted so that the " +
      "time covers the actual computation.")
  setDefault(disableMaterialization -> false)
  def getDisableMaterialization: Boolean = $(disableMaterialization)
  def setDisableMaterialization(value: Boolean): this.type = set(disableMaterialization, value)
}

private[stages] object Timing extends Logging {
  def apply[T](what: String)(body: => T): T = {
    val start = System.nanoTime()
    val result = body
    logInfo(f"$what took ${(System.nanoTime() - start) / 1e6}%.1f ms")
    result
  }

  def materialized(df: DataFrame, disabled: Boolean): DataFrame =
    if (disabled) df else { val cached = df.cache(); cached.count(); cached }
}

class Timer(override val uid: String) extends Estimator[TimerModel] with IrbisStage with TimerParams {
  def this() = this(Identifiable.randomUID("Timer"))

  override def stageDoc: String =
    "Wraps another stage and logs how long fitting it (an Estimator) and transforming with it take. Fitting " +
      "returns a TimerModel around the fitted stage, or around the given stage if it is a Transformer."

  final val stage = new StageParam[PipelineStage](this, "stage",
    "The stage to time: an Estimator is fitted, a Transformer is used as is.",
    (s: PipelineStage) => s.isInstanceOf[Estimator[_]] || s.isInstanceOf[Transformer])
  def getStage: PipelineStage = $(stage)
  def setStage(value: PipelineStage): this.type = set(stage, value)

  override def transformSchema(schema: StructType): StructType = getStage.transformSchema(schema)

  override def fit(dataset: Dataset[_]): TimerModel = {
    val fitted = getStage match {
      case e: Estimator[_] => Timing(s"$uid: fitting ${e.uid}")(e.fit(dataset).asInstanceOf[Transformer])
      case t: Transformer => t
    }
    copyValues(new TimerModel(uid).setTransformer(fitted).setParent(this))
  }

  override def copy(extra: ParamMap): Timer = defaultCopy[Timer](extra)
}

object Timer extends IrbisReadable[Timer]

class TimerModel(override val uid: String) extends Model[TimerModel] with IrbisStage with TimerParams {
  def this() = this(Identifiable.randomUID("TimerModel"))

  override def stageDoc: String = "Transforms with the wrapped Transformer and logs how long it took."

  final val transformer = new StageParam[Transformer](this, "transformer", "The transformer to time.")
  def getTransformer: Transformer = $(transformer)
  def setTransformer(value: Transformer): this.type = set(transformer, value)

  override def transformSchema(schema: StructType): StructType = getTransformer.transformSchema(schema)

  override def transform(dataset: Dataset[_]): DataFrame =
    Timing(s"$uid: transforming with ${getTransformer.uid}") {
      Timing.materialized(getTransformer.transform(dataset), getDisableMaterialization)
    }

  override def copy(extra: ParamMap): TimerModel = copyValues(new TimerModel(uid), extra).setParent(parent)
}

object TimerModel extends IrbisReadable[TimerModel]
