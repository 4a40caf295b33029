package irbis.core

import java.io.File
import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.Files

import scala.jdk.CollectionConverters._

import irbis.onnx.{ONNXModel, TestModels}
import irbis.testkit.{OwnSpark, SparkSuite}
import org.apache.hadoop.fs.FileUtil
import org.apache.spark.sql.Row

/**
 * Irbis from Scala on a real Spark standalone cluster (tests/python/cluster.py, the Python suite's helper): an
 * application of its own reaches the executors through `spark.jars` only, and ONNXModel runs in the executor JVMs of
 * both workers.
 */
class StandaloneClusterSuite extends SparkSuite {

  /** One line the application wrote: where a row ran and what the model gave. */
  private case class Ran(partition: Int, executor: String, pid: Long, dir: File, id: Int, total: Float,
                         doubled: Seq[Float])

  private def parse(line: String): Ran = line.split("\t") match {
    case Array(p, e, pid, dir, id, total, doubled) =>
      Ran(p.toInt, e, pid.toLong, new File(dir), id.toInt, total.toFloat, doubled.split(",").map(_.toFloat).toSeq)
    case _ => fail(s"the application wrote an unexpected line: $line")
  }

  test("an application on the 2-worker standalone cluster runs ONNXModel in both workers' executors", OwnSpark) {
    StandaloneCluster.requireBuild()
    val scratch = Files.createTempDirectory("irbis-scala-cluster-").toFile
    val model = new File(scratch, "symbolic.onnx")
    Files.write(model.toPath, TestModels.bytes("symbolic"))
    val out = new File(scratch, "rows.tsv")
    withClue(s"(logs kept in $scratch) ") {
      val (ran, workers) = StandaloneCluster.withCluster(new File(scratch, "cluster")) { cluster =>
        cluster.submit(StandaloneClusterApp.getClass, Seq(model.getPath, out.getPath), timeoutSeconds = 180)
        (Files.readAllLines(out.toPath, UTF_8).asScala.toSeq.map(parse), cluster.workerFolders)
      }

      // The outputs: the model's math, and the same stage in this JVM's local session, exactly.
      import spark.implicits._
      val local = new ONNXModel().setModelPayload(TestModels.bytes("symbolic"))
        .transform(StandaloneClusterApp.rows.toDF("id", "x")).select("id", "total", "doubled").collect()
        .map { case Row(id: Int, total: Float, doubled: collection.Seq[Float] @unchecked) =>
          id -> (total, doubled.toSeq)
        }
        .toMap
      assert(ran.map(_.id).sorted == StandaloneClusterApp.rows.map(_._1))
      val inputs = StandaloneClusterApp.rows.toMap
      ran.foreach { r =>
        val x = inputs(r.id)
        assert(math.abs(r.total - x.sum) <= 1e-5f * x.map(math.abs).sum, s"row ${r.id}")
        assert(r.doubled == x.map(_ * 2), s"row ${r.id}")
        assert((r.total, r.doubled) == local(r.id), s"row ${r.id}: cluster and local session differ")
      }

      // Where it ran: every partition, in two executor JVMs, each in its own worker's folder.
      assert(ran.map(_.partition).distinct.sorted == (0 until StandaloneClusterApp.partitions))
      val executors = ran.map(r => (r.executor, r.pid, r.dir.getCanonicalFile)).distinct
      assert(executors.size == 2 && executors.map(_._2).distinct.size == 2, s"executors: $executors")
      val workerOf = executors.map { case (_, _, dir) =>
        workers.map(_.getCanonicalFile).find(w => dir.toPath.startsWith(w.toPath))
          .getOrElse(fail(s"executor folder $dir is in no worker's folder (${workers.mkString(", ")})"))
      }
      assert(workerOf.distinct.size == 2, s"both executors ran in one worker: $executors")
    }
    FileUtil.fullyDelete(scratch) // symbolic links (spark-home's) are not followed
  }
}
