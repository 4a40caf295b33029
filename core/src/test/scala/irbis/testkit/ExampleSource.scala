package irbis.testkit

import scala.jdk.CollectionConverters._

import org.apache.spark.ml.PipelineStage
import org.apache.spark.sql.{DataFrame, SparkSession}

/** One configured stage and the input it runs on; the generic suites in every language start from these. */
case class StageExample(name: String, stage: PipelineStage, input: DataFrame) {

  /**
   * What Scala itself produces, computed once per example object: the Python and R suites compare four or five
   * results of an example with it, and an estimator's example would otherwise be fitted again for each.
   */
  lazy val expected: DataFrame = {
    val out = Examples.run(stage, input)
    out.sparkSession.createDataFrame(out.collect().toSeq.asJava, out.schema)
  }
}

/**
 * Every stage's test file declares its examples in a class extending this (public, no-arg constructor);
 * the build registers it in META-INF/services/irbis.testkit.ExampleSource of the test jar.
 */
trait ExampleSource {
  def examples(spark: SparkSession): Seq[StageExample]
}
