package irbis.lime

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.sql.{Row, SparkSession}

class TabularLIMEExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val input = LIMEFixtures.tableData(spark, 3, 20)
    val estimator = new TabularLIME().setModel(LIMEFixtures.tableExpression).setTargetCol("prediction")
      .setInputCols(Array("age", "colour", "noise", "rooms")).setCategoricalCols(Array("colour")).setNumSamples(
        30).setSeed(2)
    Seq(StageExample("TabularLIME", estimator, input),
      StageExample("TabularLIMEModel", estimator.fit(LIMEFixtures.tableData(spark, 60, 21)), input))
  }
}

class TabularLIMESuite extends SparkSuite {
  private def explainer = new TabularLIME().setModel(LIMEFixtures.tableModel(spark))
    .setInputCols(Array("age", "colour", "noise", "rooms")).setCategoricalCols(Array("colour")).setNumSamples(
      500).setSeed(4)

  test("the colour and age the model uses rank above the noise and rooms it ignores") {
    val model = explainer.fit(LIMEFixtures.tableData(spark, 400, 22))
    val rows = model.setTargetClasses(Array(1)).transform(LIMEFixtures.tableData(spark, 8, 23)).collect()
    rows.foreach { r =>
      val w = LIMEFixtures.weights(r)
      assert(LIMEFixtures.rankOf(w).take(2).toSet == Set(0, 1), s"${r.getString(1)}: weights ${w.mkString(", ")}")
      // Being red raises class 1; not being red (the colour matching a non-red row) lowers it.
      if (r.getString(1) == "red") assert(w(1) > 0) else assert(w(1) < 0)
    }
  }

  test("background statistics: numeric mean and population std, category frequencies") {
    val bg = LIMEFixtures.tableData(spark, 200, 24)
    val model = explainer.fit(bg)
    val ages = bg.select("age").collect().map(_.getDouble(0))
    val mean = ages.sum / ages.length
    val std = math.sqrt(ages.map(a => (a - mean) * (a - mean)).sum / ages.length)
    val stats = org.json4s.jackson.JsonMethods.parse(model.getStatistics)
    import org.json4s._
    val JDouble(m) = stats \ "numeric" \ "age" \ "mean"
    val JDouble(s) = stats \ "numeric" \ "age" \ "std"
    assert(math.abs(m - mean) < 1e-9 && math.abs(s - std) < 1e-9)
    val reds = bg.where("colour = 'red'").count().toDouble
    val JArray(values) = stats \ "categorical" \ "colour" \ "values"
    val JArray(freqs) = stats \ "categorical" \ "colour" \ "frequencies"
    assert(freqs(values.indexOf(JString("red"))) == JDouble(reds))
  }

  test("integer columns are fed as integers; bad columns are named") {
    val model = explainer.fit(LIMEFixtures.tableData(spark, 100, 25))
    assert(model.setSamplesCol("s").transform(LIMEFixtures.tableData(spark, 2, 26)).count() == 2)
    val e = intercept[IllegalArgumentException](explainer.setCategoricalCols(Array("colour", "zip")).fit(
        LIMEFixtures.tableData(spark, 10, 1)))
    assert(e.getMessage.contains("categoricalCols zip are not among inputCols"), e.getMessage)
    val e2 = intercept[IllegalArgumentException](explainer.setCategoricalCols(Array()).fit(LIMEFixtures.tableData(spark,
          10, 1)))
    assert(e2.getMessage.contains("column 'colour' has type string; expected a number"), e2.getMessage)
  }
}
