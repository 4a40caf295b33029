package irbis.http

import java.util.Locale

import scala.jdk.CollectionConverters._
import scala.util.Try

import irbis.core._
import irbis.stages.FlattenBatch
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset, functions}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types._

class SimpleHTTPTransformer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasInputCols with HasOutputCol with HasErrorColParam with HTTPClientParams {
  def this() = this(Identifiable.randomUID("SimpleHTTPTransformer"))

  override def stageDoc: String =
    "Calls a JSON web service for every row: the input (a struct, map or array column `inputCol`, or the " +
      "columns `inputCols` as one JSON object) is POSTed as JSON to `url` and the JSON response is parsed " +
      "with `outputSchema` into `outputCol`. Failures (a non-2xx status after retries, a timeout, a body that " +
      "is not JSON or does not fit outputSchema) leave the output null and fill `errorCol` with the status and " +
      "the reason. With a `miniBatcher` (e.g. FixedMiniBatchTransformer) each request carries a JSON array of " +
      "several rows' inputs, the response must be an array of as many results, and rows keep their order."

  final val url = new StringParam(this, "url", "The http:// or https:// URL to send the requests to.",
    (u: String) =>
      u != null && Try(new java.net.URI(u)).toOption.exists(x =>
        Option(x.getScheme).exists(s => Set("http", "https")(s.toLowerCase(Locale.ROOT))) && x.getHost != null))
  final val method = new StringParam(this, "method", "The HTTP method.",
    (m: String) => m != null && m.nonEmpty && m.forall(c => c.isLetter && c < 128))
  final val outputSchema = new StringParam(this, "outputSchema",
    "The type of one response (of one result with a miniBatcher): a struct (a JSON object), an array or a " +
      "map, as a DDL string such as 'label string, score double' or 'array<double>', or as Spark's JSON schema.",
    (s: String) =>
      s != null && Try(SimpleHTTPTransformer.parseSchema(s)).toOption.exists {
        case _: StructType | _: ArrayType | _: MapType => true
        case _ => false
      })
  override protected def errorColDoc: String =
    "The output column of failures: a struct {status, reason}, null for rows that succeeded."
  final val miniBatcher = new StageParam[Transformer](this, "miniBatcher",
    "Optional: a transformer that groups rows into batches by turning every column into an array " +
      "(e.g. FixedMiniBatchTransformer); each batch is one request.")

  setDefault(outputCol -> "output", errorCol -> "error", method -> "POST")

  def getUrl: String = $(url)
  def setUrl(value: String): this.type = set(url, value)
  def getMethod: String = $(method)
  def setMethod(value: String): this.type = set(method, value)
  def getOutputSchema: String = $(outputSchema)
  def setOutputSchema(value: String): this.type = set(outputSchema, value)
  def getMiniBatcher: Transformer = $(miniBatcher)
  def setMiniBatcher(value: Transformer): this.type = set(miniBatcher, value)

  private val Payload = "__irbis_http_payload"
  private val Request = "__irbis_http_request"
  private val Response = "__irbis_http_response"
  private val Corrupt = "__irbis_http_corrupt"
  private val Parsed = "__irbis_http_parsed"
  private val Misfit = "__irbis_http_misfit"

  private def outputType: DataType = {
    require(isDefined(outputSchema),
      s"$uid: set outputSchema, the type of a response, e.g. 'label string, score double'")
    SimpleHTTPTransformer.parseSchema(getOutputSchema)
  }

  private def payload(schema: StructType): Column = (isSet(inputCol), isSet(inputCols)) match {
    case (true, false) =>
      Columns.requireType(schema, uid, getInputCol, "a struct, map or array (or use inputCols for columns)") {
        case _: StructType | _: MapType | _: ArrayType => true
        case _ => false
      }
      ColumnRef(getInputCol)
    case (false, true) =>
      getInputCols.foreach(Columns.require(schema, uid, _))
      struct(getInputCols.toIndexedSeq.map(ColumnRef(_)): _*)
    case _ => throw new IllegalArgumentException(
        s"$uid: set exactly one of inputCol (a struct, map or array column) and inputCols (columns sent as one " +
          "JSON object)")
  }

  override def transformSchema(schema: StructType): StructType = {
    payload(schema)
    require(isDefined(url), s"$uid: set url, the address of the service")
    val t = outputType
    Seq(getOutputCol, getErrorCol).foreach(Columns.requireAbsent(schema, uid, _))
    require(getOutputCol != getErrorCol, s"$uid: outputCol and errorCol are both '$getOutputCol'")
    if (isDefined(miniBatcher)) {
      val batched = getMiniBatcher.transformSchema(schema)
      val notArrays = schema.fieldNames.filterNot(n =>
        batched.fields.exists(f =>
          f.name == n &&
            f.dataType.isInstanceOf[ArrayType]))
      require(notArrays.isEmpty,
        s"$uid: the miniBatcher ${getMiniBatcher.uid} must turn every column into an " +
          s"array of the batch's values, but leaves ${notArrays.mkString(", ")} as they are")
    }
    StructType(schema.fields ++ Seq(StructField(getOutputCol, t, nullable = true),
      StructField(getErrorCol, SimpleHTTPTransformer.ErrorType, nullable = true)))
  }

