package irbis.stages

import irbis.testkit.{Compare, ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.apache.spark.sql.types.{IntegerType, StructType}

object MiniBatchData {

  /** One row per partition: batches are the same whatever the timing, as the generic tests need. */
  def onePerPartition(spark: SparkSession): DataFrame =
    spark.range(0, 3, 1, 3).selectExpr("cast(id as int) as i", "concat('s', id) as s")

  /** Rows 0-2 at once, then rows 3-4 after `pauseMillis`, in one partition. */
  def withPause(spark: SparkSession, pauseMillis: Long): DataFrame = {
    val rows = spark.sparkContext.parallelize(0 until 5, 1).mapPartitions(_.map { i =>
      if (i == 3) Thread.sleep(pauseMillis)
      Row(i)
    })
    spark.createDataFrame(rows, new StructType().add("i", IntegerType))
  }
}

class DynamicMiniBatchTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("DynamicMiniBatchTransformer", new DynamicMiniBatchTransformer(),
      MiniBatchData.onePerPartition(spark)),
    StageExample("DynamicMiniBatchTransformer-max1", new DynamicMiniBatchTransformer().setMaxBatchSize(1),
      spark.range(0, 5, 1, 1).toDF("i")))
}

class DynamicMiniBatchTransformerSuite extends SparkSuite {
  import spark.implicits._

  test("batches hold at most maxBatchSize rows, in order; FlattenBatch restores the rows") {
    val df = spark.range(0, 2000, 1, 2).toDF("i")
    val batched = new DynamicMiniBatchTransformer().setMaxBatchSize(64).transform(df)
    val batches = batched.select("i").as[Seq[Long]].collect()
    assert(batches.forall(b => b.nonEmpty && b.size <= 64))
    assert(batches.flatten.sorted.toSeq == (0L until 2000L))
    batches.foreach(b => assert(b == b.sorted))
    assert(Compare.diff(new FlattenBatch().transform(batched), df) == null)
  }

  test("a streaming DataFrame (as Spark Serving's requests are) is batched, and FlattenBatch restores its rows") {
    import org.apache.spark.sql.execution.streaming.runtime.MemoryStream
    implicit val session: SparkSession = spark
    val stream = MemoryStream[Int]
    val batched = new FixedMiniBatchTransformer().setBatchSize(2).transform(stream.toDF().toDF("i"))
    val flat = new FlattenBatch().transform(batched)
    val queries = Seq(batched -> "batched_stream", flat -> "flat_stream").map { case (df, name) =>
      df.writeStream.format("memory").queryName(name).start()
    }
    try {
      stream.addData(0 until 5)
      queries.foreach(_.processAllAvailable())
      val sizes = spark.table("batched_stream").collect().map(_.getSeq[Int](0))
      assert(sizes.forall(b => b.nonEmpty && b.length <= 2) && sizes.flatten.sorted.toSeq == (0 until 5))
      assert(spark.table("flat_stream").collect().map(_.getInt(0)).sorted.toSeq == (0 until 5))
    } finally queries.foreach(_.stop())
  }

  test("a failure upstream reaches the task with its message") {
    val failing = spark.range(0, 10, 1, 1).toDF("i").map { r =>
      if (r.getLong(0) == 5) throw new IllegalStateException("row five is broken")
      r.getLong(0)
    }.toDF("i")
    val e = intercept[Exception](new DynamicMiniBatchTransformer().transform(failing).collect())
    assert(Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).exists(
        _.getMessage.contains("row five is broken")))
  }
}

class TimeIntervalMiniBatchTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(StageExample("TimeIntervalMiniBatchTransformer",
      new TimeIntervalMiniBatchTransformer().setMillisToWait(5), MiniBatchData.onePerPartition(spark)))
}

class TimeIntervalMiniBatchTransformerSuite extends SparkSuite {
  import spark.implicits._

  test("rows arriving within millisToWait share a batch; a pause starts a new one") {
    val batched =
      new TimeIntervalMiniBatchTransformer().setMillisToWait(200).transform(MiniBatchData.withPause(spark, 800))
    assert(batched.select("i").as[Seq[Int]].collect().toSeq == Seq(Seq(0, 1, 2), Seq(3, 4)))
  }

  test("maxBatchSize caps a batch") {
    val batched = new TimeIntervalMiniBatchTransformer().setMillisToWait(10000).setMaxBatchSize(2)
      .transform(spark.range(0, 5, 1, 1).toDF("i"))
    assert(batched.select("i").as[Seq[Long]].collect().toSeq == Seq(Seq(0L, 1L), Seq(2L, 3L), Seq(4L)))
  }
}
