package irbis.onnx

import scala.collection.mutable.ArrayBuffer
import scala.jdk.CollectionConverters._

import ai.onnxruntime.{OnnxTensor, OrtException, OrtSession, TensorInfo}
import irbis.core.InternalFrames
import org.apache.spark.ml.linalg.{SQLDataTypes, Vector, Vectors}
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.expressions.{GenericInternalRow, JoinedRow, UnsafeArrayData}
import org.apache.spark.sql.types.{ArrayType, FloatType, UserDefinedType}
import org.apache.spark.unsafe.types.UTF8String

/**
 * Runs one partition through the model in minibatches, one pass: rows are read as Catalyst rows, written
 * into reused native buffers, evaluated, and the outputs (and softmax/argmax) appended to each row.
 */
final class OnnxBatchRunner(session: OrtSession, plan: OnnxPlan) {
  private val inputInfo = session.getInputInfo.asScala
  private val feeders = plan.feeds.map { f =>
    inputInfo(f.input).getInfo match {
      case t: TensorInfo => new TensorFeeder(plan.stage, f, t, plan.batching.stacked)
      case other =>
        throw new IllegalArgumentException(s"${plan.stage}: graph input '${f.input}' is not a tensor ($other)")
    }
  }
  private val fixedBatch: Option[Int] = plan.batching.fixed
  private val oneRow = !plan.batching.stacked || plan.batching.oneRow
  private val checked = feeders.filter(_.checksValues)
  private val readers = plan.fetches.map(new OutputReader(plan.stage, _, plan.batching.stacked))

  /** The position in the partition of the next row, for messages that name a row. */
  private var rowNumber = 0L
  private val fetchNames = plan.fetches.map(_.output).toSet.asJava
  private val derivedSources = plan.derived.map(d => plan.fetches.indexWhere(_.column == d.source))
  private val width = plan.fetches.size + plan.derived.size + (if (plan.withErrors) 1 else 0)
  private val errorSlot = width - 1
  private val vectorUdt = SQLDataTypes.VectorType.asInstanceOf[UserDefinedType[Vector]]

  def run(rows: Iterator[InternalRow]): Iterator[InternalRow] = {
    val copied = rows.map(_.copy()).buffered
    // A continuous task's next row may be long in coming: each row is evaluated as it arrives.
    val size = fixedBatch.getOrElse(
      if (InternalFrames.inContinuousTask || oneRow) 1
      else if (plan.batchSize > 0) plan.batchSize else if (copied.hasNext) autoBatch(copied.head) else 1)
    copied.grouped(size).flatMap(batch => process(batch))
  }

  /** miniBatchSize 0: as many rows as make [[OnnxBatchRunner.AutoBatchBytes]] of input, judged by the first row. */
  private def autoBatch(row: InternalRow): Int = {
    val bytes = try {
      plan.feeds.indices.map { j =>
        if (row.isNullAt(plan.feeds(j).index)) 0L else feeders(j).rowBytes(feeders(j).fit(feeders(j).valueShape(row)))
      }.sum
    } catch { case _: FeedException => 0L }
    if (bytes <= 0) OnnxBatchRunner.AutoBatchMaxRows
    else math.max(1L, math.min(OnnxBatchRunner.AutoBatchMaxRows.toLong, OnnxBatchRunner.AutoBatchBytes / bytes)).toInt
  }

  private def fail(outputs: Array[Array[Any]], i: Int, message: String): Unit =
    outputs(i)(errorSlot) = UTF8String.fromString(message)

