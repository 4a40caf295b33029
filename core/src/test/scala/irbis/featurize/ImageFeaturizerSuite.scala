package irbis.featurize

import irbis.image.{ImageTransformer, TestImages}
import irbis.onnx.{ONNXModel, OnnxGraphCut, TestModels}
import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.ml.attribute.AttributeGroup
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.sql.{DataFrame, Row, SparkSession}

object TinyCnn {
  def bytes: Array[Byte] = TestModels.bytes("tiny_cnn")
  def featurizer: ImageFeaturizer = new ImageFeaturizer().setModelPayload(bytes)

  def images(spark: SparkSession): DataFrame = TestImages.images(spark,
    Seq(
      Some(TestImages.record(12, 16, 3, "colour")), None, Some(TestImages.record(11, 10, 1, "grey")),
      Some(TestImages.record(20, 13, 4, "bgra")),
      Some(TestImages.record(4, 5, 3, "broken").copy(data = Array[Byte](1, 2)))))
}

class ImageFeaturizerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = Seq(
    StageExample("ImageFeaturizer", TinyCnn.featurizer.setMiniBatchSize(2), TinyCnn.images(spark)),
    StageExample("ImageFeaturizer-binary", TinyCnn.featurizer.setInputCol("content").setErrorCol("why"),
      TestImages.mixedFiles(spark)),
    StageExample("ImageFeaturizer-probabilities",
      TinyCnn.featurizer.setHeadless(false).setOutputCol("p")
        .setClassNames(Array("cat", "dog", "snow leopard")).setPredictedClassCol("animal").setResizeShortSide(
          0).setChannelOrder("BGR").setMean(Array(0.5)).setStd(Array(0.5)), TinyCnn.images(spark)),
    StageExample("ImageFeaturizer-outputNode", TinyCnn.featurizer.setOutputNode("conv"), TinyCnn.images(spark)))
}

class ImageFeaturizerSuite extends SparkSuite {
  private def byId(df: DataFrame): Map[String, Row] = df.collect().map(r => r.getAs[String]("id") -> r).toMap
  private def vec(r: Row, c: String = "features"): Vector = r.getAs[Vector](c)

  test("cutOutputLayers = 1 gives the pooled features; cut 2 and outputNode name the same tensor") {
    val out = byId(TinyCnn.featurizer.transform(TinyCnn.images(spark)))
    Seq("row0", "row2", "row3").foreach { id =>
      assert(vec(out(id)).size == 4 && vec(out(id)).toArray.forall(_ >= 0), id)
      assert(out(id).isNullAt(out(id).fieldIndex("error")), id)
    }
    val two = byId(TinyCnn.featurizer.setCutOutputLayers(2).transform(TinyCnn.images(spark)))
    val named = byId(TinyCnn.featurizer.setOutputNode("features").transform(TinyCnn.images(spark)))
    Seq("row0", "row2", "row3").foreach(id => assert(vec(two(id)) == vec(out(id)) && vec(named(id)) == vec(out(id))))
    val conv = byId(TinyCnn.featurizer.setOutputNode("conv").transform(TinyCnn.images(spark)))
    assert(vec(conv("row0")).size == 4 * 6 * 6)
    val input = byId(TinyCnn.featurizer.setCutOutputLayers(5).transform(TinyCnn.images(spark)))
    assert(vec(input("row0")).size == 3 * 8 * 8)
  }

  test("headless = false gives softmax probabilities equal to ONNXModel on ImageTransformer's tensors") {
    val out = byId(TinyCnn.featurizer.setHeadless(false).transform(TinyCnn.images(spark)))
    val pre = TinyCnn.featurizer.preprocessing
    val tensors = new ImageTransformer().setOutputCol("input").setErrorCol("e")
    pre.operations.foreach(tensors.addOperation)
    val reference = byId(new ONNXModel().setModelPayload(TinyCnn.bytes).setSoftMaxDict("logits", "p")
        .setVectorOutputCols(Array("logits")).transform(tensors.transform(TinyCnn.images(spark)).drop("image")))
    Seq("row0", "row2", "row3").foreach { id =>
      val p = vec(out(id)).toArray
      assert(p.length == 3 && math.abs(p.sum - 1) < 1e-6)
      p.zip(vec(reference(id), "p").toArray).foreach { case (a, b) => assert(math.abs(a - b) < 1e-7) }
    }
  }

