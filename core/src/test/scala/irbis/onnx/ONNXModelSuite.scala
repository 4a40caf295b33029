package irbis.onnx

import irbis.testkit.{Compare, ExampleSource, StageExample, SparkSuite}
import org.apache.spark.ml.linalg.{Vector, Vectors}
import org.apache.spark.sql.{DataFrame, SparkSession}

object TestModels {
  def bytes(name: String): Array[Byte] = {
    val in = getClass.getResourceAsStream(s"/irbis/onnx/$name.onnx")
    require(in != null, s"missing test model $name (run tests/python/onnx_models.py)")
    try in.readAllBytes()
    finally in.close()
  }

  def multiIoInput(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq((Seq(1f, 2f, 3f), Seq(1L, -2L)), (Seq(0.5f, -1f, 4f), Seq(3L, 4L)), (null, Seq(1L, 1L)),
      (Seq(-3f, 0f, 9f), Seq(0L, 0L)), (Seq(2f, 2f, 2f), Seq(-1L, 5L))).toDF("a", "b")
  }
}

class ONNXModelExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val multi = new ONNXModel().setModelPayload(TestModels.bytes("multi_io")).setFeedDict(Map("a" -> "a", "b" -> "b"))
      .setFetchDict(Map("scaled" -> "scaled", "total" -> "total", "positive" -> "positive", "as_double" -> "as_double"))
      .setSoftMaxDict("scaled", "probs").setArgMaxDict("scaled", "best").setMiniBatchSize(2)
    val vector = new ONNXModel().setModelPayload(TestModels.bytes("multi_io")).setFeedDict(Map("a" -> "a", "b" -> "b"))
      .setFetchDict("scaledVec", "scaled").setVectorOutputCols(Array("scaledVec")).setSoftMaxDict("scaledVec", "p")
    Seq(
      StageExample("ONNXModel-multi-io", multi, TestModels.multiIoInput(spark)),
      StageExample("ONNXModel-vectors", vector, TestModels.multiIoInput(spark)),
      StageExample("ONNXModel-strings", new ONNXModel().setModelPayload(TestModels.bytes("strings")),
        Seq("ibex", "snow leopard", "wolf").toDF("text")),
      StageExample("ONNXModel-fixed-batch", new ONNXModel().setModelPayload(TestModels.bytes("fixed_batch")),
        (1 to 6).map(i => Seq.tabulate(5)(j => (i * j).toFloat)).toDF("x")),
      StageExample("ONNXModel-errorCol",
        new ONNXModel().setModelPayload(TestModels.bytes("multi_io"))
          .setFeedDict(Map("a" -> "a", "b" -> "b")).setFetchDict("total", "total").setErrorCol("error"),
        Seq((Seq(1f, 2f, 3f), Seq(1L, 2L)), (Seq(1f), Seq(1L, 2L))).toDF("a", "b")))
  }
}

class ONNXModelSuite extends SparkSuite {
  import spark.implicits._

  private def multi =
    new ONNXModel().setModelPayload(TestModels.bytes("multi_io")).setFeedDict(Map("a" -> "a", "b" -> "b"))

  test("outputs of four element types, softmax and argmax, one row per input, nulls propagate") {
    val out = multi.setSoftMaxDict("scaled", "probs").setArgMaxDict("scaled", "best").setMiniBatchSize(2)
      .transform(TestModels.multiIoInput(spark)).collect()
    assert(out.length == 5)
    val first = out.head
    assert(first.getAs[collection.Seq[Float]]("scaled") == Seq(2f, 4f, 6f))
    assert(first.getAs[Long]("total") == -1L)
    assert(first.getAs[collection.Seq[Boolean]]("positive") == Seq(true, false))
    assert(first.getAs[collection.Seq[Double]]("as_double") == Seq(1.0, 2.0, 3.0))
    assert(first.getAs[Int]("best") == 2)
    val p = first.getAs[collection.Seq[Float]]("probs")
    val e = Seq(2.0, 4.0, 6.0).map(x => math.exp(x - 6.0))
    p.zip(e.map(_ / e.sum)).foreach { case (a, b) => assert(math.abs(a - b) < 1e-6) }
    val nullRow = out(2)
    assert(nullRow.isNullAt(nullRow.fieldIndex("scaled")) && nullRow.isNullAt(nullRow.fieldIndex("total")))
  }

