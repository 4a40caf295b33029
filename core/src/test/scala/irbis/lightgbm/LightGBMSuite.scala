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
      val label = if (classes == 2) (if (score > 0) 1.0 else 0.0)
      else math.min(classes - 1, math.max(0, (score + 1.5).toInt)).toDouble
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
        LightGBMData.table(spark).selectExpr("features",
          "CASE WHEN label = 1 THEN CAST('NaN' AS DOUBLE) ELSE label END AS label")))
    assert(e.getMessage.contains("labelCol 'label'"), e.getMessage)
    val e2 = intercept[IllegalArgumentException](new LightGBMClassifier().setObjective("binary").fit(df))
    assert(e2.getMessage.contains("Expected: a class index"), e2.getMessage)
  }

  test("LightGBM gets the Params that are set (aliases resolved) and passThroughArgs, which win over defaults") {
    val c = new LightGBMClassifier()
    // Defaults that equal LightGBM's are left to LightGBM (so that `seed` derives the other seeds); verbosity and
    // objective differ from LightGBM's and are always passed.
    assert(c.nativeParameters.toMap == Map("verbosity" -> "-1", "objective" -> "binary"))
    c.setSeed(7).setCatl2(5.0).setMinDataPerBin(4).setPassThroughArgs("num_leaf=9 force_row_wise=true")
    val passed = c.nativeParameters.toMap
    assert(passed("seed") == "7" && passed("cat_l2") == "5" && passed("min_data_in_bin") == "4", passed)
    assert(passed("num_leaves") == "9" && passed("force_row_wise") == "true" && !passed.contains("bagging_seed"),
      passed)
    assert(c.getCatL2 == 5.0 && c.getCatl2 == 5.0)
    def refused(stage: LightGBMClassifier, expected: String): Unit = {
      val e = intercept[IllegalArgumentException](stage.nativeParameters)
      assert(e.getMessage.contains(expected), e.getMessage)
    }
    refused(new LightGBMClassifier().setNumLeaves(4).setPassThroughArgs("num_leaves=8"),
      "'num_leaves=8', but Param numLeaves is set to 4")
    refused(new LightGBMClassifier().setPassThroughArgs("num_trees=5"),
      "'num_trees' (LightGBM's num_iterations) is set by Irbis. Expected: numIterations")
    refused(new LightGBMClassifier().setPassThroughArgs("no_such_key=1"), "unknown LightGBM parameter 'no_such_key'")
    refused(new LightGBMClassifier().setCatL2(6.0).setCatl2(5.0),
      "catL2: set to 6.0 and 5.0 (through catL2 and catl2)")
    // An alias of a Param that is set, with the same value, agrees; a key of an unset Param wins over its default.
    val agreed = new LightGBMClassifier().setBoostingType("dart").setPassThroughArgs("boost=dart lambda=0.5")
      .nativeParameters.toMap
    assert(agreed("boosting") == "dart" && agreed("lambda_l2") == "0.5", agreed)
  }

  test("timeout is a double of seconds as in SynapseML, rounded up to LightGBM's minutes; int metadata still loads") {
    val c = new LightGBMClassifier().setTimeout(600.0)
    assert(c.getTimeout == 600.0 && new LightGBMClassifier().getTimeout == 120.0)
    assert(c.setTimeout(90).getTimeout == 90.0) // an Int widens, as SynapseML's Double setter takes it
    assert(Seq(0.5, 60.0, 60.5, 90.0, 120.0).map(LightGBMTrainer.timeoutMinutes) == Seq(1, 1, 2, 2, 2))
    Seq(0.0, -1.0, Double.NaN, Double.PositiveInfinity).foreach { v =>
      intercept[IllegalArgumentException](new LightGBMClassifier().setTimeout(v))
    }
    val e = intercept[IllegalArgumentException](irbis.core.ParamsBridge.setJson(c, "timeout", "0"))
    assert(e.getMessage == "LightGBMClassifier.timeout: invalid value 0. Expected: > 0 and <= 2147483647",
      e.getMessage)
    irbis.core.ParamsBridge.setJson(c, "timeout", "45")
    assert(c.getTimeout == 45.0)

    // Stages saved while timeout was an IntParam hold "timeout":120 (Spark's DoubleParam reads no JSON integer).
    intercept[IllegalArgumentException](new org.apache.spark.ml.param.DoubleParam("x", "timeout", "").jsonDecode("120"))
    val path = tempPath("lightgbm-int-timeout")
    c.write.save(path)
    val metadata = java.nio.file.Paths.get(path, "metadata", "part-00000")
    val json = new String(java.nio.file.Files.readAllBytes(metadata), "UTF-8")
    assert(json.contains("\"timeout\":45.0") && json.contains("\"timeout\":120.0"), json)
    val asInt = json.replace("\"timeout\":45.0", "\"timeout\":45").replace("\"timeout\":120.0", "\"timeout\":120")
    java.nio.file.Files.write(metadata, asInt.getBytes("UTF-8"))
    java.nio.file.Files.deleteIfExists(java.nio.file.Paths.get(path, "metadata", ".part-00000.crc"))
    val loaded = LightGBMClassifier.load(path)
    assert(loaded.getTimeout == 45.0 && loaded.getDefault(loaded.timeout).contains(120.0))
  }
}
