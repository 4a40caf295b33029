package irbis.onnx

import scala.jdk.CollectionConverters._

import ai.onnxruntime._
import org.apache.spark.ml.linalg.{SQLDataTypes, Vector, Vectors}
import org.apache.spark.sql.catalyst.expressions.{GenericInternalRow, UnsafeArrayData}
import org.apache.spark.sql.catalyst.util.{ArrayBasedMapData, ArrayData, GenericArrayData}
import org.apache.spark.sql.types.{Decimal, UserDefinedType}
import org.apache.spark.unsafe.types.UTF8String

/** One batch's values of one output tensor, copied out of native memory in one bulk read. */
sealed trait Flat {
  def scalar(i: Int): Any
  def slice(from: Int, len: Int): ArrayData
  def double(i: Int): Double
}

object Flat {
  final case class Floats(a: Array[Float]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = UnsafeArrayData.fromPrimitiveArray(java.util.Arrays.copyOfRange(a, from, from + len))
    def double(i: Int): Double = a(i).toDouble
  }
  final case class Doubles(a: Array[Double]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = UnsafeArrayData.fromPrimitiveArray(java.util.Arrays.copyOfRange(a, from, from + len))
    def double(i: Int): Double = a(i)
  }
  final case class Longs(a: Array[Long]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = UnsafeArrayData.fromPrimitiveArray(java.util.Arrays.copyOfRange(a, from, from + len))
    def double(i: Int): Double = a(i).toDouble
  }
  final case class Ints(a: Array[Int]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = UnsafeArrayData.fromPrimitiveArray(java.util.Arrays.copyOfRange(a, from, from + len))
    def double(i: Int): Double = a(i).toDouble
  }
  final case class Shorts(a: Array[Short]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = UnsafeArrayData.fromPrimitiveArray(java.util.Arrays.copyOfRange(a, from, from + len))
    def double(i: Int): Double = a(i).toDouble
  }
  final case class Bytes(a: Array[Byte]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = UnsafeArrayData.fromPrimitiveArray(java.util.Arrays.copyOfRange(a, from, from + len))
    def double(i: Int): Double = a(i).toDouble
  }
  final case class Booleans(a: Array[Boolean]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = UnsafeArrayData.fromPrimitiveArray(java.util.Arrays.copyOfRange(a, from, from + len))
    def double(i: Int): Double = if (a(i)) 1.0 else 0.0
  }
  final case class Strings(a: Array[UTF8String]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = new GenericArrayData(java.util.Arrays.copyOfRange(a, from, from + len).asInstanceOf[Array[Any]])
    def double(i: Int): Double = throw new IllegalArgumentException("a string output has no numeric value")
  }

  final case class Decimals(a: Array[Decimal]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = new GenericArrayData(java.util.Arrays.copyOfRange(a.asInstanceOf[Array[AnyRef]], from, from + len))
    def double(i: Int): Double = a(i).toDouble
  }

  /** Unsigned values widened to the next larger Spark type (ONNX Runtime's Java API hands them over as signed). */
  private def unsigned(t: OnnxTensor, count: Int): Option[Flat] = t.getInfo.onnxType match {
    case TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 =>
      val a = new Array[Short](count); t.getShortBuffer.get(a); Some(Ints(a.map(_ & 0xffff)))
    case TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 =>
      val a = new Array[Int](count); t.getIntBuffer.get(a); Some(Longs(a.map(_ & 0xffffffffL)))
    case TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 =>
      val a = new Array[Long](count); t.getLongBuffer.get(a)
      Some(Decimals(a.map(x => Decimal(new java.math.BigDecimal(java.lang.Long.toUnsignedString(x)), 20, 0))))
    case _ => None
  }

  def read(t: OnnxTensor, count: Int): Flat = unsigned(t, count).getOrElse(readSigned(t, count))

