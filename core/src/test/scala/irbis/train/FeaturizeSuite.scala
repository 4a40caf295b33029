package irbis.train

import java.sql.Timestamp

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.attribute.{AttributeGroup, NominalAttribute}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.functions.{col, lit, when}

object FeaturizeData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq[(Option[Double], Option[Boolean], String, String, Timestamp, Vector, Int)](
      (Some(1.0), Some(true), "red", "a big cat", Timestamp.valueOf("2024-05-31 12:30:05"), Vectors.dense(1, 2), 7),
      (None, Some(false), "blue", "small dog", Timestamp.valueOf("2023-01-02 00:00:00"), Vectors.dense(3, 4), 7),
      (Some(5.0), None, "red", "cat and dog", Timestamp.valueOf("2024-07-04 08:15:00"), Vectors.dense(5, 6), 7),
      (Some(6.0), Some(true), null, "a cat", Timestamp.valueOf("2022-12-25 23:59:59"), Vectors.dense(7, 8), 7))
      .toDF("x", "flag", "color", "note", "when", "v", "same")
  }
  val inputs: Array[String] = Array("x", "flag", "color", "note", "when", "v", "same")
}

class FeaturizeExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = FeaturizeData.table(spark)
    val indexed = new Featurize().setInputCols(FeaturizeData.inputs).setMaxCategoricalLevels(2).setNumTextFeatures(8)
      .setOneHotEncodeCategoricals(false)
    Seq(StageExample("Featurize",
        new Featurize().setInputCols(FeaturizeData.inputs).setMaxCategoricalLevels(2)
          .setNumTextFeatures(8), df),
      StageExample("FeaturizeModel", indexed.fit(df), df))
  }
}

class FeaturizeSuite extends SparkSuite {
  import spark.implicits._

  test("every type becomes named slots: imputed numbers, one-hot levels, text, date parts, vectors") {
    val df = FeaturizeData.table(spark)
    val model = new Featurize().setInputCols(FeaturizeData.inputs).setMaxCategoricalLevels(2).setNumTextFeatures(4)
      .fit(df)
    val out = model.transform(df)
    assert(out.columns.toSeq == df.columns.toSeq :+ "features")
    val names = AttributeGroup.fromStructField(out.schema("features")).attributes.get.map(_.name.get).toSeq
    // the same model rebuilt under another uid (as Python and R rebuild a loaded one) names its slots the same
    val rebuilt = new FeaturizeModel("another_uid").setPipeline(model.getPipeline)
      .setInputCols(model.getInputCols).setOutputCol("features").transform(df)
    assert(rebuilt.columns.toSeq == out.columns.toSeq)
    assert(AttributeGroup.fromStructField(rebuilt.schema("features")).attributes.get.map(_.name.get).toSeq == names)
    assert(names == Seq("x", "flag", "color_blue", "color_red", "note_0", "note_1", "note_2", "note_3",
      "when_year", "when_month", "when_day", "when_weekday", "when_hour", "when_minute", "when_second", "v_0", "v_1"))
    val rows = out.select("features").collect().map(_.getAs[Vector](0).toArray)
    assert(rows.map(_(0)).toSeq == Seq(1.0, 4.0, 5.0, 6.0)) // the null is the mean of 1, 5, 6
    assert(rows.map(_(1)).toSeq == Seq(1.0, 0.0, 2.0 / 3, 1.0))
    assert(rows.map(r => (r(2), r(3))).toSeq == Seq((0.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0))) // null: no level
    assert(rows(0).slice(8, 15).toSeq == Seq(2024.0, 5.0, 31.0, 6.0, 12.0, 30.0, 5.0)) // a Friday (1 = Sunday)
    assert(rows.map(_.takeRight(2).toSeq).toSeq == Seq(Seq(1.0, 2.0), Seq(3.0, 4.0), Seq(5.0, 6.0), Seq(7.0, 8.0)))
  }

  test("indexed categoricals are marked nominal; constant columns are dropped or named in an error") {
    val df = FeaturizeData.table(spark)
    val out =
      new Featurize().setInputCols(Array("color", "same")).setOneHotEncodeCategoricals(false).fit(df).transform(df)
    val attrs = AttributeGroup.fromStructField(out.schema("features")).attributes.get
    assert(attrs.length == 1 && attrs(0).isInstanceOf[NominalAttribute] && attrs(0).name.contains("color"))
    assert(out.select("features").collect().map(_.getAs[Vector](0)(0)).toSeq == Seq(1.0, 0.0, 1.0, 2.0))
    val e = intercept[IllegalArgumentException](new Featurize().setInputCols(Array("x", "same"))
        .setConstantColumns("error").fit(df))
    assert(e.getMessage.contains("column(s) 'same' have a single value or only missing values") &&
      e.getMessage.contains("remove them from inputCols, or set constantColumns to 'drop'"))
    val empty = Seq[(Option[Double], Int)]((None, 1), (None, 2)).toDF("z", "k")
    val e2 = intercept[IllegalArgumentException](new Featurize().setInputCols(Array("z")).fit(empty))
    assert(e2.getMessage.contains("no features are left"))
    val e3 = intercept[IllegalArgumentException](new Featurize().setInputCols(Array("m"))
        .fit(Seq(Map("a" -> 1)).toDF("m")))
    assert(e3.getMessage.contains(
        "'m' has type map<string,int>; expected a number, boolean, string, date, timestamp or vector column"))
  }

  test("a null vector is refused with its column named, not assembled into NaN features") {
    val df = FeaturizeData.table(spark)
    val withNull = df.withColumn("v", when(col("x").isNull, lit(null)).otherwise(col("v")))
    val model = new Featurize().setInputCols(Array("x", "v")).fit(df)
    val e = intercept[Exception](model.transform(withNull).collect())
    val messages = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.getMessage).mkString("\n")
    assert(messages.contains(s"${model.uid}: column 'v' holds a null vector, which has no imputation"), messages)
    assert(model.transform(withNull.na.drop(Seq("v"))).count() == 3)
  }
}
