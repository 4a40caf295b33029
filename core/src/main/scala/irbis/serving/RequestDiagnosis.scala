package irbis.serving

import scala.jdk.CollectionConverters._
import java.nio.charset.CodingErrorAction

import scala.util.{Failure, Success, Try}

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.apache.spark.sql.types._

/**
 * Why a request body does not fit the schema of `parseRequest`, said the way a client can act on it. The
 * executors decide (rows that do not parse are dropped from the pipeline); this names the reason, on the driver,
 * for the 400 answer.
 */
object RequestDiagnosis {
  private val mapper = new ObjectMapper()

  private def utf8(body: Array[Byte]): Option[String] =
    Try(java.nio.charset.StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(java.nio.ByteBuffer.wrap(body)).toString).toOption

  def problem(body: Array[Byte], schema: StructType): Option[String] = utf8(body) match {
    case None => Some("the body is not valid UTF-8 (JSON bodies must be UTF-8)")
    // parsed from the decoded text, so that Jackson's detection of UTF-16 and UTF-32 cannot accept what Spark rejects
    case Some(text) => Try(mapper.readTree(text)) match {
        case Failure(e) => Some(s"the body is not valid JSON: ${e.getMessage.linesIterator.nextOption().getOrElse("")}")
        case Success(null) => Some("the body is empty; expected a JSON object")
        case Success(node) if node.isMissingNode => Some("the body is empty; expected a JSON object")
        case Success(node) if !node.isObject =>
          Some(s"the body must be a JSON object with fields ${schema.fieldNames.mkString(", ")}; got a ${kind(node)}")
        case Success(node) => struct(node, schema, "")
      }
  }

  private def kind(n: JsonNode): String = n.getNodeType.toString.toLowerCase

  private def struct(node: JsonNode, schema: StructType, prefix: String): Option[String] =
    schema.fields.iterator.map { f =>
      val value = node.get(f.name)
      val where = prefix + f.name
      if (value == null || value.isNull) {
        if (f.nullable) None else Some(s"field '$where' is required (${f.dataType.simpleString}) but missing or null")
      } else check(value, f.dataType, where)
    }.collectFirst { case Some(p) => p }

  private def check(n: JsonNode, t: DataType, where: String): Option[String] = {
    def expected = Some(s"field '$where' must be ${t.simpleString}, got ${kind(n)} ${n.toString.take(40)}")
    t match {
      case ByteType | ShortType | IntegerType | LongType => if (n.isIntegralNumber) None else expected
      case FloatType | DoubleType | _: DecimalType => if (n.isNumber) None else expected
      case BooleanType => if (n.isBoolean) None else expected
      case s: StructType => if (n.isObject) struct(n, s, where + ".") else expected
      case ArrayType(e, _) =>
        if (!n.isArray) expected
        else n.elements().asScala.zipWithIndex.map { case (v, k) =>
          if (v.isNull) None else check(v, e, s"$where[$k]")
        }.collectFirst { case Some(p) => p }
      case MapType(StringType, v, _) =>
        if (!n.isObject) expected
        else n.fields().asScala.map(e => if (e.getValue.isNull) None else check(e.getValue, v, s"$where.${e.getKey}"))
          .collectFirst { case Some(p) => p }
      case _ => None // strings take any JSON value, as Spark's JSON reader does
    }
  }
}
