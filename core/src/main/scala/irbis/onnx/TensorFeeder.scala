package irbis.onnx

import java.nio.{ByteBuffer, ByteOrder}

import scala.collection.mutable.ArrayBuffer

import ai.onnxruntime.{OnnxJavaType, OnnxTensor, OrtEnvironment, TensorInfo}
import ai.onnxruntime.platform.Fp16Conversions
import org.apache.spark.ml.linalg.{SQLDataTypes, Vector}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.util.ArrayData
import org.apache.spark.sql.types._

/** A row whose value does not fit the graph input; the message names the column, the shapes and the input. */
class FeedException(val stage: String, val detail: String) extends IllegalArgumentException(s"$stage: $detail")

/**
 * Turns one column of a batch of Catalyst rows into one input tensor. Values are written straight into a
 * direct, native-order buffer that is reused from batch to batch; ONNX Runtime wraps it without a copy.
 * `stacked`: rows are stacked on a batch axis 0 (else the one row of a call is the whole tensor).
 */
final class TensorFeeder(stage: String, spec: FeedSpec, info: TensorInfo, stacked: Boolean) {

  /** What one row's value must look like; None for an input of unknown rank, which takes each row's own shape. */
  private val rowDims: Option[Array[Long]] =
    if (spec.rank < 0) None else Some(if (stacked) info.getShape.tail else info.getShape)
  private val elemType: OnnxJavaType = info.`type`
  private val typeName = OnnxTypes.onnxName(info)
  private val vectorUdt = SQLDataTypes.VectorType.asInstanceOf[UserDefinedType[Vector]]
  private val elemSize: Int = elemType match {
    case OnnxJavaType.FLOAT | OnnxJavaType.INT32 => 4
    case OnnxJavaType.DOUBLE | OnnxJavaType.INT64 => 8
    case OnnxJavaType.INT16 | OnnxJavaType.FLOAT16 | OnnxJavaType.BFLOAT16 => 2
    case OnnxJavaType.INT8 | OnnxJavaType.UINT8 | OnnxJavaType.BOOL => 1
    case OnnxJavaType.STRING => 0
    case other =>
      throw new IllegalArgumentException(s"$stage: graph input '${spec.input}' has unsupported element type $other")
  }

  private var buffer: ByteBuffer = ByteBuffer.allocateDirect(0)
  private val strings = new ArrayBuffer[String]()
  private var written = 0

  private def showDims(d: Array[Long]): String = d.map(x => if (x < 0) "?" else x.toString).mkString("[", ", ", "]")

  /** The shape of one row's value, as the column's type and content give it. */
  def valueShape(row: InternalRow): Array[Long] = shapeOf(row.get(spec.index, spec.dataType), spec.dataType)

  /**
   * The value's shape, checked all the way down: arrays must be rectangular and hold no nulls, and an image's
   * data must have height x width x channels bytes. A row that passes can be written without surprises.
   */
  private def shapeOf(v: Any, t: DataType): Array[Long] = t match {
    case ArrayType(et, containsNull) =>
      val a = v.asInstanceOf[ArrayData]
      val n = a.numElements()
      if (containsNull) {
        var i = 0
        while (i < n) { if (a.isNullAt(i)) throw nullInside(); i += 1 }
      }
      et match {
        case _: ArrayType | _: UserDefinedType[_] | _: StructType if n > 0 =>
          val first = shapeOf(a.get(0, et), et)
          var i = 1
          while (i < n) {
            val other = shapeOf(a.get(i, et), et)
            if (!java.util.Arrays.equals(other, first)) throw new FeedException(stage,
              s"column '${spec.column}' holds a ragged array: element 0 has shape ${showDims(first)} but element $i has ${showDims(other)}")
            i += 1
          }
          n.toLong +: first
        case _ => Array(n.toLong)
      }
    case _: UserDefinedType[_] if t == SQLDataTypes.VectorType => Array(vectorUdt.deserialize(v).size.toLong)
    case s: StructType if ImageStruct.matches(s) =>
      val img = v.asInstanceOf[InternalRow]
      val (h, w, c) =
        (ImageStruct.height(img, s).toLong, ImageStruct.width(img, s).toLong, ImageStruct.channels(img, s).toLong)
      val bytes = Option(ImageStruct.data(img, s)).map(_.length.toLong).getOrElse(-1L)
      if (bytes != h * w * c) throw new FeedException(stage,
        s"column '${spec.column}' holds an image of ${h}x${w}x$c (height x width x channels) with $bytes bytes of data; ${h *
            w * c} expected")
      if (chw(c)) Array(c, h, w) else Array(h, w, c)
    case _: NumericType | BooleanType | StringType => Array.empty
    case other => throw new FeedException(stage,
        s"column '${spec.column}' has type ${other.simpleString}, which cannot feed a tensor")
  }