  private def http: HTTPTransformer = {
    val jsonHeaders = Seq("Content-Type", "Accept").filterNot(h => getHeaders.keys.exists(_.equalsIgnoreCase(h)))
      .map(_ -> "application/json")
    new HTTPTransformer(uid + "_http").setInputCol(Request).setOutputCol(Response)
      .setConcurrency(getConcurrency).setConnectTimeoutMs(getConnectTimeoutMs).setReadTimeoutMs(getReadTimeoutMs)
      .setDeadlineMs(getDeadlineMs).setMaxRetries(getMaxRetries).setBackoffMs(getBackoffMs)
      .setMaxBackoffMs(getMaxBackoffMs).setMaxRetryAfterMs(getMaxRetryAfterMs).setRetryStatuses(getRetryStatuses)
      .setHeaders(getHeaders ++ jsonHeaders)
  }

  private val CorruptOption = Map("columnNameOfCorruptRecord" -> Corrupt).asJava

  /**
   * One response (or one result of a batch) parsed with `t`, and whether it did not fit. For a struct,
   * from_json puts the text of a record that does not fit into an extra corrupt-record field.
   */
  private def parse(text: Column, t: DataType): (Column, Column) = t match {
    case s: StructType =>
      val p = from_json(text, s.add(Corrupt, StringType), CorruptOption)
      (p.dropFields(Corrupt), text.isNotNull && (p.isNull || p.getField(Corrupt).isNotNull))
    case other =>
      val p = from_json(text, other)
      (p, text.isNotNull && p.isNull)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = dataset.schema
    transformSchema(schema)
    val batched = isDefined(miniBatcher)
    val one = outputType
    val withPayload = dataset.toDF().withColumn(Payload, payload(schema))
    val requests = (if (batched) getMiniBatcher.transform(withPayload) else withPayload)
      .withColumn(Request,
        when(col(Payload).isNotNull,
          HTTPSchema.request(lit(getUrl), lit(getMethod),
            typedLit(Map.empty[String, String]), to_json(col(Payload)))))
    val responses = http.transform(requests)

    val response = col(Response)
    val text = response.getField("body").cast(StringType)
    val (parsedValue, misfitValue) =
      if (!batched) parse(text, one)
      else {
        // Each result is parsed on its own, so that a result that does not fit is found, not nulled.
        val results = from_json(text, ArrayType(StringType))
        (functions.transform(results, parse(_, one)._1), results.isNull || exists(results, parse(_, one)._2))
      }
    // Parsed once, in their own columns, and only then inspected by the error conditions below.
    val withParsed = responses.withColumn(Parsed, parsedValue).withColumn(Misfit, misfitValue)
    val (parsed, misfit, status) = (col(Parsed), col(Misfit), response.getField("status"))

    val where = s"$getMethod $getUrl: HTTP "
    def reason(problem: String, more: Column) =
      struct(status.as("status"), concat(lit(where), status.cast(StringType), lit(problem), more).as("reason"))
    val snippet = concat(substring(text, 1, 200), when(length(text) > 200, lit("...")).otherwise(lit("")))
    val expected = if (batched) s"array<${one.simpleString}>" else one.simpleString
    val failure = when(response.isNull, lit(null).cast(SimpleHTTPTransformer.ErrorType))
      .when(response.getField("error").isNotNull, struct(status.as("status"), response.getField("error").as("reason")))
      .when(text.isNull || length(text) === 0, reason(" with an empty body; expected JSON", lit("")))
      .when(try_parse_json(text).isNull, reason(", the body is not valid JSON: ", snippet))
      .when(misfit, reason(s", the body does not fit outputSchema $expected: ", snippet))
    val checked = if (!batched) failure
    else failure.when(size(parsed) =!= size(col(Payload)),
      reason(
        ", the body has ",
        concat(size(parsed).cast(StringType), lit(" results for a batch of "),
          size(col(Payload)).cast(StringType), lit(" inputs"))))
    val output = when(checked.isNull, parsed)
    val outputs = withParsed.select(col("*"), checked.as(getErrorCol))
      .withColumn(getOutputCol,
        if (!batched) output
        else coalesce(output, array_repeat(lit(null).cast(one), size(col(Payload)))))
      .drop(Payload, Request, Response, Parsed, Misfit)
    val rows = if (batched) new FlattenBatch(uid + "_flatten").transform(outputs) else outputs
    rows.select((schema.fieldNames ++ Seq(getOutputCol, getErrorCol)).toIndexedSeq.map(ColumnRef(_)): _*)
  }

  override def copy(extra: ParamMap): SimpleHTTPTransformer = defaultCopy[SimpleHTTPTransformer](extra)
}

object SimpleHTTPTransformer extends IrbisReadable[SimpleHTTPTransformer] {
  val ErrorType: StructType = StructType(Seq(StructField("status", IntegerType), StructField("reason", StringType)))

  /** A DDL string ('a int, b string', 'array<double>') or Spark's JSON form of a type. */
  def parseSchema(text: String): DataType =
    if (text.trim.startsWith("{")) DataType.fromJson(text) else DataType.fromDDL(text)
}
