package irbis.core

import org.apache.spark.ml.linalg.Vector
import org.apache.spark.ml.param._
import org.json4s.{JObject, JString}

/**
 * The closed list of Param kinds that the language wrappers know how to convert. A Param whose kind is not
 * known is an error naming the stage and the Param, never silently skipped. The list is the one of
 * `codegen/irbis_codegen/kinds.py` (the generators' table); tests/python/core/test_kind_tables.py fails when they drift.
 */
object ParamKind {
  val Complex: Set[String] = Set("bytes", "stage", "stage[]")

  val All: Seq[String] = Seq(
    "boolean", "int", "long", "float", "double", "string",
    "boolean[]", "int[]", "long[]", "float[]", "double[]", "string[]", "double[][]",
    "map<string,string>", "map<string,int>", "map<string,double>", "vector", "bytes", "stage", "stage[]")

  def of(stage: Params, p: Param[_]): String = p match {
    case _: BooleanParam => "boolean"
    case _: IntParam => "int"
    case _: LongParam => "long"
    case _: FloatParam => "float"
    case _: DoubleParam => "double"
    case _: StringParam => "string"
    case _: BooleanArrayParam => "boolean[]"
    case _: IntArrayParam => "int[]"
    case _: LongArrayParam => "long[]"
    case _: FloatArrayParam => "float[]"
    case _: DoubleArrayParam => "double[]"
    case _: StringArrayParam => "string[]"
    case _: DoubleArrayArrayParam => "double[][]"
    case _: StringStringMapParam => "map<string,string>"
    case _: StringIntMapParam => "map<string,int>"
    case _: StringDoubleMapParam => "map<string,double>"
    case _: VectorParam => "vector"
    case _: BytesParam => "bytes"
    case _: StageParam[_] => "stage"
    case _: StageArrayParam => "stage[]"
    case _ => fromGetter(stage, p).getOrElse(throw new UnknownParamKindException(stage, p))
  }

  def isComplex(stage: Params, p: Param[_]): Boolean = Complex.contains(of(stage, p))

  /**
   * The manifest's `validation` of a Param: its [[Constraint]]'s form, `{"rule": "jvm"}` for a validator the
   * wrappers cannot evaluate (they ask the JVM), None when any value of the kind is valid.
   */
  def validation(p: Param[_]): Option[JObject] = p.isValid match {
    case c: Constraint => c.toJson
    case f if f eq SparkAlwaysTrue => None
    case _ => Some(JObject("rule" -> JString("jvm")))
  }

  // Spark's Params built without a validator share one instance of its (internal) alwaysTrue.
  private val SparkAlwaysTrue: AnyRef = new BooleanParam("", "", "").isValid

  def options(p: Param[_]): Option[Seq[String]] = p match {
    case e: EnumParam => Some(e.options)
    case _ => None
  }

  /** Spark's shared params (e.g. `Param[String]` for column names) are typed only by their getter. */
  private def fromGetter(stage: Params, p: Param[_]): Option[String] = {
    val getter = "get" + p.name.head.toUpper + p.name.tail
    stage.getClass.getMethods.find(m => m.getName == getter && m.getParameterCount == 0).flatMap { m =>
      m.getReturnType match {
        case c if c == classOf[String] => Some("string")
        case c if classOf[Vector].isAssignableFrom(c) => Some("vector")
        case _ => None
      }
    }
  }
}

class UnknownParamKindException(stage: Params, p: Param[_])
  extends IllegalArgumentException(
    s"${stage.getClass.getName} has Param '${p.name}' of type ${p.getClass.getName}, which the Irbis wrappers " +
      s"cannot convert. Use one of the typed Params in irbis.core (kinds: ${ParamKind.All.mkString(", ")}).")
