package irbis.stages

import irbis.core.{Columns, HasInputCol, HasOutputCol, IrbisReadable, IrbisStage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class RenameColumn(override val uid: String) extends Transformer with IrbisStage with HasInputCol with HasOutputCol {
  def this() = this(Identifiable.randomUID("RenameColumn"))

  override def stageDoc: String = "Renames the column `inputCol` to `outputCol`, keeping its position."

  override def transformSchema(schema: StructType): StructType = {
    Columns.require(schema, uid, getInputCol)
    if (getOutputCol != getInputCol) Columns.requireAbsent(schema, uid, getOutputCol)
    StructType(schema.fields.map(f => if (f.name == getInputCol) f.copy(name = getOutputCol) else f))
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    dataset.withColumnRenamed(getInputCol, getOutputCol)
  }

  override def copy(extra: ParamMap): RenameColumn = defaultCopy(extra)
}

object RenameColumn extends IrbisReadable[RenameColumn]
