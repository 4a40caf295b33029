package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.attribute.{Attribute, NominalAttribute}
import org.apache.spark.ml.classification.{DecisionTreeClassifier, LogisticRegression}
import org.apache.spark.ml.feature.VectorAssembler
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{DataFrame, SparkSession}

object TrainData {

  /** Two numbers, a category and a label that depends on them (a few rows disagree, so it is not separable). */
  def table(spark: SparkSession, n: Int = 12): DataFrame = {
    import spark.implicits._
    val rng = new scala.util.Random(3)
    (0 until n).map { i =>
      val (a, b) = (rng.nextGaussian(), rng.nextGaussian())
      val kind = Seq("x", "y", "z")(i % 3)
      val score = a + 0.5 * b + (if (kind == "z") 1.0 else 0.0) + 0.7 * rng.nextGaussian()
      (a, b, kind, if (score > 0.8) "snow leopard" else if (score > -0.3) "fox" else "empty", score)
    }.toDF("a", "b", "kind", "animal", "y")
  }
}

class TrainClassifierExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = TrainData.table(spark).drop("y")
    val tree = new TrainClassifier().setLabelCol("animal").setModel(new DecisionTreeClassifier().setMaxDepth(3))
      .setOneHotEncodeCategoricals(false)
    Seq(StageExample("TrainClassifier", new TrainClassifier().setLabelCol("animal"), df),
      StageExample("TrainedClassifierModel", tree.fit(df), df))
  }
}

class TrainClassifierSuite extends SparkSuite {
  import spark.implicits._

  private def messages(e: Throwable): Seq[String] =
    Iterator.iterate(e)(_.getCause).takeWhile(_ != null).map(x => String.valueOf(x.getMessage)).toSeq

  test("scores with the original labels; probabilities follow the sorted levels, as a hand-built pipeline") {
    val df = TrainData.table(spark, 60).drop("y", "kind")
    val model = new TrainClassifier().setLabelCol("animal").setModel(new LogisticRegression().setRegParam(0.01)).fit(df)
    assert(model.getLevels.toSeq == Seq("empty", "fox", "snow leopard"))
    val out = model.transform(df)
    for (c <- Seq("prediction", "scored_labels")) // Spark's attribute reader takes only numeric fields
      assert(Attribute.fromStructField(out.schema(c).copy(dataType = org.apache.spark.sql.types.DoubleType))
        .asInstanceOf[NominalAttribute].values.get.toSeq == model.getLevels.toSeq)
    // The same learner on the same features with the label indexed by hand.
    val levels = Map("empty" -> 0.0, "fox" -> 1.0, "snow leopard" -> 2.0)
    val byHand = new VectorAssembler().setInputCols(Array("a", "b")).setOutputCol("f")
      .transform(df.map(r => (r.getDouble(0), r.getDouble(1), levels(r.getString(2)))).toDF("a", "b", "l"))
    val reference =
      new LogisticRegression().setRegParam(0.01).setFeaturesCol("f").setLabelCol("l").fit(byHand).transform(byHand)
    val got = out.select("probability", "prediction", "scored_labels").collect()
      .map(r => (r.getAs[Vector](0), r.getDouble(1), r.getString(2)))
    val want = reference.select("probability", "prediction").collect().map(r => (r.getAs[Vector](0), r.getDouble(1)))
    got.zip(want).foreach { case ((p, i, label), (q, j)) =>
      assert(p.toArray.zip(q.toArray).forall { case (x, y) => math.abs(x - y) < 1e-6 })
      assert(i == j && label == levels.map(_.swap).apply(i))
    }
    assert(out.select("animal").as[String].collect().toSeq == df.select("animal").as[String].collect().toSeq)
  }

  test("numeric and boolean labels come back in their type; the label is never a feature") {
    val df = TrainData.table(spark, 30).select($"a", $"b", ($"y" > 0).as("big"))
    val out = new TrainClassifier().setLabelCol("big").fit(df).transform(df)
    assert(out.schema("scored_labels").dataType == org.apache.spark.sql.types.BooleanType)
    assert(out.where($"scored_labels" === $"big").count() >= 20)
    val e =
      intercept[IllegalArgumentException](new TrainClassifier().setLabelCol("big").setInputCols(Array("a", "big")).fit(
          df))
    assert(e.getMessage.contains("inputCols holds the label column 'big'"))
  }

  test("a single class and an unknown label at scoring time are named") {
    val df = TrainData.table(spark).drop("y")
    val e = intercept[IllegalArgumentException](
      new TrainClassifier().setLabelCol("animal").fit(df.where($"animal" === "fox")))
    assert(e.getMessage.contains(
        "label column 'animal' has the single value 'fox'; a classifier needs at least two classes"))
    val model = new TrainClassifier().setLabelCol("animal").fit(df)
    val other = df.limit(1).withColumn("animal", org.apache.spark.sql.functions.lit("wolf"))
    val e2 = intercept[Exception](model.transform(other).collect())
    assert(messages(e2).exists(_.contains("column 'animal' holds 'wolf', which was not seen when fitting")))
    assert(model.transform(df.drop("animal")).count() == df.count()) // scoring needs no label
  }
}
