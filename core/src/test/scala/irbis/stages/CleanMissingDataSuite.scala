package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{DataFrame, SparkSession}

object CleanMissingDataData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq[(Option[Double], Option[Int], String)]((Some(1.0), Some(10), "a"), (None, Some(20), "b"),
      (Some(Double.NaN), None, "c"), (Some(4.0), Some(31), "d"), (Some(10.0), None, "e")).toDF("x", "n", "s")
  }
}

class CleanMissingDataExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = CleanMissingDataData.table(spark)
    val median =
      new CleanMissingData().setInputCols(Array("x", "n")).setOutputCols(Array("x2", "n2")).setCleaningMode("Median")
    Seq(
      StageExample("CleanMissingData-mean", new CleanMissingData().setInputCols(Array("x", "n")), df),
      StageExample("CleanMissingData-median", median, df),
      StageExample("CleanMissingDataModel", median.fit(df), df))
  }
}

class CleanMissingDataSuite extends SparkSuite {
  import spark.implicits._

  test("mean and median ignore nulls and NaN; fills are cast to the column type") {
    val df = CleanMissingDataData.table(spark)
    val mean = new CleanMissingData().setInputCols(Array("x", "n")).fit(df)
    assert(mean.getFillValues.toSeq == Seq(5.0, 61.0 / 3))
    val out = mean.transform(df).select("x", "n").as[(Double, Int)].collect()
    assert(out.map(_._1).toSeq == Seq(1.0, 5.0, 5.0, 4.0, 10.0))
    assert(out.map(_._2).toSeq == Seq(10, 20, 20, 31, 20))
    val median = new CleanMissingData().setInputCols(Array("x")).setCleaningMode("Median").fit(df)
    assert(median.getFillValues.toSeq == Seq(4.0))
  }

  test("custom needs customValue; an all-missing column and a string column are named") {
    val df = CleanMissingDataData.table(spark)
    val e = intercept[IllegalArgumentException](
      new CleanMissingData().setInputCols(Array("x")).setCleaningMode("Custom").fit(df))
    assert(e.getMessage.contains("customValue is not set"))
    assert(new CleanMissingData().setInputCols(Array("x")).setCleaningMode("Custom").setCustomValue(-1).fit(df)
      .transform(df).select("x").as[Double].collect().toSeq == Seq(1.0, -1.0, -1.0, 4.0, 10.0))
    val empty = Seq[Option[Double]](None, None).toDF("z")
    val e2 = intercept[IllegalArgumentException](new CleanMissingData().setInputCols(Array("z")).fit(empty))
    assert(e2.getMessage.contains("column 'z' has no non-missing values"))
    val e3 = intercept[IllegalArgumentException](new CleanMissingData().setInputCols(Array("s")).fit(df))
    assert(e3.getMessage.contains("'s' has type string; expected a numeric column"))
  }
}
