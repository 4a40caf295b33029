package irbis.serving

import java.util

import scala.jdk.CollectionConverters._

import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.util.ArrayBasedMapData
import org.apache.spark.sql.connector.catalog.{SupportsRead, SupportsWrite, Table, TableCapability, TableProvider}
import org.apache.spark.sql.connector.expressions.Transform
import org.apache.spark.sql.connector.read.{InputPartition, PartitionReader, PartitionReaderFactory, Scan, ScanBuilder}
import org.apache.spark.sql.connector.read.streaming.{ContinuousStream, MicroBatchStream, Offset}
import org.apache.spark.sql.connector.write.{LogicalWriteInfo, WriteBuilder}
import org.apache.spark.sql.sources.DataSourceRegister
import org.apache.spark.sql.types._
import org.apache.spark.sql.util.CaseInsensitiveStringMap
import org.apache.spark.unsafe.types.UTF8String

/**
 * `format("irbis.serving")`: as a streaming source, an HTTP server in the driver whose requests become rows
 * (id, method, path, query, headers, body); as a streaming sink, the replies to them (columns `id` and `reply`).
 * The server starts when the source is loaded, so its address is known before the query starts.
 */
class ServingSourceProvider extends TableProvider with DataSourceRegister {
  override def shortName(): String = "irbis.serving"
  override def inferSchema(options: CaseInsensitiveStringMap): StructType = ServingTable.requestSchema
  override def getTable(schema: StructType, partitioning: Array[Transform],
                        properties: util.Map[String, String]): Table = {
    val options = properties.asScala.map { case (k, v) => k.toLowerCase -> v }.toMap
    // A source starts its server when loaded, so the bound address is known before the query starts.
    if (!options.contains("replyto") && options.contains("name"))
      ServingRegistry.startUnlessRunning(ServingConfig.from(options))
    new ServingTable(options)
  }
  override def supportsExternalMetadata(): Boolean = false
}

object ServingTable {
  val requestSchema: StructType = new StructType()
    .add("id", LongType, nullable = false)
    .add("method", StringType, nullable = false)
    .add("path", StringType, nullable = false)
    .add("query", StringType)
    .add("headers", MapType(StringType, StringType, valueContainsNull = false), nullable = false)
    .add("body", BinaryType, nullable = false)
}

class ServingTable(options: Map[String, String]) extends Table with SupportsRead with SupportsWrite {
  private[serving] def serverName: Option[String] = if (options.contains("replyto")) None else options.get("name")
  override def name(): String = s"irbis.serving(${options.getOrElse("name", "?")})"
  override def schema(): StructType = ServingTable.requestSchema
  override def capabilities(): util.Set[TableCapability] =
    util.EnumSet.of(TableCapability.MICRO_BATCH_READ, TableCapability.CONTINUOUS_READ, TableCapability.STREAMING_WRITE)

  override def newScanBuilder(o: CaseInsensitiveStringMap): ScanBuilder = {
    val all = options ++ o.asScala.map { case (k, v) => k.toLowerCase -> v }
    val server = ServingRegistry.startOrReuse(ServingConfig.from(all))
    val partitions = all.get("numpartitions").map(v =>
      v.toIntOption.filter(_ > 0).getOrElse(
        throw new IllegalArgumentException(
          s"irbis.serving option 'numPartitions' must be a positive integer, got '$v'")))
    () =>
      new Scan {
        override def readSchema(): StructType = ServingTable.requestSchema
        override def description(): String = s"irbis.serving ${server.url}"
        override def toMicroBatchStream(checkpointLocation: String): MicroBatchStream = {
          server match {
            case d: DriverServer => new ServingStream(d, partitions)
            case _ => throw new IllegalArgumentException(s"the irbis.serving server '${server.config.name}' is in " +
                "low-latency mode (option mode=lowLatency): its query needs a continuous trigger (replyTo sets one; a " +
                "processing-time trigger set after replyTo replaces it)")
          }
        }
        override def toContinuousStream(checkpointLocation: String): ContinuousStream = {
          server match {
            case f: FrontRouter => new ServingContinuousStream(f, partitions.getOrElse(1))
            case _ => throw new IllegalArgumentException(s"the irbis.serving server '${server.config.name}' answers " +
                "from micro-batches; a continuous trigger needs the source option mode=lowLatency")
          }
        }
      }
  }

  override def newWriteBuilder(info: LogicalWriteInfo): WriteBuilder = {
    val all = options ++ info.options().asScala.map { case (k, v) => k.toLowerCase -> v }
    new ServingWriteBuilder(all, info.schema())
  }
}

/** An offset: a request number of one server instance (a restarted server numbers from 0 again). */
case class ServingOffset(instance: String, seq: Long) extends Offset {
  override def json(): String = s"""{"instance":"$instance","seq":$seq}"""
}

object ServingOffset {
  private val Pattern = """\{"instance":"([^"]*)","seq":(\d+)\}""".r
  def parse(json: String): ServingOffset = json.trim match {
    case Pattern(i, s) => ServingOffset(i, s.toLong)
    case other => throw new IllegalArgumentException(s"not an irbis.serving offset: $other")
  }
}

/** The requests of one micro-batch partition travel inside it, so a retried task replays exactly them. */
case class ServingPartition(requests: Array[ServingRequest]) extends InputPartition

class ServingStream(server: DriverServer, numPartitions: Option[Int]) extends MicroBatchStream {
  private def local(o: Offset): Long = o match {
    case ServingOffset(i, s) if i == server.instance => s
    case _ => 0L // an offset of an earlier server (restored from a checkpoint): its requests are gone
  }

  override def initialOffset(): Offset = ServingOffset(server.instance, 0L)
  override def latestOffset(): Offset = ServingOffset(server.instance, server.latest)
  override def deserializeOffset(json: String): Offset = ServingOffset.parse(json)
  override def commit(end: Offset): Unit = ()
  override def stop(): Unit = server.stop()

  override def planInputPartitions(start: Offset, end: Offset): Array[InputPartition] = {
    val requests = server.plan(local(start), local(end)).toArray
    val n = numPartitions.getOrElse(org.apache.spark.SparkContext.getOrCreate().defaultParallelism)
      .min(math.max(requests.length, 1))
    val chunks = Array.tabulate(n)(k => requests.indices.filter(_ % n == k).map(requests).toArray)
    chunks.map(c => ServingPartition(c): InputPartition)
  }

  override def createReaderFactory(): PartitionReaderFactory = ServingReaderFactory
}

object ServingReaderFactory extends PartitionReaderFactory {
  override def createReader(partition: InputPartition): PartitionReader[InternalRow] = {
    val requests = partition.asInstanceOf[ServingPartition].requests
    new PartitionReader[InternalRow] {
      private var i = -1
      override def next(): Boolean = { i += 1; i < requests.length }
      override def get(): InternalRow = row(requests(i))
      override def close(): Unit = ()
    }
  }

  /** A request as a row of [[ServingTable.requestSchema]]. */
  def row(r: ServingRequest): InternalRow = {
    val keys = r.headers.keys.toArray
    InternalRow(r.id, UTF8String.fromString(r.method), UTF8String.fromString(r.path), UTF8String.fromString(r.query),
      ArrayBasedMapData(keys.map(UTF8String.fromString), keys.map(k => UTF8String.fromString(r.headers(k)))), r.body)
  }
}
