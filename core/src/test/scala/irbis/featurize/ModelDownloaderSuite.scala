package irbis.featurize

import java.io.File
import java.net.{InetSocketAddress, ServerSocket}
import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.Files

import scala.sys.process._

import com.sun.net.httpserver.{HttpExchange, HttpServer}
import irbis.image.TestImages
import irbis.testkit.SparkSuite
import org.apache.spark.ml.linalg.Vector
import org.json4s._
import org.scalatest.BeforeAndAfterAll

/** The shared EfficientNet-Lite0 file as a real payload; its digest comes from the sha256sum tool. */
object SharedModel {
  lazy val file: Option[File] =
    Iterator.iterate(new File(".").getAbsoluteFile)(_.getParentFile).takeWhile(_ != null)
      .map(d => new File(d, "shared/models/efficientnet_lite0.onnx")).find(_.isFile)
  lazy val bytes: Array[Byte] = Files.readAllBytes(file.get.toPath)
  lazy val sha256: String = Seq("sha256sum", file.get.getPath).!!.trim.split("\\s+").head

  /** As its README describes it (the file carries no metadata). */
  val preprocessing: Map[String, JValue] = Map("inputSize" -> JInt(224), "resizeShortSide" -> JInt(256),
    "channelOrder" -> JString("RGB"), "scale" -> JDouble(1.0 / 255), "layout" -> JString("CHW"),
    "mean" -> JArray(List.fill(3)(JDouble(0.5))), "std" -> JArray(List.fill(3)(JDouble(0.5))))

  def schema(uri: String, name: String = "Lite0", sha: String = sha256, size: Long = bytes.length.toLong): ModelSchema =
    ModelSchema(name, uri, sha, size, "input", Seq("logits", "features"), "image-classifier", "ImageNet-1k",
      preprocessing, "Apache-2.0")
}

class ModelDownloaderSuite extends SparkSuite with BeforeAndAfterAll {
  import SharedModel._

  private var server: HttpServer = _
  private def url(path: String) = s"http://127.0.0.1:${server.getAddress.getPort}$path"

  private def respond(ex: HttpExchange, code: Int, body: Array[Byte]): Unit = {
    ex.sendResponseHeaders(code, if (body.isEmpty) -1 else body.length.toLong)
    val out = ex.getResponseBody
    try out.write(body)
    finally ex.close()
  }

  override def beforeAll(): Unit = {
    super.beforeAll()
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext("/model.onnx", ex => respond(ex, 200, bytes))
    server.createContext("/moved",
      ex => { ex.getResponseHeaders.add("Location", "/model.onnx"); respond(ex, 302, Array()) })
    server.createContext("/other.onnx", ex => respond(ex, 200, bytes.reverse))
    server.createContext("/", ex => respond(ex, 404, "no such file".getBytes(UTF_8)))
    server.start()
  }

  override def afterAll(): Unit = { if (server != null) server.stop(0); super.afterAll() }

  private def tempDir(): File = Files.createTempDirectory("irbis-models-").toFile
  private def listing(dir: File): Set[String] = Option(dir.list()).map(_.toSet).getOrElse(Set.empty)
  private def needModel(): Unit = assume(file.isDefined, "needs ../shared/models/efficientnet_lite0.onnx")

