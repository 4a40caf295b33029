package irbis.lightgbm

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.sql.{DataFrame, SparkSession}

/** Small deterministic tables for the LightGBM stages: two informative features and a noise feature. */
object LightGBMData {
  def table(spark: SparkSession, n: Int = 120, classes: Int = 2): DataFrame = {
    val rng = new scala.util.Random(7)
    val rows = (0 until n).map { i =>
      val (a, b, c) = (rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian())
      val score = 1.5 * a - b + 0.3 * rng.nextGaussian()
      val label = if (classes == 2) (if (score > 0) 1.0 else 0.0) else math.min(classes - 1, math.max(0, (score + 1.5).toInt)).toDouble
      (Vectors.dense(a, b, c), label, 2 * a + b * b + 0.1 * rng.nextGaussian(), i / 10, (i % 4).toDouble)
    }
    spark.createDataFrame(rows).toDF("features", "label", "target", "query", "grade").repartition(1)
  }
}

class LightGBMExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = LightGBMData.table(spark)
    val small = Seq(new LightGBMClassifier(), new LightGBMRegressor(), new LightGBMRanker())
    small.foreach(_.setNumIterations(5).setMinDataInLeaf(5).setNumLeaves(4).setDeterministic(true).setNumThreads(1))
    val reg = df.withColumnRenamed("label", "class").withColumnRenamed("target", "label")
    val rank = df.drop("label").withColumnRenamed("grade", "label")
    Seq(
      StageExample("LightGBMClassifier", small(0), df),
      StageExample("LightGBMClassificationModel",
        small(0).asInstanceOf[LightGBMClassifier].fit(df).setFeaturesShapCol("shap"), df),
      StageExample("LightGBMRegressor", small(1), reg),
      StageExample("LightGBMRegressionModel", small(1).asInstanceOf[LightGBMRegressor].fit(reg), reg),
      StageExample("LightGBMRanker", small(2).asInstanceOf[LightGBMRanker].setGroupCol("query"), rank),
      StageExample("LightGBMRankerModel",
        small(2).asInstanceOf[LightGBMRanker].setGroupCol("query").fit(rank).setLeafPredictionCol("leaves"), rank))
  }
}

class LightGBMSuite extends SparkSuite {
  test("a classifier trains, scores every row, and its SHAP values sum to the raw score") {
    val df = LightGBMData.table(spark)
    val model = new LightGBMClassifier().setNumIterations(10).setMinDataInLeaf(5).setFeaturesShapCol("shap").fit(df)
    val out = model.transform(df).select("rawPrediction", "probability", "prediction", "shap", "label").collect()
    assert(out.length == 120)
    out.foreach { r =>
      val raw = r.getAs[org.apache.spark.ml.linalg.Vector](0)
      val shap = r.getAs[org.apache.spark.ml.linalg.Vector](3)
      assert(math.abs(shap.toArray.sum - raw(1)) < 1e-9)
    }
    val accuracy = out.count(r => r.getDouble(2) == r.getDouble(4)).toDouble / out.length
    assert(accuracy > 0.8, s"accuracy $accuracy")
  }

  test("a bad label is refused naming the column and row") {
    val df = LightGBMData.table(spark).selectExpr("features", "CASE WHEN label = 1 THEN 2.5 ELSE label END AS label")
    val e = intercept[IllegalArgumentException](new LightGBMRegressor().fit(
      LightGBMData.table(spark).selectExpr("features", "CASE WHEN label = 1 THEN CAST('NaN' AS DOUBLE) ELSE label END AS label")))
    assert(e.getMessage.contains("labelCol 'label'"), e.getMessage)
    val e2 = intercept[IllegalArgumentException](new LightGBMClassifier().setObjective("binary").fit(df))
    assert(e2.getMessage.contains("Expected: a class index"), e2.getMessage)
  }
}