  /**
   * Rows that fit are grouped by the shapes they give the graph's symbolic dims (one group for a model
   * without any), and each group is one ONNX Runtime call: sequences of mixed lengths need no padding.
   */
  private def process(batch: Seq[InternalRow]): Iterator[InternalRow] = {
    val outputs = Array.fill(batch.size)(new Array[Any](width))
    val groups = new java.util.LinkedHashMap[Seq[Seq[Long]], ArrayBuffer[Int]]()
    batch.indices.foreach { i =>
      val row = batch(i)
      val number = rowNumber
      rowNumber += 1
      if (!plan.feeds.exists(f => row.isNullAt(f.index))) {
        try {
          val dims = feeders.map(f => f.fit(f.valueShape(row)).toSeq)
          checked.foreach(_.checkValues(row, number))
          groups.computeIfAbsent(dims, _ => new ArrayBuffer[Int]()) += i
        } catch {
          case e: FeedException if plan.withErrors => fail(outputs, i, e.detail)
        }
      }
    }
    groups.forEach((dims, ok) => evaluate(batch, ok.toSeq, dims.map(_.toArray).toArray, outputs))
    batch.indices.iterator.map(i => new JoinedRow(batch(i), new GenericInternalRow(outputs(i))))
  }

  private def evaluate(batch: Seq[InternalRow], ok: Seq[Int], dims: Array[Array[Long]], outputs: Array[Array[Any]])
    : Unit = {
    val rows = ok.map(batch)
    val pad = fixedBatch.map(_ - rows.size).getOrElse(0)
    val tensors = new ArrayBuffer[OnnxTensor]()
    try {
      feeders.indices.foreach(j => tensors += feeders(j).tensor(OnnxSessions.env, rows, dims(j), pad))
      val inputs = plan.feeds.map(_.input).zip(tensors).toMap.asJava
      val result = session.run(inputs, fetchNames)
      try {
        val numeric = new Array[Array[Array[Double]]](readers.size)
        readers.indices.foreach { j =>
          val value = result.get(plan.fetches(j).output).get()
          val (values, doubles) = readers(j).read(value, rows.size, rows.size + pad, derivedSources.contains(j))
          numeric(j) = doubles
          ok.indices.foreach(k => outputs(ok(k))(j) = values(k))
        }
        plan.derived.indices.foreach { d =>
          val spec = plan.derived(d)
          ok.indices.foreach { k =>
            outputs(ok(k))(plan.fetches.size + d) = derive(spec, numeric(derivedSources(d))(k))
          }
        }
      } finally result.close()
    } catch {
      case e: OrtException if plan.withErrors =>
        ok.foreach(i => fail(outputs, i, s"ONNX Runtime failed on this row's batch: ${e.getMessage}"))
      case e: FeedException if plan.withErrors => ok.foreach(i => fail(outputs, i, e.detail))
    } finally tensors.foreach(_.close())
  }

  private def derive(spec: DerivedSpec, x: Array[Double]): Any = spec.op match {
    case "argmax" =>
      var best = 0
      var i = 1
      while (i < x.length) { if (x(i) > x(best)) best = i; i += 1 }
      best
    case "softmax" =>
      val m = if (x.isEmpty) 0.0 else x.max
      val e = x.map(v => math.exp(v - m))
      val s = e.sum
      val p = e.map(_ / s)
      spec.dataType match {
        case ArrayType(FloatType, _) => UnsafeArrayData.fromPrimitiveArray(p.map(_.toFloat))
        case ArrayType(_, _) => UnsafeArrayData.fromPrimitiveArray(p)
        case _ => vectorUdt.serialize(Vectors.dense(p))
      }
  }
}

object OnnxBatchRunner {

  /**
   * The automatic minibatch: about 2 MiB of input per ONNX Runtime call, at most 256 rows. Measured with
   * `make bench` (onnx_throughput, rows "batch=...", best of 3 passes against raw ONNX Runtime): the
   * 64-256-256-10 MLP (256 bytes a row, so 256 rows here) peaks near 256 rows (0.79-0.85x) and falls with larger
   * batches (0.66x at 1024, 0.38x at 4096: its activations leave the caches); EfficientNet-Lite0 at 224x224
   * (600 KB a row, so 3 rows here) is flat from 3 to 64 rows (0.92-1.07x), so small batches cost it nothing and
   * spare executor memory.
   */
  val AutoBatchBytes: Long = 2L << 20
  val AutoBatchMaxRows: Int = 256
}