  test("a streaming DataFrame (as Spark Serving's requests are) gives the batch transform's rows") {
    import org.apache.spark.sql.execution.streaming.runtime.MemoryStream
    implicit val session: org.apache.spark.sql.SparkSession = spark
    val stream = MemoryStream[(Seq[Float], Seq[Long])]
    val model = multi.setSoftMaxDict("scaled", "probs").setMiniBatchSize(2)
    val query =
      model.transform(stream.toDF().toDF("a", "b")).writeStream.format("memory").queryName("onnx_stream").start()
    try {
      val input =
        Seq((Seq(1f, 2f, 3f), Seq(1L, -2L)), (Seq(0.5f, -1f, 4f), Seq(3L, 4L)), (Seq(-3f, 0f, 9f), Seq(0L, 0L)))
      stream.addData(input)
      query.processAllAvailable()
      val streamed = spark.table("onnx_stream")
      assert(streamed.schema == model.transformSchema(input.toDF("a", "b").schema))
      assert(Compare.diff(model.transform(input.toDF("a", "b")), streamed) == null)
    } finally query.stop()
  }

  test("a fixed batch dimension is honoured: the last batch is padded and the padding dropped") {
    val df = (1 to 6).map(i => Seq.tabulate(5)(j => (i * j).toFloat)).toDF("x")
    val out = new ONNXModel().setModelPayload(TestModels.bytes("fixed_batch")).transform(df)
    assert(out.count() == 6)
    assert(out.select("y").as[Seq[Float]].collect().forall(_.length == 2))
  }

  test("a symbolic non-batch dimension is taken from each row, also when lengths differ within a batch") {
    val df = Seq(Seq(1f, 2f, 3f), Seq(4f, 5f, 6f)).toDF("x")
    val out = new ONNXModel().setModelPayload(TestModels.bytes("symbolic")).setMiniBatchSize(8).transform(df)
      .select("total", "doubled").as[(Float, Seq[Float])].collect()
    assert(out.toSeq == Seq((6f, Seq(2f, 4f, 6f)), (15f, Seq(8f, 10f, 12f))))
    val mixed = Seq(Seq(1f, 2f, 3f), Seq(4f), Seq(5f, 6f, 7f)).toDF("x").coalesce(1)
    val each = new ONNXModel().setModelPayload(TestModels.bytes("symbolic")).setMiniBatchSize(8).transform(mixed)
      .select("total", "doubled").as[(Float, Seq[Float])].collect()
    assert(each.toSeq == Seq((6f, Seq(2f, 4f, 6f)), (4f, Seq(8f)), (18f, Seq(10f, 12f, 14f))))
  }

  test("a wrong shape names the column, the row's shape and the expected shape, or goes to errorCol") {
    val bad = Seq((Seq(1f, 2f), Seq(1L, 2L))).toDF("a", "b")
    val e = intercept[Exception](multi.transform(bad).collect())
    assert(e.getMessage.contains("column 'a' has a row of shape [2]; graph input 'a' expects [3] per row"))
    val rows =
      multi.setErrorCol("err").transform(bad.union(Seq((Seq(1f, 2f, 3f), Seq(1L, 2L))).toDF("a", "b"))).collect()
    assert(rows(0).getAs[String]("err").contains("shape [2]") && rows(0).isNullAt(rows(0).fieldIndex("total")))
    assert(rows(1).isNullAt(rows(1).fieldIndex("err")) && rows(1).getAs[Long]("total") == 3L)
  }

  test("ML vectors in and out; integer columns feed int64 inputs") {
    val df = Seq((Vectors.dense(1, 2, 3), Seq(1, 2))).toDF("a", "bInts")
    val out = new ONNXModel().setModelPayload(TestModels.bytes("multi_io")).setFeedDict(Map("a" -> "a", "b" -> "bInts"))
      .setFetchDict("s", "scaled").setVectorOutputCols(Array("s")).transform(df)
    assert(out.head().getAs[Vector]("s") == Vectors.dense(2, 4, 6))
  }

  test("introspection lists inputs and outputs with types and symbolic shapes") {
    assert(
      multi.modelInputsJson == """{"a":{"kind":"tensor","type":"FLOAT","shape":[-1,3],"dimNames":["batch",null]},""" +
        """"b":{"kind":"tensor","type":"INT64","shape":[-1,2],"dimNames":["batch",null]}}""")
    assert(multi.modelOutputs.keySet == Set("scaled", "total", "positive", "as_double"))
  }

  test("missing feeds, unknown outputs and taken column names are clear errors") {
    val df = TestModels.multiIoInput(spark)
    val e1 =
      intercept[IllegalArgumentException](new ONNXModel().setModelPayload(TestModels.bytes("multi_io")).transform(df))
    assert(e1.getMessage.contains("set feedDict") && e1.getMessage.contains("Graph inputs: a, b"))
    val e2 = intercept[IllegalArgumentException](multi.setFetchDict("o", "nope").transform(df))
    assert(e2.getMessage.contains("graph output 'nope'"))
    val e3 = intercept[IllegalArgumentException](multi.setFetchDict("a", "scaled").transform(df))
    assert(e3.getMessage.contains("'a' already exists"))
    val e4 = intercept[IllegalArgumentException](new ONNXModel().transform(df))
    assert(e4.getMessage.contains("no model"))
  }

