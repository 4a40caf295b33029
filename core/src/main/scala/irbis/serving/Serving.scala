package irbis.serving

import java.nio.file.Files

import org.apache.spark.sql.{Column, DataFrame, Row, SparkSession}
import org.apache.spark.sql.catalyst.streaming.StreamingRelationV2
import org.apache.spark.sql.functions._
import org.apache.spark.sql.streaming.{DataStreamReader, DataStreamWriter, Trigger}
import org.apache.spark.sql.types.{DataType, StringType, StructType}

/**
 * Spark Serving: `import irbis.serving.Serving._`, then
 * {{{
 * val requests = spark.readStream.server().address("127.0.0.1", 0, "api").load()
 * val replies = model.transform(requests.parseRequest(schema)).select(col("id"), makeReply(col("prediction")))
 * replies.writeStream.server().replyTo("api").start()
 * }}}
 * The static methods below are what the Python and R helpers call.
 */
object Serving {
  val Format = "irbis.serving"
  private val ParsedCol = "_irbis_parsed"
  private val CorruptCol = "_irbis_corrupt_record"

  final class ServingReader private[serving] (reader: DataStreamReader) {

    /** Where the server listens (port 0: any free port) and the API name, also its URL path. */
    def address(host: String, port: Int, name: String): ServingReader =
      new ServingReader(reader.option("host", host).option("port", port.toLong).option("name", name))
    def option(key: String, value: String): ServingReader = new ServingReader(reader.option(key, value))
    def load(): DataFrame = reader.load()
  }

  final class ServingWriter private[serving] (writer: DataStreamWriter[Row]) {

    /** Answers the requests of server `name`; with a temporary checkpoint unless one is configured. */
    def replyTo(name: String): DataStreamWriter[Row] = Serving.replyTo(writer, name)
  }

  implicit class ServingReaderOps(reader: DataStreamReader) {
    def server(): ServingReader = new ServingReader(reader.format(Format))
  }

  implicit class ServingWriterOps(writer: DataStreamWriter[Row]) {
    def server(): ServingWriter = new ServingWriter(writer)
  }

  implicit class ServingFrameOps(df: DataFrame) {
    def parseRequest(schema: StructType): DataFrame = Serving.parseRequest(df, schema)
  }

  /** The epochs of a low-latency query: how often its progress is recorded and filtered-out rows are answered. */
  val EpochMs = 1000L

  def replyTo(writer: DataStreamWriter[Row], name: String): DataStreamWriter[Row] = {
    val w = writer.format(Format).options(writerOptions(name)).outputMode("append")
    if (isLowLatency(name)) w.trigger(Trigger.Continuous(EpochMs)) else w
  }

  /** Whether server `name` runs in low-latency mode (its query then needs a continuous trigger). */
  def isLowLatency(name: String): Boolean = ServingRegistry.find(name).exists(_.config.lowLatency)

  /**
   * The sink's options for the replies to server `name` (Python's `replyTo` applies the same; a later `option`
   * overrides any of them):
   *  - a temporary checkpoint unless `spark.sql.streaming.checkpointLocation` is set;
   *  - asynchronous progress tracking: the offset and commit logs are written beside the next micro-batch
   *    rather than before and after each one, which halves the latency of a small plan. Spark allows it for
   *    a list of its own sinks only, hence the override of that check. It is safe here because nothing of a
   *    request is recovered from the logs: the requests live in the server's memory and travel inside the
   *    micro-batch's partitions, and the replies are sent in the batch's commit, which stays synchronous.
   */
  def writerOptions(name: String): java.util.Map[String, String] = {
    val options = new java.util.LinkedHashMap[String, String]()
    options.put("replyTo", name)
    if (!isLowLatency(name)) {
      options.put("asyncProgressTrackingEnabled", "true")
      options.put("_asyncProgressTrackingOverrideSinkSupportCheck", "true")
    }
    if (SparkSession.active.conf.getOption("spark.sql.streaming.checkpointLocation").isEmpty)
      options.put("checkpointLocation", Files.createTempDirectory(s"irbis-serving-$name-").toString)
    options
  }

