package irbis.stages

import java.io._

import scala.jdk.CollectionConverters._

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset, Row, SparkSession}
import org.apache.spark.sql.expressions.UserDefinedFunction
import org.apache.spark.sql.types.{DataType, StructType}
import org.apache.spark.util.CollectionAccumulator

class UDFTransformer(override val uid: String) extends Transformer with IrbisStage with HasOutputCol {
  def this() = this(Identifiable.randomUID("UDFTransformer"))

  override def stageDoc: String =
    "Adds a column computed by a user-defined function of one column (`inputCol`) or several (`inputCols`, " +
      "the function's arguments in order). The function is a Scala UserDefinedFunction (setUDF in Scala) or a " +
      "pyspark UDF (setUDF in Python), held serialized in `udf` and saved with the stage. A Scala function " +
      "loads where its classes are on the classpath; a Python function is cloudpickled, so it loads in the " +
      "same Python version (pythonVer is checked) with the modules it uses importable, and runs with the " +
      "Python executable of spark.pyspark.python, else of PYSPARK_PYTHON, else the one it was set with. " +
      "Python accumulators updated inside a Python UDF are not sent back to the driver."

  final val inputCol = new StringParam(this, "inputCol", "The input column of a one-argument function.")
  def getInputCol: String = $(inputCol)
  def setInputCol(value: String): this.type = set(inputCol, value)

  final val inputCols = new StringArrayParam(this, "inputCols",
    "The input columns, one per argument of the function (instead of inputCol).")
  def getInputCols: Array[String] = $(inputCols)
  def setInputCols(value: Array[String]): this.type = set(inputCols, value)

  final val udf = new BytesParam(this, "udf",
    "The function, serialized: set it with setUDF (a Scala UserDefinedFunction, or a pyspark UDF from Python).")
  def getUdf: Array[Byte] = $(udf)
  def setUdf(value: Array[Byte]): this.type = set(udf, value)

  def setUDF(f: UserDefinedFunction): this.type = setUdf(UDFPayload.serialize(ScalaUDF(f)))

  /** The function held in `udf`. */
  def getUDF: UDFPayload = {
    require(isDefined(udf), s"$uid: no function: set udf (setUDF)")
    UDFPayload.deserialize(getUdf, uid)
  }

  private def inputs(schema: StructType): Seq[String] = {
    val names = (isDefined(inputCol), isDefined(inputCols)) match {
      case (true, false) => Seq(getInputCol)
      case (false, true) => getInputCols.toSeq
      case (true, true) => throw new IllegalArgumentException(s"$uid: set either inputCol or inputCols, not both")
      case _ => throw new IllegalArgumentException(s"$uid: set inputCol (or inputCols) to the function's input column(s)")
    }
    names.foreach(Columns.require(schema, uid, _))
    names
  }

  private def applied(df: DataFrame): DataFrame = {
    val args = inputs(df.schema).map(ColumnRef(_))
    Columns.requireAbsent(df.schema, uid, getOutputCol)
    val column = getUDF match {
      case ScalaUDF(f) => f(args: _*)
      case p: PythonUDF => p.column(df.sparkSession, args, uid)
    }
    df.withColumn(getOutputCol, column)
  }

  override def transformSchema(schema: StructType): StructType = {
    // The output type is the function's: Spark's analyzer says it, on an empty frame of the same schema.
    val spark = SparkSession.active
    applied(spark.createDataFrame(java.util.Collections.emptyList[Row](), schema)).schema
  }

  override def transform(dataset: Dataset[_]): DataFrame = applied(dataset.toDF())

  override def copy(extra: ParamMap): UDFTransformer = defaultCopy(extra)
}

object UDFTransformer extends IrbisReadable[UDFTransformer] {
  /** The `udf` bytes of a pyspark UDF (irbis' Python wrapper calls this with the UDF's pickled parts). */
  def pythonPayload(name: String, command: Array[Byte], returnTypeJson: String, evalType: Int, deterministic: Boolean,
                    pythonExec: String, pythonVer: String, envVars: java.util.Map[String, String],
                    pythonIncludes: java.util.List[String]): Array[Byte] =
    UDFPayload.serialize(PythonUDF(name, command, returnTypeJson, evalType, deterministic, pythonExec, pythonVer,
      envVars.asScala.toMap, pythonIncludes.asScala.toList))

