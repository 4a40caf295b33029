package irbis.core

import org.apache.spark.ml.param._
import org.json4s._
import org.json4s.jackson.JsonMethods.parse

/**
 * How the generated Python and R wrappers read and write Params: every value goes through the Param's
 * own JSON codec (the one used for persistence), so each language needs one converter per kind, and
 * payloads and nested stages move as raw objects (py4j and rJava pass `byte[]` and object references).
 */
object ParamsBridge {
  private def lookup(stage: Params, name: String): Param[Any] =
    if (stage.hasParam(name)) stage.getParam(name).asInstanceOf[Param[Any]]
    else throw new IllegalArgumentException(
      s"${stage.getClass.getSimpleName} has no parameter '$name'. Parameters: ${stage.params.map(_.name).mkString(", ")}")

  private def simple(stage: Params, name: String): Param[Any] = {
    val p = lookup(stage, name)
    if (ParamKind.isComplex(stage, p)) throw new IllegalArgumentException(
      s"${stage.getClass.getSimpleName}.$name is a ${ParamKind.of(stage, p)} parameter: use getRaw/setRaw")
    p
  }

  private def complex(stage: Params, name: String): Param[Any] = {
    val p = lookup(stage, name)
    if (!ParamKind.isComplex(stage, p)) throw new IllegalArgumentException(
      s"${stage.getClass.getSimpleName}.$name is a ${ParamKind.of(stage, p)} parameter: use getJson/setJson")
    p
  }

  /**
   * The message for a value that a Param's validator refuses: the Python and R wrappers give the same one
   * for the validators the manifest describes (irbis._runtime.validation, irbis-params.R).
   */
  def invalidValue(stage: Params, p: Param[_], shown: String): String = {
    val expected = p.isValid match {
      case c: Constraint => c.expected
      case _ => p.doc
    }
    s"${stage.getClass.getSimpleName}.${p.name}: invalid value $shown. Expected: $expected"
  }

  private def validated(stage: Params, p: Param[Any], value: Any, shown: => String): ParamPair[Any] = {
    val valid = try p.isValid(value)
    catch {
      // Validators that parse the value say what is wrong with it.
      case e: IllegalArgumentException => throw new IllegalArgumentException(
          s"${stage.getClass.getSimpleName}.${p.name}: invalid value $shown: ${e.getMessage}", e)
      // A value of another type than the Param's (a transformer where an estimator is wanted) reaches the
      // validator through the untyped bridge: it is invalid, not a crash.
      case _: ClassCastException => false
    }
    if (!valid) throw new IllegalArgumentException(invalidValue(stage, p, shown))
    p.w(value)
  }

  def kind(stage: Params, name: String): String = ParamKind.of(stage, lookup(stage, name))
  def isSet(stage: Params, name: String): Boolean = stage.isSet(lookup(stage, name))
  def hasDefault(stage: Params, name: String): Boolean = stage.hasDefault(lookup(stage, name))

  /** The value (set, else default) as the Param's JSON; null when undefined. */
  def getJson(stage: Params, name: String): String = {
    val p = simple(stage, name)
    stage.get(p).orElse(stage.getDefault(p)).map(p.jsonEncode).orNull
  }

  /** Spark's Int and Long codecs wrap out-of-range numbers silently; refuse them instead. */
  private def checkRange(stage: Params, p: Param[Any], json: String): Unit = {
    val (lo, hi) = (p: Param[_]) match {
      case _: IntParam | _: IntArrayParam | _: StringIntMapParam => (BigInt(Int.MinValue), BigInt(Int.MaxValue))
      case _: LongParam | _: LongArrayParam => (BigInt(Long.MinValue), BigInt(Long.MaxValue))
      case _ => return
    }
    def numbers(v: JValue): List[BigInt] = v match {
      case JInt(i) => List(i)
      case JArray(xs) => xs.flatMap(numbers)
      case JObject(fs) => fs.flatMap(f => numbers(f._2))
      case _ => Nil
    }
    numbers(try parse(json)
      catch { case _: Exception => JNothing }).find(i => i < lo || i > hi).foreach { i =>
      throw new IllegalArgumentException(
        s"${stage.getClass.getSimpleName}.${p.name}: $i is out of range for a ${ParamKind.of(stage, p)} ($lo to $hi)")
    }
  }

