package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.PipelineStage
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.ml.regression.LinearRegression
import org.apache.spark.sql.{DataFrame, SparkSession}

object TuneData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    (0 until 8).map(i =>
      (Vectors.dense(i.toDouble, (i % 3).toDouble), 2.0 * i + (i % 3) + (if (i % 2 == 0) 0.3 else -0.2)))
      .toDF("features", "label")
  }

  def tuner: TuneHyperparameters = new TuneHyperparameters()
    .setModels(Array[PipelineStage](new LinearRegression().setSolver("normal")))
    .setParamSpace("""{"0": {"regParam": {"grid": [0.0, 10.0]}}}""")
    .setEvaluationMetric("rmse").setNumFolds(2)
}

class TuneHyperparametersExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = TuneData.table(spark)
    Seq(StageExample("TuneHyperparameters-grid", TuneData.tuner, df),
      StageExample("TuneHyperparametersModel", TuneData.tuner.fit(df), df))
  }
}

class TuneHyperparametersSuite extends SparkSuite {
  test("folds are deterministic for a seed, balanced, and independent of the partitioning") {
    val df = TuneData.table(spark)
    val t = TuneData.tuner.setNumFolds(3).setSeed(7)
    def folds(d: DataFrame) =
      t.assignFolds(d).select("label", "fold").collect().map(r => r.getDouble(0) -> r.getInt(1)).toMap
    val a = folds(df)
    assert(a == folds(df.repartition(3)))
    assert(a.values.groupBy(identity).values.map(_.size).toSeq.sorted == Seq(2, 3, 3))
    assert(folds(df) != t.copy(org.apache.spark.ml.param.ParamMap.empty).setSeed(8).assignFolds(df)
      .select("label", "fold").collect().map(r => r.getDouble(0) -> r.getInt(1)).toMap)
  }

  test("random search draws numRuns maps within the ranges; a bad param space names the model and param") {
    val df = TuneData.table(spark)
    val m = TuneData.tuner.setSearchMode("random").setNumRuns(3)
      .setParamSpace(
        """{"0": {"regParam": {"random": {"min": 0.5, "max": 2.0}}, "maxIter": {"random": {"min": 1, "max": 5, "type": "int"}}}}""")
      .fit(df)
    val rows = m.getResults.collect()
    assert(rows.length == 3)
    rows.foreach { r =>
      val params = org.json4s.jackson.JsonMethods.parse(r.getAs[String]("params"))
      val reg = (params \ "regParam").values.asInstanceOf[Double]
      val iters = (params \ "maxIter").values.asInstanceOf[BigInt].toInt
      assert(reg >= 0.5 && reg <= 2.0 && iters >= 1 && iters <= 5)
    }
    val e = intercept[IllegalArgumentException](
      TuneData.tuner.setParamSpace("""{"0": {"regParm": {"grid": [1.0]}}}""").fit(df))
    assert(e.getMessage.contains("paramSpace['0'].regParm: LinearRegression has no param 'regParm'"))
    val e2 = intercept[IllegalArgumentException](TuneData.tuner
        .setParamSpace("""{"0": {"regParam": {"random": {"min": 0.0, "max": 1.0}}}}""").fit(df))
    assert(e2.getMessage.contains("use searchMode 'random'"))
  }

  test("a TrainRegressor's learner is tuned when paramSpace is keyed by the learner's uid (SynapseML's form)") {
    import org.apache.spark.ml.functions.vector_to_array
    import org.apache.spark.sql.functions.col
    val features = vector_to_array(col("features"))
    val df = TuneData.table(spark).select(col("label"), features.getItem(0).as("x"), features.getItem(1).as("y"))
    val learner = new LinearRegression().setSolver("normal")
    val trainer = new TrainRegressor().setModel(learner).setLabelCol("label")
    val m = new TuneHyperparameters().setModels(Array[PipelineStage](trainer)).setEvaluationMetric("rmse")
      .setNumFolds(2).setParamSpace(s"""{"${learner.uid}": {"regParam": {"grid": [0.0, 10.0]}}}""").fit(df)
    val tried = m.getResults.collect().map(r => r.getAs[String]("params")).toSeq
    assert(tried == Seq("""{"regParam":0.0}""", """{"regParam":10.0}"""))
    val best = m.getBestModel.asInstanceOf[TrainedRegressorModel].getFittedLearner
    assert(best.getOrDefault(best.getParam("regParam")) == 0.0)
  }
}