  private def chw(channels: Long): Boolean =
    rowDims.exists(d => d.length == 3 && d(0) == channels && d(2) != channels)

  private def nullInside() = new FeedException(stage, s"column '${spec.column}' holds a null inside an array")

  /**
   * Checks a row's shape against the graph input. Returns the row dims to feed: its own shape (which binds
   * any symbolic dims), or the input's fixed shape for a value with the right number of elements.
   */
  def fit(shape: Array[Long]): Array[Long] = rowDims match {
    case None => shape
    case Some(expected) => fitTo(shape, expected)
  }

  private def fitTo(shape: Array[Long], rowDims: Array[Long]): Array[Long] = {
    def fail(why: String) = throw new FeedException(stage,
      s"column '${spec.column}' has a row of shape ${showDims(shape)}; graph input '${spec.input}' expects " +
        s"${showDims(rowDims)} per row (${if (stacked) "batch dimension excluded" else "the whole tensor"})$why")
    if (shape.length == rowDims.length) {
      shape.zip(rowDims).foreach { case (s, t) => if (t >= 0 && s != t) fail("") }
      shape
    } else if (rowDims.forall(_ >= 0) && rowDims.product == shape.product) rowDims
    else fail(if (rowDims.exists(_ < 0)) "" else s"; it has ${shape.product} elements, ${rowDims.product} expected")
  }

  /** Bytes one row of these dims takes in the input tensor (strings counted as 16 bytes each). */
  def rowBytes(dims: Array[Long]): Long = dims.product * (if (elemSize == 0) 16 else elemSize)

  /** Writes the rows' values (already checked) and `pad` zero rows, and wraps them in a tensor. */
  def tensor(env: OrtEnvironment, rows: Seq[InternalRow], dims: Array[Long], pad: Int): OnnxTensor = {
    val perRow = dims.product
    val n = rows.length + pad
    require(stacked || n == 1, s"$stage: an unbatched call takes one row, not $n")
    val shape = if (stacked) n.toLong +: dims else dims
    if (elemType == OnnxJavaType.STRING) {
      strings.clear()
      rows.foreach(r => write(r.get(spec.index, spec.dataType), spec.dataType))
      (0L until pad * perRow).foreach(_ => strings += "")
      return OnnxTensor.createTensor(env, strings.toArray, shape)
    }
    val bytes = Math.multiplyExact(n.toLong * perRow, elemSize.toLong)
    require(bytes <= Int.MaxValue, s"$stage: a batch of input '${spec.input}' needs $bytes bytes; lower miniBatchSize")
    if (buffer.capacity() < bytes) buffer = ByteBuffer.allocateDirect(bytes.toInt).order(ByteOrder.nativeOrder())
    buffer.clear()
    written = 0
    rows.foreach(r => write(r.get(spec.index, spec.dataType), spec.dataType))
    while (written < n * perRow) putDouble(0.0)
    buffer.limit(bytes.toInt).position(0)
    val view = buffer.slice().order(ByteOrder.nativeOrder())
    elemType match {
      case OnnxJavaType.FLOAT => OnnxTensor.createTensor(env, view.asFloatBuffer(), shape)
      case OnnxJavaType.DOUBLE => OnnxTensor.createTensor(env, view.asDoubleBuffer(), shape)
      case OnnxJavaType.INT32 => OnnxTensor.createTensor(env, view.asIntBuffer(), shape)
      case OnnxJavaType.INT64 => OnnxTensor.createTensor(env, view.asLongBuffer(), shape)
      case OnnxJavaType.INT16 => OnnxTensor.createTensor(env, view.asShortBuffer(), shape)
      case OnnxJavaType.FLOAT16 | OnnxJavaType.BFLOAT16 =>
        OnnxTensor.createTensor(env, view.asShortBuffer(), shape, elemType)
      case _ => OnnxTensor.createTensor(env, view, shape, elemType)
    }
  }

