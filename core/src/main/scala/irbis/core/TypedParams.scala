package irbis.core

import java.util.Base64

import scala.jdk.CollectionConverters._
import scala.reflect.ClassTag

import org.apache.spark.ml.PipelineStage
import org.apache.spark.ml.linalg.{DenseVector, SparseVector, Vector, Vectors}
import org.apache.spark.ml.param.{DoubleParam, Param, Params}
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/*
 * Param types that Spark lacks. Each one owns its JSON codec (used for metadata and for moving values
 * between languages) and a Java-friendly `w` so that py4j and rJava callers can build pairs.
 */

private[core] object JsonCodec {
  def number(d: Double): JValue =
    if (d.isNaN) JString("NaN")
    else if (d.isPosInfinity) JString("Inf")
    else if (d.isNegInfinity) JString("-Inf")
    else JDouble(d)

  def double(v: JValue, what: => String): Double = v match {
    case JString("NaN") => Double.NaN
    case JString("Inf") => Double.PositiveInfinity
    case JString("-Inf") => Double.NegativeInfinity
    case JDouble(d) => d
    case JInt(i) => i.toDouble
    case JLong(l) => l.toDouble
    case JDecimal(d) => d.toDouble
    case other => throw new IllegalArgumentException(s"$what: expected a number, got ${compact(render(other))}")
  }

  def long(v: JValue, what: => String): Long = v match {
    case JInt(i) if i.isValidLong => i.toLong
    case JLong(l) => l
    case other => throw new IllegalArgumentException(s"$what: expected an integer, got ${compact(render(other))}")
  }

  def int(v: JValue, what: => String): Int = {
    val l = long(v, what)
    if (l.isValidInt) l.toInt else throw new IllegalArgumentException(s"$what: $l does not fit in a 32-bit integer")
  }

  def string(v: JValue, what: => String): String = v match {
    case JString(s) => s
    case other => throw new IllegalArgumentException(s"$what: expected a string, got ${compact(render(other))}")
  }

  def array(json: String, what: => String): List[JValue] = parse(json) match {
    case JArray(xs) => xs
    case other => throw new IllegalArgumentException(s"$what: expected a JSON array, got ${compact(render(other))}")
  }

  def obj(json: String, what: => String): List[(String, JValue)] = parse(json) match {
    case JObject(fields) => fields
    case other => throw new IllegalArgumentException(s"$what: expected a JSON object, got ${compact(render(other))}")
  }

  def write(v: JValue): String = compact(render(v))
}

import JsonCodec._

/** A string Param (Spark uses the untyped `Param[String]`, which code generation cannot tell apart). */
class StringParam(parent: Params, name: String, doc: String, isValid: String => Boolean)
  extends Param[String](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.notNull)
  override def jsonEncode(value: String): String = write(JString(value))
  override def jsonDecode(json: String): String = string(parse(json), name)
}

/** A string Param restricted to a fixed set of values, listed in its doc and in the generated wrappers. */
class EnumParam(parent: Params, name: String, doc: String, val options: Seq[String])
  extends StringParam(parent, name, s"$doc One of: ${options.mkString(", ")}.", Validators.oneOf(options))

/**
 * A DoubleParam that once was an IntParam: it also reads JSON integers, which Spark's DoubleParam refuses, so that
 * stages saved before (`"timeout":120`) still load. It writes as a DoubleParam does.
 */
class WidenedDoubleParam(parent: Params, name: String, doc: String, isValid: Double => Boolean)
  extends DoubleParam(parent, name, doc, isValid) {
  override def jsonDecode(json: String): Double = double(parse(json), name)
}

/** Array Params defined by how one element is written to and read from JSON (and taken from Java). */
abstract class ElementArrayParam[T: ClassTag](parent: Params, name: String, doc: String, isValid: Array[T] => Boolean)
  extends Param[Array[T]](parent, name, doc, isValid) {
  protected def encodeElement(v: T): JValue
  protected def decodeElement(v: JValue): T
  protected def fromJava(v: Any): T

  def w(value: java.util.List[_]): org.apache.spark.ml.param.ParamPair[Array[T]] =
    w(value.asScala.map(fromJava).toArray)
  override def jsonEncode(value: Array[T]): String = write(JArray(value.toList.map(encodeElement)))
  override def jsonDecode(json: String): Array[T] = array(json, name).map(decodeElement).toArray
}

