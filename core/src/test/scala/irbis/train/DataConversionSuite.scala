package irbis.train

import java.sql.Date

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.types._

object DataConversionData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq[(String, Long, String)](("12", 3L, "31/05/2024"), ("-4", 5000000000L, "01/01/2000"), (null, 7L, null))
      .toDF("text", "big", "day")
  }
}

class DataConversionExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = DataConversionData.table(spark)
    Seq(StageExample("DataConversion-int", new DataConversion().setCols(Array("text")).setConvertTo("integer"), df),
      StageExample("DataConversion-date",
        new DataConversion().setCols(Array("day")).setConvertTo("date")
          .setDateTimeFormat("dd/MM/yyyy"), df),
      StageExample("DataConversion-categorical",
        new DataConversion().setCols(Array("text", "big"))
          .setConvertTo("toCategorical"), df))
  }
}

class DataConversionSuite extends SparkSuite {
  import spark.implicits._

  private def messages(e: Throwable): Seq[String] =
    Iterator.iterate(e)(_.getCause).takeWhile(_ != null).map(x => String.valueOf(x.getMessage)).toSeq

  test("numbers, text and dates convert; nulls stay null") {
    val df = DataConversionData.table(spark)
    val ints = new DataConversion().setCols(Array("text")).setConvertTo("integer").transform(df)
    assert(ints.schema("text").dataType == IntegerType)
    assert(ints.select("text").as[Option[Int]].collect().toSeq == Seq(Some(12), Some(-4), None))
    val strings = new DataConversion().setCols(Array("big")).setConvertTo("string").transform(df)
    assert(strings.select("big").as[String].collect().toSeq == Seq("3", "5000000000", "7"))
    val days =
      new DataConversion().setCols(Array("day")).setConvertTo("date").setDateTimeFormat("dd/MM/yyyy").transform(df)
    assert(days.select("day").as[Option[Date]].collect().toSeq ==
      Seq(Some(Date.valueOf("2024-05-31")), Some(Date.valueOf("2000-01-01")), None))
  }

  test("an unconvertible value fails naming the column and the value") {
    val df = DataConversionData.table(spark)
    val e =
      intercept[Exception](new DataConversion().setCols(Array("big")).setConvertTo("integer").transform(df).collect())
    assert(messages(e).exists(_.contains("column 'big' holds '5000000000', which cannot be converted to int")))
    val e2 =
      intercept[Exception](new DataConversion().setCols(Array("day")).setConvertTo("double").transform(df).collect())
    assert(messages(e2).exists(_.contains("column 'day' holds '31/05/2024', which cannot be converted to double")))
    val e3 =
      intercept[Exception](new DataConversion().setCols(Array("day")).setConvertTo("date").transform(df).collect())
    assert(messages(e3).exists(_.contains("column 'day' holds '31/05/2024', which cannot be converted to date")))
    val e4 = intercept[IllegalArgumentException](
      new DataConversion().setCols(Array("big")).setConvertTo("clearCategorical").transform(df))
    assert(e4.getMessage.contains("column 'big' is not categorical"))
  }

  test("toCategorical indexes by sorted levels and clearCategorical gives the values back") {
    val df = DataConversionData.table(spark)
    val cat = new DataConversion().setCols(Array("big")).setConvertTo("toCategorical").transform(df)
    assert(cat.select("big").as[Double].collect().toSeq == Seq(0.0, 2.0, 1.0))
    val back = new DataConversion().setCols(Array("big")).setConvertTo("clearCategorical").transform(cat)
    assert(back.schema("big").dataType == LongType)
    assert(back.select("big").as[Long].collect().toSeq == Seq(3L, 5000000000L, 7L))
  }
}
