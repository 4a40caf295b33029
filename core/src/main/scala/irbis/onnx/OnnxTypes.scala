package irbis.onnx

import scala.jdk.CollectionConverters._

import ai.onnxruntime._
import org.apache.spark.sql.types._
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, render}

/** Mapping between ONNX element types and Spark types, and readable descriptions of graph nodes. */
object OnnxTypes {
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

  def nested(element: DataType, depth: Int): DataType =
    (0 until depth).foldLeft(element)((t, _) => ArrayType(t, containsNull = false))

  def describe(info: NodeInfo): JObject = info.getInfo match {
    case t: TensorInfo =>
      val names = Option(t.getDimensionNames).map(_.toList).getOrElse(Nil)
      JObject("kind" -> JString("tensor"), "type" -> JString(t.`type`.toString),
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
