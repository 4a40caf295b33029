package irbis.stages

import irbis.core.{IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, IntParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class Repartition(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("Repartition"))

  override def stageDoc: String =
    "Redistributes the rows into `n` partitions (a full shuffle), e.g. to spread a few large files over all cores."

  final val n = new IntParam(this, "n", "The number of partitions (> 0).", Validators.gt(0))
  def getN: Int = $(n)
  def setN(value: Int): this.type = set(n, value)

  final val disable = new BooleanParam(this, "disable",
    "Pass the data through unchanged, e.g. to switch repartitioning off in a saved pipeline.")
  setDefault(disable -> false)
  def getDisable: Boolean = $(disable)
  def setDisable(value: Boolean): this.type = set(disable, value)

  override def transformSchema(schema: StructType): StructType = schema

  override def transform(dataset: Dataset[_]): DataFrame =
    if (getDisable) dataset.toDF() else dataset.repartition(getN).toDF()

  override def copy(extra: ParamMap): Repartition = defaultCopy(extra)
}

object Repartition extends IrbisReadable[Repartition]
