package irbis.stages

import irbis.testkit.{Compare, ExampleSource, StageExample, SparkSuite}
import org.apache.spark.ml.feature.{StringIndexer, StringIndexerModel}
import org.apache.spark.sql.SparkSession

class TimerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = Seq("a", "b", "a", "c").toDF("label")
    val timer = new Timer().setStage(new StringIndexer().setInputCol("label").setOutputCol("index"))
    Seq(
      StageExample("Timer-estimator", timer, df),
      StageExample("Timer-transformer",
        new Timer().setStage(new SelectColumns().setCols(Array("label")))
          .setDisableMaterialization(true), df),
      StageExample("TimerModel", timer.fit(df), df))
  }
}

class TimerSuite extends SparkSuite {
  import spark.implicits._

  test("the model wraps the fitted inner stage and gives its output") {
    val df = Seq("a", "b", "a").toDF("label")
    val indexer = new StringIndexer().setInputCol("label").setOutputCol("index")
    val model = new Timer().setStage(indexer).fit(df)
    assert(model.getTransformer.isInstanceOf[StringIndexerModel])
    assert(Compare.diff(model.transform(df), indexer.fit(df).transform(df)) == null)
  }
}
