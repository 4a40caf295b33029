package irbis.train

import irbis.testkit.SparkSuite
import org.apache.spark.ml.PipelineStage
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.DataFrame

/**
 * The metric stages read the label and scores columns that TrainClassifier's and TrainRegressor's models record
 * in the scored data's metadata, unless labelCol or scoresCol is set. References are computed here from the
 * collected rows.
 */
class ScoredMetadataSuite extends SparkSuite {
  import spark.implicits._

  private def animals: DataFrame = Seq(
    (1.0, 0.2, "cat"), (1.2, 0.1, "cat"), (0.9, 0.3, "cat"), (3.0, 2.9, "dog"), (3.2, 3.1, "dog"),
    (2.9, 3.3, "dog"), (5.1, 0.2, "fox"), (4.8, 0.4, "fox"), (5.3, 0.1, "fox"), (2.0, 1.5, "cat")
  ).toDF("a", "b", "species")

  private def heights: DataFrame =
    Seq((1.0, 2.1), (2.0, 3.9), (3.0, 6.2), (4.0, 7.8), (5.0, 10.1), (6.0, 12.2)).toDF("x", "height")

  test("ComputeModelStatistics reads a trained classifier's label and scores columns from the metadata") {
    val scored = new TrainClassifier().setLabelCol("species").fit(animals).transform(animals)
    val row = new ComputeModelStatistics().transform(scored).head()
    val pairs = scored.select("species", "scored_labels").as[(String, String)].collect()
    assert(row.getAs[Double]("accuracy") == pairs.count { case (l, p) => l == p }.toDouble / pairs.length)
    assert(row.getAs[Long]("count") == 10L)
    assert(row.getSeq[String](row.fieldIndex("classes")) == Seq("cat", "dog", "fox"))
    // A set labelCol wins over the metadata: `a` (numbers) is not the model's label (names).
    val e = intercept[IllegalArgumentException](
      new ComputeModelStatistics().setLabelCol("a").setEvaluationMetric("classification").transform(scored).head())
    assert(e.getMessage.contains("label column 'a' is numeric but the model's class levels are not numbers"))
  }

  test("ComputePerInstanceStatistics: log loss of the recorded label's probability, regression losses") {
    val scored = new TrainClassifier().setLabelCol("species").fit(animals).transform(animals)
    val levels = Seq("cat", "dog", "fox")
    val out = new ComputePerInstanceStatistics().transform(scored)
      .select("species", "probability", "log_loss").as[(String, Vector, Double)].collect()
    out.foreach { case (label, p, loss) =>
      val q = math.min(math.max(p(levels.indexOf(label)), Math.ulp(1.0)), 1 - Math.ulp(1.0))
      assert(math.abs(loss + math.log(q)) < 1e-12, label)
    }
    val regression = new TrainRegressor().setLabelCol("height").fit(heights).transform(heights)
    val losses = new ComputePerInstanceStatistics().transform(regression)
      .select("height", "prediction", "l1_loss", "l2_loss").as[(Double, Double, Double, Double)].collect()
    losses.foreach { case (h, p, l1, l2) =>
      assert(l1 == math.abs(h - p))
      assert(l2 == (h - p) * (h - p))
    }
  }

  test("FindBestModel ranks trained models on the label they recorded") {
    val rich = new TrainClassifier().setLabelCol("species").fit(animals)
    val poor = new TrainClassifier().setLabelCol("species").setInputCols(Array("b")).fit(animals)
    val best = new FindBestModel().setModels(Array[PipelineStage](poor, rich)).fit(animals)
    val accuracy = (m: TrainedClassifierModel) => {
      val pairs = m.transform(animals).select("species", "scored_labels").as[(String, String)].collect()
      pairs.count { case (l, p) => l == p }.toDouble / pairs.length
    }
    val metrics = best.getAllModelMetrics.select("accuracy").as[Double].collect().toSeq
    assert(metrics == Seq(accuracy(poor), accuracy(rich)))
    assert(best.getBestModel.uid == (if (accuracy(rich) > accuracy(poor)) rich.uid else poor.uid))
    val regression = new TrainRegressor().setLabelCol("height").fit(heights)
    val mse = new FindBestModel().setEvaluationMetric("mse").setModels(Array[PipelineStage](regression)).fit(heights)
      .getAllModelMetrics.select("mse").as[Double].head()
    val errors = regression.transform(heights).select("height", "prediction").as[(Double, Double)].collect()
    assert(math.abs(mse - errors.map { case (h, p) => (h - p) * (h - p) }.sum / errors.length) < 1e-12)
  }
}
