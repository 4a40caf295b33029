package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.sql.{DataFrame, SparkSession}

object EnsembleByKeyData {

  /** Frames of camera-trap bursts with per-frame scores and probability vectors. */
  def frames(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq(("seqA", "cam1", 0.9, 3L, Vectors.dense(0.1, 0.9)), ("seqA", "cam1", 0.7, 5L, Vectors.dense(0.3, 0.7)),
      ("seqB", "cam1", 0.2, 1L, Vectors.dense(0.8, 0.2)),
      ("seqB", "cam2", 0.4, 2L, Vectors.sparse(2, Array(0), Array(0.6))),
      ("seqC", null, 0.5, 4L, Vectors.dense(0.5, 0.5)), ("seqC", null, java.lang.Double.NaN, 6L, null))
      .toDF("sequence", "camera", "score", "count", "probability")
  }
}

class EnsembleByKeyExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = EnsembleByKeyData.frames(spark).na.drop(Seq("probability"))
    Seq(
      StageExample("EnsembleByKey-mean",
        new EnsembleByKey().setKeys(Array("sequence"))
          .setCols(Array("score", "probability")).setVectorDims(Map("probability" -> 2)), df),
      StageExample("EnsembleByKey-max-keep-rows",
        new EnsembleByKey().setKeys(Array("sequence", "camera"))
          .setCols(Array("count", "probability")).setColNames(Array("maxCount", "maxProb")).setStrategy("max")
          .setCollapseGroup(false), df))
  }
}

class EnsembleByKeySuite extends SparkSuite {
  test("mean of numbers and of vectors per key") {
    val df = EnsembleByKeyData.frames(spark).na.drop(Seq("probability"))
    val out = new EnsembleByKey().setKeys(Array("sequence")).setCols(Array("score", "probability")).transform(df)
    assert(out.columns.toSeq == Seq("sequence", "mean(score)", "mean(probability)"))
    val rows = out.collect().map(r => r.getString(0) -> (r.getDouble(1), r.getAs[Vector](2))).toMap
    assert(math.abs(rows("seqA")._1 - 0.8) < 1e-12)
    assert(rows("seqA")._2.toArray.zip(Array(0.2, 0.8)).forall { case (a, b) => math.abs(a - b) < 1e-12 })
    assert(rows("seqB")._2.toArray.zip(Array(0.7, 0.1)).forall { case (a, b) => math.abs(a - b) < 1e-12 })
  }

  test("a null key is a group of its own, with or without collapsing") {
    val df = EnsembleByKeyData.frames(spark).na.drop(Seq("probability"))
    val collapsed =
      new EnsembleByKey().setKeys(Array("camera")).setCols(Array("count")).setStrategy("sum").transform(df)
    assert(collapsed.collect().map(r => Option(r.getString(0)) -> r.getLong(1)).toMap ==
      Map(Some("cam1") -> 9L, Some("cam2") -> 2L, None -> 4L))
    val kept = new EnsembleByKey().setKeys(Array("camera")).setCols(Array("count")).setStrategy("sum")
      .setCollapseGroup(false).transform(df)
    assert(kept.count() == df.count())
  }

  test("a vector of the wrong size fails naming the column; bad columns are named") {
    val df = EnsembleByKeyData.frames(spark).na.drop(Seq("probability"))
    val e = intercept[Exception](new EnsembleByKey().setKeys(Array("sequence")).setCols(Array("probability"))
        .setVectorDims(Map("probability" -> 3)).transform(df).collect())
    assert(e.getMessage.contains("column 'probability' holds a vector of size 2; vectorDims expects 3"))
    val e2 = intercept[IllegalArgumentException](
      new EnsembleByKey().setKeys(Array("sequence")).setCols(Array("camera")).transform(df))
    assert(e2.getMessage.contains("'camera' has type string; expected a numeric or vector column"))
    intercept[IllegalArgumentException](new EnsembleByKey().setStrategy("median"))
  }
}
