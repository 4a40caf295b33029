package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{DataFrame, SparkSession}

object TextData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq[(Int, String)]((1, "A Snow Leopard in the snow"), (2, "Ｃａｆé ﬁle Ⅻ"), (3, null), (4, "")).toDF("id", "text")
  }
}

class TextPreprocessorExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("TextPreprocessor",
      new TextPreprocessor().setInputCol("text").setOutputCol("out")
        .setMap(Map("snow" -> "ice", "snow leopard" -> "irbis", "a" -> "α")).setNormFunc("lowerCase"),
      TextData.table(spark)))
}

class TextPreprocessorSuite extends SparkSuite {
  import spark.implicits._

  test("the longest key wins at each position; replacements are not rescanned") {
    val df = Seq("abcd abc ab", "xaby").toDF("t")
    val out = new TextPreprocessor().setInputCol("t").setOutputCol("o")
      .setMap(Map("ab" -> "1", "abc" -> "2", "bcd" -> "3", "1" -> "no")).transform(df)
    assert(out.select("o").as[String].collect().toSeq == Seq("2d 2 1", "x1y"))
  }

  test("a non-string column and an empty key are refused") {
    val e = intercept[IllegalArgumentException](
      new TextPreprocessor().setInputCol("id").setOutputCol("o").setMap(Map("a" -> "b")).transform(
        TextData.table(spark)))
    assert(e.getMessage.contains("'id' has type int; expected a string column"))
    intercept[IllegalArgumentException](new TextPreprocessor().setMap(Map("" -> "x")))
  }
}

class UnicodeNormalizeExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("UnicodeNormalize", new UnicodeNormalize().setInputCol("text").setOutputCol("out"),
      TextData.table(spark)),
    StageExample("UnicodeNormalize-NFC",
      new UnicodeNormalize().setInputCol("text").setOutputCol("out")
        .setForm("NFC").setLower(false), TextData.table(spark)))
}

class UnicodeNormalizeSuite extends SparkSuite {
  import spark.implicits._

  test("compatibility forms fold width and ligatures; canonical ones do not") {
    val df = Seq("ﬁ Ｃ").toDF("t")
    def run(form: String) = new UnicodeNormalize().setInputCol("t").setOutputCol("o").setForm(form).setLower(false)
      .transform(df).select("o").as[String].head()
    assert(run("NFKC") == "fi C")
    assert(run("NFC") == "ﬁ Ｃ")
  }

  test("an existing output column is refused, naming it") {
    val e = intercept[IllegalArgumentException](
      new UnicodeNormalize().setInputCol("text").setOutputCol("id").transform(TextData.table(spark)))
    assert(e.getMessage.contains("'id' already exists"))
  }
}
