package irbis.lime

import scala.jdk.CollectionConverters._

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.feature.SQLTransformer
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.types.{ArrayType, DecimalType, IntegerType, LongType, StructField, StructType}

class TabularSHAPExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val input = LIMEFixtures.tableData(spark, 3, 30)
    // A model of one SQL expression: cheap to run and to save in the generic suites' round trips.
    val model = new SQLTransformer().setStatement(
      "SELECT *, 0.05 * age + IF(colour = 'red', 2.0, -1.0) * rooms + noise * noise AS prediction FROM __THIS__")
    val estimator = new TabularSHAP().setModel(model).setTargetCol("prediction")
      .setInputCols(Array("age", "colour", "noise", "rooms")).setNumSamples(14)
    Seq(StageExample("TabularSHAP", estimator, input),
      StageExample("TabularSHAPModel", estimator.fit(LIMEFixtures.tableData(spark, 4, 31)).setNumSamples(6), input))
  }
}

class TabularSHAPSuite extends SparkSuite {
  private val columns = Array("age", "colour", "noise", "rooms")
  private def explainer =
    new TabularSHAP().setModel(LIMEFixtures.tableModel(spark)).setInputCols(columns).setTargetClasses(Array(0, 1))

  private def probabilities(df: org.apache.spark.sql.DataFrame): Array[Array[Double]] =
    LIMEFixtures.tableModel(spark).transform(df).select("probability").collect().map(_.getAs[Vector](0).toArray)

  test("the values add up to f(x) minus the base value, the mean of f over the background (exact and sampled)") {
    val bg = LIMEFixtures.tableData(spark, 12, 32)
    val rows = LIMEFixtures.tableData(spark, 4, 33)
    val base = probabilities(bg).transpose.map(c => c.sum / c.length)
    val fx = probabilities(rows)
    Seq(14, 5).foreach { budget =>
      val out = explainer.setNumSamples(budget).fit(bg).transform(rows).collect()
      out.zip(fx).foreach { case (r, f) =>
        val values = r.getSeq[Vector](r.fieldIndex("shapValues")).map(_.toArray)
        assert(values.length == 2 && values.forall(_.length == 5))
        values.zipWithIndex.foreach { case (v, c) =>
          assert(math.abs(v(0) - base(c)) < 1e-9, s"base ${v(0)} vs ${base(c)}")
          assert(math.abs(v.tail.sum - (f(c) - base(c))) < 1e-9, s"budget $budget: ${v.mkString(", ")}; f(x) ${f(c)}")
        }
        val r2 = r.getAs[Vector]("r2").toArray
        assert(r2.length == 2 && r2.forall(x => x <= 1 + 1e-9))
        // Two classes of a binary model: opposite values, bases adding up to 1.
        values(0).indices.tail.foreach(j => assert(math.abs(values(0)(j) + values(1)(j)) < 1e-9))
      }
    }
  }

  test("targetClassesCol picks each row's classes; the same seed gives the same values on another partitioning") {
    val model = explainer.setNumSamples(5).setSeed(3).fit(LIMEFixtures.tableData(spark, 6, 34))
    val rows = LIMEFixtures.tableData(spark, 3, 35)
    val a = model.transform(rows)
    assert(irbis.testkit.Compare.diff(a, model.transform(rows.repartition(3))) == null)
    val all = a.collect().map(_.getSeq[Vector](5).map(_.toArray.toSeq))
    val schema = rows.schema.add(StructField("classes", ArrayType(IntegerType)))
    val wanted = Seq(Seq(1), Seq(0, 1), Seq(0))
    val withClasses = spark.createDataFrame(rows.collect().zip(wanted).map { case (r, c) =>
        Row.fromSeq(r.toSeq :+ c)
      }.toSeq.asJava, schema)
    val picked = model.copy(org.apache.spark.ml.param.ParamMap.empty).setTargetClasses(Array.empty)
      .setTargetClassesCol("classes")
      .transform(withClasses).collect().map(r => r.getSeq[Vector](r.fieldIndex("shapValues")).map(_.toArray.toSeq))
    picked.zip(all).zip(wanted).foreach { case ((p, full), w) => assert(p == w.map(full(_))) }
  }

  test("background values reach the model exactly, also through save and load: longs above 2^53, decimals") {
    // f = id - 2^53 - 1 and cents * 100 - 1: 0 on the one background row, unless a value changed on its way
    val big = (1L << 53) + 1
    val schema = StructType(Seq(StructField("id", LongType), StructField("cents", DecimalType(20, 2))))
    def frame(id: Long, cents: String) =
      spark.createDataFrame(java.util.List.of(Row(id, new java.math.BigDecimal(cents))), schema)
    val model = new SQLTransformer().setStatement(
      s"SELECT *, CAST(id - $big AS DOUBLE) + CAST(cents * 100 - 1 AS DOUBLE) AS prediction FROM __THIS__")
    val fitted = new TabularSHAP().setModel(model).setTargetCol("prediction").setInputCols(Array("id", "cents"))
      .fit(frame(big, "0.01"))
    val path = tempPath("shap-exact")
    fitted.write.save(path)
    Seq(fitted, TabularSHAPModel.load(path)).foreach { m =>
      val row = m.transform(frame(big + 2, "0.03")).head()
      val values = row.getSeq[Vector](row.fieldIndex("shapValues")).head.toArray
      assert(values(0) == 0.0, s"base value ${values(0)}: the background row changed") // exactly
      assert(math.abs(values(1) - 2.0) < 1e-9 && math.abs(values(2) - 2.0) < 1e-9, values.mkString(", "))
    }
  }

  test("bad input is named: column type, missing column, empty background, class out of range, no model") {
    val e1 = intercept[IllegalArgumentException](explainer.setInputCols(Array("age", "nope")).fit(
        LIMEFixtures.tableData(spark, 3, 1)))
    assert(e1.getMessage.contains("'nope' does not exist"), e1.getMessage)
    val e2 =
      intercept[IllegalArgumentException](explainer.setInputCols(Array("age", "label")).setTargetClasses(Array.empty)
          .setTargetClassesCol("age").transformSchema(LIMEFixtures.tableData(spark, 3, 1).schema))
    assert(e2.getMessage.contains("expected an array of integers or an integer"), e2.getMessage)
    val e3 = intercept[IllegalArgumentException](explainer.fit(LIMEFixtures.tableData(spark, 0, 1)))
    assert(e3.getMessage.contains("the background data (the dataset given to fit) is empty"), e3.getMessage)
    val e4 = intercept[Exception](explainer.setTargetClasses(Array(2)).setNumSamples(14)
        .fit(LIMEFixtures.tableData(spark, 3, 1)).transform(LIMEFixtures.tableData(spark, 1, 2)).collect())
    assert(e4.toString.contains("targetClasses holds 2 but 'probability' has only 2 score(s)"), e4.toString)
    val e5 = intercept[IllegalArgumentException](new TabularSHAP().setInputCols(columns).fit(
        LIMEFixtures.tableData(spark, 3, 1)))
    assert(e5.getMessage.contains("set 'model'"), e5.getMessage)
    // 4 features, 3 coalitions: 3 free values fit 3 outputs exactly, whatever the model
    val e6 = intercept[Exception](explainer.setNumSamples(3).fit(LIMEFixtures.tableData(spark, 3, 1))
        .transform(LIMEFixtures.tableData(spark, 1, 2)).collect())
    assert(e6.toString.contains("4 features vary but numSamples is 3") && e6.toString.contains("raise numSamples"),
      e6.toString)
  }
}
