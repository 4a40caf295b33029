package irbis.core

import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.sql.types._

/** Schema checks whose errors name the stage, the column and what was expected. */
object Columns {
  def require(schema: StructType, stage: String, column: String): StructField =
    schema.fields.find(_.name == column).getOrElse(throw new IllegalArgumentException(
        s"$stage: column '$column' does not exist. Available columns: ${schema.fieldNames.mkString(", ")}"))

  def requireType(schema: StructType, stage: String, column: String, expected: String)(
    ok: DataType => Boolean): StructField = {
    val f = require(schema, stage, column)
    if (!ok(f.dataType)) throw new IllegalArgumentException(
      s"$stage: column '$column' has type ${f.dataType.simpleString}; expected $expected")
    f
  }

  def requireAbsent(schema: StructType, stage: String, column: String): Unit =
    if (schema.fieldNames.contains(column)) throw new IllegalArgumentException(
      s"$stage: output column '$column' already exists; choose another name or drop it first")

  /** Name prefix of the intermediate columns a kind of stage adds and drops again. It depends on the kind, not
   * the uid, so a fitted model rebuilt under another uid (through Python or R) reads its own names back. */
  def internalPrefix(kind: String): String = s"__irbis_${kind}_"

  /** The schema of a stage that maps a string column to a new string column. */
  def stringToString(schema: StructType, stage: String, input: String, output: String): StructType = {
    requireType(schema, stage, input, "a string column")(_ == StringType)
    requireAbsent(schema, stage, output)
    schema.add(output, StringType, nullable = true)
  }

  def isNumeric(t: DataType): Boolean = t.isInstanceOf[NumericType]
  def isVector(t: DataType): Boolean = t == VectorType
}

object ColumnRef {

  /** A column reference that treats dots and spaces in the name literally. */
  def apply(name: String): org.apache.spark.sql.Column =
    org.apache.spark.sql.functions.col("`" + name.replace("`", "``") + "`")
}
