package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.SparkSession

class ClassBalancerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = Seq(("a", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5)).toDF("label", "x")
    val max = new ClassBalancer().setInputCol("label").setNormalization("MaxCount")
    Seq(
      StageExample("ClassBalancer", new ClassBalancer().setInputCol("label"), df),
      StageExample("ClassBalancer-max", max, df),
      StageExample("ClassBalancerModel", max.fit(df), df))
  }
}

class ClassBalancerSuite extends SparkSuite {
  import spark.implicits._

  test("an unseen label and a null label fail naming the column") {
    val model = new ClassBalancer().setInputCol("label").fit(Seq(1.0, 0.0, 0.0).toDF("label"))
    assert(model.getWeights == Map("0.0" -> 0.75, "1.0" -> 1.5))
    val e = intercept[Exception](model.transform(Seq(2.0).toDF("label")).collect())
    assert(e.getMessage.contains("label '2.0' in column 'label' was not seen when fitting"))
    val e2 = intercept[IllegalArgumentException](
      new ClassBalancer().setInputCol("label").fit(Seq(Some(1.0), None).toDF("label")))
    assert(e2.getMessage.contains("label column 'label' has 1 null values"))
  }
}
