package irbis.lime

import scala.jdk.CollectionConverters._

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.types.{StructField, StructType}

class VectorSHAPExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val input = LIMEFixtures.vectorData(spark, 3, 40)
    val estimator = new VectorSHAP().setModel(LIMEFixtures.vectorModel(spark)).setNumSamples(6)
    Seq(StageExample("VectorSHAP", estimator, input),
      StageExample("VectorSHAPModel",
        estimator.fit(LIMEFixtures.vectorData(spark, 5, 41)).setTargetClasses(Array(0, 1)).setNumSamples(4), input))
  }
}

class VectorSHAPSuite extends SparkSuite {
  private def explainer = new VectorSHAP().setModel(LIMEFixtures.vectorModel(spark))

  test("exact coalitions give the Shapley values of a brute-force enumeration of permutations") {
    val rng = new scala.util.Random(5)
    val bg = IndexedSeq.fill(3)(Array.fill(4)(rng.nextGaussian()))
    val x = Array.fill(4)(rng.nextGaussian())
    def f(v: Array[Double]): Double = math.tanh(v(0) * v(1)) + v(2) * v(2) - 0.5 * v(3) + v(0) * v(3)
    def value(kept: Set[Int]): Double =
      bg.map(b => f(Array.tabulate(4)(j => if (kept(j)) x(j) else b(j)))).sum / bg.length
    val perms = (0 until 4).permutations.toSeq
    val shapley = Array.tabulate(4) { j =>
      perms.map { p =>
        val before = p.takeWhile(_ != j).toSet; value(before + j) - value(before)
      }.sum / perms.length
    }
    val c = KernelSHAP.coalitions(4, 14, 0)
    assert(c.masks.length == 14)
    val ey = c.masks.map(m => value((0 until 4).filter(m(_)).toSet))
    val s = KernelSHAP.solve(c.masks, c.weights, ey, value((0 until 4).toSet), value(Set.empty))
    s.values.zip(shapley).foreach { case (a, b) =>
      assert(math.abs(a - b) < 1e-12, s"${s.values.toSeq} vs ${shapley.toSeq}")
    }
    // Sampled: 10 features, 40 coalitions (sizes 1 and 9 enumerated, the rest drawn), still efficient.
    val sampled = KernelSHAP.coalitions(10, 40, 7)
    assert(sampled.masks.length == 40 && math.abs(sampled.weights.sum - 1) < 1e-12)
    assert(sampled.masks.map(_.toSeq).distinct.length == 40)
  }

  test("a linear output gets w_j (x_j - mean of the background's x_j) even from sampled coalitions, with R^2 1") {
    val bg = LIMEFixtures.vectorData(spark, 10, 42)
    val rows = LIMEFixtures.vectorData(spark, 3, 43)
    val w = LIMEFixtures.vectorModel(spark).coefficients.toArray
    val mean = bg.collect().map(_.getAs[Vector](0).toArray).transpose.map(c => c.sum / c.length)
    val out = explainer.setTargetCol("rawPrediction").setTargetClasses(Array(1)).setNumSamples(3).fit(bg)
      .transform(rows).collect()
    out.foreach { r =>
      val x = r.getAs[Vector](0).toArray
      val v = r.getSeq[Vector](r.fieldIndex("shapValues")).head.toArray
      (0 until 3).foreach(j => assert(math.abs(v(j + 1) - w(j) * (x(j) - mean(j))) < 1e-9, v.mkString(", ")))
      assert(math.abs(r.getAs[Vector]("r2")(0) - 1) < 1e-9)
    }
  }

  test("the default target is the predicted class; a null vector gets null; wrong sizes and types are named") {
    val model = explainer.setNumSamples(6).fit(LIMEFixtures.vectorData(spark, 4, 44))
    val rows = LIMEFixtures.vectorData(spark, 4, 45)
    val predicted = LIMEFixtures.vectorModel(spark).transform(rows).select("prediction", "probability").collect()
    model.transform(rows).collect().zip(predicted).foreach { case (r, p) =>
      val v = r.getSeq[Vector](r.fieldIndex("shapValues")).head.toArray
      assert(math.abs(v.sum - p.getAs[Vector](1)(p.getDouble(0).toInt)) < 1e-9)
    }
    val schema = StructType(Seq(StructField("features", VectorType)))
    val df = spark.createDataFrame(Seq(Row(null), Row(Vectors.dense(1.0, 2.0))).asJava, schema)
    assert(model.transform(df.limit(1)).head().isNullAt(1))
    val e1 = intercept[Exception](model.transform(df).collect())
    assert(e1.toString.contains("'features' has 2 elements; the background data had 3"), e1.toString)
    val kept = explainer.setMaxBackgroundRows(2).fit(LIMEFixtures.vectorData(spark, 30, 46)).getBackground
    assert(kept.length >= 1 && kept.length <= 2 && kept.forall(_.length == 3))
    val e2 = intercept[IllegalArgumentException](explainer.setInputCol("label").fit(rows))
    assert(e2.getMessage.contains("column 'label' has type double; expected a vector"), e2.getMessage)
    val e3 = intercept[IllegalArgumentException](model.copy(org.apache.spark.ml.param.ParamMap.empty)
        .setTargetCol("nope").transform(rows))
    assert(e3.getMessage.contains("column 'nope' does not exist"), e3.getMessage)
  }
}
