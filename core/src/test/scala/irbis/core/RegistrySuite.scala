package irbis.core

import java.io.File
import java.lang.reflect.Modifier
import java.nio.file.{Files, Paths}

import scala.jdk.CollectionConverters._

import irbis.core.codegen.Manifest
import irbis.testkit.{Examples, SparkSuite}
import org.apache.spark.ml.{PipelineStage, Transformer}
import org.apache.spark.ml.param.{Param, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType
import org.json4s._
import org.json4s.jackson.JsonMethods.parse

class RegistrySuite extends SparkSuite {

  /** Concrete public stage classes found by walking the compiled main classes, independently of the build. */
  private def compiledStages(): Seq[String] = {
    val root = Paths.get(classOf[IrbisStage].getProtectionDomain.getCodeSource.getLocation.toURI)
    val files = if (Files.isDirectory(root)) Files.walk(root).iterator().asScala.map(root.relativize(_).toString).toSeq
    else new java.util.zip.ZipFile(root.toFile).entries().asScala.map(_.getName).toSeq
    files.filter(n => n.endsWith(".class") && !n.contains("$"))
      .map(_.stripSuffix(".class").replace(File.separatorChar, '.').replace('/', '.'))
      .filter(_.startsWith("irbis."))
      .map(n => Class.forName(n, false, getClass.getClassLoader))
      .filter(c =>
        classOf[PipelineStage].isAssignableFrom(c) && Modifier.isPublic(c.getModifiers) &&
          !Modifier.isAbstract(c.getModifiers) && !c.isInterface)
      .map(_.getName).sorted
  }

  private lazy val registered = Manifest.stageClasses("irbis.", "irbis.testkit.").map(_.getName)

  test("every concrete stage is registered in Spark's ServiceLoader files") {
    val missing = compiledStages().diff(registered)
    assert(missing.isEmpty, s"not registered: ${missing.mkString(", ")}")
    assert(registered.contains("irbis.stages.EnsembleByKey"))
  }

  test("every registered stage follows the conventions: constructors, companion reader, IrbisStage, docs") {
    Manifest.stageClasses("irbis.", "").foreach { c =>
      val stage = Manifest.instantiate(c)
      assert(stage.isInstanceOf[IrbisStage], s"${c.getName} must mix in IrbisStage")
      assert(stage.asInstanceOf[IrbisStage].stageDoc.length > 20, s"${c.getName} needs a stageDoc")
      c.getConstructor(classOf[String])
      assert(c.getMethod("read").invoke(null).isInstanceOf[org.apache.spark.ml.util.MLReader[_]],
        s"${c.getName}: companion read")
      stage.params.foreach(p => assert(p.doc.nonEmpty, s"${c.getName}.${p.name} needs a doc"))
    }
  }

  test("every registered stage has at least one example, and examples only name registered stages") {
    val covered = Examples.allSeq(spark).map(_.stage.getClass.getName).toSet
    val all = Manifest.stageClasses("irbis.", "").map(_.getName).toSet
    val lacking = all.diff(covered)
    assert(lacking.isEmpty, s"stages without an example: ${lacking.mkString(", ")}")
  }

  test("the manifest describes every stage with known kinds, deterministically") {
    val json = Manifest.json("irbis.", "irbis.testkit.")
    assert(json == Manifest.json("irbis.", "irbis.testkit."))
    implicit val formats: Formats = DefaultFormats
    val stages = (parse(json) \ "stages").extract[List[JObject]]
    assert(stages.map(s => (s \ "className").extract[String]) == registered)
    val cmd = stages.find(s => (s \ "name").extract[String] == "CleanMissingData").get
    assert((cmd \ "type").extract[String] == "estimator")
    assert((cmd \ "modelClassName").extract[String] == "irbis.stages.CleanMissingDataModel")
    val kinds = (parse(Manifest.json("irbis.testkit.", "")) \\ "kind").children.map(_.extract[String]).toSet
    assert(kinds == ParamKind.All.toSet, "ParamKinds must cover every kind")
  }

  test("a Param of an unknown type fails the manifest with a message naming the stage and the Param") {
    val e = intercept[UnknownParamKindException](Manifest.describe(classOf[RegistrySuite.DateParamStage]))
    assert(e.getMessage.contains("irbis.core.RegistrySuite$DateParamStage"), e.getMessage)
    assert(e.getMessage.contains("'when'"), e.getMessage)
  }
}

object RegistrySuite {

  /** Holds a Param kind the wrappers cannot convert. Nested, so the build's registry scan leaves it out. */
  class DateParamStage(override val uid: String) extends Transformer with IrbisStage {
    def this() = this(Identifiable.randomUID("DateParamStage"))
    override def stageDoc: String = "Test-only: a Param of a type the wrappers do not know."
    final val when = new Param[java.util.Date](this, "when", "a date")
    def getWhen: java.util.Date = $(when)
    override def transformSchema(schema: StructType): StructType = schema
    override def transform(dataset: Dataset[_]): DataFrame = dataset.toDF()
    override def copy(extra: ParamMap): DateParamStage = defaultCopy(extra)
  }
}
