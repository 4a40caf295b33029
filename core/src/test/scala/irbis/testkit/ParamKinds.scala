package irbis.testkit

import irbis.core._
import org.apache.spark.ml.{PipelineStage, Transformer}
import org.apache.spark.ml.linalg.Vectors
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, SparkSession}
import org.apache.spark.sql.functions.lit
import org.apache.spark.sql.types.{StringType, StructType}
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/**
 * A test-only stage with one Param of every kind the wrappers support. Its output column `params` is the
 * JSON of every non-complex value the JVM holds (plus sizes of complex ones), so each language can check
 * what arrived.
 */
class ParamKinds(override val uid: String) extends Transformer with IrbisStage {
  def this() = this(Identifiable.randomUID("ParamKinds"))

  override def stageDoc: String = "Test-only: one Param of every kind; reports what the JVM received."

  final val aBoolean = new BooleanParam(this, "aBoolean", "boolean")
  final val anInt = new IntParam(this, "anInt", "int")
  final val aLong = new LongParam(this, "aLong", "long")
  final val aFloat = new FloatParam(this, "aFloat", "float")
  final val aDouble = new DoubleParam(this, "aDouble", "double")
  final val aString = new StringParam(this, "aString", "string")
  final val anEnum = new EnumParam(this, "anEnum", "enumerated string", Seq("red", "green", "blue"))
  final val booleans = new BooleanArrayParam(this, "booleans", "boolean[]")
  final val ints = new IntArrayParam(this, "ints", "int[]")
  final val longs = new LongArrayParam(this, "longs", "long[]")
  final val floats = new FloatArrayParam(this, "floats", "float[]")
  final val doubles = new DoubleArrayParam(this, "doubles", "double[]")
  final val strings = new StringArrayParam(this, "strings", "string[]")
  final val matrix = new DoubleArrayArrayParam(this, "matrix", "double[][]")
  final val stringMap = new StringStringMapParam(this, "stringMap", "map<string,string>")
  final val intMap = new StringIntMapParam(this, "intMap", "map<string,int>")
  final val doubleMap = new StringDoubleMapParam(this, "doubleMap", "map<string,double>")
  final val vector = new VectorParam(this, "vector", "vector")
  final val payload = new BytesParam(this, "payload", "bytes")
  final val inner = new StageParam[PipelineStage](this, "inner", "stage")
  final val innerStages = new StageArrayParam(this, "innerStages", "stage[]")
  final val positive = new IntParam(this, "positive", "an int that must be > 0", irbis.core.Validators.gt(0))

  setDefault(aBoolean -> true, anInt -> -7, aLong -> (1L << 40), aFloat -> 1.5f, aDouble -> Double.NaN,
    aString -> "snow leopard", anEnum -> "green", booleans -> Array(true, false), ints -> Array(1, -2),
    longs -> Array(Long.MaxValue), floats -> Array(0.25f), doubles -> Array(Double.NegativeInfinity, 0.1),
    strings -> Array("a", "é"), matrix -> Array(Array(1.0, 2.0), Array()), stringMap -> Map("k" -> "v"),
    intMap -> Map("x" -> 3), doubleMap -> Map("y" -> Double.PositiveInfinity),
    vector -> Vectors.sparse(4, Array(1, 3), Array(0.5, -1.0)), positive -> 1)

  def report: String = {
    val simple = params.filter(p => isDefined(p) && !ParamKind.isComplex(this, p)).sortBy(_.name)
      .map(p => JField(p.name, parse(ParamsBridge.getJson(this, p.name))))
    val bytes = get(payload).map(b => JField("payload.length", JInt(b.length))).toList
    val stage = get(inner).map(s => JField("inner.class", JString(s.getClass.getName))).toList
    val stages = get(innerStages).map(a =>
      JField("innerStages.classes",
        JArray(a.toList.map(s => JString(s.getClass.getName))))).toList
    compact(render(JObject(simple.toList ++ bytes ++ stage ++ stages)))
  }

  override def transformSchema(schema: StructType): StructType = schema.add("params", StringType, nullable = false)
  override def transform(dataset: Dataset[_]): DataFrame = dataset.withColumn("params", lit(report))
  override def copy(extra: ParamMap): ParamKinds = defaultCopy(extra)
}

object ParamKinds extends IrbisReadable[ParamKinds]

class ParamKindsExamples extends ExampleSource {
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val stage = new ParamKinds()
    stage.set(stage.aString, "set from Scala").set(stage.ints, Array(5, 6, 7))
      .set(stage.intMap, Map("a" -> 1, "b" -> 2)).set(stage.payload, Array[Byte](0, 1, 2, -1))
      .set(stage.inner, new irbis.stages.SelectColumns().setCols(Array("id")))
      .set(stage.innerStages,
        Array[PipelineStage](new irbis.stages.SelectColumns().setCols(Array("id")),
          new org.apache.spark.ml.feature.SQLTransformer().setStatement("SELECT * FROM __THIS__")))
      .set(stage.vector, Vectors.dense(1.0, Double.NaN))
    Seq(StageExample("ParamKinds", stage, Seq(1, 2).toDF("id")))
  }
}
