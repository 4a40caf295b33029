package irbis.train

import org.apache.spark.ml.attribute.NominalAttribute
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.functions.col

/** Tiny scored tables shared by the metric suites (Spark ML style: label and prediction are class indices). */
object MetricsData {
  def binary(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq((1.0, 1.0, 0.8), (0.0, 1.0, 0.7), (1.0, 0.0, 0.4), (0.0, 0.0, 0.4), (1.0, 1.0, 0.7), (0.0, 0.0, 0.1))
      .map { case (l, p, s) => (l, p, Vectors.dense(1 - s, s)) }.toDF("label", "prediction", "probability")
  }

  def regression(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq((1.0, 1.5), (2.0, 1.0), (3.0, 3.5), (4.0, 4.0)).toDF("label", "prediction")
  }

  /** String labels with the contract's metadata: levels on `prediction` and `scored_labels`. */
  def withLevels(spark: SparkSession): DataFrame = {
    import spark.implicits._
    val levels = Array("cat", "dog", "fox")
    val meta = NominalAttribute.defaultAttr.withValues(levels).toMetadata()
    Seq(("cat", 0.0), ("dog", 1.0), ("fox", 1.0), ("cat", 0.0), ("dog", 2.0)).toDF("label", "prediction")
      .withColumn("prediction", col("prediction").as("prediction", meta))
  }
}