  private def write(v: Any, t: DataType): Unit = t match {
    case ArrayType(et, _) =>
      val a = v.asInstanceOf[ArrayData]
      val n = a.numElements()
      (et, elemType) match {
        // Bulk copies where the column already has the graph's element type.
        case (FloatType, OnnxJavaType.FLOAT) => buffer.asFloatBuffer().put(written, a.toFloatArray()); written += n
        case (DoubleType, OnnxJavaType.DOUBLE) => buffer.asDoubleBuffer().put(written, a.toDoubleArray()); written += n
        case _ =>
          var i = 0
          while (i < n) { write(a.get(i, et), et); i += 1 }
      }
    case _: UserDefinedType[_] =>
      val values = vectorUdt.deserialize(v).toArray
      if (elemType == OnnxJavaType.DOUBLE) { buffer.asDoubleBuffer().put(written, values); written += values.length }
      else values.foreach(putDouble)
    case s: StructType =>
      val img = v.asInstanceOf[InternalRow]
      val (h, w, c) = (ImageStruct.height(img, s), ImageStruct.width(img, s), ImageStruct.channels(img, s))
      val data = ImageStruct.data(img, s)
      if (chw(c))
        for (ch <- 0 until c; y <- 0 until h; x <- 0 until w) putDouble((data((y * w + x) * c + ch) & 0xff).toDouble)
      else data.foreach(b => putDouble((b & 0xff).toDouble))
    case FloatType => putDouble(v.asInstanceOf[Float].toDouble)
    case DoubleType => putDouble(v.asInstanceOf[Double])
    case IntegerType => putLong(v.asInstanceOf[Int].toLong)
    case LongType => putLong(v.asInstanceOf[Long])
    case ShortType => putLong(v.asInstanceOf[Short].toLong)
    case ByteType => putLong(v.asInstanceOf[Byte].toLong)
    case BooleanType => putLong(if (v.asInstanceOf[Boolean]) 1L else 0L)
    case StringType => strings += v.toString
    case _: DecimalType =>
      val d = v.asInstanceOf[Decimal]
      if (bounds.isDefined) putLong(d.toLong) else putDouble(d.toDouble)
    case other => throw new FeedException(stage, s"column '${spec.column}' has type ${other.simpleString}")
  }

  /** The whole numbers an integer or bool input holds; None for floating-point and string inputs. */
  private val bounds: Option[(Long, Long)] = elemType match {
    case OnnxJavaType.INT8 => Some((Byte.MinValue.toLong, Byte.MaxValue.toLong))
    case OnnxJavaType.UINT8 => Some((0L, 255L))
    case OnnxJavaType.INT16 => Some((Short.MinValue.toLong, Short.MaxValue.toLong))
    case OnnxJavaType.INT32 => Some((Int.MinValue.toLong, Int.MaxValue.toLong))
    case OnnxJavaType.INT64 => Some((Long.MinValue, Long.MaxValue))
    case OnnxJavaType.BOOL => Some((0L, 1L))
    case _ => None
  }

  private def covers(lo: Long, hi: Long): Boolean = bounds.forall { case (l, h) => l <= lo && h >= hi }

  /** Whether every value the column's type can hold is one the input's type holds too. */
  private def exact(t: DataType): Boolean = t match {
    case ArrayType(et, _) => exact(et)
    case BooleanType => true
    case ByteType => covers(Byte.MinValue, Byte.MaxValue)
    case ShortType => covers(Short.MinValue, Short.MaxValue)
    case IntegerType => covers(Int.MinValue, Int.MaxValue)
    case LongType => covers(Long.MinValue, Long.MaxValue)
    case _: StructType => covers(0, 255)
    case _ => bounds.isEmpty
  }

  /** Whether rows must be checked value by value before they are written (see [[checkValues]]). */
  val checksValues: Boolean = bounds.isDefined && !exact(spec.dataType)

