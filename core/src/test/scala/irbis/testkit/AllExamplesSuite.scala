package irbis.testkit

import org.apache.spark.ml.{Pipeline, PipelineModel}
import org.apache.spark.ml.feature.SQLTransformer

/**
 * The generic checks every stage gets from its examples, for every registered [[ExampleSource]] (so a new
 * stage needs only its examples): it runs, and save/load round trips inside a Spark Pipeline, before and
 * after fitting, give back the same stage and identical output. Stage-specific suites extend [[SparkSuite]] and test
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

  private def checkRoundTrips(ex: StageExample): Unit = {
    val expected = Examples.expected(ex)
    assert(expected.collect() != null)
    // Pipeline.load reads the stage with the stage's own reader (its companion's `read`): the same class, uid and
    // params come back, and the loaded Pipeline fitted, saved and loaded again gives the example's output. One
    // comparison at the end: every step before it feeds it.
    val pipeline =
      new Pipeline().setStages(Array(new SQLTransformer().setStatement("SELECT * FROM __THIS__"), ex.stage))
    val pipelinePath = tempPath("pipeline")
    pipeline.write.save(pipelinePath)
    val loaded = Pipeline.load(pipelinePath)
    val reloaded = loaded.getStages(1)
    assert(reloaded.getClass == ex.stage.getClass && reloaded.uid == ex.stage.uid, s"${ex.name}: reloaded stage")
    assert(Examples.setParamsJson(reloaded) == Examples.setParamsJson(ex.stage), s"${ex.name}: reloaded params")
    val modelPath = tempPath("model")
    loaded.fit(ex.input).write.save(modelPath)
    assert(Compare.diff(PipelineModel.load(modelPath).transform(ex.input), expected) == null,
      s"${ex.name}: Pipeline saved, loaded and fitted, its PipelineModel saved and loaded")
  }
}