class BooleanArrayParam(parent: Params, name: String, doc: String, isValid: Array[Boolean] => Boolean)
  extends ElementArrayParam[Boolean](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.any)
  protected def encodeElement(v: Boolean): JValue = JBool(v)
  protected def decodeElement(v: JValue): Boolean = v match {
    case JBool(b) => b
    case other => throw new IllegalArgumentException(s"$name: expected booleans, got ${write(other)}")
  }
  protected def fromJava(v: Any): Boolean = v.asInstanceOf[java.lang.Boolean].booleanValue
}

class LongArrayParam(parent: Params, name: String, doc: String, isValid: Array[Long] => Boolean)
  extends ElementArrayParam[Long](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.any)
  protected def encodeElement(v: Long): JValue = JLong(v)
  protected def decodeElement(v: JValue): Long = long(v, name)
  protected def fromJava(v: Any): Long = v.asInstanceOf[java.lang.Number].longValue
}

class FloatArrayParam(parent: Params, name: String, doc: String, isValid: Array[Float] => Boolean)
  extends ElementArrayParam[Float](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.any)
  protected def encodeElement(v: Float): JValue = number(v.toDouble)
  protected def decodeElement(v: JValue): Float = double(v, name).toFloat
  protected def fromJava(v: Any): Float = v.asInstanceOf[java.lang.Number].floatValue
}

/** Map-valued Params, encoded as JSON objects; keys keep their insertion order. */
abstract class MapParam[V](parent: Params, name: String, doc: String, isValid: Map[String, V] => Boolean)
  extends Param[Map[String, V]](parent, name, doc, isValid) {
  protected def encodeValue(v: V): JValue
  protected def decodeValue(v: JValue, key: String): V
  def w(value: java.util.Map[String, _]): org.apache.spark.ml.param.ParamPair[Map[String, V]] =
    w(value.asScala.toSeq.map { case (k, v) => k -> decodeValue(Extraction.decompose(v)(DefaultFormats), k) }.toMap)
  override def jsonEncode(value: Map[String, V]): String =
    write(JObject(value.toList.sortBy(_._1).map { case (k, v) => JField(k, encodeValue(v)) }))
  override def jsonDecode(json: String): Map[String, V] =
    obj(json, name).map { case (k, v) => k -> decodeValue(v, k) }.toMap
}

class StringStringMapParam(parent: Params, name: String, doc: String, isValid: Map[String, String] => Boolean)
  extends MapParam[String](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.any)
  protected def encodeValue(v: String): JValue = JString(v)
  protected def decodeValue(v: JValue, key: String): String = string(v, s"$name[$key]")
}

class StringIntMapParam(parent: Params, name: String, doc: String, isValid: Map[String, Int] => Boolean)
  extends MapParam[Int](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.any)
  protected def encodeValue(v: Int): JValue = JInt(v)
  protected def decodeValue(v: JValue, key: String): Int = int(v, s"$name[$key]")
}

class StringDoubleMapParam(parent: Params, name: String, doc: String, isValid: Map[String, Double] => Boolean)
  extends MapParam[Double](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.any)
  protected def encodeValue(v: Double): JValue = number(v)
  protected def decodeValue(v: JValue, key: String): Double = double(v, s"$name[$key]")
}

/**
 * A Spark ML vector, in Spark's vector JSON (dense `{"type":1,"values":[...]}`, sparse
 * `{"type":0,"size":n,"indices":[...],"values":[...]}`), with NaN and infinities written as strings so
 * that every value survives the round trip (Spark's own vector codec cannot read them back).
 */
