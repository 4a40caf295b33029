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
    "The function, serialized: set it with setUDF (a Scala UserDefinedFunction, or a pyspark UDF from Python). " +
      "Bytes that setUDF did not write are refused before they are deserialized; a Scala function that captured " +
      "an object of the user's own serializable class loads only if the JVM system property " +
      "irbis.udf.allowedClasses names that class (or its package, ending in '.').")
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
      case _ =>
        throw new IllegalArgumentException(s"$uid: set inputCol (or inputCols) to the function's input column(s)")
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
      .getOrElse(
        throw new IllegalStateException(s"$stage: this Spark has no SimplePythonFunction(byte[], ...) constructor"))
      .newInstance(command, new java.util.HashMap[String, String](envVars.asJava),
        new java.util.ArrayList[String](pythonIncludes.asJava), exec, pythonVer,
        new java.util.ArrayList[AnyRef](), accumulator).asInstanceOf[AnyRef]
    val udfClass = Class.forName("org.apache.spark.sql.execution.python.UserDefinedPythonFunction")
    val pythonUdf = udfClass.getConstructors.head.newInstance(name, function, DataType.fromJson(returnTypeJson),
      Int.box(evalType), Boolean.box(deterministic)).asInstanceOf[AnyRef]
    udfClass.getMethod("apply", classOf[Seq[_]]).invoke(pythonUdf, args).asInstanceOf[Column]
  }
}

/**
 * The bytes of `udf`: the marker `IRBISUDF`, a format version, then a Java-serialized [[UDFPayload]]. Java
 * deserialization runs code of whatever classes the bytes name, so nothing is deserialized before the marker is
 * checked, and the stream is read through an allow-list ([[UDFPayload.Filter]]): the two payload classes at
 * its root, then only classes that a Spark UDF is made of. Payloads saved before the marker existed (a bare
 * stream whose root object is a ScalaUDF or PythonUDF) are read through the same filter.
 */
object UDFPayload {
  private val Marker = "IRBISUDF".getBytes("US-ASCII")
  private val Version: Byte = 1
  private val Roots: Set[String] = Set(classOf[ScalaUDF].getName, classOf[PythonUDF].getName)

  /** Classes or packages (ending in '.') that a user's functions capture, added to the allow-list. */
  val AllowedClassesProperty = "irbis.udf.allowedClasses"

  def serialize(p: UDFPayload): Array[Byte] = {
    val bytes = new ByteArrayOutputStream()
    bytes.write(Marker)
    bytes.write(Version)
    val out = new ObjectOutputStream(bytes)
    try out.writeObject(p)
    finally out.close()
    bytes.toByteArray
  }

  private def startsWith(bytes: Array[Byte], prefix: Array[Byte], at: Int = 0): Boolean =
    bytes.length >= at + prefix.length && prefix.indices.forall(i => bytes(at + i) == prefix(i))

  /**
   * A bare stream as the code before the marker wrote it: the stream header, then an object (TC_OBJECT) of a
   * new class descriptor (TC_CLASSDESC) named ScalaUDF or PythonUDF.
   */
  private def isUnmarkedPayload(bytes: Array[Byte]): Boolean = Roots.exists { root =>
    val name = root.getBytes("UTF-8")
    val head = Array[Byte](0xac.toByte, 0xed.toByte, 0, 5, 0x73, 0x72, (name.length >> 8).toByte, name.length.toByte)
    startsWith(bytes, head) && startsWith(bytes, name, head.length)
  }

  private def describe(bytes: Array[Byte]): String =
    s"${bytes.length} bytes starting ${bytes.take(12).map(b => f"${b & 0xff}%02x").mkString(" ")}"

