package irbis.stages

import irbis.core.{Columns, IrbisReadable, IrbisStage, Validators}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class DropColumns(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("DropColumns"))

  override def stageDoc: String = "Removes the named columns; naming a column that does not exist is an error."

  final val cols = new StringArrayParam(this, "cols", "The columns to drop (at least one).", Validators.nonEmpty)
  def getCols: Array[String] = $(cols)
  def setCols(value: Array[String]): this.type = set(cols, value)

  override def transformSchema(schema: StructType): StructType = {
    $(cols).foreach(c => Columns.require(schema, uid, c))
    StructType(schema.fields.filterNot(f => $(cols).contains(f.name)))
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    dataset.drop($(cols).toIndexedSeq: _*)
  }

  override def copy(extra: ParamMap): DropColumns = defaultCopy(extra)
}

object DropColumns extends IrbisReadable[DropColumns]
