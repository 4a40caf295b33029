package irbis.testkit

import scala.jdk.CollectionConverters._

import irbis.onnx.OnnxSessions
import org.apache.spark.SparkEnv
import org.apache.spark.sql.SparkSession

/** Reads per-JVM counters on every executor, so tests can prove what happened where. */
object Probes {

  /** Executor id to the number of ONNX Runtime sessions that executor's JVM has created. */
  def onnxSessionCounts(spark: SparkSession, tasks: Int): java.util.Map[String, Integer] =
    spark.sparkContext.parallelize(0 until tasks, tasks)
      .mapPartitions(_ => Iterator(SparkEnv.get.executorId -> Integer.valueOf(OnnxSessions.createdCount)))
      .collect().toMap.asJava
}
