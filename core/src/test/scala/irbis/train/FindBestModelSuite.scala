package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.PipelineStage
import org.apache.spark.ml.feature.SQLTransformer
import org.apache.spark.sql.{DataFrame, SparkSession}

object FindBestModelData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq((0.1, 0.0), (0.25, 0.0), (0.35, 1.0), (0.8, 1.0), (0.6, 1.0), (0.2, 0.0)).toDF("x", "label")
  }

  /** "Fitted models" that threshold x: plain transformers whose output is scored data. */
  def thresholds(ts: Double*): Array[PipelineStage] = ts.map { t =>
    new SQLTransformer().setStatement(s"SELECT *, CAST(x > $t AS DOUBLE) AS prediction FROM __THIS__"): PipelineStage
  }.toArray
}

class FindBestModelExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = FindBestModelData.table(spark)
    val finder = new FindBestModel().setModels(FindBestModelData.thresholds(0.5, 0.3, 0.7))
    Seq(StageExample("FindBestModel-accuracy", finder, df),
      StageExample("BestModel", finder.fit(df), df))
  }
}

class FindBestModelSuite extends SparkSuite {
  test("the best model is the argmax of its metrics table; the table and the stage[] param survive save/load") {
    val df = FindBestModelData.table(spark)
    val models = FindBestModelData.thresholds(0.5, 0.3, 0.7)
    val model = new FindBestModel().setModels(models).fit(df)
    val accuracy = model.getAllModelMetrics.select("accuracy").collect().map(_.getDouble(0))
    assert(accuracy.toSeq == Seq(5.0 / 6, 1.0, 4.0 / 6))
    assert(model.getBestModel.uid == models(1).uid)
    val path = tempPath("fbm")
    new FindBestModel().setModels(FindBestModelData.thresholds(0.5, 0.3)).write.save(path)
    val loaded = FindBestModel.load(path)
    assert(loaded.getModels.map(_.asInstanceOf[SQLTransformer].getStatement).toSeq ==
      FindBestModelData.thresholds(0.5, 0.3).map(_.asInstanceOf[SQLTransformer].getStatement).toSeq)
  }

  test("regression metrics rank from the least; AUC without scores says what is missing") {
    val df = FindBestModelData.table(spark)
    val models = FindBestModelData.thresholds(0.5, 0.3)
    val mse = new FindBestModel().setModels(models).setEvaluationMetric("mse").fit(df)
    assert(mse.getBestModel.uid == models(1).uid)
    val e = intercept[IllegalArgumentException](
      new FindBestModel().setModels(FindBestModelData.thresholds(0.5)).setEvaluationMetric("AUC").fit(df))
    assert(e.getMessage.contains("evaluationMetric AUC needs class scores"))
  }
}
