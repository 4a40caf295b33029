package irbis.featurize

import java.io.{FileNotFoundException, IOException, InputStream}
import java.net.{HttpURLConnection, URI, URL}
import java.security.MessageDigest
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{ChecksumFileSystem, FileSystem, Path}
import org.apache.spark.sql.SparkSession

/** Told how a download advances: `total` is the expected size in bytes. */
trait DownloadListener {
  def progress(model: String, done: Long, total: Long): Unit
}

/** The state of a downloader's current transfer, for another thread (e.g. Python's progress bar) to poll. */
final class DownloadProgress {
  @volatile private var model = ""
  @volatile private var total = 0L
  @volatile private var active = false
  @volatile private var started = 0L
  private val done = new AtomicLong()

  def modelName: String = model
  def totalBytes: Long = total
  def bytesDone: Long = done.get

  /** true while bytes are being transferred. */
  def isActive: Boolean = active

  /** How many transfers this downloader has started: a reused file starts none. */
  def transfers: Long = started

  private[featurize] def start(name: String, size: Long): Unit = {
    model = name; total = size; done.set(0); active = true; started += 1
  }
  private[featurize] def add(n: Long): Long = done.addAndGet(n)
  private[featurize] def stop(): Unit = active = false
}

/** A download that failed or did not verify; the message names the model, the uri and what went wrong. */
class ModelDownloadException(message: String, cause: Throwable = null) extends IOException(message, cause)

/**
 * Copies catalogue models into `targetDir` (any Hadoop file system) and verifies them. The bytes go into a
 * hidden temporary file in the same directory (`.<name>.onnx.<random>.part`) while their SHA-256 is computed;
 * only a file of the catalogue's size and digest is renamed to `<name>.onnx`. So the target name only ever holds
 * a verified file, whatever happens to the transfer; a file already there is reused only if it verifies, and
 * replaced otherwise.
 *
 * Sources: Hadoop paths (bare absolute paths resolve against the default file system), `http:`/`https:` URLs
 * (redirects followed, https never downgraded to http), and `convert:` uris, whose bytes only the Python
 * package can make (irbis.models.ModelDownloader): the JVM reuses a verified copy and otherwise says how to
 * make one.
 */
