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
    assert(e.getMessage.contains("EnsembleByKey.strategy: invalid value \"median\"") && e.getMessage.contains("One of: mean"))
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

  test("complex params move as raw values and are refused as JSON") {
    val t = new Timer()
    ParamsBridge.setRaw(t, "stage", new SelectColumns().setCols(Array("a")))
    assert(ParamsBridge.getRaw(t, "stage").isInstanceOf[SelectColumns])
    intercept[IllegalArgumentException](ParamsBridge.getJson(t, "stage"))
  }
}
