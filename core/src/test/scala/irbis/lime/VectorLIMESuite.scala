package irbis.lime

import scala.jdk.CollectionConverters._

import irbis.testkit.{Compare, ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.types.{StructField, StructType}

class VectorLIMEExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val input = LIMEFixtures.vectorData(spark, 3, 9)
    val estimator = new VectorLIME().setModel(LIMEFixtures.vectorModel(spark)).setNumSamples(30).setSeed(5)
    Seq(StageExample("VectorLIME", estimator, input),
      StageExample("VectorLIMEModel",
        estimator.fit(LIMEFixtures.vectorData(spark, 50, 8)).setTargetClasses(Array(0, 1)), input))
  }
}

class VectorLIMESuite extends SparkSuite {
  private lazy val background = LIMEFixtures.vectorData(spark, 300, 7)
  private def explainer = new VectorLIME().setModel(LIMEFixtures.vectorModel(spark)).setNumSamples(400).setSeed(11)

  test("the feature the logistic regression leans on ranks first, the unused one last") {
    val rows =
      explainer.fit(background).setTargetClasses(Array(1)).transform(LIMEFixtures.vectorData(spark, 10, 12)).collect()
    rows.foreach { r =>
      val w = LIMEFixtures.weights(r)
      assert(LIMEFixtures.rankOf(w) == Seq(0, 2, 1), s"weights ${w.mkString(", ")}")
      assert(w(0) > 0 && w(2) < 0)
    }
  }

  test("two classes of a binary model get opposite weights, intercepts adding up to 1 and the same r2") {
    val r =
      explainer.fit(background).setTargetClasses(Array(0, 1)).transform(LIMEFixtures.vectorData(spark, 1, 13)).head()
    val Seq(e0, e1) = r.getSeq[Row](r.fieldIndex("explanation"))
    val (w0, w1) = (e0.getAs[Vector]("weights").toArray, e1.getAs[Vector]("weights").toArray)
    w0.indices.foreach(i => assert(math.abs(w0(i) + w1(i)) < 1e-9))
    assert(math.abs(e0.getAs[Double]("intercept") + e1.getAs[Double]("intercept") - 1) < 1e-9)
    assert(math.abs(e0.getAs[Double]("r2") - e1.getAs[Double]("r2")) < 1e-9)
  }

  test("the default target is the predicted class; the same seed gives the same explanation, another seed another") {
    val model = explainer.fit(background)
    val input = LIMEFixtures.vectorData(spark, 6, 14)
    val predicted =
      LIMEFixtures.vectorModel(spark).transform(input).select("prediction").collect().map(_.getDouble(0).toInt)
    val a = model.transform(input)
    assert(a.select("explanation").collect().map(_.getSeq[Row](0).head.getInt(0)).toSeq == predicted.toSeq)
    assert(Compare.diff(a, model.transform(input.repartition(3))) == null)
    assert(Compare.diff(a, model.copy(org.apache.spark.ml.param.ParamMap.empty).setSeed(12).transform(input)) != null)
  }

  test("samplesCol holds numSamples samples, sample 0 the row itself at distance 0") {
    val r = explainer.fit(background).setNumSamples(25).setSamplesCol("samples").transform(
      LIMEFixtures.vectorData(spark, 1, 15)).head()
    val samples = r.getSeq[Row](r.fieldIndex("samples"))
    assert(samples.length == 25)
    assert(samples.head.getAs[Double]("distance") == 0.0)
    assert(samples.tail.forall(_.getAs[Double]("distance") > 0))
  }

  test("a fit with at least as many features as samples is refused, naming both; one sample more is fitted") {
    val model = explainer.fit(background)
    val e = intercept[Exception](model.copy(org.apache.spark.ml.param.ParamMap.empty).setNumSamples(3)
        .transform(LIMEFixtures.vectorData(spark, 1, 14)).collect())
    assert(
      e.toString.contains(s"${model.uid}: 3 features for 3 samples: a local model with at least as many weights as " +
        "samples fits any scores (R^2 near 1) and explains nothing; raise numSamples"), e.toString)
    val fitted = model.copy(org.apache.spark.ml.param.ParamMap.empty).setNumSamples(4)
      .transform(LIMEFixtures.vectorData(spark, 1, 14)).head()
    assert(LIMEFixtures.weights(fitted).length == 3)
  }

  test("bad input: wrong vector size, out-of-range class, missing model, null vectors") {
    val model = explainer.fit(background)
    val schema = StructType(Seq(StructField("features", VectorType)))
    val short = spark.createDataFrame(Seq(Row(Vectors.dense(1.0, 2.0))).asJava, schema)
    val e1 = intercept[Exception](model.transform(short).collect())
    assert(e1.toString.contains("'features' has 2 elements; the background data had 3"), e1.toString)
    val e2 = intercept[Exception](model.copy(org.apache.spark.ml.param.ParamMap.empty).setTargetClasses(Array(4))
        .transform(LIMEFixtures.vectorData(spark, 1, 3)).collect())
    assert(e2.toString.contains("targetClasses holds 4 but 'probability' has only 2"), e2.toString)
    val e3 = intercept[IllegalArgumentException](new VectorLIME().fit(background))
    assert(e3.getMessage.contains("set 'model'"))
    val e4 =
      intercept[IllegalArgumentException](model.copy(org.apache.spark.ml.param.ParamMap.empty).setTargetCol("nope")
          .transform(LIMEFixtures.vectorData(spark, 1, 3)))
    assert(e4.getMessage.contains("column 'nope' does not exist"), e4.getMessage)
    val nulls = spark.createDataFrame(Seq(Row(null)).asJava, schema)
    assert(model.transform(nulls).head().isNullAt(1))
  }
}
