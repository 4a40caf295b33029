package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.sql.SparkSession

class ComputeModelStatisticsExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("ComputeModelStatistics-binary", new ComputeModelStatistics(), MetricsData.binary(spark)),
    StageExample("ComputeModelStatistics-regression",
      new ComputeModelStatistics().setEvaluationMetric("regression"), MetricsData.regression(spark)))
}

class ComputeModelStatisticsSuite extends SparkSuite {
  import spark.implicits._

  test("classes come from the prediction's metadata; an unknown label names the value and the classes") {
    val df = MetricsData.withLevels(spark)
    val row = new ComputeModelStatistics().transform(df).head()
    assert(row.getSeq[String](row.fieldIndex("classes")) == Seq("cat", "dog", "fox"))
    assert(row.getSeq[scala.collection.Seq[Long]](row.fieldIndex("confusion_matrix")).map(_.toList) ==
      Seq(List(2L, 0L, 0L), List(0L, 1L, 1L), List(0L, 1L, 0L)))
    val bad = df.union(Seq(("wolf", 0.0)).toDF("label", "prediction"))
    val e = intercept[IllegalArgumentException](new ComputeModelStatistics().transform(bad))
    assert(e.getMessage.contains("label 'wolf' in column 'label' is not one of the model's 3 classes (cat, dog, fox)"))
  }

  test("data that was not scored is an error that says to transform it with the model first") {
    val e = intercept[IllegalArgumentException](new ComputeModelStatistics().transform(Seq(1.0).toDF("label")))
    assert(e.getMessage.contains("transform the data with the fitted model first"))
  }
}