class ModelDownloader(spark: SparkSession, val targetDir: String, val repository: ModelRepository,
                      connectTimeoutMillis: Int, readTimeoutMillis: Int) {
  require(connectTimeoutMillis > 0 && readTimeoutMillis > 0, "timeouts must be positive milliseconds")

  def this(spark: SparkSession, targetDir: String, repository: ModelRepository) =
    this(spark, targetDir, repository, 30000, 60000)
  def this(spark: SparkSession, targetDir: String) = this(spark, targetDir, ModelRepository.bundled)

  private def conf: Configuration = spark.sparkContext.hadoopConfiguration
  private val MaxRedirects = 5
  private val BufferSize = 1 << 16

  /** For the current download. */
  val progress = new DownloadProgress
  @volatile private var listener: Option[DownloadListener] = None
  @volatile private var cancelled = false

  def setListener(l: DownloadListener): this.type = { listener = Option(l); this }

  /** Stops the current transfer; it fails and leaves nothing behind. */
  def cancel(): Unit = cancelled = true

  def listModels: Seq[ModelSchema] = repository.listModels
  def listModelsJava: java.util.List[ModelSchema] = repository.listModelsJava

  /** The directory, qualified (`file:/...`, `hdfs://...`). */
  def directory: Path = {
    val p = new Path(targetDir)
    p.getFileSystem(conf).makeQualified(p)
  }

  def targetPath(schema: ModelSchema): Path = new Path(directory, schema.fileName)

  /** A file of the schema's size and SHA-256 sits at the target name. */
  def isDownloaded(schema: ModelSchema): Boolean = verifies(targetPath(schema), schema)

  def downloadByName(name: String): ModelSchema = downloadModel(repository.get(name))

  /** The schema with `uri` set to the verified copy in the target directory. */
  def downloadModel(schema: ModelSchema): ModelSchema = synchronized {
    val target = targetPath(schema)
    if (!verifies(target, schema)) {
      if (schema.isConverted) throw new ModelDownloadException(
        s"model '${schema.name}' is made by the Python converter ${schema.converterModule} (uri ${schema.uri}), " +
          s"which the JVM cannot run, and $target is not a verified copy. Make it from Python (any target " +
          s"directory): python -c \"import irbis; from irbis.models import ModelDownloader; " +
          s"ModelDownloader(irbis.session(), '$targetDir').downloadByName('${schema.name}')\"")
      fetch(schema, target)
    }
    schema.withUri(target.toString)
  }

  // The checksummed local file system would write a .crc file beside each model.
  private def fileSystem(p: Path): FileSystem = p.getFileSystem(conf) match {
    case c: ChecksumFileSystem => c.getRawFileSystem
    case fs => fs
  }

  private def verifies(p: Path, schema: ModelSchema): Boolean = {
    val fs = fileSystem(p)
    fs.exists(p) && fs.getFileStatus(p).isFile && fs.getFileStatus(p).getLen == schema.size &&
    ModelDownloader.fileSha256(fs, p) == schema.sha256
  }

  private def fetch(schema: ModelSchema, target: Path): Unit = {
    val fs = fileSystem(target)
    fs.mkdirs(target.getParent)
    val tmp = new Path(target.getParent, s".${schema.fileName}.${UUID.randomUUID()}.part")
    cancelled = false
    progress.start(schema.name, schema.size)
    try {
      val digest = MessageDigest.getInstance("SHA-256")
      val (in, announced) = open(schema)
      val received = try {
        if (announced >= 0 && announced != schema.size) throw new ModelDownloadException(
          s"model '${schema.name}': ${schema.uri} has ${announced} bytes, the catalogue says ${schema.size}")
        copy(schema, in, fs, tmp, digest)
      } finally in.close()
      if (received != schema.size) throw new ModelDownloadException(
        s"model '${schema.name}': received $received of ${schema.size} bytes from ${schema.uri}: the transfer " +
          "ended early; nothing was kept")
      val actual = ModelDownloader.hex(digest.digest())
      if (actual != schema.sha256) throw new ModelDownloadException(
        s"model '${schema.name}': SHA-256 mismatch for ${schema.uri}: expected ${schema.sha256}, got $actual; " +
          "the file was not kept")
      install(schema, fs, tmp, target)
    } catch {
      case e: ModelDownloadException => throw e
      case e: IOException => throw new ModelDownloadException(
          s"model '${schema.name}': cannot download ${schema.uri}: ${e.getClass.getSimpleName}: ${e.getMessage}", e)
    } finally {
      progress.stop()
      try fs.delete(tmp, false)
      catch { case _: IOException => }
    }
  }

  /** Streams into `tmp`; stops as soon as the source gives more bytes than the catalogue's size. */
  private def copy(schema: ModelSchema, in: InputStream, fs: FileSystem, tmp: Path, digest: MessageDigest): Long = {
    val out = fs.create(tmp, false)
    val step = math.max(schema.size / 200, 1L << 20) // listener calls: about every 0.5 % or 1 MiB
    try {
      val buffer = new Array[Byte](BufferSize)
      var total = 0L
      var nextCall = 0L
      var n = in.read(buffer)
      while (n >= 0) {
        if (cancelled) throw new ModelDownloadException(s"model '${schema.name}': download of ${schema.uri} cancelled")
        total += n
        if (total > schema.size) throw new ModelDownloadException(
          s"model '${schema.name}': ${schema.uri} has more than the catalogue's ${schema.size} bytes; nothing was kept")
        digest.update(buffer, 0, n)
        out.write(buffer, 0, n)
        progress.add(n)
        if (total >= nextCall) {
          listener.foreach(_.progress(schema.name, total, schema.size)); nextCall = total + step
        }
        n = in.read(buffer)
      }
      listener.foreach(_.progress(schema.name, total, schema.size))
      total
    } finally out.close()
  }

  /** Rename over a target that does not verify (HDFS renames do not replace). */
  private def install(schema: ModelSchema, fs: FileSystem, tmp: Path, target: Path): Unit = {
    if (fs.exists(target)) {
      if (verifies(target, schema)) return // a concurrent download placed the same bytes
      fs.delete(target, true)
    }
    if (!fs.rename(tmp, target) && !verifies(target, schema)) throw new ModelDownloadException(
      s"model '${schema.name}': cannot rename the verified download $tmp to $target")
  }

  /** The source stream and its announced length (-1 if unknown). */
  private def open(schema: ModelSchema): (InputStream, Long) = schema.scheme match {
    case "http" | "https" => openHttp(schema)
    case _ =>
      val p = new Path(schema.uri)
      val fs = p.getFileSystem(conf)
      if (!fs.exists(p)) throw new FileNotFoundException(s"${schema.uri} does not exist")
      val status = fs.getFileStatus(p)
      if (status.isDirectory) throw new ModelDownloadException(
        s"model '${schema.name}': ${schema.uri} is a directory; a catalogue model is one .onnx file")
      (fs.open(p), status.getLen)
  }

  private def openHttp(schema: ModelSchema): (InputStream, Long) = {
    var url: URL = URI.create(schema.uri).toURL
    var hops = 0
    while (true) {
      val c = url.openConnection().asInstanceOf[HttpURLConnection]
      c.setInstanceFollowRedirects(false)
      c.setConnectTimeout(connectTimeoutMillis)
      c.setReadTimeout(readTimeoutMillis)
      c.setRequestProperty("Accept-Encoding", "identity")
      c.setRequestProperty("User-Agent", s"irbis/${irbis.core.Version.value}")
      val code = c.getResponseCode
      if (code >= 200 && code < 300) return (c.getInputStream, c.getContentLengthLong)
      val location = Option(c.getHeaderField("Location"))
      val message = Option(c.getResponseMessage).getOrElse("")
      c.disconnect()
      if (Set(301, 302, 303, 307, 308)(code) && location.isDefined) {
        val next = new URL(url, location.get)
        if (url.getProtocol == "https" && next.getProtocol != "https") throw new ModelDownloadException(
          s"model '${schema.name}': $url redirects to $next; refusing to leave https")
        hops += 1
        if (hops > MaxRedirects) throw new ModelDownloadException(
          s"model '${schema.name}': more than $MaxRedirects redirects from ${schema.uri}")
        url = next
      } else throw new ModelDownloadException(
        s"model '${schema.name}': HTTP $code $message from $url" +
          (if (url.toString != schema.uri) s" (redirected from ${schema.uri})" else "") + "; expected a 2xx response")
    }
    throw new IllegalStateException("unreachable")
  }
}

