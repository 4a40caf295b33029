package irbis.testkit

import org.apache.spark.ml.PipelineStage
import org.apache.spark.sql.{DataFrame, SparkSession}

/** One configured stage and the input it runs on; the generic suites in every language start from these. */
case class StageExample(name: String, stage: PipelineStage, input: DataFrame)

/**
 * Every stage's test file declares its examples in a class extending this (public, no-arg constructor);
 * the build registers it in META-INF/services/irbis.testkit.ExampleSource of the test jar.
 */
trait ExampleSource {
  def examples(spark: SparkSession): Seq[StageExample]
}
