package irbis.stages

import irbis.testkit.{Compare, ExampleSource, StageExample, SparkSuite}
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.sql.SparkSession

class FixedMiniBatchTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = (1 to 10).map(i => (i, s"s$i", Vectors.dense(i.toDouble))).toDF("i", "s", "v").coalesce(1)
    Seq(StageExample("FixedMiniBatchTransformer", new FixedMiniBatchTransformer().setBatchSize(4), df))
  }
}

class FixedMiniBatchTransformerSuite extends SparkSuite {
  import spark.implicits._

  test("batches of batchSize within each partition, the last one smaller; FlattenBatch restores the rows") {
    val df = (1 to 10).map(i => (i, s"s$i", Vectors.dense(i.toDouble))).toDF("i", "s", "v").repartition(2)
    val batched = new FixedMiniBatchTransformer().setBatchSize(3).transform(df)
    val sizes = batched.select("i").as[Seq[Int]].collect().map(_.size)
    val perPartition = df.rdd.glom().map(_.length).collect()
    assert(sizes.sorted.toSeq ==
      perPartition.flatMap(n => Seq.fill(n / 3)(3) ++ (if (n % 3 > 0) Seq(n % 3) else Nil)).sorted.toSeq)
    assert(Compare.diff(new FlattenBatch().transform(batched), df) == null)
  }
}

class FlattenBatchExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = Seq(("k1", Seq(1, 2, 3), Seq("a", "b", "c")), ("k2", Seq(4), Seq("d"))).toDF("key", "n", "s")
    Seq(StageExample("FlattenBatch", new FlattenBatch(), df))
  }
}

class FlattenBatchSuite extends SparkSuite {
  import spark.implicits._

  test("unequal array lengths fail naming the columns") {
    val df = Seq((Seq(1, 2), Seq("a"))).toDF("n", "s")
    val e = intercept[Exception](new FlattenBatch().transform(df).collect())
    assert(e.getMessage.contains("'s' has 1 elements but 'n' has 2"))
  }

  test("non-array columns repeat") {
    val df = Seq(("k", Seq(1, 2))).toDF("key", "n")
    assert(new FlattenBatch().transform(df).as[(String, Int)].collect().toSeq == Seq(("k", 1), ("k", 2)))
  }
}