  test("headless = false names the most probable class: classNames, else the index; the count is checked") {
    val names = Array("cat", "dog", "snow leopard")
    val named = TinyCnn.featurizer.setHeadless(false).setClassNames(names).transform(TinyCnn.images(spark))
    assert(AttributeGroup.fromStructField(named.schema("features")).attributes.get.map(_.name.get).toSeq == names.toSeq)
    val out = byId(named)
    val unnamed = byId(TinyCnn.featurizer.setHeadless(false).transform(TinyCnn.images(spark)))
    Seq("row0", "row2", "row3").foreach { id =>
      val p = vec(out(id)).toArray
      val best = p.indexOf(p.max)
      assert(out(id).getAs[String]("predictedClass") == names(best), id)
      assert(unnamed(id).getAs[String]("predictedClass") == best.toString, id)
    }
    assert(out("row4").isNullAt(out("row4").fieldIndex("predictedClass"))) // the broken image
    assert(!TinyCnn.featurizer.transform(TinyCnn.images(spark)).columns.contains("predictedClass"))
    val e = intercept[IllegalArgumentException](TinyCnn.featurizer.setHeadless(false).setClassNames(Array("a", "b"))
        .transform(TinyCnn.images(spark)))
    assert(e.getMessage.contains("classNames has 2 names, but the model's output 'logits' has 3 classes"), e.getMessage)
    val taken = intercept[IllegalArgumentException](TinyCnn.featurizer.setHeadless(false).setPredictedClassCol("id")
        .transform(TinyCnn.images(spark)))
    assert(taken.getMessage.contains("output column 'id' already exists"), taken.getMessage)
  }

  test(
    "null input gives null features and no error; a bad image gives null and a message naming stage, column, origin") {
    val out = byId(TinyCnn.featurizer.transform(TinyCnn.images(spark)))
    assert(
      out("row1").isNullAt(out("row1").fieldIndex("features")) && out("row1").isNullAt(out("row1").fieldIndex("error")))
    assert(out("row4").isNullAt(out("row4").fieldIndex("features")))
    assert(out("row4").getAs[String]("error") ==
      "ImageFeaturizer: column 'image', image 'broken': expected 4 x 5 x 3 = 60 bytes of data, got 2")
    val files = TinyCnn.featurizer.setInputCol("content").transform(TestImages.mixedFiles(spark)).collect()
      .map(r => r.getAs[String]("path") -> r).toMap
    assert(files("mem:/color.png").getAs[Vector]("features").size == 4)
    assert(files("mem:/null.png").isNullAt(files("mem:/null.png").fieldIndex("error")))
    Seq("mem:/not-an-image.txt", "mem:/cut.png").foreach { p =>
      assert(files(p).isNullAt(files(p).fieldIndex("features")))
      assert(
        files(p).getAs[String]("error").startsWith(s"ImageFeaturizer: column 'content', image '$p': cannot decode"))
    }
  }

  test("the binary path equals the image-struct path") {
    val png = TestImages.png(12, 16, 3)
    val fromBytes = TinyCnn.featurizer.setInputCol("content").transform(TestImages.files(spark, Seq("a.png" -> png)))
    val fromStruct =
      TinyCnn.featurizer.transform(TestImages.images(spark, Seq(Some(TestImages.record(12, 16, 3, "a")))))
    assert(fromBytes.head().getAs[Vector]("features") == fromStruct.head().getAs[Vector]("features"))
  }

