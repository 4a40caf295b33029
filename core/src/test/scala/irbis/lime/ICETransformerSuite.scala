package irbis.lime

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.functions.col

class ICETransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val input = LIMEFixtures.tableData(spark, 5, 30)
    def ice = new ICETransformer().setModel(LIMEFixtures.tableExpression).setTargetCol("prediction")
      .setNumericFeatures(Array("""{"name": "age", "numSplits": 4}""", "rooms"))
      .setCategoricalFeatures(Array("colour"))
    Seq(StageExample("ICETransformer", ice, input),
      StageExample("ICETransformerAverage", ice.setKind("average"), input))
  }
}

class ICETransformerSuite extends SparkSuite {
  private def ice = new ICETransformer().setModel(LIMEFixtures.tableModel(spark)).setTargetClasses(Array(1))

  /** The model's class-1 score of each row with `column` set to each value: (row, value) -> score, one transform. */
  private def score(rows: Seq[Row], column: String, values: Seq[Any]): Map[(Int, Int), Double] = {
    val schema = LIMEFixtures.tableData(spark, 0, 0).schema
    val i = schema.fieldIndex(column)
    val cases = for ((r, ri) <- rows.zipWithIndex; (v, vi) <- values.zipWithIndex)
      yield Row.fromSeq(r.toSeq.updated(i, v) ++ Seq(ri, vi))
    val df = spark.createDataFrame(java.util.Arrays.asList(cases: _*),
      schema.add("ri", "int").add("vi", "int"))
    LIMEFixtures.tableModel(spark).transform(df).select("ri", "vi", "probability").collect()
      .map(r => (r.getInt(0), r.getInt(1)) -> r.getAs[Vector](2)(1)).toMap
  }

  test("each row's curve is the model scored on the row with the feature replaced; the average is their mean") {
    val data = LIMEFixtures.tableData(spark, 6, 31)
    val rows = data.collect().toSeq
    val ages = rows.map(_.getDouble(0))
    val (lo, hi) = (ages.min, ages.max)
    val grid = (0 to 3).map(i => if (i == 3) hi else lo + (hi - lo) / 3 * i)
    val out = ice.setNumericFeatures(Array("""{"name": "age", "numSplits": 3}""")).setCategoricalFeatures(
      Array("colour")).transform(data).collect()
    assert(out.length == rows.length)
    val colours = rows.map(_.getString(1)).groupBy(identity).toSeq.sortBy { case (c, xs) => (-xs.length, c) }.map(_._1)
    val ageScores = score(rows, "age", grid)
    val colourScores = score(rows, "colour", colours)
    for (r <- out) {
      val ri = rows.indexWhere(_.getDouble(2) == r.getAs[Double]("noise"))
      assert(r.getAs[Double]("age") == rows(ri).getDouble(0), "the explained feature keeps its own value")
      val ageCurve = r.getMap[Double, Vector](r.fieldIndex("age_dependence"))
      assert(ageCurve.keys.toSeq.sorted == grid)
      grid.indices.foreach(g => assert(math.abs(ageCurve(grid(g))(0) - ageScores((ri, g))) < 1e-12))
      val colourCurve = r.getMap[String, Vector](r.fieldIndex("colour_dependence"))
      assert(colourCurve.keySet == colours.toSet)
      colours.indices.foreach(c => assert(math.abs(colourCurve(colours(c))(0) - colourScores((ri, c))) < 1e-12))
    }
    val avg = ice.setKind("average").setNumericFeatures(Array("""{"name": "age", "numSplits": 3}""")).transform(data)
      .collect()
    assert(avg.length == 1)
    val pd = avg.head.getMap[Double, Vector](0)
    grid.indices.foreach { g =>
      val s = rows.indices.map(ri => ageScores((ri, g)))
      assert(math.abs(pd(grid(g))(0) - s.sum / s.length) < 1e-12)
    }
  }

  test("integer grids are rounded without repeats; ranges, top values and numSamples are honoured") {
    val data = LIMEFixtures.tableData(spark, 40, 32)
    val out = ice.setKind("average").setNumericFeatures(Array("""{"name": "rooms", "numSplits": 20}""",
        """{"name": "age", "numSplits": 2, "rangeMin": 0, "rangeMax": 100, "outputColName": "a"}"""))
      .setCategoricalFeatures(Array("""{"name": "colour", "numTopValues": 2}""")).setNumSamples(7).transform(data)
    val r = out.head()
    val rooms = data.select("rooms").collect().map(_.getInt(0))
    assert(r.getMap[Int, Vector](0).keys.toSeq.sorted == (rooms.min to rooms.max))
    assert(r.getMap[Double, Vector](1).keys.toSeq.sorted == Seq(0.0, 50.0, 100.0))
    assert(r.getMap[String, Vector](2).size == 2)
    assert(ice.setNumericFeatures(Array("age")).setNumSamples(7).transform(data).count() == 7)
  }

  test("kind 'feature' ranks the features by their partial dependence") {
    val out = ice.setKind("feature").setNumericFeatures(Array("age", "noise")).setCategoricalFeatures(
      Array("colour")).transform(LIMEFixtures.tableData(spark, 30, 33)).collect()
    assert(out.map(_.getString(0)).toSeq.take(2).toSet == Set("colour", "age"))
    assert(out.last.getString(0) == "noise")
  }

  test("bad input is named") {
    val data = LIMEFixtures.tableData(spark, 5, 34)
    def err(f: => Any): String = intercept[Exception](f) match {
      case e: org.apache.spark.SparkException if e.getCause != null => e.getCause.getMessage
      case e => e.getMessage
    }
    assert(err(ice.setNumericFeatures(Array("zip")).transform(data)).contains("column 'zip' does not exist"))
    assert(err(ice.setNumericFeatures(Array("colour")).transform(data))
        .contains("column 'colour' has type string; expected a number"))
    assert(err(ice.transform(data)).contains("no features to explain"))
    assert(err(ice.setNumericFeatures(Array("age")).transform(data.limit(0)))
        .contains("numeric feature 'age' has no values"))
    assert(err(ice.setCategoricalFeatures(Array("colour")).transform(data.where(col("age") > 1000)))
        .contains("categorical feature 'colour' has no values"))
    assert(err(ice.setNumericFeatures(Array("age")).setTargetCol("score").transform(data))
        .contains("column 'score' does not exist"))
    assert(err(ice.setNumericFeatures(Array("age")).setTargetClasses(Array(2)).transform(data).collect())
        .contains("targetClasses holds 2 but 'probability' has only 2 score(s)"))
    assert(err(ice.setNumericFeatures(Array("""{"name": "age", "splits": 3}""")))
        .contains("unknown key(s) splits"))
    assert(err(ice.setNumericFeatures(Array("age", "age")).transform(data)).contains("age listed more than once"))
  }
}
