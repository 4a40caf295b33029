package irbis.image

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.{Row, SparkSession}

class ImageTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val images = TestImages.images(spark,
      Seq(Some(TestImages.record(12, 16, 3, "a")), None,
        Some(TestImages.record(9, 7, 1, "grey")), Some(TestImages.record(4, 5, 4, "small-bgra"))))
    Seq(
      StageExample("ImageTransformer",
        new ImageTransformer().resize(10, 8).crop(1, 2, width = 6, height = 5).flip("both")
          .gaussianBlur(3, 0.8).convertColor("RGB"), images),
      StageExample("ImageTransformer-tensor",
        new ImageTransformer().setOutputCol("tensor").resizeShortSide(6, "area")
          .centerCrop(6, 6).convertColor("RGB").normalize(Seq(0.5), Seq(0.25), 1.0 / 255).toTensor("CHW", "BGR"),
        images),
      StageExample("ImageTransformer-binary",
        new ImageTransformer().setInputCol("content").setErrorCol("why")
          .convertColor("GRAY").threshold(100, 200, "binaryInv").toTensor("HWC"), TestImages.mixedFiles(spark)),
      StageExample("ImageTransformer-identity", new ImageTransformer().setOutputCol("image"), images))
  }
}

class ImageTransformerSuite extends SparkSuite {
  test("the fluent methods store canonical JSON, defaults filled in, in order") {
    val t = new ImageTransformer().resize(224, 224).resizeShortSide(256, "area").centerCrop(224, 224)
      .normalize(Seq(0.485, 0.456, 0.406), Seq(0.229, 0.224, 0.225), 1.0 / 255).toTensor()
    assert(t.getOperations.toSeq == Seq(
      """{"op":"resize","height":224,"width":224,"interpolation":"linear"}""",
      """{"op":"resize","shortSide":256,"interpolation":"area"}""",
      """{"op":"centerCrop","height":224,"width":224}""",
      """{"op":"normalize","mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"scale":0.00392156862745098}""",
      """{"op":"toTensor","layout":"CHW","channelOrder":"RGB"}"""))
    assert(ImageOp.canonical("""{"op":"flip","mode":"both"}""") == """{"op":"flip","mode":"both"}""")
    assert(ImageOp.canonical("""{"threshold":5,"op":"threshold"}""") ==
      """{"op":"threshold","threshold":5.0,"maxValue":255.0,"type":"binary","method":"fixed"}""")
  }

  test("invalid operation lists are refused when set, naming the position, the op and the field") {
    def error(ops: String*): String =
      intercept[IllegalArgumentException](new ImageTransformer().setOperations(ops.toArray)).getMessage
    assert(error("""{"op":"rotate"}""").contains("operations[0]: unknown op \"rotate\"; known ops: resize"))
    assert(error("""{"op":"resize","height":0,"width":3}""").contains(
        "operations[0] (resize): field 'height' must be an integer >= 1, got 0"))
    assert(
      error("""{"op":"flip","mode":"sideways"}""").contains("field 'mode' must be one of horizontal, vertical, both"))
    assert(error("""{"op":"flip","mode":"both","axis":1}""").contains("operations[0] (flip): unknown field 'axis'"))
    assert(error("""{"op":"centerCrop","height":3}""").contains("field 'width' is required"))
    assert(error("""{"op":"toTensor"}""", """{"op":"flip","mode":"both"}""").contains(
        "operations[0] (toTensor) must be the last"))
    assert(error("""{"op":"gaussianBlur","kernelWidth":4,"kernelHeight":3}""").contains("positive and odd"))
    assert(error("""{"op":"resize","shortSide":3,"width":2}""").contains("not both"))
    assert(error("not json").contains("operations[0] is not JSON"))
    intercept[IllegalArgumentException](new ImageTransformer().centerCrop(0, 3))
    val images = TestImages.images(spark, Seq(Some(TestImages.record(4, 5, 3, "a"))))
    val e = intercept[IllegalArgumentException](new ImageTransformer().normalize(Seq(1), Seq(2)).transform(images))
    assert(e.getMessage.contains("operations[0] (normalize) makes float pixels") &&
      e.getMessage.contains("ImageTransformer_"))
  }

