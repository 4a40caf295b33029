package irbis.onnx

import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.types.{BinaryType, IntegerType, StructType}

/** Reads Spark's image struct (origin, height, width, nChannels, mode, data; pixels row-major, BGR, uint8). */
object ImageStruct {
  def matches(s: StructType): Boolean =
    Seq("height" -> IntegerType, "width" -> IntegerType, "nChannels" -> IntegerType, "data" -> BinaryType)
      .forall { case (n, t) => s.fieldNames.contains(n) && s(n).dataType == t }

  def height(r: InternalRow, s: StructType): Int = r.getInt(s.fieldIndex("height"))
  def width(r: InternalRow, s: StructType): Int = r.getInt(s.fieldIndex("width"))
  def channels(r: InternalRow, s: StructType): Int = r.getInt(s.fieldIndex("nChannels"))
  def data(r: InternalRow, s: StructType): Array[Byte] = r.getBinary(s.fieldIndex("data"))
}
