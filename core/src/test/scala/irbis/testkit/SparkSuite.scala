package irbis.testkit

import java.nio.file.Files

import org.apache.spark.sql.SparkSession
import org.scalatest.funsuite.AnyFunSuite

/** A suite with one shared local Spark session (the JVM is forked once for all suites). */
trait SparkSuite extends AnyFunSuite {
  lazy val spark: SparkSession = SparkSuite.session

  def tempPath(prefix: String): String = Files.createTempDirectory(prefix).resolve("stage").toString
}

object SparkSuite {
  lazy val session: SparkSession = SparkSession.builder()
    .master("local[2]")
    .appName("irbis-tests")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "4")
    .getOrCreate()
}