  test("an operation that does not fit one image gives that row null and a message naming op and origin") {
    val images =
      TestImages.images(spark, Seq(Some(TestImages.record(12, 16, 3, "big")), Some(TestImages.record(4, 5, 3, "tiny"))))
    val out =
      new ImageTransformer().centerCrop(8, 8).transform(images).collect().map(r => r.getAs[String]("id") -> r).toMap
    assert(out("row0").getAs[Row]("transformed").getAs[Int]("width") == 8 &&
      out("row0").isNullAt(out("row0").fieldIndex("error")))
    assert(out("row1").isNullAt(out("row1").fieldIndex("transformed")))
    assert(out("row1").getAs[String]("error").endsWith(
        "column 'image', image 'tiny': operations[0] (centerCrop): cannot cut 8x8 (width x height) out of a 5x4 image; resize it first"))
    val wrongMean = new ImageTransformer().normalize(Seq(1, 2), Seq(1)).toTensor().transform(images).head()
    assert(wrongMean.getAs[String]("error").contains(
        "operations[0] (normalize): 'mean' has 2 values but the image has 3 channels"))
  }

  test("malformed structs are row errors too") {
    val broken = TestImages.record(4, 5, 3, "short").copy(data = Array[Byte](1, 2, 3))
    val row = new ImageTransformer().flip("both").transform(TestImages.images(spark, Seq(Some(broken)))).head()
    assert(row.getAs[String]("error").contains("image 'short': expected 4 x 5 x 3 = 60 bytes of data, got 3"))
  }

  test("flip, crop and channel order against hand-computed pixels; toTensor layouts") {
    val rec = TestImages.record(3, 4, 3, "p")
    def px(y: Int, x: Int, c: Int) = rec.data((y * 4 + x) * 3 + c) & 0xff
    val images = TestImages.images(spark, Seq(Some(rec)))
    val flipped =
      new ImageTransformer().flip("horizontal").crop(1, 1, height = 2, width = 2).transform(images).head().getAs[Row](
        "transformed")
    val data = flipped.getAs[Array[Byte]]("data").map(_ & 0xff)
    assert(data.toSeq == Seq(px(1, 2, 0), px(1, 2, 1), px(1, 2, 2), px(1, 1, 0), px(1, 1, 1), px(1, 1, 2),
      px(2, 2, 0), px(2, 2, 1), px(2, 2, 2), px(2, 1, 0), px(2, 1, 1), px(2, 1, 2)))
    val chw = new ImageTransformer().toTensor("CHW", "RGB").transform(images).head().getAs[scala.collection.Seq[Float]](
      "transformed")
    assert(chw.length == 36 && chw(0) == px(0, 0, 2) && chw(12) == px(0, 0, 1) && chw(24 + 5) == px(1, 1, 0))
    val hwc = new ImageTransformer().toTensor("HWC", "BGR").transform(images).head().getAs[scala.collection.Seq[Float]](
      "transformed")
    assert(hwc.map(_.toInt) == rec.data.toSeq.map(_ & 0xff))
  }

  test("resizeShortSide floors the long side; binary input equals ImageDecoder then ImageTransformer") {
    assert(ImagePipeline.shortSideSize(1536, 2048, 256) == (256, 341))
    assert(ImagePipeline.shortSideSize(2048, 1536, 256) == (341, 256))
    val t = new ImageTransformer().resizeShortSide(5).centerCrop(5, 5).normalize(Seq(10), Seq(2)).toTensor()
    val files = TestImages.mixedFiles(spark)
    val direct = t.copy(org.apache.spark.ml.param.ParamMap.empty).setInputCol("content").transform(files)
      .select("path", "transformed", "error").collect().map(_.toSeq).sortBy(_.head.toString)
    val twoSteps = t.transform(new ImageDecoder().transform(files)).select("path", "transformed", "error").collect()
      .map(_.toSeq).sortBy(_.head.toString)
    assert(direct.map(_.take(2)).toSeq == twoSteps.map(_.take(2)).toSeq)
    assert(direct.map(r => Option(r(2)).isDefined).toSeq == twoSteps.map(r => Option(r(2)).isDefined).toSeq)
  }

  test("works on the images of Spark's own image data source") {
    val dir = java.nio.file.Files.createTempDirectory("irbis-img")
    java.nio.file.Files.write(dir.resolve("a.png"), TestImages.png(12, 16, 4))
    val out = new ImageTransformer().convertColor("GRAY").resize(6, 8, "nearest")
      .transform(spark.read.format("image").load(dir.toString)).head().getAs[Row]("transformed")
    assert((out.getAs[Int]("height"), out.getAs[Int]("width"), out.getAs[Int]("nChannels")) == (6, 8, 1))
  }
}
