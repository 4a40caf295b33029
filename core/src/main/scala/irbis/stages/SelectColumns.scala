package irbis.stages

import irbis.core.{ColumnRef, Columns, IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class SelectColumns(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("SelectColumns"))

  override def stageDoc: String = "Keeps only the named columns, in the order given."

  final val cols = new StringArrayParam(this, "cols", "The columns to keep, in output order (at least one).",
    Validators.nonEmpty)
  def getCols: Array[String] = $(cols)
  def setCols(value: Array[String]): this.type = set(cols, value)

  override def transformSchema(schema: StructType): StructType =
    StructType($(cols).map(c => Columns.require(schema, uid, c)))

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    dataset.select($(cols).map(ColumnRef(_)).toIndexedSeq: _*)
  }

  override def copy(extra: ParamMap): SelectColumns = defaultCopy(extra)
}

object SelectColumns extends IrbisReadable[SelectColumns]
