package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{DataFrame, SparkSession}

object SummarizeDataData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq[(Option[Double], Option[Int], String)]((Some(1.5), Some(3), "a"), (None, Some(1), "b"),
      (Some(Double.NaN), None, "a"),
      (Some(-2.0), Some(3), null), (Some(7.25), Some(10), "c"), (Some(1.5), Some(-4), "a")).toDF("x", "n", "s")
  }
}

class SummarizeDataExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("SummarizeData", new SummarizeData(), SummarizeDataData.table(spark)),
    StageExample("SummarizeData-some",
      new SummarizeData().setInputCols(Array("n")).setSample(false).setCounts(false)
        .setErrorThreshold(0.1), SummarizeDataData.table(spark)))
}

class SummarizeDataSuite extends SparkSuite {
  test("one row per column; only the selected groups of statistics; unknown columns are named") {
    val df = SummarizeDataData.table(spark)
    val out = new SummarizeData().setBasic(false).setPercentiles(false).setSample(false).transform(df)
    assert(out.columns.toSeq == Seq("feature", "count", "uniqueValueCount", "missingValueCount"))
    assert(out.collect().map(r => (r.getString(0), r.getLong(1), r.getLong(2), r.getLong(3))).toSeq ==
      Seq(("x", 4L, 3L, 2L), ("n", 5L, 4L, 1L), ("s", 5L, 3L, 1L)))
    val e = intercept[IllegalArgumentException](new SummarizeData().setInputCols(Array("nope")).transform(df))
    assert(e.getMessage.contains("column 'nope' does not exist"))
  }
}
