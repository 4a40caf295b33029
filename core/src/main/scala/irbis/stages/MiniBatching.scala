package irbis.stages

import irbis.core.Validators
import java.util.concurrent.{LinkedBlockingQueue, TimeUnit}

import scala.collection.mutable.ArrayBuffer

import org.apache.spark.TaskContext
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{IntParam}
import org.apache.spark.sql.{DataFrame, Encoders, Row}
import org.apache.spark.sql.types.{ArrayType, StructType}

/** The Param and schema of the mini-batch transformers that read a partition ahead. */
trait ReadAheadBatching extends Transformer {
  final val maxBatchSize = new IntParam(this, "maxBatchSize",
    "The largest number of rows per batch (> 0); at most min(maxBatchSize, 10000) rows are read ahead.",
    Validators.gt(0))
  setDefault(maxBatchSize -> Int.MaxValue)
  def getMaxBatchSize: Int = $(maxBatchSize)
  def setMaxBatchSize(value: Int): this.type = set(maxBatchSize, value)

  override def transformSchema(schema: StructType): StructType = MiniBatching.batchedSchema(schema)
}

/**
 * The batching shared by the mini-batch transformers: how rows become batch rows (every column an array of
 * the batch's values), and the prefetching reader that lets a batch be "whatever rows are ready".
 * Batches never cross partitions: no shuffle, and a partition is streamed, never materialised whole.
 */
private[stages] object MiniBatching {
  def batchedSchema(schema: StructType): StructType =
    StructType(schema.fields.map(f => f.copy(dataType = ArrayType(f.dataType, f.nullable), nullable = false)))

  /**
   * `group` cuts one partition's rows into batches; each batch becomes one row of arrays. A typed
   * `mapPartitions` rather than the RDD, so that streaming DataFrames (Spark Serving's requests) batch too.
   */
  def batch(df: DataFrame, group: Iterator[Row] => Iterator[Seq[Row]]): DataFrame = {
    val width = df.schema.length
    df.mapPartitions((rows: Iterator[Row]) =>
      group(rows).map { batch =>
        Row.fromSeq((0 until width).map(i => batch.map(_.get(i))))
      })(Encoders.row(batchedSchema(df.schema)))
  }

  def fixed(size: Int)(rows: Iterator[Row]): Iterator[Seq[Row]] = rows.grouped(size)

  /** Rows that the upstream has produced so far, up to `maxSize`, waiting only for the first one. */
  def dynamic(maxSize: Int)(rows: Iterator[Row]): Iterator[Seq[Row]] =
    new Prefetched(rows, maxSize).batches(first => first.drainUpTo(maxSize - 1))

  /** Rows that arrive within `millis` of the batch's first row, up to `maxSize`. */
  def timeInterval(millis: Long, maxSize: Int)(rows: Iterator[Row]): Iterator[Seq[Row]] =
    new Prefetched(rows, maxSize).batches(first => first.pollUntil(System.nanoTime() + millis * 1000000L, maxSize - 1))

  /** `TaskContext.setTaskContext` is Spark-internal (on the companion object); Spark's own helper threads call it. */
  private object SetTaskContext {
    private lazy val (module, method) = {
      val cls = Class.forName("org.apache.spark.TaskContext$")
      (cls.getField("MODULE$").get(null), cls.getMethod("setTaskContext", classOf[TaskContext]))
    }
    def apply(context: TaskContext): Unit = method.invoke(module, context)
  }

  /** Bounds the rows read ahead by a background thread (one batch's worth, at most 10,000). */
  private val MaxBuffered = 10000

  private sealed trait Item
  private final case class Data(row: Row) extends Item
  private case object End extends Item
  private final case class Failed(e: Throwable) extends Item

  /**
   * A daemon thread reads the partition into a bounded queue; the task thread builds batches from it.
   * Upstream failures reach the task thread; the reader stops when the task ends or is killed.
   */
  private final class Prefetched(rows: Iterator[Row], maxSize: Int) {
    private val queue = new LinkedBlockingQueue[Item](math.max(1, math.min(maxSize, MaxBuffered)))
    private val context = TaskContext.get()
    private val reader = new Thread(() => {
        try {
          // Upstream operators may look up the task (input file names, Python runners): same context as the task.
          if (context != null) SetTaskContext(context)
          while (rows.hasNext) queue.put(Data(rows.next()))
          queue.put(End)
        } catch {
          case _: InterruptedException =>
          case e: Throwable =>
            try queue.put(Failed(e))
            catch { case _: InterruptedException => } // the task ended meanwhile
        }
      }, "irbis-minibatch-reader")
    reader.setDaemon(true)
    reader.start()
    if (context != null) context.addTaskCompletionListener[Unit](_ => reader.interrupt())

    private var finished = false
    private val current = ArrayBuffer.empty[Row]

    /** Adds an item to the batch being built; false once the partition has ended. */
    private def accept(item: Item): Boolean = item match {
      case Data(row) => current += row; true
      case End => finished = true; false
      case Failed(e) => finished = true; throw e
    }

    final class Started {
      def drainUpTo(n: Int): Unit = {
        var left = n
        while (left > 0) {
          val item = queue.poll()
          left = if (item != null && accept(item)) left - 1 else 0
        }
      }

      def pollUntil(deadline: Long, n: Int): Unit = {
        var left = n
        var going = left > 0
        while (going) {
          val wait = deadline - System.nanoTime()
          val item = if (wait > 0) queue.poll(wait, TimeUnit.NANOSECONDS) else queue.poll()
          going = item != null && accept(item) && { left -= 1; left > 0 }
        }
      }
    }

    def batches(fill: Started => Unit): Iterator[Seq[Row]] = new Iterator[Seq[Row]] {
      private var pending: Option[Seq[Row]] = None

      private def advance(): Unit = if (pending.isEmpty && !finished) {
        current.clear()
        if (accept(queue.take())) fill(new Started)
        if (current.nonEmpty) pending = Some(current.toList)
      }

      override def hasNext: Boolean = { advance(); pending.nonEmpty }

      override def next(): Seq[Row] = {
        advance()
        val b = pending.getOrElse(throw new NoSuchElementException("no more batches"))
        pending = None
        b
      }
    }
  }
}
