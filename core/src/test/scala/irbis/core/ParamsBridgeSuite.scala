package irbis.core

import irbis.stages.{EnsembleByKey, SelectColumns, Timer}
import irbis.testkit.{ParamKinds, SparkSuite}
import org.apache.spark.ml.linalg.Vectors

class ParamsBridgeSuite extends SparkSuite {
  test("every kind round-trips through its JSON codec") {
    val s = new ParamKinds()
    s.params.filterNot(p => ParamKind.isComplex(s, p)).foreach { p =>
      val json = ParamsBridge.getJson(s, p.name)
      val again = new ParamKinds()
      ParamsBridge.setJson(again, p.name, json)
      assert(ParamsBridge.getJson(again, p.name) == json, p.name)
    }
    ParamsBridge.setJson(s, "vector", """{"type":0,"size":3,"indices":[2],"values":[1.5]}""")
    assert(s.getOrDefault(s.vector) == Vectors.sparse(3, Array(2), Array(1.5)))
    ParamsBridge.setJson(s, "vector", """{"type":1,"values":[1.0,"NaN","-Inf"]}""")
    val v = s.getOrDefault(s.vector).toArray
    assert(v(0) == 1.0 && v(1).isNaN && v(2) == Double.NegativeInfinity)
    assert(ParamsBridge.getJson(s, "vector") == """{"type":1,"values":[1.0,"NaN","-Inf"]}""")
    ParamsBridge.setJson(s, "aDouble", "\"-Inf\"")
    assert(s.getOrDefault(s.aDouble) == Double.NegativeInfinity)
  }

  test("invalid values name the stage, the param, the value and what is expected") {
    val e = intercept[IllegalArgumentException](ParamsBridge.setJson(new EnsembleByKey(), "strategy", "\"median\""))
    assert(e.getMessage == "EnsembleByKey.strategy: invalid value \"median\". Expected: one of mean, sum, min, max")
    val e2 = intercept[IllegalArgumentException](ParamsBridge.setJson(new ParamKinds(), "anInt", "\"x\""))
    assert(e2.getMessage.contains("cannot read \"x\" as a int"))
    val e3 = intercept[IllegalArgumentException](ParamsBridge.setJson(new ParamKinds(), "nope", "1"))
    assert(e3.getMessage.contains("has no parameter 'nope'"))
    intercept[IllegalArgumentException](ParamsBridge.setJson(new ParamKinds(), "positive", "0"))
    val e4 = intercept[IllegalArgumentException](ParamsBridge.setJson(new ParamKinds(), "anInt", "2147483648"))
    assert(e4.getMessage.contains("2147483648 is out of range for a int"))
    intercept[IllegalArgumentException](ParamsBridge.setJson(new ParamKinds(), "ints", "[1, -2147483649]"))
    intercept[IllegalArgumentException](ParamsBridge.setJson(new ParamKinds(), "aLong", "9223372036854775808"))
  }

  test("declarative validators compare exactly and are written to the manifest with what they expect") {
    val positive = Validators.gt(0)
    assert(
      positive(1) && !positive(0) && positive(Long.MaxValue) && !positive(-0.0) && positive(Double.MinPositiveValue))
    assert(!positive(Double.NaN) && positive(Double.PositiveInfinity) && !Validators.inRange(0, 1)(
      Double.PositiveInfinity))
    // A long is not rounded to a double first: 2^53 + 1 is above 2^53.
    assert(
      Validators.gt(9007199254740992.0)(9007199254740993L) && !Validators.gt(9007199254740992.0)(9007199254740992L))
    assert(Validators.each(Validators.gtEq(0))(Array(0, 3)) && !Validators.each(Validators.gtEq(0))(Map("a" -> -1.0)))
    val onnx = new irbis.onnx.ONNXModel()
    assert(ParamKind.validation(onnx.miniBatchSize).map(compact) ==
      Some("""{"rule":"range","min":0,"minInclusive":true,"expected":">= 0"}"""))
    assert(ParamKind.validation(onnx.executionProvider).map(compact) ==
      Some("""{"rule":"oneOf","options":["CPU","CUDA"],"expected":"one of CPU, CUDA"}"""))
    val featurizer = new irbis.featurize.ImageFeaturizer()
    assert(ParamKind.validation(featurizer.scale).map(compact) == Some("""{"rule":"jvm"}"""))
    assert(ParamKind.validation(featurizer.headless).isEmpty && ParamKind.validation(featurizer.inputCol).isEmpty)
    assert(intercept[IllegalArgumentException](ParamsBridge.pair(onnx, "miniBatchSize", "-1")).getMessage ==
      "ONNXModel.miniBatchSize: invalid value -1. Expected: >= 0")
  }

  private def compact(v: org.json4s.JValue): String =
    org.json4s.jackson.JsonMethods.compact(org.json4s.jackson.JsonMethods.render(v))

  test("complex params move as raw values and are refused as JSON") {
    val t = new Timer()
    ParamsBridge.setRaw(t, "stage", new SelectColumns().setCols(Array("a")))
    assert(ParamsBridge.getRaw(t, "stage").isInstanceOf[SelectColumns])
    intercept[IllegalArgumentException](ParamsBridge.getJson(t, "stage"))
  }
}
