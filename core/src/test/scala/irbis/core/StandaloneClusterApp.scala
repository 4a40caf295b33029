package irbis.core

import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.{Files, Paths}

import irbis.onnx.ONNXModel
import org.apache.spark.SparkEnv
import org.apache.spark.sql.SparkSession

/**
 * The application that StandaloneClusterSuite launches on the standalone cluster, in a driver process of its own:
 * ONNXModel (symbolic.onnx: `total`, the sum of each row's `x`, and `doubled`, 2 * `x`) over `rows` in `partitions`
 * partitions once both executors are registered. It writes one line per row: the partition, the executor that ran
 * it (id, pid, working directory), the row's id and its outputs.
 */
object StandaloneClusterApp {
  val partitions = 4
  val rows: Seq[(Int, Seq[Float])] = (0 until 8).map(i => i -> Seq.tabulate(4)(j => i * 1.5f - j * 2.25f))

  def main(args: Array[String]): Unit = {
    val Array(model, out) = args
    val spark = SparkSession.builder().appName("irbis-scala-standalone-cluster-test").getOrCreate()
    try {
      val deadline = System.nanoTime() + 120L * 1000 * 1000 * 1000
      while (spark.sparkContext.getExecutorMemoryStatus.size < 3) { // the driver and two executors
        require(System.nanoTime() < deadline, "2 executors were not registered within 120 s")
        Thread.sleep(100)
      }
      import spark.implicits._
      val input = spark.sparkContext.parallelize(rows, partitions).toDF("id", "x")
      val scored = new ONNXModel().setModelLocation(model).transform(input)
      val lines = scored.select("id", "total", "doubled").rdd.mapPartitionsWithIndex { (partition, it) =>
        val who = Seq(partition, SparkEnv.get.executorId, ProcessHandle.current().pid(), System.getProperty("user.dir"))
        it.map(r => (who ++ Seq(r.getInt(0), r.getFloat(1), r.getSeq[Float](2).mkString(","))).mkString("\t"))
      }.collect()
      Files.write(Paths.get(out), lines.mkString("\n").getBytes(UTF_8))
    } finally spark.stop()
  }
}
