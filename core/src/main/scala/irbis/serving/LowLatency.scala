package irbis.serving

import java.util.concurrent.ConcurrentHashMap

import scala.collection.immutable.ListMap
import scala.jdk.CollectionConverters._

import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.connector.read.InputPartition
import org.apache.spark.sql.connector.read.streaming.{
  ContinuousPartitionReader,
  ContinuousPartitionReaderFactory,
  ContinuousStream,
  Offset,
  PartitionOffset
}
import org.apache.spark.sql.types.{DataType, StructType}

/*
 * Low-latency mode (source option mode=lowLatency, run with a continuous trigger): Spark's continuous processing
 * keeps one long-running task per partition; each task starts an HTTP server in its executor, takes that
 * server's requests as they come, and its writer answers each from the same task as soon as its row leaves the
 * pipeline, with no micro-batch to plan or wait for. The driver's server is the front: it redirects clients to the
 * partitions' servers, sums their counters, and after each epoch tells them which requests their pipeline is
 * through with, so a filtered-out row still gets its 400 or 500. Spark accepts only plans without shuffles or
 * aggregations for continuous processing and rejects the others when the query starts.
 */

/** Where partition `partition`'s task is: its server and the last request it took. */
case class LowLatencyPartitionOffset(partition: Int, url: String, seq: Long) extends PartitionOffset

/** Every partition's [[LowLatencyPartitionOffset]]. It is a record, not a replay point: the requests live only in
 * their server's memory, so a restarted query serves new requests. */
case class LowLatencyOffset(partitions: Map[Int, LowLatencyPartitionOffset]) extends Offset {
  override def json(): String = ServingJson.write(ListMap(partitions.toSeq.sortBy(_._1).map { case (p, o) =>
    p.toString -> ListMap("url" -> o.url, "seq" -> o.seq)
  }: _*))
}

object LowLatencyOffset {
  def parse(json: String): LowLatencyOffset =
    LowLatencyOffset(ServingJson.mapper.readTree(json).properties().asScala.map { e =>
      val p = e.getKey.toInt
      p -> LowLatencyPartitionOffset(p, e.getValue.get("url").asText, e.getValue.get("seq").asLong)
    }.toMap)
}

/** What a partition's task needs to start its server and register it with the front. */
case class LowLatencyPartition(config: ServingConfig, partition: Int, frontUrl: String, controlToken: String,
                               schemaJson: Option[String]) extends InputPartition

class ServingContinuousStream(front: FrontRouter, numPartitions: Int) extends ContinuousStream {
  override def initialOffset(): Offset = LowLatencyOffset(Map.empty)
  override def deserializeOffset(json: String): Offset = LowLatencyOffset.parse(json)

  override def planInputPartitions(start: Offset): Array[InputPartition] = {
    front.expectPartitions(numPartitions)
    val schema = front.parseSchema.map(_.json)
    Array.tabulate[InputPartition](numPartitions)(p =>
      LowLatencyPartition(front.config, p, front.url, front.controlToken, schema))
  }

  override def createContinuousReaderFactory(): ContinuousPartitionReaderFactory = LowLatencyReaderFactory

  override def mergeOffsets(offsets: Array[PartitionOffset]): Offset =
    LowLatencyOffset(offsets.collect { case o: LowLatencyPartitionOffset => o.partition -> o }.toMap)

  /** The epoch is committed: every partition's writer has seen the rows of the requests up to its offset. */
  override def commit(end: Offset): Unit = end match {
    case LowLatencyOffset(parts) =>
      parts.values.filter(_.seq > 0)
        .foreach(o => ServingClient.sendControl(o.url, front.controlToken, s"settle ${o.seq}"))
    case _ =>
  }

  override def stop(): Unit = front.stop()
}

object LowLatencyReaderFactory extends ContinuousPartitionReaderFactory {
  override def createReader(partition: InputPartition): ContinuousPartitionReader[InternalRow] = {
    val part = partition.asInstanceOf[LowLatencyPartition]
    val server = PartitionServers.start(part)
    new ContinuousPartitionReader[InternalRow] {
      private var current: ServingRequest = _
      private var offset = LowLatencyPartitionOffset(part.partition, server.url, 0L)

      /** Blocks until a request comes; Spark interrupts the reading thread when the task ends. */
      override def next(): Boolean = {
        var request = server.take(100)
        while (request.isEmpty) request = server.take(100)
        current = request.get
        offset = offset.copy(seq = current.id)
        true
      }
      override def get(): InternalRow = ServingReaderFactory.row(current)
      override def getOffset: PartitionOffset = offset
      override def close(): Unit = PartitionServers.stop(part.config.name, part.partition, server)
    }
  }
}

/** The partition servers running in this JVM, found by the writer of the same task. */
object PartitionServers {
  private val running = new ConcurrentHashMap[(String, Int), PartitionServer]()

  def start(part: LowLatencyPartition): PartitionServer = {
    val key = (part.config.name, part.partition)
    Option(running.remove(key)).foreach(_.stop()) // an earlier task's server, so its port is free again
    val server = new PartitionServer(part.config.forPartition(part.partition), part.partition, part.controlToken)
    part.schemaJson.foreach(j => server.parsesWith(DataType.fromJson(j).asInstanceOf[StructType]))
    running.put(key, server)
    if (!ServingClient.sendControl(part.frontUrl, part.controlToken, s"register ${part.partition} ${server.url}")) {
      stop(key._1, key._2, server)
      throw new IllegalStateException(
        s"the low-latency server of '${part.config.name}', partition ${part.partition}, " +
          s"could not register with the driver's server at ${part.frontUrl}")
    }
    server
  }

  def get(name: String, partition: Int): PartitionServer = Option(running.get((name, partition))).getOrElse(
    throw new IllegalStateException(s"no low-latency server of '$name' for partition $partition runs in this " +
      "executor: its replies must be written by the task that took their requests, which needs a continuous " +
      "trigger (replyTo sets one) and a plan without shuffles"))

  def stop(name: String, partition: Int, server: PartitionServer): Unit = {
    running.remove((name, partition), server)
    server.stop()
  }
}
