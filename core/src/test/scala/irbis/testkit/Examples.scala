package irbis.testkit

import java.util.ServiceLoader

import scala.collection.concurrent.TrieMap
import scala.jdk.CollectionConverters._

import irbis.core.{ParamKind, ParamsBridge}
import org.apache.spark.ml.{Estimator, PipelineStage, Transformer}
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/** Entry points for the Scala, Python and R generic suites. */
object Examples {
  def sources(): Seq[ExampleSource] =
    ServiceLoader.load(classOf[ExampleSource], Thread.currentThread().getContextClassLoader)
      .asScala.toSeq.sortBy(_.getClass.getName)

  private val built = TrieMap.empty[(SparkSession, String), Seq[StageExample]]

  /**
   * A source's examples, built once per session: building some fits models (the explainers' examples explain a
   * fitted model), and the Scala suites ask for them more than once (AllExamplesSuite, RegistrySuite).
   */
  def of(source: ExampleSource, spark: SparkSession): Seq[StageExample] =
    built.getOrElseUpdate((spark, source.getClass.getName), source.examples(spark))

  def allSeq(spark: SparkSession): Seq[StageExample] = {
    val all = sources().flatMap(of(_, spark)).sortBy(_.name)
    val dup = all.groupBy(_.name).collect { case (n, xs) if xs.size > 1 => n }
    require(dup.isEmpty, s"Example names must be unique; repeated: ${dup.mkString(", ")}")
    all
  }

  def all(spark: SparkSession): java.util.List[StageExample] = allSeq(spark).asJava

  /** The params explicitly set on a stage, non-complex ones, as a JSON object of their JSON values. */
  def setParamsJson(stage: PipelineStage): String = compact(render(JObject(
        stage.params.filter(p => stage.isSet(p) && !ParamKind.isComplex(stage, p)).sortBy(_.name).map { p =>
          JField(p.name, parse(ParamsBridge.getJson(stage, p.name)))
        }.toList)))

  def complexParamNames(stage: PipelineStage): java.util.List[String] =
    stage.params.filter(p => stage.isSet(p) && ParamKind.isComplex(stage, p)).map(_.name).sorted.toSeq.asJava

  /** What Scala itself produces for the example (computed on first use, then the same rows). */
  def expected(example: StageExample): DataFrame = example.expected

  def run(stage: PipelineStage, input: DataFrame): DataFrame = stage match {
    case e: Estimator[_] => e.fit(input).asInstanceOf[Transformer].transform(input)
    case t: Transformer => t.transform(input)
  }
}
