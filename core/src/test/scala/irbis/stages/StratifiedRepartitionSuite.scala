package irbis.stages

import irbis.testkit.{Compare, ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{DataFrame, SparkSession}

object StratifiedData {

  /** 30 rows of "a", 10 of "b", 5 of "c", in 3 partitions. */
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    val labels = Seq.fill(30)("a") ++ Seq.fill(10)("b") ++ Seq.fill(5)("c")
    spark.sparkContext.parallelize(labels.zipWithIndex, 3).toDF("label", "id")
  }
}

class StratifiedRepartitionExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val small = spark.sparkContext.parallelize(Seq(("a", 1), ("a", 2), ("a", 3), ("b", 4)), 2).toDF("label", "id")
    Seq(
      StageExample("StratifiedRepartition-equal", new StratifiedRepartition().setMode("equal").setSeed(3), small),
      StageExample("StratifiedRepartition-mixed", new StratifiedRepartition().setNumPartitions(3), small))
  }
}

class StratifiedRepartitionSuite extends SparkSuite {
  import spark.implicits._

  private def perPartition(df: DataFrame): Seq[Map[String, Int]] =
    df.select("label").as[String].rdd.glom().collect().toSeq.map(_.groupBy(identity).map { case (k, v) =>
      k -> v.length
    })

  test("original keeps the rows and deals each label evenly over the partitions") {
    val df = StratifiedData.table(spark)
    val out = new StratifiedRepartition().setMode("original").setNumPartitions(4).transform(df)
    assert(Compare.diff(out, df) == null)
    val parts = perPartition(out)
    assert(parts.length == 4)
    Map("a" -> 30, "b" -> 10, "c" -> 5).foreach { case (label, n) =>
      val sizes = parts.map(_.getOrElse(label, 0))
      assert(sizes.sum == n && sizes.max - sizes.min <= 1, s"$label: $sizes")
    }
  }

  test("equal gives every label the largest count, mixed halfway; every row of a small label is kept") {
    val df = StratifiedData.table(spark)
    def counts(mode: String) = new StratifiedRepartition().setMode(mode).transform(df)
      .groupBy("label").count().as[(String, Long)].collect().toMap
    assert(counts("equal") == Map("a" -> 30L, "b" -> 30L, "c" -> 30L))
    assert(counts("mixed") == Map("a" -> 30L, "b" -> 20L, "c" -> 17L))
    val mixed = new StratifiedRepartition().setMode("mixed").transform(df)
    val ids = mixed.where("label = 'c'").select("id").as[Int].collect()
    assert(ids.distinct.sorted.toSeq == (40 until 45) && ids.groupBy(identity).values.map(_.length).toSet == Set(3, 4))
  }
}
