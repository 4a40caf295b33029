package irbis.stages

import irbis.testkit.{Compare, ExampleSource, StageExample, SparkSuite}
import org.apache.spark.ml.feature.{StringIndexer, Tokenizer}
import org.apache.spark.sql.{DataFrame, SparkSession}

object MultiColumnData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq(("a b", "x"), ("b", "y"), ("c a", "x")).toDF("s1", "s2")
  }
}

class MultiColumnAdapterExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = MultiColumnData.table(spark)
    val indexer = new MultiColumnAdapter().setBaseStage(new StringIndexer().setStringOrderType("alphabetAsc"))
      .setInputCols(Array("s1", "s2")).setOutputCols(Array("i1", "i2"))
    Seq(
      StageExample("MultiColumnAdapter-estimator", indexer, df),
      StageExample("MultiColumnAdapter-transformer",
        new MultiColumnAdapter().setBaseStage(new Tokenizer())
          .setInputCols(Array("s1", "s2")).setOutputCols(Array("t1", "t2")), df),
      StageExample("MultiColumnAdapterModel", indexer.fit(df), df))
  }
}

class MultiColumnAdapterSuite extends SparkSuite {
  test("each column gets its own fitted copy of the base stage, with the base stage's other params") {
    val df = MultiColumnData.table(spark)
    val base = new StringIndexer().setStringOrderType("alphabetDesc")
    val model = new MultiColumnAdapter().setBaseStage(base).setInputCols(Array("s1", "s2"))
      .setOutputCols(Array("i1", "i2")).fit(df)
    val expected = base.copy(org.apache.spark.ml.param.ParamMap.empty).setInputCol("s2").setOutputCol("i2")
      .fit(base.setInputCol("s1").setOutputCol("i1").fit(df).transform(df))
    val once = base.setInputCol("s1").setOutputCol("i1").fit(df).transform(df)
    assert(Compare.diff(model.transform(df), expected.transform(once)) == null)
    assert(model.getModel.stages.map(_.uid).toSeq == Seq(s"${base.uid}_0", s"${base.uid}_1"))
  }

  test("mismatched column lists and a base stage without inputCol are refused") {
    val df = MultiColumnData.table(spark)
    val e = intercept[IllegalArgumentException](new MultiColumnAdapter().setBaseStage(new Tokenizer())
        .setInputCols(Array("s1", "s2")).setOutputCols(Array("t1")).fit(df))
    assert(e.getMessage.contains("inputCols has 2 names but outputCols has 1"))
    intercept[IllegalArgumentException](new MultiColumnAdapter().setBaseStage(new SelectColumns()))
  }
}
