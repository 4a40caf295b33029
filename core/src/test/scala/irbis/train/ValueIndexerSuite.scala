package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.attribute.{Attribute, NominalAttribute}
import org.apache.spark.sql.{DataFrame, SparkSession}

object ValueIndexerData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq[(Option[Int], String, Boolean)]((Some(10), "b", true), (Some(9), "a", false), (None, "b", true),
      (Some(100), null, false)).toDF("n", "s", "flag")
  }
}

class ValueIndexerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = ValueIndexerData.table(spark)
    val indexer = new ValueIndexer().setInputCol("n").setOutputCol("n_index")
    Seq(StageExample("ValueIndexer", indexer, df),
      StageExample("ValueIndexer-keep",
        new ValueIndexer().setInputCol("s").setOutputCol("s_index").setUnknownValues("keep"), df),
      StageExample("ValueIndexerModel", new ValueIndexer().setInputCol("flag").setOutputCol("flag").fit(df), df))
  }
}

class ValueIndexerSuite extends SparkSuite {
  import spark.implicits._

  test("levels are sorted in their own type; nulls stay null; the output carries them as NominalAttribute") {
    val df = ValueIndexerData.table(spark)
    val model = new ValueIndexer().setInputCol("n").setOutputCol("i").fit(df)
    assert(model.getLevels.toSeq == Seq("9", "10", "100")) // numerically, not as text
    val out = model.transform(df)
    assert(out.select("n", "i").as[(Option[Int], Option[Double])].collect().toSeq ==
      Seq((Some(10), Some(1.0)), (Some(9), Some(0.0)), (None, None), (Some(100), Some(2.0))))
    val attr = Attribute.fromStructField(out.schema("i")).asInstanceOf[NominalAttribute]
    assert(attr.values.get.toSeq == Seq("9", "10", "100"))
    assert(new ValueIndexer().setInputCol("flag").setOutputCol("i").fit(df).getLevels.toSeq == Seq("false", "true"))
    assert(new ValueIndexer().setInputCol("s").setOutputCol("i").fit(df).getLevels.toSeq == Seq("a", "b"))
  }

  test("an unknown value fails naming the column, the value and the levels, or gets the extra index") {
    val df = ValueIndexerData.table(spark)
    val other = Seq("a", "zebra").toDF("s")
    val model = new ValueIndexer().setInputCol("s").setOutputCol("i").fit(df)
    val e = intercept[Exception](model.transform(other).collect())
    assert(Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).exists(_.getMessage.contains(
          "column 's' holds 'zebra', which was not seen when fitting (known levels: 'a', 'b')")))
    assert(model.setUnknownValues("keep").transform(other).select("i").as[Double].collect().toSeq == Seq(0.0, 2.0))
  }

  test("IndexToValue gives back the original values and type") {
    val df = ValueIndexerData.table(spark)
    val indexed = new ValueIndexer().setInputCol("n").setOutputCol("i").fit(df).transform(df)
    val back = new IndexToValue().setInputCol("i").setOutputCol("n2").transform(indexed)
    assert(back.schema("n2").dataType == org.apache.spark.sql.types.IntegerType)
    assert(back.select("n", "n2").as[(Option[Int], Option[Int])].collect().forall { case (a, b) => a == b })
    val e = intercept[IllegalArgumentException](new IndexToValue().setInputCol("n").setOutputCol("x").transform(df))
    assert(e.getMessage.contains("column 'n' carries no levels"))
    val bad = intercept[Exception](new IndexToValue().setInputCol("i").setOutputCol("x").setLevels(Array("a"))
        .transform(Seq(0.0, 3.0).toDF("i")).collect())
    assert(Iterator.iterate[Throwable](bad)(_.getCause).takeWhile(_ != null).exists(_.getMessage.contains(
          "column 'i' holds index 3.0, which is not a level")))
  }
}
