package irbis.stages

import irbis.core._
import org.apache.spark.ml.{Estimator, Model, Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.ml.param.{Param, ParamMap, Params}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class MultiColumnAdapter(override val uid: String) extends Estimator[MultiColumnAdapterModel]
  with IrbisStage with HasInputCols with HasOutputCols {
  def this() = this(Identifiable.randomUID("MultiColumnAdapter"))

  override def stageDoc: String =
    "Applies a single-column stage (any Transformer or Estimator with `inputCol` and `outputCol` Params) to " +
      "several columns: one copy of `baseStage` per pair of `inputCols` and `outputCols`, the k-th copy with " +
      "uid `<baseStage uid>_k` and every other Param as set on the base stage. Fitting fits the copies in " +
      "order, as a Pipeline (an Estimator copy sees the output of the copies before it), and returns a " +
      "MultiColumnAdapterModel holding the fitted Pipeline."

  final val baseStage = new StageParam[PipelineStage](this, "baseStage",
    "The single-column stage to apply; it must have the Params inputCol and outputCol.",
    (s: PipelineStage) => s != null && s.hasParam("inputCol") && s.hasParam("outputCol"))
  def getBaseStage: PipelineStage = $(baseStage)
  def setBaseStage(value: PipelineStage): this.type = set(baseStage, value)

  private def pairs: Seq[(String, String)] = {
    require(isDefined(baseStage), s"$uid: baseStage is not set")
    require(getInputCols.length == getOutputCols.length,
      s"$uid: inputCols has ${getInputCols.length} names but outputCols has ${getOutputCols.length}")
    require(getOutputCols.distinct.length == getOutputCols.length,
      s"$uid: outputCols has duplicates: ${getOutputCols.diff(getOutputCols.distinct).distinct.mkString(", ")}")
    getInputCols.toSeq.zip(getOutputCols.toSeq)
  }

  /** The k-th copy: a new instance (own uid, so a Pipeline can save it) with the base stage's Params. */
  private def configured(k: Int, in: String, out: String): PipelineStage = {
    val base = getBaseStage
    val copy = try base.getClass.getConstructor(classOf[String]).newInstance(s"${base.uid}_$k")
    catch {
      case e: ReflectiveOperationException => throw new IllegalArgumentException(
          s"$uid: cannot make copies of ${base.getClass.getName}: it needs a public constructor taking the uid", e)
    }
    base.params.filter(p => base.isSet(p)).foreach { p =>
      copy.set(copy.getParam(p.name).asInstanceOf[Param[Any]], base.getOrDefault(p))
    }
    copy.set(copy.getParam("inputCol").asInstanceOf[Param[Any]], in)
    copy.set(copy.getParam("outputCol").asInstanceOf[Param[Any]], out)
    copy
  }

  def stages: Array[PipelineStage] = pairs.zipWithIndex.map { case ((in, out), k) => configured(k, in, out) }.toArray

  override def transformSchema(schema: StructType): StructType =
    stages.foldLeft(schema)((s, stage) => stage.transformSchema(s))

  override def fit(dataset: Dataset[_]): MultiColumnAdapterModel = {
    transformSchema(dataset.schema, logging = true)
    val fitted = new Pipeline(s"${uid}_pipeline").setStages(stages).fit(dataset)
    copyValues(new MultiColumnAdapterModel(uid).setModel(fitted).setParent(this))
  }

  override def copy(extra: ParamMap): MultiColumnAdapter = defaultCopy[MultiColumnAdapter](extra)
}

object MultiColumnAdapter extends IrbisReadable[MultiColumnAdapter]

class MultiColumnAdapterModel(override val uid: String) extends Model[MultiColumnAdapterModel]
  with IrbisStage with HasInputCols with HasOutputCols {
  def this() = this(Identifiable.randomUID("MultiColumnAdapterModel"))

  override def stageDoc: String = "Transforms with the fitted copies of MultiColumnAdapter's base stage, in order."

  final val model =
    new StageParam[PipelineModel](this, "model", "The fitted copies of the base stage, as a PipelineModel.")
  def getModel: PipelineModel = $(model)
  def setModel(value: PipelineModel): this.type = set(model, value)

  override def transformSchema(schema: StructType): StructType = getModel.transformSchema(schema)

  override def transform(dataset: Dataset[_]): DataFrame = getModel.transform(dataset)

  override def copy(extra: ParamMap): MultiColumnAdapterModel =
    copyValues(new MultiColumnAdapterModel(uid), extra).setParent(parent)
}

object MultiColumnAdapterModel extends IrbisReadable[MultiColumnAdapterModel]
