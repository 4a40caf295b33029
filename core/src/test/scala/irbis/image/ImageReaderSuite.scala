package irbis.image

import java.nio.file.Files

import irbis.testkit.SparkSuite

class ImageReaderSuite extends SparkSuite {
  private def tree(): java.nio.file.Path = {
    val root = Files.createTempDirectory("irbis-tree")
    Files.createDirectories(root.resolve("a/b"))
    (0 until 40).foreach(i => Files.write(root.resolve(if (i % 2 == 0) s"a/img[$i].png" else s"a/b/img$i.PNG"), TestImages.png(3, 4, 3)))
    Files.write(root.resolve("a/notes.txt"), "not an image".getBytes("UTF-8"))
    root
  }

  test("recursive reading keeps paths, skips non-image names, decodes") {
    val root = tree()
    val df = ImageReader.read(spark, root.toString)
    assert(df.columns.toSeq == Seq("path", "modificationTime", "length", "image", "error"))
    val rows = df.collect()
    assert(rows.length == 40 && rows.forall(r => r.isNullAt(4) && r.getAs[org.apache.spark.sql.Row]("image").getString(0) == r.getString(0)))
    assert(ImageReader.read(spark, root.toString, recursive = false).count() == 0)
    assert(ImageReader.read(spark, root.resolve("a").toString + "/b", recursive = false, pathGlobFilter = "*.PNG").count() == 20)
  }

  test("sampling is deterministic for a seed, roughly proportional, and reads names with glob characters literally") {
    val root = tree().toString
    val a = ImageReader.read(spark, root, sampleRatio = 0.5, seed = 7).select("path").collect().map(_.getString(0)).toSet
    val b = ImageReader.read(spark, root, sampleRatio = 0.5, seed = 7).select("path").collect().map(_.getString(0)).toSet
    val c = ImageReader.read(spark, root, sampleRatio = 0.5, seed = 8).select("path").collect().map(_.getString(0)).toSet
    assert(a == b && a != c)
    assert(a.size > 8 && a.size < 32, a.size)
    assert(a.exists(_.contains("[")))
    intercept[IllegalArgumentException](ImageReader.read(spark, root, sampleRatio = 0))
  }
}
