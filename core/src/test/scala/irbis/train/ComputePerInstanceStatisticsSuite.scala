package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.sql.SparkSession

class ComputePerInstanceStatisticsExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("ComputePerInstanceStatistics-binary", new ComputePerInstanceStatistics(), MetricsData.binary(spark)),
    StageExample("ComputePerInstanceStatistics-regression", new ComputePerInstanceStatistics(),
      MetricsData.regression(spark)))
}

class ComputePerInstanceStatisticsSuite extends SparkSuite {
  test("classification needs probabilities and says which column to set") {
    val df = MetricsData.binary(spark).drop("probability")
    val e = intercept[IllegalArgumentException](
      new ComputePerInstanceStatistics().setEvaluationMetric("classification").transform(df))
    assert(e.getMessage.contains("need class probabilities"))
  }
}
