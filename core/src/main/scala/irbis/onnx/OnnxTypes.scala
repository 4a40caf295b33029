package irbis.onnx

import scala.jdk.CollectionConverters._

import ai.onnxruntime._
import org.apache.spark.sql.types._
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, render}

/** Mapping between ONNX element types and Spark types, and readable descriptions of graph nodes. */
object OnnxTypes {
  import TensorInfo.OnnxTensorType._

  /** uint64 values up to 2^64 - 1 as exact whole numbers. */
  val UInt64Type: DecimalType = DecimalType(20, 0)

  /**
   * The Spark type of a tensor's elements. ONNX Runtime's Java API reports uint16, uint32 and uint64 as its
   * signed types of the same width, so the tensor's ONNX type decides: each unsigned type gets a wider one.
   */
  def sparkType(t: TensorInfo, what: => String): DataType = t.onnxType match {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 => IntegerType
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 => LongType
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 => UInt64Type
    case _ => sparkType(t.`type`, what)
  }

  /** The element type as ONNX names it (uint16, not the INT16 that ONNX Runtime's Java API reports). */
  def onnxName(t: TensorInfo): String = t.onnxType.toString.stripPrefix("ONNX_TENSOR_ELEMENT_DATA_TYPE_").toLowerCase

  /** Element types that ONNX Runtime 1.29.0's Java API cannot build input tensors of. */
  def unfeedable(t: TensorInfo): Boolean = t.onnxType match {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 | ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 | ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 =>
      true
    case _ => t.`type` == OnnxJavaType.UNKNOWN
  }

  def sparkType(t: OnnxJavaType, what: => String): DataType = t match {
    case OnnxJavaType.FLOAT | OnnxJavaType.FLOAT16 | OnnxJavaType.BFLOAT16 => FloatType
    case OnnxJavaType.DOUBLE => DoubleType
    case OnnxJavaType.INT8 => ByteType
    case OnnxJavaType.UINT8 | OnnxJavaType.INT16 => ShortType
    case OnnxJavaType.INT32 => IntegerType
    case OnnxJavaType.INT64 => LongType
    case OnnxJavaType.BOOL => BooleanType
    case OnnxJavaType.STRING => StringType
    case other => throw new IllegalArgumentException(s"$what has element type $other, which Irbis cannot convert")
  }

  def nested(element: DataType, depth: Int): DataType = (0 until depth).foldLeft(element)((t, _) =>
    ArrayType(t, containsNull = false))

  def describe(info: NodeInfo): JObject = info.getInfo match {
    case t: TensorInfo =>
      val names = Option(t.getDimensionNames).map(_.toList).getOrElse(Nil)
      JObject("kind" -> JString("tensor"), "type" -> JString(onnxName(t).toUpperCase),
        "shape" -> JArray(t.getShape.toList.map(JLong(_))),
        "dimNames" -> JArray(names.map(n => if (n == null || n.isEmpty) JNull else JString(n))))
    case s: SequenceInfo if s.sequenceOfMaps =>
      JObject("kind" -> JString("sequence<map>"), "keyType" -> JString(s.mapInfo.keyType.toString),
        "valueType" -> JString(s.mapInfo.valueType.toString))
    case s: SequenceInfo => JObject("kind" -> JString("sequence"), "type" -> JString(s.sequenceType.toString))
    case m: MapInfo => JObject("kind" -> JString("map"), "keyType" -> JString(m.keyType.toString),
        "valueType" -> JString(m.valueType.toString))
    case other => JObject("kind" -> JString(other.getClass.getSimpleName))
  }

  def describeAll(nodes: java.util.Map[String, NodeInfo]): String =
    compact(render(JObject(nodes.asScala.toList.sortBy(_._1).map { case (n, i) => JField(n, describe(i)) })))
}
