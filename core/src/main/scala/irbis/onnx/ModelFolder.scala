package irbis.onnx

import java.io.{BufferedOutputStream, File, FileOutputStream}
import java.nio.file.Files
import java.security.MessageDigest
import java.util.concurrent.ConcurrentHashMap
import java.util.zip.{Deflater, ZipEntry, ZipOutputStream}

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{FileStatus, FileSystem, FileUtil, LocalFileSystem, Path}
import org.apache.spark.{SparkContext, SparkFiles}

/**
 * A model kept as a folder: one `.onnx` file and the external data files its weights live in (how ONNX
 * stores models over 2 GB). It is never read into the JVM heap: Spark copies the folder once to each
 * executor's local disk (as an archive), and ONNX Runtime opens the copy by path.
 */
final case class ModelFolder(path: String) {
  private def fs(conf: Configuration): FileSystem = new Path(path).getFileSystem(conf)

  private def files(conf: Configuration): Seq[FileStatus] =
    fs(conf).listStatus(new Path(path)).filter(_.isFile).sortBy(_.getPath.getName).toSeq

  /** The content's identity: the graph file's bytes and the other files' names and sizes. */
  def fingerprint(conf: Configuration): String = {
    val digest = MessageDigest.getInstance("SHA-256")
    val listed = files(conf)
    val graph = ModelFolder.graphFile(path, listed.map(_.getPath.getName))
    listed.foreach { f =>
      digest.update(f.getPath.getName.getBytes("UTF-8"))
      if (f.getPath.getName == graph) {
        val in = fs(conf).open(f.getPath)
        try digest.update(in.readAllBytes())
        finally in.close()
      } else digest.update(BigInt(f.getLen).toByteArray)
    }
    digest.digest().map(b => f"$b%02x").mkString
  }

  /** A local directory with the folder's files: the folder itself on a local file system, else a copy. */
  def local(conf: Configuration, fingerprint: String): File = fs(conf) match {
    case _: LocalFileSystem => new File(new Path(path).toUri.getPath)
    case remote => ModelFolder.copies.computeIfAbsent(fingerprint,
        _ => {
          val dir = Files.createTempDirectory("irbis-onnx-").toFile
          FileUtil.copy(remote, new Path(path), new File(dir, "model"), false, conf)
          new File(dir, "model")
        })
  }

  /** The name executors find the copy under: unique per content, so two models never collide. */
  def shippedName(fingerprint: String): String = s"irbis-onnx-${fingerprint.take(16)}"

  /**
   * Ships the folder to every executor as one archive (Spark fetches and unpacks an added archive once per
   * executor JVM; it accepts no local folders outside local mode). The archive is named after the content,
   * so two models never meet under one name, and is written once per driver, uncompressed: weights hardly
   * compress, and the copy is all it costs.
   */
  def ship(sc: SparkContext, conf: Configuration, fingerprint: String): String = {
    val name = shippedName(fingerprint) + ".zip"
    if (!sc.listArchives().exists(_.endsWith("/" + name))) {
      val dir = Files.createTempDirectory("irbis-ship-").toFile
      val zip = new File(dir, name)
      // Spark serves the archive for the application's life; without this, each driver left a copy of the folder.
      dir.deleteOnExit()
      zip.deleteOnExit()
      val out = new ZipOutputStream(new BufferedOutputStream(new FileOutputStream(zip), 1 << 20))
      out.setLevel(Deflater.NO_COMPRESSION)
      try files(conf).foreach { f =>
          out.putNextEntry(new ZipEntry(f.getPath.getName))
          val in = fs(conf).open(f.getPath)
          try in.transferTo(out)
          finally in.close()
          out.closeEntry()
        }
      finally out.close()
      sc.addArchive(zip.toURI.toString)
    }
    name
  }

  /** The graph file's bytes (small: the weights stay in the external data files). */
  def graphBytes(conf: Configuration): Array[Byte] = {
    val graph = ModelFolder.graphFile(path, files(conf).map(_.getPath.getName))
    val in = fs(conf).open(new Path(path, graph))
    try in.readAllBytes()
    finally in.close()
  }

  /**
   * A local folder holding `graph` (an edit of this folder's graph, e.g. cut or with a fixed input shape) as
   * its .onnx file, next to links to this folder's external data files, which the edited graph still names.
   * Made once per JVM and content; the links cost no copy (hard links, or symbolic ones across file systems).
   */
  def withGraph(conf: Configuration, fingerprint: String, graph: Array[Byte]): File = {
    val digest = MessageDigest.getInstance("SHA-256")
    digest.update(fingerprint.getBytes("UTF-8"))
    digest.update(graph)
    val id = digest.digest().take(8).map(b => f"$b%02x").mkString
    ModelFolder.derived.computeIfAbsent(id,
      _ => {
        val source = local(conf, fingerprint)
        val dir = Files.createTempDirectory(s"irbis-onnx-$id-")
        dir.toFile.deleteOnExit()
        Option(source.listFiles()).getOrElse(Array.empty[File]).filter(f => f.isFile && !f.getName.endsWith(".onnx"))
          .foreach { f =>
            val link = dir.resolve(f.getName)
            try Files.createLink(link, f.toPath)
            catch {
              case _: java.io.IOException | _: UnsupportedOperationException =>
                Files.createSymbolicLink(link, f.toPath.toAbsolutePath)
            }
            link.toFile.deleteOnExit()
          }
        val model = dir.resolve("model.onnx")
        Files.write(model, graph)
        model.toFile.deleteOnExit()
        dir.toFile
      })
  }

  def copyTo(target: Path, conf: Configuration): Unit =
    FileUtil.copy(fs(conf), new Path(path), target.getFileSystem(conf), target, false, conf)
}

object ModelFolder {
  private val copies = new ConcurrentHashMap[String, File]()
  private val derived = new ConcurrentHashMap[String, File]()

  def isFolder(path: String, conf: Configuration): Boolean = {
    val p = new Path(path)
    val fs = p.getFileSystem(conf)
    fs.exists(p) && fs.getFileStatus(p).isDirectory
  }

  /** The one `.onnx` file among a folder's file names. */
  def graphFile(folder: String, names: Seq[String]): String = names.filter(_.endsWith(".onnx")) match {
    case Seq(one) => one
    case Seq() => throw new IllegalArgumentException(
        s"modelLocation $folder is a folder without an .onnx file (files: ${names.mkString(", ")})")
    case many => throw new IllegalArgumentException(
        s"modelLocation $folder holds several .onnx files (${many.mkString(", ")}); keep one model per folder")
  }

  /** On an executor: the path of the graph file in the local copy that Spark fetched. */
  def fetchedGraph(name: String): String = localGraph(new File(SparkFiles.get(name)))

  /** The path of the graph file in a local directory. */
  def localGraph(dir: File): String =
    new File(dir, graphFile(dir.getPath, Option(dir.list()).map(_.toSeq.sorted).getOrElse(Nil))).getPath
}
