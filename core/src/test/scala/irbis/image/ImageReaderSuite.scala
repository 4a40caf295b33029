package irbis.image

import java.nio.file.Files

import scala.jdk.CollectionConverters._

import irbis.testkit.SparkSuite

class ImageReaderSuite extends SparkSuite {
  private def tree(): java.nio.file.Path = {
    val root = Files.createTempDirectory("irbis-tree")
    Files.createDirectories(root.resolve("a/b"))
    (0 until 40).foreach(i =>
      Files.write(root.resolve(if (i % 2 == 0) s"a/img[$i].png" else s"a/b/img$i.PNG"), TestImages.png(3, 4, 3)))
    Files.write(root.resolve("a/notes.txt"), "not an image".getBytes("UTF-8"))
    root
  }

  test("recursive reading keeps paths, skips non-image names, decodes") {
    val root = tree()
    val df = ImageReader.read(spark, root.toString)
    assert(df.columns.toSeq == Seq("path", "modificationTime", "length", "image", "error"))
    val rows = df.collect()
    assert(rows.length == 40 &&
      rows.forall(r => r.isNullAt(4) && r.getAs[org.apache.spark.sql.Row]("image").getString(0) == r.getString(0)))
    assert(ImageReader.read(spark, root.toString, recursive = false).count() == 0)
    assert(ImageReader.read(spark, root.resolve("a").toString + "/b", recursive = false,
      pathGlobFilter = "*.PNG").count() == 20)
  }

  test("sampling is deterministic for a seed, roughly proportional, and reads names with glob characters literally") {
    val root = tree().toString
    val a =
      ImageReader.read(spark, root, sampleRatio = 0.5, seed = 7).select("path").collect().map(_.getString(0)).toSet
    val b =
      ImageReader.read(spark, root, sampleRatio = 0.5, seed = 7).select("path").collect().map(_.getString(0)).toSet
    val c =
      ImageReader.read(spark, root, sampleRatio = 0.5, seed = 8).select("path").collect().map(_.getString(0)).toSet
    assert(a == b && a != c)
    assert(a.size > 8 && a.size < 32, a.size)
    assert(a.exists(_.contains("[")))
    intercept[IllegalArgumentException](ImageReader.read(spark, root, sampleRatio = 0))
  }

  test("a glob inside the path itself reads exactly the files (and folders) it matches") {
    val root = Files.createTempDirectory("irbis-glob")
    val names = Seq("snow1.png", "snow22.png", "snowy.PNG", "sand.png", "asnow.png", "snow-notes.txt")
    names.foreach(n =>
      Files.write(root.resolve(n), if (n.endsWith("txt")) "text".getBytes("UTF-8") else TestImages.png(3, 4, 3)))
    Seq("snowdir/x.png", "snowdir/deep/y.png", "sanddir/z.png").foreach { n =>
      Files.createDirectories(root.resolve(n).getParent)
      Files.write(root.resolve(n), TestImages.png(5, 2, 1))
    }
    def read(path: String) = ImageReader.read(spark, path).select("path", "image.height", "error").collect()
    def fileName(p: String) = root.relativize(java.nio.file.Paths.get(new java.net.URI(p))).toString

    // The reference: a plain listing, filtered with the same rules spelled out independently.
    val isImage = (n: String) => n.toLowerCase.endsWith(".png")
    val files =
      Files.walk(root).iterator().asScala.filter(Files.isRegularFile(_)).map(root.relativize(_).toString).toSeq
    val expected = files.filter(f => f.startsWith("snow") && isImage(f.split('/').last)).toSet
    assert(expected == Set("snow1.png", "snow22.png", "snowy.PNG", "snowdir/x.png", "snowdir/deep/y.png"))

    val rows = read(root.toString + "/snow*")
    assert(rows.map(r => fileName(r.getString(0))).toSet == expected)
    assert(rows.forall(r => r.isNullAt(2) && !r.isNullAt(1)))
    val flat = ImageReader.read(spark, root.toString + "/snow?.png", recursive = false).select("path").collect()
    assert(flat.map(r => fileName(r.getString(0))).toSet == Set("snow1.png"))
  }
}