  /**
   * The id and the JSON body's fields, parsed with `schema`. A body that is not valid UTF-8 (no silent U+FFFD
   * replacement), not JSON, not an object, has a value of the wrong type, or lacks a field marked non-nullable in
   * `schema` leaves the pipeline here; the server then answers it 400 with the reason.
   */
  def parseRequest(df: DataFrame, schema: StructType): DataFrame = {
    Seq("id", "body").foreach(c =>
      require(df.columns.contains(c),
        s"parseRequest needs the request columns id and body (of an irbis.serving source); '$c' is missing from ${df.columns.mkString(", ")}"))
    require(!schema.fieldNames.contains("id"),
      "parseRequest: the schema must not have a field 'id' (the request id column)")
    require(!schema.fieldNames.contains(CorruptCol), s"parseRequest: the schema must not have a field '$CorruptCol'")
    servers(df).foreach(_.parsesWith(schema))
    val text = col("body").cast(StringType) // the bytes as they are; is_valid_utf8 checks them
    val parsed = from_json(text, schema.add(CorruptCol, StringType),
      Map("mode" -> "PERMISSIVE", "columnNameOfCorruptRecord" -> CorruptCol))
    val required = schema.fields.filterNot(_.nullable).map(f => col(ParsedCol).getField(f.name).isNotNull)
    val fits = (col("_irbis_utf8") && col(ParsedCol).isNotNull && col(ParsedCol).getField(CorruptCol).isNull) +:
      required
    df.select(col("id"), is_valid_utf8(text).as("_irbis_utf8"), parsed.as(ParsedCol))
      .where(fits.reduce(_ && _))
      .select(col("id") +: schema.fieldNames.toSeq.map(f => col(ParsedCol).getField(f).as(f)): _*)
  }

  def parseRequest(df: DataFrame, schemaJsonOrDdl: String): DataFrame = parseRequest(df, schemaFrom(schemaJsonOrDdl))

  private def schemaFrom(s: String): StructType =
    if (s.trim.startsWith("{")) DataType.fromJson(s).asInstanceOf[StructType] else StructType.fromDDL(s)

  /** The servers whose requests `df` reads (to diagnose the rows that parseRequest drops). */
  private def servers(df: DataFrame): Seq[ServingServer] = df.queryExecution.analyzed.collect {
    case r: StreamingRelationV2 => r.table match {
        case t: ServingTable => t.serverName.flatMap(ServingRegistry.find)
        case _ => None
      }
  }.flatten

  /** The reply to a request: status 200 and `value` as its JSON body; a null value is answered 500. */
  def makeReply(value: Column): Column = makeReply(value, 200)

  def makeReply(value: Column, status: Int): Column = {
    // The JSON of a value of any type: the one element of a JSON array, brackets removed.
    val jsonArray = to_json(array(value))
    val reply = struct(lit(status).as("status"), map(lit("Content-Type"), lit("application/json")).as("headers"),
      jsonArray.substr(lit(2), length(jsonArray) - 2).as("body"))
    when(value.isNull, lit(null)).otherwise(reply).as("reply")
  }

  // ---- for the Python and R helpers ----
  /** `id` and the reply made from column `value` (what R's sdf_make_reply selects). */
  def selectReply(df: DataFrame, value: String, status: Int): DataFrame =
    df.select(col("id"), makeReply(col(value), status))

  /** A writer of replies to `name` that runs a micro-batch every `triggerMs` milliseconds (a low-latency
   * server's writer keeps its continuous trigger). */
  def replyTo(writer: DataStreamWriter[Row], name: String, triggerMs: Double): DataStreamWriter[Row] =
    if (isLowLatency(name)) replyTo(writer, name)
    else replyTo(writer, name).trigger(Trigger.ProcessingTime(triggerMs.toLong))

  def status(name: String): String = ServingRegistry.get(name).status.toJson
  def url(name: String): String = ServingRegistry.get(name).url

  /** A low-latency server's partition servers, once its query has started them all (waits up to `timeoutMs`). */
  def partitionUrls(name: String, timeoutMs: Double): Array[String] =
    ServingRegistry.get(name) match {
      case f: FrontRouter => f.partitionServers(timeoutMs.toLong).toArray
      case other => throw new IllegalArgumentException(s"'$name' is not a low-latency server (option " +
          s"mode=lowLatency): its one url is ${other.url}")
    }
  def stop(name: String): Unit = ServingRegistry.find(name).foreach(_.stop())
}
