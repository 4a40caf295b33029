package irbis.http

import org.apache.spark.sql.Column
import org.apache.spark.sql.functions.{lit, map, struct}
import org.apache.spark.sql.types._

/**
 * The request and response structs that the HTTP stages read and write (and that a serving source can
 * reuse). A request is `{method, url, headers, body}`; only `url` is required in an input column, the other
 * fields may be missing or null, and `body` may be binary or string (sent as UTF-8).
 */
object HTTPSchema {
  private val StringMap = MapType(StringType, StringType, valueContainsNull = false)

  val Request: StructType = StructType(Seq(
      StructField("method", StringType),
      StructField("url", StringType),
      StructField("headers", MapType(StringType, StringType, valueContainsNull = true)),
      StructField("body", BinaryType)))

  /**
   * `status` is null only when no HTTP response arrived, and then `error` says why; `error` is also set for a
   * final non-2xx status. `attempts` counts every try (429s included); `latencyMs` is the time from the first
   * try to the outcome, retry waits included (0 when the request was invalid and never sent).
   */
  val Response: StructType = StructType(Seq(
      StructField("status", IntegerType),
      StructField("headers", StringMap),
      StructField("body", BinaryType),
      StructField("error", StringType),
      StructField("attempts", IntegerType, nullable = false),
      StructField("latencyMs", LongType, nullable = false)))

  private val RequestFields = Request.fieldNames.toSeq

  /** A request column of the [[Request]] type; a string body is sent as UTF-8. */
  def request(url: Column, method: Column, headers: Column, body: Column): Column =
    struct(method.cast(StringType).as("method"), url.cast(StringType).as("url"),
      headers.cast(Request("headers").dataType).as("headers"), body.cast(BinaryType).as("body"))

  /** A GET request with no headers. */
  def request(url: Column): Column = request(url, lit("GET"), map(), lit(null))

  /**
   * Checks that `column` can be read as a request: a struct with a string `url` and optionally `method`
   * (string), `headers` (map of strings) and `body` (binary or string).
   */
  def requireRequest(schema: StructType, stage: String, column: String): StructType = {
    val field = schema.fields.find(_.name == column).getOrElse(throw new IllegalArgumentException(
        s"$stage: input column '$column' does not exist. Available columns: ${schema.fieldNames.mkString(", ")}"))
    def fail(problem: String) = throw new IllegalArgumentException(
      s"$stage: input column '$column' $problem; expected a request struct ${Request.simpleString} " +
        "(only url is required; body may also be a string)")
    val s = field.dataType match {
      case s: StructType => s
      case other => fail(s"has type ${other.simpleString}")
    }
    val unknown = s.fieldNames.filterNot(RequestFields.contains)
    if (unknown.nonEmpty) fail(s"has unknown field(s) ${unknown.mkString(", ")}")
    if (!s.fieldNames.contains("url")) fail("has no field 'url'")
    s.fields.foreach { f =>
      val ok = f.name match {
        case "method" | "url" => f.dataType == StringType
        case "headers" => f.dataType match {
            case MapType(StringType, StringType, _) => true
            case _ => false
          }
        case "body" => f.dataType == BinaryType || f.dataType == StringType
      }
      if (!ok) fail(s"has field '${f.name}' of type ${f.dataType.simpleString}")
    }
    s
  }
}