  test("preprocessing defaults come from the model metadata; explicitly set Params override them") {
    assert(TinyCnn.featurizer.preprocessing == Preprocessing(8, 10, "RGB", 1.0 / 255, Seq(0.5, 0.4, 0.3),
      Seq(0.25, 0.5, 1.0)))
    val explicit = TinyCnn.featurizer.setResizeShortSide(0).setMean(Array(0.0)).setChannelOrder("BGR")
    assert(explicit.preprocessing == Preprocessing(8, 0, "BGR", 1.0 / 255, Seq(0.0), Seq(0.25, 0.5, 1.0)))
    val same = TinyCnn.featurizer.setInputSize(8).setResizeShortSide(10).setMean(Array(0.5, 0.4, 0.3))
      .setStd(Array(0.25, 0.5, 1.0)).setScale(1.0 / 255).setChannelOrder("RGB")
    val images = TinyCnn.images(spark)
    val (a, b, c) =
      (byId(TinyCnn.featurizer.transform(images)), byId(same.transform(images)), byId(explicit.transform(images)))
    assert(vec(a("row0")) == vec(b("row0")) && vec(a("row0")) != vec(c("row0")))
    val e =
      intercept[IllegalArgumentException](TinyCnn.featurizer.setInputSize(224).setResizeShortSide(0).transform(images))
    assert(e.getMessage.contains("has shape [?, 3, 8, 8]; the preprocessing makes [batch, 3, 224, 224]"))
    val noMeta = new ImageFeaturizer()
    assert(noMeta.getInputSize == 224 && noMeta.getResizeShortSide == 256 && noMeta.getMean.toSeq == Seq(0.485, 0.456,
      0.406))
  }

  test("unknown outputNode, a cut deeper than the graph and invalid Params are clear errors") {
    val images = TinyCnn.images(spark)
    val e1 = intercept[IllegalArgumentException](TinyCnn.featurizer.setOutputNode("nope").transform(images))
    assert(e1.getMessage.contains("outputNode 'nope' is not a tensor of the graph") &&
      e1.getMessage.contains("input, conv, relu, pooled, features, logits") &&
      e1.getMessage.contains("ImageFeaturizer_"))
    val e2 = intercept[IllegalArgumentException](TinyCnn.featurizer.setCutOutputLayers(6).transform(images))
    assert(e2.getMessage.contains("cutOutputLayers = 6 is deeper than the graph: 'input', reached after 5 step(s)"))
    intercept[IllegalArgumentException](new ImageFeaturizer().setStd(Array(0.0)))
    intercept[IllegalArgumentException](new ImageFeaturizer().setMean(Array(1.0, 2.0)))
    intercept[IllegalArgumentException](new ImageFeaturizer().setCutOutputLayers(0))
    val e3 = intercept[IllegalArgumentException](TinyCnn.featurizer.setResizeShortSide(6).transform(images))
    assert(e3.getMessage.contains("resizeShortSide 6 is smaller than inputSize 8"))
    val e4 = intercept[IllegalArgumentException](new ImageFeaturizer().transform(images))
    assert(e4.getMessage.contains("no model"))
  }

  test("the cut model is computed once per payload and cut, and keeps only the nodes it needs") {
    val f = TinyCnn.featurizer
    val images = TinyCnn.images(spark)
    f.transform(images).count()
    val cut = OnnxGraphCut.graph(OnnxGraphCut.expose(TinyCnn.bytes, "pooled", "test"))
    assert(cut.outputs == Seq(OnnxGraphCut.Output) && cut.nodes.map(_.name) == Seq("conv", "relu", "pool",
      "__irbis_flatten"))
    assert(cut.initializers == Set("conv.w", "conv.b"))
    assert(new ONNXModel().setModelPayload(OnnxGraphCut.expose(TinyCnn.bytes, "pooled", "test")).modelMetadata
        .contains("preprocessing"))
    val before = irbis.onnx.OnnxSessions.createdCount
    f.transform(images).count()
    assert(irbis.onnx.OnnxSessions.createdCount == before)
  }
}
