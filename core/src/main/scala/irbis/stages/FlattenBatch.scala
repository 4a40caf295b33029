package irbis.stages

import irbis.core.{ColumnRef, IrbisReadable, IrbisStage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types.{ArrayType, StructField, StructType}

class FlattenBatch(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("FlattenBatch"))

  override def stageDoc: String =
    "The inverse of FixedMiniBatchTransformer: every array column is unrolled into one row per element " +
      "(arrays of one row must have equal lengths, else the job fails naming the columns); non-array " +
      "columns repeat. A row whose arrays are null or empty yields no rows."

  private def arrays(schema: StructType): Seq[StructField] =
    schema.fields.toSeq.filter(_.dataType.isInstanceOf[ArrayType])

  override def transformSchema(schema: StructType): StructType = {
    val batched = arrays(schema).map(_.name).toSet
    require(batched.nonEmpty, s"$uid: no array column to flatten in (${schema.simpleString})")
    StructType(schema.fields.map { f =>
      if (batched(f.name)) {
        val a = f.dataType.asInstanceOf[ArrayType]
        f.copy(dataType = a.elementType, nullable = a.containsNull)
      } else f
    })
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val out = transformSchema(dataset.schema)
    val batched = arrays(dataset.schema).map(_.name)
    val first = batched.head
    val checks: Seq[Column] = batched.tail.map { name =>
      when(size(ColumnRef(name)) =!= size(ColumnRef(first)),
        raise_error(concat(
            lit(s"$uid: in one row, array column '$name' has "), size(ColumnRef(name)).cast("string"),
            lit(s" elements but '$first' has "), size(ColumnRef(first)).cast("string"),
            lit("; batched columns must have equal lengths"))))
    }
    val index = "__irbis_flatten_index"
    val checked = if (checks.isEmpty) dataset.toDF() else dataset.toDF().where(coalesce(checks :+ lit(true): _*))
    val exploded = checked.select(col("*"), posexplode(ColumnRef(first)).as(Seq(index, "__irbis_first")))
    exploded.select(out.fields.toIndexedSeq.map { f =>
      if (batched.contains(f.name)) element_at(ColumnRef(f.name), col(index) + 1).as(f.name) else ColumnRef(f.name)
    }: _*)
  }

  override def copy(extra: ParamMap): FlattenBatch = defaultCopy(extra)
}

object FlattenBatch extends IrbisReadable[FlattenBatch]
