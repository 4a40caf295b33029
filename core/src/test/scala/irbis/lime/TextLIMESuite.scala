package irbis.lime

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.functions.{col, split}

class TextLIMEExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val text =
      spark.createDataFrame(Seq(("the food was excellent", 1), ("slow service", 2), ("", 3))).toDF("text", "id")
    Seq(StageExample("TextLIME-text",
        new TextLIME().setModel(LIMEFixtures.textExpression).setTargetCol("prediction").setInputCol("text")
          .setNumSamples(20), text),
      StageExample("TextLIME-tokens",
        new TextLIME().setModel(LIMEFixtures.tokensExpression).setTargetCol("prediction").setNumSamples(20)
          .setSeed(4),
        text.where("id < 3").withColumn("tokens", split(col("text"), " "))))
  }
}

class TextLIMESuite extends SparkSuite {
  test("the positive word ranks first for the positive class, in text and in tokens") {
    val sentences = Seq("the room was lovely and quite cheap", "very slow staff but great view", "price was excellent")
    val df = spark.createDataFrame(sentences.map(Tuple1(_))).toDF("text")
    val rows = new TextLIME().setModel(LIMEFixtures.textModel(spark)).setInputCol("text").setTargetClasses(Array(1))
      .setNumSamples(300).setBagOfWords(false).transform(df).collect()
    rows.foreach { r =>
      val tokens = r.getString(0).split(" ")
      val w = LIMEFixtures.weights(r)
      assert(w.length == tokens.length)
      val top = LIMEFixtures.rankOf(w).head
      assert(LIMEFixtures.positive.contains(tokens(top)) && w(top) > 0, s"${tokens.mkString(" ")}: ${w.mkString(", ")}")
    }
  }

  test("bag of words: one weight per distinct token, hiding a token hides every occurrence") {
    val df = spark.createDataFrame(Seq(Tuple1("cheap room cheap view cheap"))).toDF("text")
    val rows = new TextLIME().setModel(LIMEFixtures.textModel(spark)).setInputCol("text").setNumSamples(60)
      .setSamplesCol("samples").transform(df).collect()
    val samples = rows.head.getSeq[Row](rows.head.fieldIndex("samples"))
    assert(LIMEFixtures.weights(rows.head).length == 3) // cheap, room, view
    assert(samples.forall(_.getAs[Vector]("state").size == 3))
  }

  test("bad input is named") {
    val e = intercept[IllegalArgumentException](new TextLIME().setModel(LIMEFixtures.textModel(spark))
        .transform(spark.range(1).toDF("tokens")))
    assert(e.getMessage.contains("column 'tokens' has type bigint; expected tokens (array<string>) or text (string)"),
      e.getMessage)
  }
}