  test("sessions are created once per JVM and model, and reused across transforms") {
    val model = new ONNXModel().setModelPayload(TestModels.bytes("symbolic"))
    val df = Seq(Seq(1f), Seq(2f)).toDF("x").repartition(2)
    model.transform(df).collect()
    val before = OnnxSessions.createdCount
    (1 to 3).foreach(_ => model.transform(df).collect())
    new ONNXModel().setModelPayload(TestModels.bytes("symbolic")).transform(df).collect()
    assert(OnnxSessions.createdCount == before)
  }

  test("setting only modelLocation (as the Python and R wrappers do) loads the model on first use and saves it") {
    val file = java.nio.file.Files.createTempFile("symbolic", ".onnx")
    java.nio.file.Files.write(file, TestModels.bytes("symbolic"))
    val stage = new ONNXModel()
    irbis.core.ParamsBridge.setJson(stage, "modelLocation", "\"" + file.toUri + "\"")
    assert(stage.modelOutputs.keySet == Set("total", "doubled"))
    val path = tempPath("lazy")
    stage.write.save(path)
    java.nio.file.Files.delete(file)
    val reloaded = ONNXModel.load(path)
    assert(reloaded.getModelPayload.sameElements(TestModels.bytes("symbolic")))
    val e = intercept[IllegalArgumentException](new ONNXModel().setModelLocation(file.toString))
    assert(e.getMessage.contains("does not exist"))
  }

  test("asking for CUDA without the GPU artifact is a clear error, not a silent CPU run") {
    val e = intercept[IllegalArgumentException](
      new ONNXModel().setModelPayload(TestModels.bytes("symbolic")).setExecutionProvider("CUDA").modelInputs)
    assert(e.getMessage.contains("executionProvider is CUDA") && e.getMessage.contains("onnxruntime_gpu"))
  }

  test("the batch axis is decided from the whole graph: rows are stacked only where no tensor says otherwise") {
    import BatchAxis.Tensor
    def t(name: String, dims: Any*) = Tensor(name, Some(dims.map { case n: Int => n.toLong; case _ => -1L }.toArray),
      dims.map { case s: String => s; case _ => "" }.toArray)
    def refusal(inputs: Seq[Tensor], outputs: Seq[Tensor]) =
      intercept[IllegalArgumentException](BatchAxis.decide("stage", inputs, outputs)).getMessage
    assert(BatchAxis.decide("stage", Seq(t("a", "batch", 3), t("b", "N", 2)), Seq(t("y", "batch"))) ==
      Batching(stacked = true, fixed = None, oneRow = false))
    assert(BatchAxis.decide("stage", Seq(t("x", 4, 5)), Seq(t("y", 4, 2))).fixed.contains(4))
    val state = refusal(Seq(t("state", 2, "batch", 128), t("x", "batch", 512)), Nil)
    assert(
      state.contains("the graph inputs disagree about the batch axis: 'state' [2, batch, 128], 'x' [batch, 512]") &&
        state.contains("Set unbatched to true"))
    assert(refusal(Seq(t("state", "layers", "batch", 8), t("x", "batch", 4)), Nil).contains(
        "'batch' is not on axis 0 of 'state'"))
    assert(refusal(Seq(t("x", "seq", "batch", 4)), Nil).contains("'batch' is not on axis 0 of 'x'"))
    assert(refusal(Seq(t("a", 2, 3), t("b", 3, 3)), Nil).contains("different sizes on axis 0"))
    assert(refusal(Seq(t("x", "N", 3)), Seq(t("table", 3))).contains("graph output 'table' is a tensor of shape [3]"))
    assert(refusal(Seq(t("x", "N", 3)), Seq(t("y", "seq", "N", 3))).contains("'N' is not on its axis 0"))
    assert(refusal(Seq(Tensor("s", Some(Array.empty[Long]), Array.empty[String])), Nil).contains(
        "graph input 's' [] is a scalar"))
    val unknown = Tensor("u", None, Array.empty[String])
    assert(BatchAxis.decide("stage", Seq(unknown), Seq(unknown)) ==
      Batching(stacked = true, fixed = None, oneRow = true))
    assert(refusal(Seq(t("x", 4, 5), unknown), Nil).contains("cannot be stacked into the model's fixed batch of 4"))
  }
}
