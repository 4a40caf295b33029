package irbis.core

import java.io.{File, FileOutputStream}
import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import java.util.jar.{JarEntry, JarOutputStream}

import scala.jdk.CollectionConverters._

import org.apache.spark.launcher.SparkLauncher

/**
 * The tests' Spark standalone cluster (one Master and two Workers of pyspark's own Spark on 127.0.0.1), started and
 * stopped through the command line of tests/python/cluster.py, so that the Scala and Python suites share one
 * helper. `folder` holds the daemons' logs, the workers' folders (`worker-0`, `worker-1`, where executors run) and
 * `spark-home`, pyspark's Spark seen through a scratch folder, which applications are launched from.
 */
final class StandaloneCluster private (val folder: File, val url: String) extends AutoCloseable {
  def workerFolders: Seq[File] =
    Option(folder.listFiles()).toSeq.flatten.filter(f => f.isDirectory && f.getName.startsWith("worker-")).sortBy(
      _.getName)

  /**
   * Runs `main` (an object of the test classes) as an application on the cluster: its own driver process launched by
   * spark-submit, with the assembly jar and a jar of `main`'s classes on driver and executors (`spark.jars`), and
   * one executor of one core on each worker. Fails with the end of the driver's log unless it exits 0 in time.
   */
  def submit(main: Class[_], args: Seq[String], timeoutSeconds: Long): Unit = {
    val work = Files.createTempDirectory(folder.toPath, "app-").toFile
    val log = new File(work, "driver.log")
    val jvmOptions = StandaloneCluster.testJvmOptions.mkString(" ")
    val launcher = new SparkLauncher(Map("SPARK_LOCAL_IP" -> "127.0.0.1").asJava)
      .setJavaHome(System.getProperty("java.home"))
      .setSparkHome(new File(folder, "spark-home").getPath)
      .setMaster(url)
      .setDeployMode("client")
      .setAppResource(StandaloneCluster.jarOf(main, new File(work, "app.jar")).getPath)
      .setMainClass(main.getName.stripSuffix("$"))
      .addJar(StandaloneCluster.assemblyJar.getPath)
      .addAppArgs(args: _*)
      .setConf("spark.ui.enabled", "false")
      .setConf("spark.cores.max", "2")
      .setConf("spark.executor.cores", "1")
      .setConf("spark.executor.memory", "1g")
      .setConf(SparkLauncher.DRIVER_EXTRA_JAVA_OPTIONS, jvmOptions)
      .setConf(SparkLauncher.EXECUTOR_EXTRA_JAVA_OPTIONS, jvmOptions)
      .redirectError()
      .redirectOutput(log)
    StandaloneCluster.await(launcher.launch(), timeoutSeconds, main.getName, log)
  }

  /** Stops the daemons and the executors they started. */
  override def close(): Unit = StandaloneCluster.cli("stop", folder, 90)
}

object StandaloneCluster {

  /** The repository: the nearest folder upwards from the working directory that holds tests/python/cluster.py. */
  lazy val root: File = Iterator.iterate(new File(".").getAbsoluteFile)(_.getParentFile).takeWhile(_ != null)
    .find(d => new File(d, "tests/python/cluster.py").isFile)
    .getOrElse(throw new IllegalStateException(s"no tests/python/cluster.py above ${new File(".").getAbsolutePath}"))

  def assemblyJar: File = new File(root, "build/jars/irbis-assembly.jar")
  private def python: File = new File(root, ".venv/bin/python")

  /** The flags of every test JVM (tests/jvm-options), also given to the application's driver and executors. */
  private def testJvmOptions: Seq[String] =
    Files.readAllLines(new File(root, "tests/jvm-options").toPath, UTF_8).asScala.toSeq.map(_.trim)
      .filter(l => l.nonEmpty && !l.startsWith("#"))

  /** Fails, saying what to run, unless the jars of `make build` and the development venv (pyspark, psutil) exist. */
  def requireBuild(): Unit = {
    if (!assemblyJar.isFile) throw new AssertionError(s"missing $assemblyJar: run `make build` first")
    if (!python.canExecute) throw new AssertionError(
      s"missing $python (the development venv, with pyspark and psutil): run `make venv` first")
  }

  /** Starts the cluster in `folder` (created if need be); ready once the master lists both workers as alive. */
  def start(folder: File): StandaloneCluster = {
    requireBuild()
    Files.createDirectories(folder.toPath)
    val printed = cli("start", folder, 660) // cluster.py waits up to 600 s for the workers
    val url = printed.linesIterator.map(_.trim).filter(_.startsWith("spark://")).toSeq.lastOption
      .getOrElse(throw new AssertionError(s"tests/python/cluster.py start printed no master URL:\n$printed"))
    new StandaloneCluster(folder, url)
  }

  /** Runs `f` on a cluster started in `folder`, which is stopped afterwards whatever `f` does. */
  def withCluster[T](folder: File)(f: StandaloneCluster => T): T = {
    val cluster = start(folder)
    try f(cluster)
    finally cluster.close()
  }

  /** Runs `tests/python/cluster.py COMMAND FOLDER` with the development venv's Python; returns what it printed. */
  private def cli(command: String, folder: File, timeoutSeconds: Long): String = {
    val log = new File(folder, s"cluster-$command.log")
    val process = new ProcessBuilder(python.getPath, new File(root, "tests/python/cluster.py").getPath, command,
      folder.getAbsolutePath).directory(root).redirectErrorStream(true).redirectOutput(log).start()
    await(process, timeoutSeconds, s"tests/python/cluster.py $command", log)
  }

  /**
   * Waits for `process` (killed past `timeoutSeconds`) and returns its output, `log`; fails with the log's end unless
   * it exited 0.
   */
  private def await(process: Process, timeoutSeconds: Long, what: String, log: File): String = {
    val finished = process.waitFor(timeoutSeconds, TimeUnit.SECONDS)
    if (!finished) process.destroyForcibly().waitFor()
    val printed = if (log.exists) new String(Files.readAllBytes(log.toPath), UTF_8) else ""
    if (!finished || process.exitValue() != 0) throw new AssertionError(
      s"$what ${if (finished) s"exited with ${process.exitValue()}" else s"ran past $timeoutSeconds s"}; " +
        s"its output ($log), last lines:\n${printed.takeRight(4000)}")
    printed
  }

  /**
   * A jar of `main`'s class files (the object, its class and the closures compiled into them) from this JVM's
   * class path, so the application runs the test classes as compiled now, not a jar built before; a class that
   * already comes from a jar gives that jar.
   */
  def jarOf(main: Class[_], out: File): File = {
    val from = new File(main.getProtectionDomain.getCodeSource.getLocation.toURI)
    if (from.isFile) from
    else {
      val pkg = main.getPackage.getName.replace('.', '/')
      val name = main.getSimpleName.stripSuffix("$")
      val jar = new JarOutputStream(new FileOutputStream(out))
      try Option(new File(from, pkg).listFiles()).toSeq.flatten
          .filter(f => f.getName == s"$name.class" || f.getName.startsWith(name + "$"))
          .foreach { f =>
            jar.putNextEntry(new JarEntry(s"$pkg/${f.getName}"))
            Files.copy(f.toPath, jar)
            jar.closeEntry()
          }
      finally jar.close()
      out
    }
  }
}