  /** The Python parts of a `udf` payload, or null for a Scala function (for irbis' Python wrapper). */
  def pythonParts(payload: Array[Byte]): java.util.Map[String, Any] = UDFPayload.deserialize(payload, "udf") match {
    case p: PythonUDF => Map[String, Any]("name" -> p.name, "command" -> p.command, "returnType" -> p.returnTypeJson,
      "evalType" -> p.evalType, "deterministic" -> p.deterministic, "pythonVer" -> p.pythonVer).asJava
    case _ => null
  }
}

/** What `udf` holds: a Scala function or the parts of a pyspark UDF. */
sealed trait UDFPayload extends Serializable

final case class ScalaUDF(f: UserDefinedFunction) extends UDFPayload

/** A pyspark UDF: the cloudpickled `(function, returnType)` that Python workers run, and how to run it. */
final case class PythonUDF(name: String, command: Array[Byte], returnTypeJson: String, evalType: Int,
                           deterministic: Boolean, pythonExec: String, pythonVer: String,
                           envVars: Map[String, String], pythonIncludes: List[String]) extends UDFPayload {
  // Spark's Python UDF classes are internal (built by pyspark through py4j); they are reached by name here.
  def column(spark: SparkSession, args: Seq[Column], stage: String): Column = {
    // pyspark's own order (the conf, then the environment), with the saving process's executable last
    val exec = spark.conf.getOption("spark.pyspark.python").orElse(sys.env.get("PYSPARK_PYTHON")).getOrElse(pythonExec)
    // A fresh accumulator: pyspark's own is tied to the Python driver process that made the UDF.
    val accumulator = new CollectionAccumulator[Array[Byte]]
    spark.sparkContext.register(accumulator, s"$stage python accumulator")
    // The auxiliary constructor that pyspark calls takes the command as byte[].
    val function = Class.forName("org.apache.spark.api.python.SimplePythonFunction").getConstructors
      .find(_.getParameterTypes.headOption.contains(classOf[Array[Byte]]))
      .getOrElse(throw new IllegalStateException(s"$stage: this Spark has no SimplePythonFunction(byte[], ...) constructor"))
      .newInstance(command, new java.util.HashMap[String, String](envVars.asJava),
      new java.util.ArrayList[String](pythonIncludes.asJava), exec, pythonVer,
      new java.util.ArrayList[AnyRef](), accumulator).asInstanceOf[AnyRef]
    val udfClass = Class.forName("org.apache.spark.sql.execution.python.UserDefinedPythonFunction")
    val pythonUdf = udfClass.getConstructors.head.newInstance(name, function, DataType.fromJson(returnTypeJson),
      Int.box(evalType), Boolean.box(deterministic)).asInstanceOf[AnyRef]
    udfClass.getMethod("apply", classOf[Seq[_]]).invoke(pythonUdf, args).asInstanceOf[Column]
  }
}

object UDFPayload {
  def serialize(p: UDFPayload): Array[Byte] = {
    val bytes = new ByteArrayOutputStream()
    val out = new ObjectOutputStream(bytes)
    try out.writeObject(p) finally out.close()
    bytes.toByteArray
  }

  def deserialize(bytes: Array[Byte], stage: String): UDFPayload = {
    // Classes of user closures come from the application's jars: resolve them with the context class loader.
    def open() = new ObjectInputStream(new ByteArrayInputStream(bytes)) {
      override def resolveClass(desc: ObjectStreamClass): Class[_] =
        try Class.forName(desc.getName, false, Thread.currentThread().getContextClassLoader)
        catch { case _: ClassNotFoundException => super.resolveClass(desc) }
    }
    try {
      val in = open()
      try in.readObject() match {
        case p: UDFPayload => p
        case other => throw new IllegalArgumentException(
          s"$stage: udf holds a ${other.getClass.getName}, not a function set by setUDF")
      } finally in.close()
    } catch {
      case e: ClassNotFoundException => throw new IllegalArgumentException(
        s"$stage: the saved function needs class ${e.getMessage}, which is not on the classpath (add the jar that defines it)", e)
      case e: IOException => throw new IllegalArgumentException(
        s"$stage: udf does not hold a function serialized by setUDF (${e.getMessage})", e)
    }
  }
}
