package irbis.testkit

import org.apache.spark.ml.{Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.ml.feature.SQLTransformer
import org.apache.spark.ml.util.{MLReader, MLWritable}

/**
 * The generic checks every stage gets from its examples, for every registered [[ExampleSource]] (so a new
 * stage needs only its examples): it runs, and a save/load round trip (alone and inside a Spark Pipeline,
 * before and after fitting) gives identical output. Stage-specific suites extend [[SparkSuite]] and test
 * only what is particular to their stage.
 */
class AllExamplesSuite extends SparkSuite {
  test("example sources are registered in the test jar's ServiceLoader file") {
    assert(Examples.sources().map(_.getClass.getName).contains("irbis.stages.EnsembleByKeyExamples"))
  }

  // One test per source, named after it; sources are found without Spark, examples are built per test.
  Examples.sources().foreach { source =>
    test(s"${source.getClass.getName}: transform, save/load and Pipeline round trips give identical output") {
      val examples = Examples.of(source, spark)
      assert(examples.nonEmpty, s"${source.getClass.getName} declares no examples")
      examples.foreach(checkRoundTrips)
    }
  }

  private def reload(stage: PipelineStage): PipelineStage = {
    val path = tempPath(stage.uid)
    stage.asInstanceOf[MLWritable].write.save(path)
    val companion = Class.forName(stage.getClass.getName).getMethod("read").invoke(null)
    companion.asInstanceOf[MLReader[PipelineStage]].load(path)
  }

  private def checkRoundTrips(ex: StageExample): Unit = {
    val expected = Examples.expected(ex)
    assert(expected.collect() != null)
    // The stage's own reader gives back the same class, uid and params; what it computes is checked below, where
    // Pipeline.load reads the stage with that same reader and the loaded Pipeline is fitted and run.
    val reloaded = reload(ex.stage)
    assert(reloaded.getClass == ex.stage.getClass && reloaded.uid == ex.stage.uid)
    assert(Examples.setParamsJson(reloaded) == Examples.setParamsJson(ex.stage), s"${ex.name}: reloaded params")

    val pipeline =
      new Pipeline().setStages(Array(new SQLTransformer().setStatement("SELECT * FROM __THIS__"), ex.stage))
    val pipelinePath = tempPath("pipeline")
    pipeline.write.save(pipelinePath)
    val fitted = Pipeline.load(pipelinePath).fit(ex.input)
    assert(Compare.diff(fitted.transform(ex.input), expected) == null, s"${ex.name}: reloaded Pipeline")
    val modelPath = tempPath("model")
    fitted.write.save(modelPath)
    assert(Compare.diff(PipelineModel.load(modelPath).transform(ex.input), expected) == null,
      s"${ex.name}: reloaded PipelineModel")
  }
}
