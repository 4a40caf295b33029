package irbis.onnx

import irbis.testkit.SparkSuite

/** SynapseML's spellings on ONNXModel: modelInput/modelOutput, deviceType, sliceAtOutput. */
class ONNXModelSynapseMLSuite extends SparkSuite {
  import spark.implicits._

  private def multi = new ONNXModel().setModelPayload(TestModels.bytes("multi_io"))

  test("modelInput and modelOutput are modelInputs and modelOutputs") {
    assert(multi.modelInput.keySet == Set("a", "b"))
    assert(multi.modelOutput.keySet == multi.modelOutputs.keySet)
  }

  test("deviceType sets executionProvider; a device Irbis cannot use is refused with what to write") {
    assert(multi.setDeviceType("cpu").getExecutionProvider == "CPU")
    assert(multi.setDeviceType("CUDA").getDeviceType == "CUDA")
    val e = intercept[IllegalArgumentException](multi.setDeviceType("GPU"))
    assert(e.getMessage.contains("setExecutionProvider(\"CPU\")"))
  }

  test("sliceAtOutput fetches the inner tensor into its column, or the fetchDict column naming it") {
    val cnn = new ONNXModel().setModelPayload(TestModels.bytes("tiny_cnn")).setFeedDict("input", "x")
    val input = Seq(Seq.tabulate(3 * 8 * 8)(i => (i % 7).toFloat)).toDF("x")
    val features = cnn.sliceAtOutput("features").transform(input).head().getAs[collection.Seq[Float]]("features")
    assert(features.length == 4)
    val renamed = cnn.setFetchDict("feat", "features").sliceAtOutput("features")
    assert(renamed.getFetchDict == Map("feat" -> OnnxGraphCut.Output))
    assert(renamed.transform(input).head().getAs[collection.Seq[Float]]("feat") == features)
    assert(intercept[IllegalArgumentException](cnn.sliceAtOutput("nope")).getMessage.contains(
        "sliceAtOutput 'nope' is not a tensor"))
  }
}
