package irbis.train

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset}
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types._

class IndexToValue(override val uid: String) extends Transformer with IrbisStage with HasInputCol with HasOutputCol {
  def this() = this(Identifiable.randomUID("IndexToValue"))

  override def stageDoc: String =
    "Maps indices back to values: index i becomes level i of the input column's NominalAttribute metadata (as " +
      "written by ValueIndexer, whose values come back in their original type) or of `levels` when set (values " +
      "come back as strings). A null index gives null; an index that is not a level is an error."

  final val levels = new StringArrayParam(this, "levels",
    "The levels in index order. Unset (the default): they come from the input column's metadata.")
  def getLevels: Array[String] = $(levels)
  def setLevels(value: Array[String]): this.type = set(levels, value)

  private def resolve(schema: StructType): (Array[String], DataType) = {
    val f = Columns.requireType(schema, uid, getInputCol, "a numeric column of indices")(Columns.isNumeric)
    if (isDefined(levels)) (getLevels, StringType)
    else Levels.fromField(f).getOrElse(throw new IllegalArgumentException(
        s"$uid: column '$getInputCol' carries no levels (NominalAttribute metadata with values); index it with " +
          "ValueIndexer, or set levels"))
  }

  override def transformSchema(schema: StructType): StructType = {
    val (_, t) = resolve(schema)
    Levels.put(schema, StructField(getOutputCol, t, nullable = true))
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val (values, t) = resolve(dataset.schema)
    dataset.toDF().withColumn(getOutputCol,
      IndexToValue.valueColumn(ColumnRef(getInputCol), values, t, uid, getInputCol))
  }

  override def copy(extra: ParamMap): IndexToValue = defaultCopy(extra)
}

object IndexToValue extends IrbisReadable[IndexToValue] {

  /** Level `index` of `levels`, cast back to `t`; an index that is not a whole number in range fails naming it. */
  private[train] def valueColumn(index: Column, levels: Array[String], t: DataType, stage: String, column: String)
    : Column = {
    val n = levels.length
    val lookup = udf { (i: java.lang.Double) =>
      if (i == null) null
      else {
        val d = i.doubleValue
        if (d != math.rint(d) || d < 0 || d >= n) throw new IllegalArgumentException(
          s"$stage: column '$column' holds index $d, which is not a level (expected a whole number from 0 to ${n - 1}; " +
            s"levels: ${Levels.describe(levels)})")
        levels(d.toInt)
      }
    }
    val text = lookup(index.cast(DoubleType))
    if (t == StringType) text else text.cast(t)
  }
}
