package irbis.lime

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.feature.SQLTransformer
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{Row, SparkSession}
import org.apache.spark.sql.functions.{col, split}

class TextSHAPExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val text = spark.createDataFrame(Seq(("the food was slow", 1), ("slow service", 2), ("", 3))).toDF("text", "id")
    Seq(StageExample("TextSHAP-text",
        new TextSHAP().setModel(LIMEFixtures.textExpression).setTargetCol("prediction").setInputCol("text")
          .setNumSamples(6), text),
      StageExample("TextSHAP-tokens",
        new TextSHAP().setModel(LIMEFixtures.tokensExpression).setTargetCol("prediction").setNumSamples(4)
          .setBagOfWords(false).setSeed(4),
        text.where("id < 3").withColumn("tokens", split(col("text"), " "))))
  }
}

class TextSHAPSuite extends SparkSuite {

  /** 'food' and 'slow' together add 2; every token adds 0.5. */
  private val interaction = new SQLTransformer().setStatement("SELECT *, IF(array_contains(tokens, 'food') AND " +
    "array_contains(tokens, 'slow'), 2.0, 0.0) + 0.5 * size(tokens) AS prediction FROM __THIS__")
  private def f(tokens: Seq[String]): Double =
    (if (tokens.contains("food") && tokens.contains("slow")) 2.0 else 0.0) + 0.5 * tokens.length

  private def values(r: Row): Array[Double] = r.getSeq[Vector](r.fieldIndex("shapValues")).head.toArray

  test("all coalitions: the Shapley values of an enumeration of permutations, adding up to f(x) - f(no tokens)") {
    val sentences = Seq("the food was slow", "slow food slow", "food")
    val df = spark.createDataFrame(sentences.map(s => Tuple1(s.split(" ").toSeq))).toDF("tokens")
    for (bow <- Seq(true, false)) {
      val rows = new TextSHAP().setModel(interaction).setTargetCol("prediction").setBagOfWords(bow)
        .setNumSamples(14).transform(df).collect()
      rows.foreach { r =>
        val tokens = r.getSeq[String](0)
        val features = if (bow) tokens.distinct else tokens.indices.map(_.toString)
        def value(kept: Set[Int]): Double = f(tokens.indices.filter(t =>
            kept(if (bow) features.indexOf(tokens(t)) else t)).map(tokens))
        val perms = features.indices.permutations.toSeq
        val shapley = features.indices.map { j =>
          perms.map { p =>
            val before = p.takeWhile(_ != j).toSet; value(before + j) - value(before)
          }.sum /
            perms.length
        }
        val v = values(r)
        assert(v.length == features.length + 1)
        assert(math.abs(v(0) - value(Set.empty)) < 1e-12)
        v.tail.zip(shapley).foreach { case (a, b) => assert(math.abs(a - b) < 1e-9, s"$bow $tokens: ${v.toSeq}") }
        assert(math.abs(v.sum - f(tokens)) < 1e-9)
      }
    }
  }

  test("a null or empty input gets null outputs; bad input and settings are named") {
    val df = spark.createDataFrame(Seq(Tuple1("food slow"), Tuple1(""), Tuple1(null: String))).toDF("text")
    val shap = new TextSHAP().setModel(LIMEFixtures.textExpression).setTargetCol("prediction").setInputCol("text")
    val out = shap.transform(df).collect().map(r => r.getString(0) -> r).toMap
    assert(values(out("food slow")).length == 3)
    Seq("", null).foreach(t => assert(out(t).isNullAt(1) && out(t).isNullAt(2)))
    val e1 = intercept[IllegalArgumentException](shap.copy(org.apache.spark.ml.param.ParamMap.empty)
        .setInputCol("n").transform(spark.range(1).toDF("n")))
    assert(e1.getMessage.contains("column 'n' has type bigint; expected tokens (array<string>) or text (string)"),
      e1.getMessage)
    val e2 = intercept[IllegalArgumentException](new TextSHAP().setModel(interaction).transform(df))
    assert(e2.getMessage.contains("column 'tokens' does not exist"), e2.getMessage)
    val e3 = intercept[IllegalArgumentException](new TextSHAP().setInputCol("text").transform(df))
    assert(e3.getMessage.contains("set 'model'"), e3.getMessage)
    val e4 = intercept[IllegalArgumentException](shap.copy(org.apache.spark.ml.param.ParamMap.empty)
        .setTargetClasses(Array(0)).setTargetClassesCol("classes").transform(df))
    assert(e4.getMessage.contains("set targetClasses ([0]) or targetClassesCol ('classes'), not both"), e4.getMessage)
  }
}
