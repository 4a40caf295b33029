package irbis.serving

import java.nio.charset.StandardCharsets.UTF_8

import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.connector.write.{DataWriter, PhysicalWriteInfo, Write, WriteBuilder, WriterCommitMessage}
import org.apache.spark.sql.connector.write.streaming.{StreamingDataWriterFactory, StreamingWrite}
import org.apache.spark.sql.types._

/** Where the sink finds id, status, headers and body in its input rows (checked once, with clear errors). */
case class ReplyLayout(server: String, id: Int, reply: Int, replyFields: Int, status: Int, headers: Option[Int],
                       body: Int, bodyIsBinary: Boolean, lowLatency: Boolean)

object ReplyLayout {
  def from(options: Map[String, String], schema: StructType): ReplyLayout = {
    val server = options.getOrElse("replyto",
      options.getOrElse("name",
        throw new IllegalArgumentException(
          "the irbis.serving sink needs option 'replyTo' (or 'name'): the name of the server to answer")))
    val replyCol = options.getOrElse("replycol", "reply")
    def find(s: StructType, name: String): Option[Int] = Some(s.fieldNames.indexOf(name)).filter(_ >= 0)
    def index(s: StructType, name: String, what: String): Int = find(s, name).getOrElse(
      throw new IllegalArgumentException(
        s"the irbis.serving sink needs $what '$name'; the input has ${s.simpleString}"))
    val id = index(schema, "id", "column")
    require(schema(id).dataType == LongType,
      s"the irbis.serving sink needs column 'id' of type bigint (the request id), got ${schema(id).dataType.simpleString}")
    val reply = index(schema, replyCol, "the reply column (option replyCol, made by makeReply)")
    val struct = schema(reply).dataType match {
      case s: StructType => s
      case other => throw new IllegalArgumentException(
          s"the irbis.serving sink's reply column '$replyCol' must be a struct<status:int,headers:map<string,string>," +
            s"body:string or binary> (makeReply makes one), got ${other.simpleString}")
    }
    val status = index(struct, "status", s"field of '$replyCol'")
    require(struct(status).dataType == IntegerType,
      s"field '$replyCol.status' must be int, got ${struct(status).dataType.simpleString}")
    val headers = find(struct, "headers")
    headers.foreach(h =>
      require(
        struct(h).dataType.isInstanceOf[MapType] &&
          struct(h).dataType.asInstanceOf[MapType].keyType == StringType &&
          struct(h).dataType.asInstanceOf[MapType].valueType == StringType,
        s"field '$replyCol.headers' must be map<string,string>, got ${struct(h).dataType.simpleString}"))
    val body = index(struct, "body", s"field of '$replyCol'")
    val binary = struct(body).dataType match {
      case BinaryType => true
      case StringType => false
      case other => throw new IllegalArgumentException(
          s"field '$replyCol.body' must be string or binary, got ${other.simpleString}")
    }
    ReplyLayout(server, id, reply, struct.length, status, headers, body, binary,
      lowLatency = Serving.isLowLatency(server))
  }
}

class ServingWriteBuilder(options: Map[String, String], schema: StructType) extends WriteBuilder {
  private val layout = ReplyLayout.from(options, schema)
  override def build(): Write = new Write {
    override def description(): String = s"irbis.serving replies to '${layout.server}'"
    override def toStreaming: StreamingWrite = new ServingStreamingWrite(layout)
  }
}

/** What one writer task sends to the driver: its replies, and the ids whose reply was null. */
case class ServingCommit(replies: Array[(Long, ServingReply)], nullReplies: Array[Long]) extends WriterCommitMessage

/**
 * Micro-batch mode: replies go out only in `commit`, on the driver, once Spark has committed the whole
 * micro-batch: a failed or speculative task attempt never answers (only the committed attempt's message reaches
 * here), and the server's per-request flag makes a replayed batch harmless. Planned requests left without a
 * reply then get 400 or 500.
 * Low-latency mode: each writer answers its rows at once through the server of its own task (see
 * [[ServingContinuousStream]]); the epoch's commit has nothing left to do.
 */
class ServingStreamingWrite(layout: ReplyLayout) extends StreamingWrite {
  override def createStreamingWriterFactory(info: PhysicalWriteInfo): StreamingDataWriterFactory =
    ServingWriterFactory(layout)

  override def commit(epochId: Long, messages: Array[WriterCommitMessage]): Unit = if (!layout.lowLatency) {
    val server = ServingRegistry.driverServer(layout.server)
    val nulls = Set.newBuilder[Long]
    messages.foreach {
      case ServingCommit(replies, nullReplies) =>
        replies.foreach { case (id, r) => server.reply(id, r) }
        nulls ++= nullReplies
      case _ => // a task that wrote nothing
    }
    server.finishBatch(nulls.result())
  }

  override def abort(epochId: Long, messages: Array[WriterCommitMessage]): Unit =
    ServingRegistry.find(layout.server).collect { case d: DriverServer => d }
      .foreach(_.abortBatch(s"the pipeline failed on micro-batch $epochId"))
}

case class ServingWriterFactory(layout: ReplyLayout) extends StreamingDataWriterFactory {

  /** The reply in a row, None if it is null. */
  private def replyOf(row: InternalRow): Option[ServingReply] =
    Some(row).filterNot(_.isNullAt(layout.reply)).map(_.getStruct(layout.reply, layout.replyFields))
      .filterNot(_.isNullAt(layout.status)).map { r =>
        val headers = layout.headers.filterNot(r.isNullAt).map { h =>
          val m = r.getMap(h)
          (0 until m.numElements()).flatMap { k =>
            if (m.valueArray().isNullAt(k)) None
            else Some(m.keyArray().getUTF8String(k).toString -> m.valueArray().getUTF8String(k).toString)
          }.toMap
        }.getOrElse(Map.empty)
        val body =
          if (r.isNullAt(layout.body)) Array.emptyByteArray
          else if (layout.bodyIsBinary) r.getBinary(layout.body)
          else r.getUTF8String(layout.body).toString.getBytes(UTF_8)
        ServingReply(r.getInt(layout.status), headers, body)
      }

  override def createWriter(partitionId: Int, taskId: Long, epochId: Long): DataWriter[InternalRow] =
    if (layout.lowLatency) {
      val server = PartitionServers.get(layout.server, partitionId)
      new DataWriter[InternalRow] {
        override def write(row: InternalRow): Unit = {
          val id = row.getLong(layout.id)
          replyOf(row) match {
            case Some(r) => server.reply(id, r)
            case None => server.fail(id, 500, "the pipeline's reply for this request was null")
          }
        }
        override def commit(): WriterCommitMessage = ServingCommit(Array.empty, Array.empty)
        override def abort(): Unit = ()
        override def close(): Unit = ()
      }
    } else new DataWriter[InternalRow] {
      private val replies = Array.newBuilder[(Long, ServingReply)]
      private val nulls = Array.newBuilder[Long]

      override def write(row: InternalRow): Unit = {
        val id = row.getLong(layout.id)
        replyOf(row) match {
          case Some(r) => replies += id -> r
          case None => nulls += id
        }
      }

      override def commit(): WriterCommitMessage = ServingCommit(replies.result(), nulls.result())
      override def abort(): Unit = ()
      override def close(): Unit = ()
    }
}
