package irbis.core.codegen

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Paths}
import java.util.ServiceLoader

import scala.jdk.CollectionConverters._

import irbis.core.{IrbisStage, ParamKind, Version}
import org.apache.spark.SPARK_VERSION
import org.apache.spark.ml.{Estimator, Model, PipelineStage, Transformer}
import org.apache.spark.sql.Dataset
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, pretty, render}

/**
 * The description of every registered stage and its Params that the wrapper generator reads. Stages are
 * found through Spark's ServiceLoader registry (META-INF/services/org.apache.spark.ml.{Transformer,Estimator}).
 */
object Manifest {

  /** Registered stage classes whose names start with `include` and not with `exclude` (if non-empty). */
  def stageClasses(include: String, exclude: String): Seq[Class[_ <: PipelineStage]] = {
    val loader = Thread.currentThread().getContextClassLoader
    def registered[T](base: Class[T]): Seq[Class[_ <: T]] =
      ServiceLoader.load(base, loader).stream().iterator().asScala.map(_.`type`()).toSeq
    (registered(classOf[Transformer]) ++ registered(classOf[Estimator[_]]))
      .map(_.asInstanceOf[Class[_ <: PipelineStage]])
      .filter(c => c.getName.startsWith(include) && (exclude.isEmpty || !c.getName.startsWith(exclude)))
      .distinct.sortBy(_.getName)
  }

  def instantiate(c: Class[_ <: PipelineStage]): PipelineStage =
    try c.getConstructor().newInstance()
    catch {
      case e: ReflectiveOperationException => throw new IllegalStateException(
          s"${c.getName} needs a public no-arg constructor (Spark's ServiceLoader registry and code generation use it)",
          e)
    }

  def stageType(c: Class[_]): String =
    if (classOf[Model[_]].isAssignableFrom(c)) "model"
    else if (classOf[Estimator[_]].isAssignableFrom(c)) "estimator"
    else "transformer"

  /** The most specific return type of `fit(Dataset)`: the Model class an Estimator produces. */
  def modelClass(c: Class[_]): Option[Class[_]] =
    if (stageType(c) != "estimator") None
    else c.getMethods.filter(m => m.getName == "fit" && m.getParameterTypes.sameElements(Array(classOf[Dataset[_]])))
      .map(_.getReturnType).sortWith((a, b) => b.isAssignableFrom(a) && a != b).headOption

  def describe(c: Class[_ <: PipelineStage]): JObject = {
    val stage = instantiate(c)
    val twin = instantiate(c)
    val doc = stage match {
      case s: IrbisStage => s.stageDoc
      case _ => throw new IllegalStateException(s"${c.getName} is registered but does not mix in irbis.core.IrbisStage")
    }
    val params = stage.params.sortBy(_.name).map { p0 =>
      val p = p0.asInstanceOf[org.apache.spark.ml.param.Param[Any]]
      val kind = ParamKind.of(stage, p)
      val complex = ParamKind.Complex.contains(kind)
      val default = stage.getDefault(p)
      if (complex && default.isDefined) throw new IllegalStateException(
        s"${c.getName}.${p.name}: a $kind parameter cannot have a default (it is saved beside the metadata)")
      val json = default.map(v => parse(p.jsonEncode(v)))
      val twinJson = twin.getDefault(twin.getParam(p.name).asInstanceOf[org.apache.spark.ml.param.Param[Any]])
        .map(v => parse(twin.getParam(p.name).asInstanceOf[org.apache.spark.ml.param.Param[Any]].jsonEncode(v)))
      if (json != twinJson) throw new IllegalStateException(
        s"${c.getName}.${p.name}: the default differs between instances (does it depend on the uid?); " +
          "wrappers need a fixed default")
      JObject(List(
        "name" -> JString(p.name),
        "doc" -> JString(p.doc),
        "kind" -> JString(kind),
        "complex" -> JBool(complex),
        "hasDefault" -> JBool(default.isDefined),
        "default" -> json.getOrElse(JNull)) ++
        ParamKind.options(p).map(o => "options" -> JArray(o.map(JString(_)).toList)).toList ++
        ParamKind.validation(p).map("validation" -> _).toList)
    }
    JObject(
      "className" -> JString(c.getName),
      "package" -> JString(c.getPackage.getName),
      "name" -> JString(c.getSimpleName),
      "type" -> JString(stageType(c)),
      "modelClassName" -> modelClass(c).map(m => JString(m.getName)).getOrElse(JNull),
      "doc" -> JString(doc),
      "params" -> JArray(params.toList))
  }

  def build(include: String, exclude: String): JObject = JObject(
    "irbisVersion" -> JString(Version.value),
    "sparkVersion" -> JString(SPARK_VERSION),
    "scalaVersion" -> JString(scala.util.Properties.versionNumberString),
    "stages" -> JArray(stageClasses(include, exclude).map(describe).toList))

  def json(include: String, exclude: String): String = pretty(render(build(include, exclude)))

  def write(path: String, include: String, exclude: String): Unit =
    Files.write(Paths.get(path), (json(include, exclude) + "\n").getBytes(StandardCharsets.UTF_8))

  def compactJson(include: String, exclude: String): String = compact(render(build(include, exclude)))
}
