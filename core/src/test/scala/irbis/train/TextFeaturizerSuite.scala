package irbis.train

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.feature.HashingTF
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{DataFrame, SparkSession}

object TextData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq[String]("The cat sat", "the DOG, the cat", null).toDF("text")
  }
}

class TextFeaturizerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = TextData.table(spark)
    val bigrams = new TextFeaturizer().setInputCol("text").setOutputCol("tfidf").setNGramLength(2).setNumFeatures(64)
    Seq(StageExample("TextFeaturizer", new TextFeaturizer().setInputCol("text").setNumFeatures(32), df),
      StageExample("TextFeaturizerModel", bigrams.fit(df), df))
  }
}

class TextFeaturizerSuite extends SparkSuite {
  import spark.implicits._

  private def vectors(df: DataFrame, col: String): Seq[Vector] = df.select(col).collect().map(_.getAs[Vector](0)).toSeq

  test("term counts weighted by log((n + 1) / (df + 1)) after lower-casing and dropping stop words") {
    val df = TextData.table(spark)
    val n = 1 << 10
    val out = vectors(new TextFeaturizer().setInputCol("text").setNumFeatures(n).fit(df).transform(df), "features")
    val tf = new HashingTF().setNumFeatures(n)
    val idf = (docFreq: Int) => math.log((3 + 1.0) / (docFreq + 1))
    val expected = Seq(Map("cat" -> 1, "sat" -> 1), Map("dog" -> 1, "cat" -> 1), Map.empty[String, Int]).map { counts =>
      counts.map { case (term, c) =>
        tf.indexOf(term) -> c * idf(Seq("cat" -> 2, "sat" -> 1, "dog" -> 1).toMap.apply(term))
      }
    }
    assert(out.size == 3)
    out.zip(expected).foreach { case (v, e) =>
      assert(v.size == n)
      assert(v.toSparse.indices.toSeq.sorted == e.keys.toSeq.sorted)
      e.foreach { case (i, w) => assert(math.abs(v(i) - w) < 1e-12) }
    }
  }

  test("n-grams of 2 to nGramLength tokens are terms too; without IDF the output is the counts") {
    val df = Seq("a b a b").toDF("text")
    val v = vectors(
      new TextFeaturizer().setInputCol("text").setNGramLength(2).setRemoveStopWords(false).setUseIDF(false)
        .setNumFeatures(1 << 12).fit(df).transform(df), "features").head
    val tf = new HashingTF().setNumFeatures(1 << 12)
    val expected = Map("a" -> 2.0, "b" -> 2.0, "a b" -> 2.0, "b a" -> 1.0).map { case (t, c) => tf.indexOf(t) -> c }
    assert(expected.size == 4, "hash collision in the test's terms")
    assert(v.toSparse.indices.toSeq.sorted == expected.keys.toSeq.sorted)
    expected.foreach { case (i, c) => assert(v(i) == c) }
    val e = intercept[IllegalArgumentException](new TextFeaturizer().setInputCol("n").fit(Seq(1).toDF("n")))
    assert(e.getMessage.contains("'n' has type int; expected a string column"))
  }
}
