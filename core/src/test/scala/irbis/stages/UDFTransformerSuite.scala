package irbis.stages

import irbis.testkit.{ExampleSource, StageExample, SparkSuite}
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.functions.udf

class UDFTransformerExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = Seq((1, "a"), (2, "bb"), (5, null)).toDF("n", "s")
    Seq(
      StageExample("UDFTransformer-one",
        new UDFTransformer().setInputCol("n").setOutputCol("twice")
          .setUDF(udf((n: Int) => n * 2)), df),
      StageExample("UDFTransformer-two",
        new UDFTransformer().setInputCols(Array("s", "n")).setOutputCol("t")
          .setUDF(udf((s: String, n: Int) => Option(s).map(_ * n).orNull)), df))
  }
}

/** Records that Java deserialization ran its code: it must never run for a udf payload. */
class Tripwire extends Serializable {
  private def readObject(in: java.io.ObjectInputStream): Unit = { in.defaultReadObject(); Tripwire.fired = true }
}
object Tripwire { @volatile var fired = false }

/** A user's own serializable class, captured by a function. */
case class Factor(k: Int)

/**
 * Functions written outside the (serializable) suite: a lambda's payload names the class it was written in, and
 * only a class that is not serializable passes the allow-list as such a reference (it cannot be instantiated).
 */
object SuiteFunctions {
  val product = udf((a: Int, b: Double) => a * b)
  val identity = udf((a: Int) => a)
  val plusOne = udf((a: Int) => a + 1)
  def times(factor: Factor) = udf((a: Int) => a * factor.k)
  def capturing(t: Tripwire) = udf((a: Int) => if (t == null) 0 else a)
}

class UDFTransformerSuite extends SparkSuite {
  import spark.implicits._

  test("the function's output type; a saved Scala function runs after loading") {
    val df = Seq((1, 2.5), (3, 0.5)).toDF("a", "b")
    val stage = new UDFTransformer().setInputCols(Array("a", "b")).setOutputCol("p").setUDF(SuiteFunctions.product)
    assert(stage.transformSchema(df.schema)("p").dataType.simpleString == "double")
    val path = tempPath("udf")
    stage.write.save(path)
    assert(UDFTransformer.load(path).transform(df).select("p").as[Double].collect().toSeq == Seq(2.5, 1.5))
  }

  test("input columns are checked; bytes that are not a function are refused, naming the stage") {
    val df = Seq(1).toDF("a")
    val both =
      new UDFTransformer().setInputCol("a").setInputCols(Array("a")).setOutputCol("o").setUDF(SuiteFunctions.identity)
    assert(intercept[IllegalArgumentException](both.transform(df)).getMessage.contains("either inputCol or inputCols"))
    val missing = new UDFTransformer().setInputCol("z").setOutputCol("o").setUDF(SuiteFunctions.identity)
    assert(intercept[IllegalArgumentException](missing.transform(df)).getMessage.contains("column 'z' does not exist"))
    val junk = new UDFTransformer().setInputCol("a").setOutputCol("o").setUdf(Array[Byte](1, 2, 3))
    assert(intercept[IllegalArgumentException](junk.transform(df)).getMessage.contains("does not hold a function"))
  }

  private def javaBytes(o: AnyRef): Array[Byte] = {
    val bytes = new java.io.ByteArrayOutputStream()
    val out = new java.io.ObjectOutputStream(bytes)
    try out.writeObject(o)
    finally out.close()
    bytes.toByteArray
  }

  private def refusal(payload: Array[Byte]): String = {
    val stage = new UDFTransformer("udf-stage").setInputCol("a").setOutputCol("o").setUdf(payload)
    intercept[IllegalArgumentException](stage.transform(Seq(1).toDF("a"))).getMessage
  }

  test("bytes that are not a udf the project wrote are refused before anything is deserialized") {
    Tripwire.fired = false
    val junk = refusal("not a function at all".getBytes("UTF-8"))
    assert(
      junk == "udf-stage: udf does not hold a function serialized by setUDF: 21 bytes starting " +
        "6e 6f 74 20 61 20 66 75 6e 63 74 69, not the marker 'IRBISUDF'; it was not deserialized", junk)

    // Another class, bare as the code before the marker wrote payloads, or behind the marker: never read.
    val other = javaBytes(new Tripwire)
    assert(refusal(other).contains("not the marker 'IRBISUDF'; it was not deserialized"))
    val marked = "IRBISUDF".getBytes("US-ASCII") ++ Array[Byte](1) ++ other
    assert(refusal(marked) == "udf-stage: udf was refused before it was deserialized: its root object is of class " +
      "irbis.stages.Tripwire, not a function set by setUDF (irbis.stages.ScalaUDF or irbis.stages.PythonUDF)")
    // A payload class at the root whose function captured a foreign object.
    val capturing = UDFPayload.serialize(ScalaUDF(SuiteFunctions.capturing(new Tripwire)))
    assert(
      refusal(capturing).startsWith("udf-stage: udf was refused before it was deserialized: it holds an " +
        "object of class irbis.stages.Tripwire"), refusal(capturing))
    assert(!Tripwire.fired, "Java deserialization ran code of a class that is not a udf")
    assert(refusal("IRBISUDF".getBytes("US-ASCII") ++ Array[Byte](9) ++ other) == "udf-stage: udf holds a function " +
      "of format version 9; this Irbis reads version 1 (save the stage again with this Irbis)")
    val python = PythonUDF("f", Array[Byte](1), "\"string\"", 100, deterministic = true, "python3", "3.11",
      Map("K" -> "V"), List("a.zip"))
    assert(UDFPayload.deserialize(UDFPayload.serialize(python), "s").asInstanceOf[PythonUDF].envVars == Map("K" -> "V"))
  }

  test("a captured object of the user's own class needs the allow-list; payloads without the marker still load") {
    val df = Seq(1, 2).toDF("a")
    val stage =
      new UDFTransformer("udf-stage").setInputCol("a").setOutputCol("o").setUDF(SuiteFunctions.times(Factor(3)))
    val e = intercept[IllegalArgumentException](stage.transform(df)).getMessage
    assert(
      e.contains("it holds an object of class irbis.stages.Factor") && e.contains(UDFPayload.AllowedClassesProperty), e)
    sys.props(UDFPayload.AllowedClassesProperty) = "com.example., irbis.stages.Factor"
    try assert(stage.transform(df).select("o").as[Int].collect().toSeq == Seq(3, 6))
    finally sys.props -= UDFPayload.AllowedClassesProperty

    // What setUDF wrote before the marker: the bare stream, read through the same allow-list.
    val bare = new UDFTransformer().setInputCol("a").setOutputCol("o")
      .setUdf(javaBytes(ScalaUDF(SuiteFunctions.plusOne)))
    assert(bare.transform(df).select("o").as[Int].collect().toSeq == Seq(2, 3))

    // A lambda written in a serializable class (this suite) refers to it; being serializable, it needs the list.
    val here = new UDFTransformer().setInputCol("a").setOutputCol("o").setUDF(udf((a: Int) => a - 1))
    assert(intercept[IllegalArgumentException](here.transform(df)).getMessage.contains(
        s"it holds an object of class ${getClass.getName}"))
    sys.props(UDFPayload.AllowedClassesProperty) = getClass.getName
    try assert(here.transform(df).select("o").as[Int].collect().toSeq == Seq(0, 1))
    finally sys.props -= UDFPayload.AllowedClassesProperty
  }
}
