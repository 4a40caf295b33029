package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.feature.{OneHotEncoder, StringIndexer, VectorAssembler}
import org.apache.spark.ml.regression.{DecisionTreeRegressor, LinearRegression}
import org.apache.spark.ml.Pipeline

class TrainRegressorExamples extends ExampleSource {
  override def examples(spark: org.apache.spark.sql.SparkSession): Seq[StageExample] = {
    val df = TrainData.table(spark).drop("animal")
    Seq(StageExample("TrainRegressor", new TrainRegressor().setLabelCol("y"), df),
      StageExample("TrainedRegressorModel",
        new TrainRegressor().setLabelCol("y").setInputCols(Array("a", "kind"))
          .setModel(new DecisionTreeRegressor().setMaxDepth(2)).fit(df), df))
  }
}

class TrainRegressorSuite extends SparkSuite {
  test("predicts as the same learner on hand-built features (one-hot category, numbers)") {
    val df = TrainData.table(spark, 40).drop("animal")
    val out = new TrainRegressor().setLabelCol("y").fit(df).transform(df)
    val reference = new Pipeline().setStages(Array(
        new StringIndexer().setInputCol("kind").setOutputCol("k").setStringOrderType("alphabetAsc"),
        new OneHotEncoder().setInputCol("k").setOutputCol("kv"),
        new VectorAssembler().setInputCols(Array("a", "b", "kv")).setOutputCol("f"),
        new LinearRegression().setFeaturesCol("f").setLabelCol("y"))).fit(df).transform(df)
    val got = out.select("prediction").collect().map(_.getDouble(0))
    val want = reference.select("prediction").collect().map(_.getDouble(0))
    assert(got.zip(want).forall { case (x, y) => math.abs(x - y) < 1e-6 })
    val e = intercept[IllegalArgumentException](new TrainRegressor().setLabelCol("kind").fit(df))
    assert(
      e.getMessage.contains("'kind' has type string; expected a numeric column (for classes, use TrainClassifier)"))
  }
}