  /**
   * Refuses a value that the integer or bool input would not hold exactly (out of range, fractional, NaN,
   * infinite): written as is, it would wrap, saturate or truncate into another number without a word.
   * `row` is the row's position in its partition.
   */
  def checkValues(row: InternalRow, rowInPartition: Long): Unit = {
    val (lo, hi) = bounds.get
    def refuse(shown: String) = {
      val partition = Option(org.apache.spark.TaskContext.get()).map(_.partitionId()).getOrElse(0)
      throw new FeedException(stage,
        s"column '${spec.column}' row $rowInPartition (of partition $partition) holds " +
          s"$shown, which graph input '${spec.input}' ($typeName) cannot hold exactly: it takes " +
          (if (elemType == OnnxJavaType.BOOL) "0 and 1 (or booleans)" else s"whole numbers from $lo to $hi"))
    }
    def long(l: Long): Unit = if (l < lo || l > hi) refuse(l.toString)
    def double(d: Double): Unit =
      if (d.isNaN || d.isInfinite || d != math.rint(d) || d < lo.toDouble || d > hi.toDouble ||
        (hi == Long.MaxValue && d >= 9.223372036854775807e18)) refuse(TensorFeeder.show(d))
    def decimal(d: Decimal): Unit = {
      val b = d.toJavaBigDecimal
      if (b.signum != 0 && b.stripTrailingZeros.scale > 0 || b.compareTo(java.math.BigDecimal.valueOf(lo)) < 0 ||
        b.compareTo(java.math.BigDecimal.valueOf(hi)) > 0) refuse(b.toPlainString)
    }
    def walk(v: Any, t: DataType): Unit = t match {
      case ArrayType(et, _) =>
        val a = v.asInstanceOf[ArrayData]
        var i = 0
        while (i < a.numElements()) { walk(a.get(i, et), et); i += 1 }
      case _: UserDefinedType[_] => vectorUdt.deserialize(v).toArray.foreach(double)
      case s: StructType => ImageStruct.data(v.asInstanceOf[InternalRow], s).foreach(b => long((b & 0xff).toLong))
      case FloatType => double(v.asInstanceOf[Float].toDouble)
      case DoubleType => double(v.asInstanceOf[Double])
      case ByteType => long(v.asInstanceOf[Byte].toLong)
      case ShortType => long(v.asInstanceOf[Short].toLong)
      case IntegerType => long(v.asInstanceOf[Int].toLong)
      case LongType => long(v.asInstanceOf[Long])
      case _: DecimalType => decimal(v.asInstanceOf[Decimal])
      case _ =>
    }
    walk(row.get(spec.index, spec.dataType), spec.dataType)
  }

  private def putDouble(d: Double): Unit = {
    if (elemType == OnnxJavaType.STRING) { strings += d.toString; return }
    val at = written * elemSize
    elemType match {
      case OnnxJavaType.FLOAT => buffer.putFloat(at, d.toFloat)
      case OnnxJavaType.DOUBLE => buffer.putDouble(at, d)
      case OnnxJavaType.INT32 => buffer.putInt(at, d.toInt)
      case OnnxJavaType.INT64 => buffer.putLong(at, d.toLong)
      case OnnxJavaType.INT16 => buffer.putShort(at, d.toShort)
      case OnnxJavaType.FLOAT16 => buffer.putShort(at, Fp16Conversions.floatToFp16(d.toFloat))
      case OnnxJavaType.BFLOAT16 => buffer.putShort(at, Fp16Conversions.floatToBf16(d.toFloat))
      case OnnxJavaType.BOOL => buffer.put(at, (if (d != 0) 1 else 0).toByte)
      case _ => buffer.put(at, d.toLong.toByte)
    }
    written += 1
  }

  private def putLong(l: Long): Unit = elemType match {
    case OnnxJavaType.INT64 => buffer.putLong(written * 8, l); written += 1
    case _ => putDouble(l.toDouble)
  }
}

object TensorFeeder {

  /** A double as messages write it: whole numbers exactly (not 9.223372036854776E18), others as Java prints them. */
  def show(d: Double): String =
    if (d.isNaN || d.isInfinite) d.toString
    else if (d == math.rint(d)) new java.math.BigDecimal(d).toPlainString
    else java.math.BigDecimal.valueOf(d).toPlainString

  private def leaf(t: DataType): DataType = t match {
    case ArrayType(et, _) => leaf(et)
    case other => other
  }

  /** On the driver, before any task: a string column feeds only a string input, and only strings feed one. */
  def checkTypes(stage: String, spec: FeedSpec, info: TensorInfo): Unit = {
    val column = leaf(spec.dataType)
    val stringInput = info.`type` == OnnxJavaType.STRING
    if (stringInput != (column == StringType)) throw new IllegalArgumentException(
      s"$stage: column '${spec.column}' (${spec.dataType.simpleString}) cannot feed graph input '${spec.input}', " +
        s"whose elements are ${info.`type`.toString.toLowerCase}: " +
        (if (stringInput) "give it a string column (or an array of strings)" else "cast the column to numbers first"))
  }
}
