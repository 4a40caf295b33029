package irbis.testkit

import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.types.{DataType, StructType}

/** Exact comparison of two DataFrames as multisets of rows (NaN equals NaN, vectors by value). */
object Compare {
  private def shape(t: DataType): String = t match {
    case s: StructType => s.fields.map(f => s"${f.name}:${shape(f.dataType)}").mkString("struct<", ",", ">")
    case other => other.catalogString
  }

  /** null when equal, else a short description of the first difference. */
  def diff(actual: DataFrame, expected: DataFrame): String = {
    val (sa, se) = (shape(actual.schema), shape(expected.schema))
    if (sa != se) return s"schemas differ:\n  actual:   $sa\n  expected: $se"
    val a = actual.collect().map(_.json).sorted
    val e = expected.collect().map(_.json).sorted
    if (a.length != e.length) return s"row counts differ: actual ${a.length}, expected ${e.length}"
    a.zip(e).find { case (x, y) => x != y } match {
      case Some((x, y)) => s"rows differ:\n  actual:   $x\n  expected: $y"
      case None => null
    }
  }
}
