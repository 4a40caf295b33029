package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.functions.udf

class UDFTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = Seq((1, "a"), (2, "bb"), (5, null)).toDF("n", "s")
    Seq(
      StageExample("UDFTransformer-one", new UDFTransformer().setInputCol("n").setOutputCol("twice")
        .setUDF(udf((n: Int) => n * 2)), df),
      StageExample("UDFTransformer-two", new UDFTransformer().setInputCols(Array("s", "n")).setOutputCol("t")
        .setUDF(udf((s: String, n: Int) => Option(s).map(_ * n).orNull)), df))
  }
}

class UDFTransformerSuite extends SparkSuite {
  import spark.implicits._

  test("the function's output type; a saved Scala function runs after loading") {
    val df = Seq((1, 2.5), (3, 0.5)).toDF("a", "b")
    val stage = new UDFTransformer().setInputCols(Array("a", "b")).setOutputCol("p").setUDF(udf((a: Int, b: Double) => a * b))
    assert(stage.transformSchema(df.schema)("p").dataType.simpleString == "double")
    val path = tempPath("udf")
    stage.write.save(path)
    assert(UDFTransformer.load(path).transform(df).select("p").as[Double].collect().toSeq == Seq(2.5, 1.5))
  }

  test("input columns are checked; bytes that are not a function are refused, naming the stage") {
    val df = Seq(1).toDF("a")
    val both = new UDFTransformer().setInputCol("a").setInputCols(Array("a")).setOutputCol("o").setUDF(udf((a: Int) => a))
    assert(intercept[IllegalArgumentException](both.transform(df)).getMessage.contains("either inputCol or inputCols"))
    val missing = new UDFTransformer().setInputCol("z").setOutputCol("o").setUDF(udf((a: Int) => a))
    assert(intercept[IllegalArgumentException](missing.transform(df)).getMessage.contains("column 'z' does not exist"))
    val junk = new UDFTransformer().setInputCol("a").setOutputCol("o").setUdf(Array[Byte](1, 2, 3))
    assert(intercept[IllegalArgumentException](junk.transform(df)).getMessage.contains("does not hold a function"))
  }
}