  def deserialize(bytes: Array[Byte], stage: String): UDFPayload = {
    val stream = if (startsWith(bytes, Marker)) {
      val version = if (bytes.length > Marker.length) bytes(Marker.length).toInt else -1
      if (version != Version) throw new IllegalArgumentException(s"$stage: udf holds a function of format version " +
        s"$version; this Irbis reads version $Version (save the stage again with this Irbis)")
      new ByteArrayInputStream(bytes, Marker.length + 1, bytes.length - Marker.length - 1)
    } else if (isUnmarkedPayload(bytes)) new ByteArrayInputStream(bytes)
    else throw new IllegalArgumentException(s"$stage: udf does not hold a function serialized by setUDF: " +
      s"${describe(bytes)}, not the marker 'IRBISUDF'; it was not deserialized")
    val filter = new Filter(stage, bytes.length)
    // Classes of user closures come from the application's jars: resolve them with the context class loader.
    def open() = new ObjectInputStream(stream) {
      setObjectInputFilter(filter)
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
        }
      finally in.close()
    } catch {
      case e: InvalidClassException if filter.refusal.isDefined =>
        throw new IllegalArgumentException(filter.refusal.get, e)
      case e: ClassNotFoundException => throw new IllegalArgumentException(
          s"$stage: the saved function needs class ${e.getMessage}, which is not on the classpath (add the jar that defines it)",
          e)
      case e: IOException => throw new IllegalArgumentException(
          s"$stage: udf does not hold a function serialized by setUDF (${e.getMessage})", e)
    }
  }

  /**
   * The allow-list. The root object must be a payload class. Below it: Scala's library (functions, options,
   * collections), the Spark SQL classes a UserDefinedFunction holds (encoders, expressions, types), boxed
   * primitives, strings, and lambdas. Classes that are not Serializable can only appear as Class references (Java
   * refuses to instantiate them), so the class a lambda was written in passes if it is not serializable itself (a
   * Class reference and an instance cannot be told apart here). Anything else, such as an object of the user's
   * own class captured by a closure, must be named in the system property `irbis.udf.allowedClasses` (class
   * names, which bring their superclasses, or packages ending in '.'). Sizes are bounded by the payload's length,
   * so no array is allocated larger than the bytes could fill.
   */
  private[stages] final class Filter(stage: String, length: Int) extends ObjectInputFilter {
    @volatile var refusal: Option[String] = None
    private val extra: Seq[String] =
      sys.props.get(AllowedClassesProperty).toSeq.flatMap(_.split(",")).map(_.trim).filter(_.nonEmpty)

    // A class named there brings its superclasses: the stream describes them as parts of it.
    private lazy val extraClasses: Seq[Class[_]] = extra.filterNot(_.endsWith(".")).flatMap { name =>
      try Some(Class.forName(name, false, Thread.currentThread().getContextClassLoader))
      catch { case _: ClassNotFoundException => None }
    }

    private def named(c: Class[_]): Boolean = {
      val n = c.getName
      UDFPayload.Allowed.contains(n) || UDFPayload.AllowedPackages.exists(n.startsWith) ||
      extra.exists(e => e.endsWith(".") && n.startsWith(e)) || extraClasses.exists(c.isAssignableFrom)
    }

    private def allowed(c: Class[_]): Boolean =
      if (c.isArray) c.getComponentType.isPrimitive || allowed(c.getComponentType)
      else if (java.lang.reflect.Proxy.isProxyClass(c)) false
      // A lambda's class is hidden: no stream can name it; it is what an allowed SerializedLambda resolved to.
      else if (c.isHidden) true
      else !classOf[Serializable].isAssignableFrom(c) || named(c)

    private def refuse(why: String): ObjectInputFilter.Status = {
      if (refusal.isEmpty) refusal = Some(s"$stage: udf was refused before it was deserialized: $why")
      ObjectInputFilter.Status.REJECTED
    }

    override def checkInput(info: ObjectInputFilter.FilterInfo): ObjectInputFilter.Status = {
      val c = info.serialClass
      if (info.arrayLength > length) refuse(s"it declares an array of ${info.arrayLength} elements in ${length} bytes")
      else if (info.depth > MaxDepth) refuse(s"its objects nest deeper than $MaxDepth levels")
      else if (info.references > length) refuse(s"it holds more references than bytes")
      else if (c == null) ObjectInputFilter.Status.UNDECIDED
      else if (info.depth == 1 && !Roots.contains(c.getName))
        refuse(s"its root object is of class ${c.getName}, not a function set by setUDF (${Roots.mkString(" or ")})")
      else if (!allowed(c)) refuse(s"it holds an object of class ${c.getName}, which a function set by setUDF " +
        s"does not hold unless the function captured it. If it did and you trust this stage, add the class (or its " +
        s"package, ending in '.') to the system property $AllowedClassesProperty")
      else ObjectInputFilter.Status.ALLOWED
    }
  }

  private val MaxDepth = 1000
  private val AllowedPackages: Seq[String] = Seq("scala.", "org.apache.spark.sql.", "org.apache.spark.unsafe.types.")
  private val Allowed: Set[String] = Roots ++ Seq(classOf[java.lang.invoke.SerializedLambda], classOf[String],
    classOf[java.lang.Boolean], classOf[java.lang.Byte], classOf[java.lang.Short], classOf[java.lang.Character],
    classOf[java.lang.Integer], classOf[java.lang.Long], classOf[java.lang.Float], classOf[java.lang.Double],
    classOf[java.lang.Number], classOf[java.lang.Enum[_]], classOf[java.math.BigInteger],
    classOf[java.math.BigDecimal]).map(_.getName)
}
