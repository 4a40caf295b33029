package irbis.http

import java.util.concurrent.{CompletableFuture, ExecutionException}

import irbis.core.{Columns, HasInputCol, HasOutputCol, IrbisReadable, IrbisStage}
import org.apache.spark.TaskContext
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Encoders, Row}
import org.apache.spark.sql.types.{StructField, StructType}

class HTTPTransformer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HTTPClientParams {
  def this() = this(Identifiable.randomUID("HTTPTransformer"))

  override def stageDoc: String =
    "Sends the HTTP request of every row (a struct {method, url, headers, body}; only url is required) and " +
      "adds the response struct {status, headers, body, error, attempts, latencyMs}. Up to `concurrency` " +
      "requests per partition are in flight and rows keep their order. Connection errors, timeouts and the " +
      "statuses in retryStatuses (429 included) are retried with exponential backoff, honouring Retry-After " +
      "up to maxRetryAfterMs, all within deadlineMs per row. A null request gives a null response; any other " +
      "row gets a response, with `error` set (naming method, url and status) when it did not end in a 2xx."

  setDefault(outputCol -> "response")

  override def transformSchema(schema: StructType): StructType = {
    HTTPSchema.requireRequest(schema, uid, getInputCol)
    Columns.requireAbsent(schema, uid, getOutputCol)
    StructType(schema.fields :+ StructField(getOutputCol, HTTPSchema.Response, nullable = true))
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val df = dataset.toDF()
    val outSchema = transformSchema(df.schema)
    val column = df.schema.fieldIndex(getInputCol)
    val read = HTTPRequests.reader(HTTPSchema.requireRequest(df.schema, uid, getInputCol))
    val (settings, inFlight) = (sendSettings, getConcurrency)
    df.mapPartitions { rows: Iterator[Row] =>
      val responses = new InOrder[Row, HTTPResponse](rows, inFlight,
        row =>
          if (row.isNullAt(column)) CompletableFuture.completedFuture(null)
          else HTTPSender.send(read(row.getStruct(column)), settings))
      Option(TaskContext.get()).foreach(_.addTaskCompletionListener[Unit](_ => responses.cancelAll()))
      responses.map { case (row, response) => Row.fromSeq(row.toSeq :+ Option(response).map(_.toRow).orNull) }
    }(Encoders.row(outSchema))
  }

  override def copy(extra: ParamMap): HTTPTransformer = defaultCopy(extra)
}

object HTTPTransformer extends IrbisReadable[HTTPTransformer]

/**
 * Starts up to `inFlight` futures ahead and yields their results in input order: the oldest is awaited
 * first, so a slow request holds back the rows behind it but never lets more than `inFlight` run.
 */
private[http] final class InOrder[A, B](input: Iterator[A], inFlight: Int, start: A => CompletableFuture[B])
  extends Iterator[(A, B)] {
  private val pending = new java.util.ArrayDeque[(A, CompletableFuture[B])]()

  private def fill(): Unit = while (pending.size < inFlight && input.hasNext) {
    val a = input.next()
    pending.add(a -> start(a))
  }

  override def hasNext: Boolean = { fill(); !pending.isEmpty }

  override def next(): (A, B) = {
    if (!hasNext) throw new NoSuchElementException("no more rows")
    val (a, future) = pending.poll()
    try (a, future.get())
    catch { case e: ExecutionException if e.getCause != null => throw e.getCause }
  }

  def cancelAll(): Unit = pending.forEach(_._2.cancel(true))
}