  def pair(stage: Params, name: String, json: String): ParamPair[Any] = {
    val p = simple(stage, name)
    checkRange(stage, p, json)
    val value = try p.jsonDecode(json)
    catch {
      case e: Exception => throw new IllegalArgumentException(
          s"${stage.getClass.getSimpleName}.$name: cannot read $json as a ${ParamKind.of(stage, p)}: ${e.getMessage}",
          e)
    }
    validated(stage, p, value, json)
  }

  def setJson(stage: Params, name: String, json: String): Params = {
    val pp = pair(stage, name, json)
    stage.set(pp.param, pp.value)
  }

  def getRaw(stage: Params, name: String): Any = {
    val p = complex(stage, name)
    stage.get(p).orElse(stage.getDefault(p)).orNull
  }

  def pairRaw(stage: Params, name: String, value: Any): ParamPair[Any] = {
    val p = complex(stage, name)
    val raw = (p: Param[_]) match {
      case _: StageArrayParam => StageArrayParam.coerce(value, s"${stage.getClass.getSimpleName}.$name")
      case _ => value
    }
    validated(stage, p, raw, String.valueOf(value))
  }

  def setRaw(stage: Params, name: String, value: Any): Params = {
    val pp = pairRaw(stage, name, value)
    stage.set(pp.param, pp.value)
  }

  def clear(stage: Params, name: String): Params = stage.clear(lookup(stage, name))

  /**
   * Every Param of the stage in one call, for the wrappers' transfer from the JVM: a JSON object of name ->
   * `[isSet, hasDefault, value]`, the value being the Param's JSON text (set, else default), or null when undefined
   * or complex (those move as raw values, through getRaw).
   */
  def snapshot(stage: Params): String = {
    val fields = stage.params.toList.map { p =>
      val param = p.asInstanceOf[Param[Any]]
      val value =
        if (ParamKind.isComplex(stage, param)) JNull
        else stage.get(param).orElse(stage.getDefault(param)).map(v => JString(param.jsonEncode(v))).getOrElse(JNull)
      p.name -> JArray(List(JBool(stage.isSet(param)), JBool(stage.hasDefault(param)), value))
    }
    org.json4s.jackson.JsonMethods.compact(JObject(fields))
  }

  /**
   * Sets the simple Params of `setJson` and makes those of `defaultsJson` the defaults, in one call (the wrappers'
   * transfer to the JVM): both are JSON objects of name -> the Param's JSON text, and each value goes through the
   * Param's codec and validator as `setJson` does. Values are set before defaults, as pyspark does.
   */
  def setAll(stage: Params, setJson: String, defaultsJson: String): Params = {
    def pairs(json: String): List[ParamPair[Any]] = parse(json) match {
      case JObject(fields) => fields.map {
          case (name, JString(text)) => pair(stage, name, text)
          case (name, other) => throw new IllegalArgumentException(
              s"${stage.getClass.getSimpleName}.$name: $other. Expected: the Param's JSON as a string")
        }
      case other => throw new IllegalArgumentException(s"$other. Expected: a JSON object of name -> JSON text")
    }
    pairs(setJson).foreach(pp => stage.set(pp.param, pp.value))
    val defaults = pairs(defaultsJson)
    // Params.setDefault is protected in Scala (public in bytecode, as pyspark calls it through py4j).
    if (defaults.nonEmpty) setDefaultMethod.invoke(stage, defaults)
    stage
  }

  private lazy val setDefaultMethod =
    classOf[Params].getMethod("setDefault", classOf[scala.collection.immutable.Seq[_]])
}