  /** Serves the first `keep` bytes of `body` under a Content-Length of the whole body, then drops the connection. */
  private def cutShort(body: Array[Byte], keep: Int): (String, Thread) = {
    val socket = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))
    val thread = new Thread(() => {
      val s = socket.accept()
      try {
        val in = s.getInputStream
        val request = new StringBuilder
        while (!request.endsWith("\r\n\r\n")) request.append(in.read().toChar)
        val out = s.getOutputStream
        out.write(s"HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n".getBytes(UTF_8))
        out.write(body, 0, keep)
        out.flush()
      } finally { s.close(); socket.close() }
    })
    thread.start()
    (s"http://127.0.0.1:${socket.getLocalPort}/model.onnx", thread)
  }

  test("the catalogue round-trips through JSON and a Hadoop file; bad entries are refused by name and field") {
    val repo = ModelRepository.bundled.withModel(schema("/models/a.onnx", "A"))
      .withModel(schema("https://example.org/b.onnx", "B", sha = "0" * 64, size = 0))
    assert(ModelRepository.fromJson(repo.toJson) == repo)
    val path = "file://" + new File(tempDir(), "catalogue.json").getPath
    repo.save(path, spark.sparkContext.hadoopConfiguration)
    val loaded = ModelRepository.load(path, spark.sparkContext.hadoopConfiguration)
    assert(loaded == repo && loaded.listModels.map(_.name) == Seq("EfficientNetLite0", "A", "B"))
    assert(loaded.get("A").preprocessing == preprocessing)

    val good = schema("/m.onnx").toJson
    def refused(json: String) =
      intercept[IllegalArgumentException](ModelRepository.fromJson(json, "cat.json")).getMessage
    def catalogue(entries: String*) = s"""{"format": 1, "models": [${entries.mkString(",")}]}"""
    assert(refused(catalogue(good, good.replace("/m.onnx", "/n.onnx"))) ==
      "the catalogue names model(s) Lite0 more than once")
    assert(refused(catalogue(good.replace(sha256, "ABC"))) ==
      "cat.json: entry 0: model 'Lite0': sha256 must be 64 lower-case hex digits, got 'ABC'")
    assert(refused(catalogue(good, good.replace("\"size\":", "\"sighs\":"))) ==
      "cat.json: entry 1: unknown field(s) sighs; the fields are name, uri, sha256, size, inputNode, layerNames, " +
      "modelType, dataset, preprocessing, license")
    assert(refused(catalogue(good.replace(s""""size":${bytes.length}""", """"size":"big""""))) ==
      """cat.json: entry 0 ('Lite0'): field 'size' must be a whole number of bytes, got "big"""")
    assert(refused("""{"models": []}""") == "cat.json: field 'format' is missing (expected 1)")
    assert(refused("[1") startsWith "cat.json is not valid JSON")
    assert(intercept[NoSuchElementException](repo.get("C")).getMessage ==
      "the catalogue has no model named 'C'; it has: EfficientNetLite0, A, B")
  }

  test("the default catalogue lists EfficientNet-Lite0, made by the Python converter") {
    val models = new ModelDownloader(spark, tempDir().getPath).listModels
    assert(models.map(_.name) == Seq("EfficientNetLite0"))
    val m = models.head
    assert(m.isConverted && m.converterModule == "irbis.models.efficientnet_lite" && m.inputNode == "input")
    assert(m.layerNames.take(2) == Seq("logits", "features") && m.license == "Apache-2.0")
  }

  test("a download from a local path is verified, placed under <name>.onnx and reused while it verifies") {
    needModel()
    val dir = tempDir()
    val downloader = new ModelDownloader(spark, dir.getPath)
    val calls = scala.collection.mutable.Buffer[(Long, Long)]()
    downloader.setListener((_: String, done: Long, total: Long) => calls += done -> total)
    val got = downloader.downloadModel(schema(file.get.getPath))
    val target = new File(dir, "Lite0.onnx")
    assert(got.uri == "file:" + target.getPath && got.copy(uri = "x") == schema("x"))
    assert(java.util.Arrays.equals(Files.readAllBytes(target.toPath), bytes))
    assert(listing(dir) == Set("Lite0.onnx"), "no temporary or .crc file is left")
    assert(calls.last == (bytes.length.toLong, bytes.length.toLong) && calls.size > 2)
    assert(downloader.progress.bytesDone == bytes.length && !downloader.progress.isActive)

    target.setLastModified(1000000L)
    downloader.downloadModel(schema(file.get.getPath))
    assert(target.lastModified == 1000000L, "a verified file is reused")
  }

  test("a download from a Hadoop file: URI into a target directory given as a Hadoop URI") {
    needModel()
    val dir = new File(tempDir(), "nested/models")
    val got = new ModelDownloader(spark, "file://" + dir.getPath).downloadModel(schema("file://" + file.get.getPath))
    assert(got.uri == "file:" + dir.getPath + "/Lite0.onnx")
    assert(Seq("sha256sum", dir.getPath + "/Lite0.onnx").!!.startsWith(sha256))
  }

  test("HTTP: a download (through a redirect) verifies; a 404 is a clear error") {
    needModel()
    val dir = tempDir()
    val downloader = new ModelDownloader(spark, dir.getPath)
    downloader.downloadModel(schema(url("/moved")))
    assert(java.util.Arrays.equals(Files.readAllBytes(new File(dir, "Lite0.onnx").toPath), bytes))
    val e = intercept[ModelDownloadException](downloader.downloadModel(schema(url("/missing.onnx"), "Gone")))
    assert(e.getMessage == s"model 'Gone': HTTP 404 Not Found from ${url("/missing.onnx")}; expected a 2xx response")
    assert(listing(dir) == Set("Lite0.onnx"))
  }

  test("a SHA-256 mismatch is refused with model, digests and uri, and nothing is left at the target name") {
    needModel()
    val dir = tempDir()
    val downloader = new ModelDownloader(spark, dir.getPath)
    val other = new File(dir.getParentFile, dir.getName + "-other.onnx")
    Files.write(other.toPath, bytes.reverse)
    val otherSha = Seq("sha256sum", other.getPath).!!.trim.split("\\s+").head
    Seq(other.getPath, url("/other.onnx")).foreach { uri =>
      val e = intercept[ModelDownloadException](downloader.downloadModel(schema(uri)))
      assert(e.getMessage == s"model 'Lite0': SHA-256 mismatch for $uri: expected $sha256, got $otherSha; " +
        "the file was not kept")
      assert(listing(dir).isEmpty, s"$uri: ${listing(dir)}")
    }
  }

  test("an interrupted download leaves no file that a later download accepts; a later good download succeeds") {
    needModel()
    val dir = tempDir()
    val downloader = new ModelDownloader(spark, dir.getPath)
    val (cut, thread) = cutShort(bytes, bytes.length / 3)
    val e = intercept[ModelDownloadException](downloader.downloadModel(schema(cut)))
    thread.join()
    assert(e.getMessage.startsWith(s"model 'Lite0': "), e.getMessage)
    assert(listing(dir).isEmpty, listing(dir))

    // A wrong size in the catalogue is caught from the announced length, before any byte is written.
    val big =
      intercept[ModelDownloadException](downloader.downloadModel(schema(url("/model.onnx"), size = bytes.length + 1L)))
    assert(big.getMessage == s"model 'Lite0': ${url("/model.onnx")} has ${bytes.length} bytes, the catalogue says " +
      s"${bytes.length + 1}")

    // A partial file at the target name (e.g. copied there by hand) is not trusted, and is replaced.
    val target = new File(dir, "Lite0.onnx")
    Files.write(target.toPath, bytes.take(bytes.length / 2))
    assert(!downloader.isDownloaded(schema(url("/model.onnx"))))
    downloader.downloadModel(schema(url("/model.onnx")))
    assert(java.util.Arrays.equals(Files.readAllBytes(target.toPath), bytes) && listing(dir) == Set("Lite0.onnx"))
  }

  test("a convert: model is reused when a verified copy is in place, otherwise the error says how to make it") {
    needModel()
    val dir = tempDir()
    val downloader = new ModelDownloader(spark, dir.getPath)
    val converted = schema("convert:irbis.models.some_converter")
    val e = intercept[ModelDownloadException](downloader.downloadModel(converted))
    assert(
      e.getMessage.contains("model 'Lite0' is made by the Python converter irbis.models.some_converter") &&
        e.getMessage.contains(s"ModelDownloader(irbis.session(), '${dir.getPath}').downloadByName('Lite0')"),
      e.getMessage)
    Files.write(new File(dir, "Lite0.onnx").toPath, bytes)
    assert(downloader.downloadModel(converted).uri == "file:" + dir.getPath + "/Lite0.onnx")
  }

  test("a downloaded model loads straight into ImageFeaturizer and gives the features of the original file") {
    needModel()
    assume(TestImages.cameraTraps.isDefined, "needs ../shared/data/camera-traps")
    val images = TestImages.files(spark,
      TestImages.cameraTrapFiles.filterNot(_.getPath.contains("malformed")).take(4).map(f =>
        f.getPath -> Files.readAllBytes(f.toPath)))
    val got = new ModelDownloader(spark, tempDir().getPath).downloadModel(schema(url("/model.onnx")))
    val featurizer = new ImageFeaturizer().setInputCol("content").setModel(got)
    assert(featurizer.getModelLocation == got.uri && featurizer.getMean.toSeq == Seq(0.5, 0.5, 0.5) &&
      featurizer.getScale == 1.0 / 255)
    val reference = new ImageFeaturizer().setInputCol("content").setModelLocation(file.get.getPath)
      .setMean(Array(0.5, 0.5, 0.5)).setStd(Array(0.5, 0.5, 0.5))
    def features(f: ImageFeaturizer) = f.transform(images).collect().map(r =>
      r.getAs[String]("path") ->
        r.getAs[Vector]("features").toArray.toSeq).toMap
    val (a, b) = (features(featurizer), features(reference))
    assert(a.size == 4 && a == b && a.values.forall(_.size == 1280))

    val e = intercept[IllegalArgumentException](new ImageFeaturizer().setModel(schema(url("/model.onnx"))))
    assert(e.getMessage.contains(s"model 'Lite0' has uri ${url("/model.onnx")}: download it first"))
  }

  test("a model file changed after its download is refused at use, naming the file and both digests") {
    needModel()
    val dir = tempDir()
    val got = new ModelDownloader(spark, dir.getPath).downloadModel(schema(file.get.getPath))
    assert(new ImageFeaturizer().setModel(got).getModelPayload.length == bytes.length)
    val target = new File(dir, "Lite0.onnx")
    val altered = bytes.clone()
    altered(altered.length / 2) = (altered(altered.length / 2) ^ 1).toByte
    Files.write(target.toPath, altered)
    target.setLastModified(target.lastModified + 2000) // unmistakably another version of the file
    val alteredSha = Seq("sha256sum", target.getPath).!!.trim.split("\\s+").head
    val stage = new ImageFeaturizer()
    val e = intercept[ModelDownloadException](stage.setModel(got))
    assert(e.getMessage == s"model 'Lite0': ${got.uri} has SHA-256 $alteredSha, the catalogue says $sha256: it " +
      "changed after it was downloaded; it is not used. Download it again (ModelDownloader.downloadByName replaces " +
      "a file that does not verify)")
    assert(!stage.isDefined(stage.modelPayload) && !stage.isSet(stage.modelLocation))
    Files.write(target.toPath, bytes.take(100))
    assert(intercept[ModelDownloadException](stage.setModel(got)).getMessage.startsWith(
        s"model 'Lite0': ${got.uri} has 100 bytes, the catalogue says ${bytes.length}: it changed after it was downloaded"))

    // Downloading again replaces it; the digest is then computed once per file state: bytes swapped under the
    // same size and modification time are not hashed again (the cost the cache saves).
    new ModelDownloader(spark, dir.getPath).downloadModel(schema(file.get.getPath))
    assert(new ImageFeaturizer().setModel(got).getModelPayload.sameElements(bytes))
    val stamp = target.lastModified
    Files.write(target.toPath, altered)
    target.setLastModified(stamp)
    assert(new ImageFeaturizer().setModel(got).getModelPayload.sameElements(altered),
      "the digest is cached by path, size and modification time")
  }
}
