package irbis.onnx

import java.util.Arrays.copyOfRange

import scala.jdk.CollectionConverters._

import ai.onnxruntime._
import org.apache.spark.ml.linalg.{SQLDataTypes, Vector, Vectors}
import org.apache.spark.sql.catalyst.expressions.{GenericInternalRow, UnsafeArrayData}
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData.fromPrimitiveArray
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

  /** One batch's values of one element type: what differs between the types is in its [[Element]]. */
  final case class Values[A](a: Array[A], element: Element[A]) extends Flat {
    def scalar(i: Int): Any = a(i)
    def slice(from: Int, len: Int): ArrayData = element.slice(a, from, len)
    def double(i: Int): Double = element.double(a, i)
  }

  /** How a range of an element type's array becomes a Spark array (a copy), and one element's number. */
  sealed abstract class Element[A] {
    def slice(a: Array[A], from: Int, len: Int): ArrayData
    def double(a: Array[A], i: Int): Double
  }

  // Spark's UnsafeArrayData reads each primitive array type through an overload of its own; a method per type
  // (not a function value) keeps the elements unboxed.
  val Floats: Element[Float] = new Element[Float] {
    def slice(a: Array[Float], from: Int, len: Int) = fromPrimitiveArray(copyOfRange(a, from, from + len))
    def double(a: Array[Float], i: Int): Double = a(i).toDouble
  }
  val Doubles: Element[Double] = new Element[Double] {
    def slice(a: Array[Double], from: Int, len: Int) = fromPrimitiveArray(copyOfRange(a, from, from + len))
    def double(a: Array[Double], i: Int): Double = a(i)
  }
  val Longs: Element[Long] = new Element[Long] {
    def slice(a: Array[Long], from: Int, len: Int) = fromPrimitiveArray(copyOfRange(a, from, from + len))
    def double(a: Array[Long], i: Int): Double = a(i).toDouble
  }
  val Ints: Element[Int] = new Element[Int] {
    def slice(a: Array[Int], from: Int, len: Int) = fromPrimitiveArray(copyOfRange(a, from, from + len))
    def double(a: Array[Int], i: Int): Double = a(i).toDouble
  }
  val Shorts: Element[Short] = new Element[Short] {
    def slice(a: Array[Short], from: Int, len: Int) = fromPrimitiveArray(copyOfRange(a, from, from + len))
    def double(a: Array[Short], i: Int): Double = a(i).toDouble
  }
  val Bytes: Element[Byte] = new Element[Byte] {
    def slice(a: Array[Byte], from: Int, len: Int) = fromPrimitiveArray(copyOfRange(a, from, from + len))
    def double(a: Array[Byte], i: Int): Double = a(i).toDouble
  }
  val Booleans: Element[Boolean] = new Element[Boolean] {
    def slice(a: Array[Boolean], from: Int, len: Int) = fromPrimitiveArray(copyOfRange(a, from, from + len))
    def double(a: Array[Boolean], i: Int): Double = if (a(i)) 1.0 else 0.0
  }
  val Strings: Element[UTF8String] = new Element[UTF8String] {
    def slice(a: Array[UTF8String], from: Int, len: Int) =
      new GenericArrayData(copyOfRange(a.asInstanceOf[Array[AnyRef]], from, from + len))
    def double(a: Array[UTF8String], i: Int): Double =
      throw new IllegalArgumentException("a string output has no numeric value")
  }
  val Decimals: Element[Decimal] = new Element[Decimal] {
    def slice(a: Array[Decimal], from: Int, len: Int) =
      new GenericArrayData(copyOfRange(a.asInstanceOf[Array[AnyRef]], from, from + len))
    def double(a: Array[Decimal], i: Int): Double = a(i).toDouble
  }

  /** Unsigned values widened to the next larger Spark type (ONNX Runtime's Java API hands them over as signed). */
  private def unsigned(t: OnnxTensor, count: Int): Option[Flat] = t.getInfo.onnxType match {
    case TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 =>
      val a = new Array[Short](count); t.getShortBuffer.get(a); Some(Values(a.map(_ & 0xffff), Ints))
    case TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 =>
      val a = new Array[Int](count); t.getIntBuffer.get(a); Some(Values(a.map(_ & 0xffffffffL), Longs))
    case TensorInfo.OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 =>
      val a = new Array[Long](count); t.getLongBuffer.get(a)
      Some(Values(a.map(x => Decimal(new java.math.BigDecimal(java.lang.Long.toUnsignedString(x)), 20, 0)), Decimals))
    case _ => None
  }

  def read(t: OnnxTensor, count: Int): Flat = unsigned(t, count).getOrElse(readSigned(t, count))

  private def readSigned(t: OnnxTensor, count: Int): Flat = t.getInfo.`type` match {
    case OnnxJavaType.FLOAT | OnnxJavaType.FLOAT16 | OnnxJavaType.BFLOAT16 =>
      val a = new Array[Float](count); t.getFloatBuffer.get(a); Values(a, Floats)
    case OnnxJavaType.DOUBLE => val a = new Array[Double](count); t.getDoubleBuffer.get(a); Values(a, Doubles)
    case OnnxJavaType.INT64 => val a = new Array[Long](count); t.getLongBuffer.get(a); Values(a, Longs)
    case OnnxJavaType.INT32 => val a = new Array[Int](count); t.getIntBuffer.get(a); Values(a, Ints)
    case OnnxJavaType.INT16 => val a = new Array[Short](count); t.getShortBuffer.get(a); Values(a, Shorts)
    case OnnxJavaType.UINT8 =>
      val b = new Array[Byte](count); t.getByteBuffer.get(b); Values(b.map(x => (x & 0xff).toShort), Shorts)
    case OnnxJavaType.INT8 => val a = new Array[Byte](count); t.getByteBuffer.get(a); Values(a, Bytes)
    case OnnxJavaType.BOOL => val b = new Array[Byte](count); t.getByteBuffer.get(b); Values(b.map(_ != 0), Booleans)
    case OnnxJavaType.STRING =>
      val out = new Array[UTF8String](count)
      var k = 0
      def walk(x: Any): Unit = x match {
        case s: String => if (k < count) out(k) = UTF8String.fromString(s); k += 1
        case a: Array[_] => a.foreach(walk)
      }
      walk(t.getValue)
      Values(out, Strings)
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
      if (stacked && (shape.isEmpty || shape(0) != sent))
        requireBatch(s"a tensor of shape ${shape.mkString("[", ", ", "]")}", sent)
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
    case other =>
      throw new IllegalArgumentException(s"output '${spec.output}' is a ${other.getType}, which is not supported")
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
