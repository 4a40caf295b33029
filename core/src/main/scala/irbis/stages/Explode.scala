package irbis.stages

import irbis.core.{ColumnRef, Columns, HasInputCol, HasOutputCol, IrbisReadable, IrbisStage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions.{explode, explode_outer}
import org.apache.spark.sql.types.{ArrayType, StructField, StructType}

class Explode(override val uid: String) extends Transformer with IrbisStage with HasInputCol with HasOutputCol {
  def this() = this(Identifiable.randomUID("Explode"))

  override def stageDoc: String =
    "Turns each element of the array column `inputCol` into its own row, in `outputCol`; other columns repeat."

  final val keepEmpty = new BooleanParam(this, "keepEmpty",
    "Keep rows whose array is null or empty, with a null element, instead of dropping them.")
  setDefault(keepEmpty -> false)
  def getKeepEmpty: Boolean = $(keepEmpty)
  def setKeepEmpty(value: Boolean): this.type = set(keepEmpty, value)

  override def transformSchema(schema: StructType): StructType = {
    val f = Columns.requireType(schema, uid, getInputCol, "an array")(_.isInstanceOf[ArrayType])
    if (getOutputCol != getInputCol) Columns.requireAbsent(schema, uid, getOutputCol)
    val element = f.dataType.asInstanceOf[ArrayType]
    val out = StructField(getOutputCol, element.elementType, element.containsNull || getKeepEmpty)
    if (getOutputCol == getInputCol) StructType(schema.fields.map(x => if (x.name == getInputCol) out else x))
    else schema.add(out)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    val fn = if (getKeepEmpty) explode_outer _ else explode _
    dataset.withColumn(getOutputCol, fn(ColumnRef(getInputCol)))
  }

  override def copy(extra: ParamMap): Explode = defaultCopy(extra)
}

object Explode extends IrbisReadable[Explode]