  private def readSigned(t: OnnxTensor, count: Int): Flat = t.getInfo.`type` match {
    case OnnxJavaType.FLOAT | OnnxJavaType.FLOAT16 | OnnxJavaType.BFLOAT16 =>
      val a = new Array[Float](count); t.getFloatBuffer.get(a); Floats(a)
    case OnnxJavaType.DOUBLE => val a = new Array[Double](count); t.getDoubleBuffer.get(a); Doubles(a)
    case OnnxJavaType.INT64 => val a = new Array[Long](count); t.getLongBuffer.get(a); Longs(a)
    case OnnxJavaType.INT32 => val a = new Array[Int](count); t.getIntBuffer.get(a); Ints(a)
    case OnnxJavaType.INT16 => val a = new Array[Short](count); t.getShortBuffer.get(a); Shorts(a)
    case OnnxJavaType.UINT8 =>
      val b = new Array[Byte](count); t.getByteBuffer.get(b); Shorts(b.map(x => (x & 0xff).toShort))
    case OnnxJavaType.INT8 => val a = new Array[Byte](count); t.getByteBuffer.get(a); Bytes(a)
    case OnnxJavaType.BOOL => val b = new Array[Byte](count); t.getByteBuffer.get(b); Booleans(b.map(_ != 0))
    case OnnxJavaType.STRING =>
      val out = new Array[UTF8String](count)
      var k = 0
      def walk(x: Any): Unit = x match {
        case s: String => if (k < count) out(k) = UTF8String.fromString(s); k += 1
        case a: Array[_] => a.foreach(walk)
      }
      walk(t.getValue)
      Strings(out)
    case other => throw new IllegalArgumentException(s"output element type $other is not supported")
  }
}

/**
 * Turns one fetched output of a batch into per-row Catalyst values (and numbers for softmax/argmax).
 * `stacked`: the output's axis 0 holds the rows (else the call had one row, and the whole tensor is its value).
 */
final class OutputReader(stage: String, val spec: FetchSpec, stacked: Boolean) {
  private val vectorUdt = SQLDataTypes.VectorType.asInstanceOf[UserDefinedType[Vector]]

  private def requireBatch(what: String, sent: Int): Nothing = throw new IllegalArgumentException(
    s"$stage: graph output '${spec.output}' is $what, but Irbis needs one value per input row: its first " +
      s"dimension must be the batch ($sent rows in this call). Fetch another output, or export the model with a batch dimension")

  /**
   * Row values of the first `rows` of the `sent` rows given to ONNX Runtime (the rest is padding), and
   * per-row numeric slices when `numeric` (for derived columns).
   */
  def read(value: OnnxValue, rows: Int, sent: Int, numeric: Boolean): (Array[Any], Array[Array[Double]]) = value match {
    case t: OnnxTensor =>
      val shape = t.getInfo.getShape
      if (stacked && (shape.isEmpty || shape(0) != sent)) requireBatch(s"a tensor of shape ${shape.mkString("[", ", ", "]")}", sent)
      val dims = (if (stacked) shape.tail else shape).map(_.toInt)
      val expectedRank = if (stacked) spec.rank - 1 else spec.rank
      if (spec.rank >= 0 && dims.length != expectedRank) throw new IllegalArgumentException(
        s"$stage: graph output '${spec.output}' came back with shape ${shape.mkString("[", ", ", "]")}, not of the rank " +
          s"${spec.rank} that ONNX Runtime declared for it")
      val per = dims.product
      val flat = Flat.read(t, rows * per)
      val values = Array.tabulate[Any](rows) { r =>
        if (spec.vector) vectorUdt.serialize(Vectors.dense(Array.tabulate(per)(i => flat.double(r * per + i))))
        else if (spec.rank < 0) new GenericInternalRow(Array[Any](
          UnsafeArrayData.fromPrimitiveArray(dims.map(_.toLong)), flat.slice(r * per, per)))
        else nest(flat, r * per, dims)
      }
      val doubles = if (numeric) Array.tabulate(rows)(r => Array.tabulate(per)(i => flat.double(r * per + i))) else null
      (values, doubles)
    case s: OnnxSequence =>
      // The elements are native values of their own, which closing the sequence does not free.
      val elements = s.getValue.asScala.toSeq
      try {
        if (elements.size != sent) requireBatch(s"a sequence of ${elements.size} values", sent)
        val values = Array.tabulate[Any](rows) { r =>
          val m = elements(r).asInstanceOf[OnnxMap].getValue.asScala.toSeq.sortBy(_._1.toString)
          new ArrayBasedMapData(new GenericArrayData(m.map(kv => catalyst(kv._1)).toArray),
            new GenericArrayData(m.map(kv => catalyst(kv._2)).toArray))
        }
        (values, null)
      } finally elements.foreach(_.close())
    case other => throw new IllegalArgumentException(s"output '${spec.output}' is a ${other.getType}, which is not supported")
  }

  private def catalyst(x: Any): Any = x match {
    case s: String => UTF8String.fromString(s)
    case other => other
  }

  private def nest(flat: Flat, from: Int, dims: Array[Int]): Any =
    if (dims.isEmpty) flat.scalar(from)
    else if (dims.length == 1) flat.slice(from, dims(0))
    else {
      val step = dims.tail.product
      new GenericArrayData(Array.tabulate[Any](dims(0))(i => nest(flat, from + i * step, dims.tail)))
    }
}