object ModelDownloader {

  /**
   * The SHA-256 of each file hashed in this JVM, by path, size and modification time: a file is hashed once,
   * and again only after it changes (a rewrite that keeps both size and modification time goes unnoticed).
   */
  private val digests = new ConcurrentHashMap[(String, Long, Long), String]()

  private def statusKey(fs: FileSystem, p: Path): (String, Long, Long) = {
    val status = fs.getFileStatus(p)
    (fs.makeQualified(p).toString, status.getLen, status.getModificationTime)
  }

  private[featurize] def fileSha256(fs: FileSystem, p: Path): String =
    digests.computeIfAbsent(statusKey(fs, p),
      _ => {
        val in = fs.open(p)
        try sha256(in)
        finally in.close()
      })

  /**
   * Before a catalogue model is used: the file at the schema's uri still has the catalogue's size and SHA-256
   * (a file changed after its download is refused, naming it and both digests). Returns the file's state, for
   * [[checkLoaded]].
   */
  private[featurize] def verifyAtUse(schema: ModelSchema, conf: Configuration): (String, Long, Long) = {
    val p = new Path(schema.uri)
    val fs = p.getFileSystem(conf) match {
      case c: ChecksumFileSystem => c.getRawFileSystem
      case other => other
    }
    def fail(what: String) = throw new ModelDownloadException(s"model '${schema.name}': ${schema.uri} $what; " +
      "it is not used. Download it again (ModelDownloader.downloadByName replaces a file that does not verify)")
    if (!fs.exists(p)) fail("does not exist")
    if (!fs.getFileStatus(p).isFile) fail("is not a file")
    val key = statusKey(fs, p)
    if (key._2 != schema.size) fail(s"has ${key._2} bytes, the catalogue says ${schema.size}: it changed after " +
      "it was downloaded")
    val actual = fileSha256(fs, p)
    if (actual != schema.sha256) fail(s"has SHA-256 $actual, the catalogue says ${schema.sha256}: it changed after " +
      "it was downloaded")
    key
  }

  /** The bytes read after [[verifyAtUse]] are the verified ones, unless the file changed in between. */
  private[featurize] def checkLoaded(schema: ModelSchema, verified: (String, Long, Long), bytes: Array[Byte],
                                     conf: Configuration): Unit = {
    val p = new Path(schema.uri)
    val fs = p.getFileSystem(conf) match {
      case c: ChecksumFileSystem => c.getRawFileSystem
      case other => other
    }
    val unchanged = try statusKey(fs, p) == verified
    catch { case _: IOException => false }
    if (!unchanged) {
      val digest = MessageDigest.getInstance("SHA-256")
      val actual = hex(digest.digest(bytes))
      if (actual != schema.sha256) throw new ModelDownloadException(s"model '${schema.name}': ${schema.uri} changed " +
        s"while it was read: the bytes read have SHA-256 $actual, the catalogue says ${schema.sha256}; they are " +
        "not used")
    }
  }

  def sha256(in: InputStream): String = {
    val digest = MessageDigest.getInstance("SHA-256")
    val buffer = new Array[Byte](1 << 16)
    var n = in.read(buffer)
    while (n >= 0) { digest.update(buffer, 0, n); n = in.read(buffer) }
    hex(digest.digest())
  }

  private[featurize] def hex(bytes: Array[Byte]): String = bytes.map(b => f"$b%02x").mkString
}