class VectorParam(parent: Params, name: String, doc: String, isValid: Vector => Boolean)
  extends Param[Vector](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.any)

  override def jsonEncode(value: Vector): String = value match {
    case d: DenseVector => write(JObject("type" -> JInt(1), "values" -> JArray(d.values.toList.map(number))))
    case s: SparseVector => write(JObject("type" -> JInt(0), "size" -> JInt(s.size),
          "indices" -> JArray(s.indices.toList.map(JInt(_))), "values" -> JArray(s.values.toList.map(number))))
  }

  override def jsonDecode(json: String): Vector = {
    val fields = obj(json, name).toMap
    def values = fields.get("values") match {
      case Some(JArray(xs)) => xs.map(double(_, s"$name.values")).toArray
      case _ => throw new IllegalArgumentException(s"$name: a vector needs \"values\", got $json")
    }
    fields.get("type").map(int(_, s"$name.type")) match {
      case Some(1) => Vectors.dense(values)
      case Some(0) =>
        val indices = fields.get("indices") match {
          case Some(JArray(xs)) => xs.map(int(_, s"$name.indices")).toArray
          case _ => throw new IllegalArgumentException(s"$name: a sparse vector needs \"indices\", got $json")
        }
        Vectors.sparse(fields.get("size").map(int(_, s"$name.size")).getOrElse(
            throw new IllegalArgumentException(s"$name: a sparse vector needs \"size\", got $json")), indices, values)
      case _ => throw new IllegalArgumentException(s"$name: \"type\" must be 0 (sparse) or 1 (dense), got $json")
    }
  }
}

/**
 * Binary payloads such as model bytes. They are saved beside the metadata, not inside it; the base64 JSON
 * codec exists so that small values can still travel between languages.
 */
class BytesParam(parent: Params, name: String, doc: String, isValid: Array[Byte] => Boolean)
  extends Param[Array[Byte]](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.notNull)
  override def jsonEncode(value: Array[Byte]): String = write(JString(Base64.getEncoder.encodeToString(value)))
  override def jsonDecode(json: String): Array[Byte] = Base64.getDecoder.decode(string(parse(json), name))
}

/** A nested stage (an Estimator, a Transformer or a fitted Model), saved in its own folder. */
class StageParam[S <: PipelineStage](parent: Params, name: String, doc: String, isValid: S => Boolean)
  extends Param[S](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) = this(parent, name, doc, Validators.notNull)
  override def jsonEncode(value: S): String =
    throw new UnsupportedOperationException(s"$name holds a stage: it is saved beside the metadata, not as JSON")
  override def jsonDecode(json: String): S =
    throw new UnsupportedOperationException(s"$name holds a stage: it is loaded from its own folder, not from JSON")
}

/**
 * An ordered list of nested stages (e.g. the candidate models of a model selection), each saved in its own
 * folder `complexParams/<name>/<index>`. From Python and R the value arrives as a `java.util.List`, or as an
 * array from the JVM itself; [[StageArrayParam.coerce]] turns either into the array this Param holds.
 */
class StageArrayParam(parent: Params, name: String, doc: String, isValid: Array[PipelineStage] => Boolean)
  extends Param[Array[PipelineStage]](parent, name, doc, isValid) {
  def this(parent: Params, name: String, doc: String) =
    this(parent, name, doc, (a: Array[PipelineStage]) => a != null && a.forall(_ != null))
  override def jsonEncode(value: Array[PipelineStage]): String =
    throw new UnsupportedOperationException(s"$name holds stages: they are saved beside the metadata, not as JSON")
  override def jsonDecode(json: String): Array[PipelineStage] =
    throw new UnsupportedOperationException(
      s"$name holds stages: they are loaded from their own folders, not from JSON")
}

object StageArrayParam {

  /** A `java.util.List`, a Scala `Seq` or any array whose elements are all stages, as `Array[PipelineStage]`. */
  def coerce(value: Any, what: => String): Array[PipelineStage] = {
    val items: Seq[Any] = value match {
      case null => throw new IllegalArgumentException(s"$what: expected a list of stages, got null")
      case a: Array[_] => a.toSeq
      case l: java.util.List[_] => l.asScala.toSeq
      case s: Seq[_] => s
      case other => throw new IllegalArgumentException(
          s"$what: expected a list of stages, got ${other.getClass.getName}")
    }
    items.zipWithIndex.map {
      case (s: PipelineStage, _) => s
      case (other, i) => throw new IllegalArgumentException(
          s"$what: element $i is ${if (other == null) "null" else other.getClass.getName}, not a Spark ML stage")
    }.toArray
  }
}
