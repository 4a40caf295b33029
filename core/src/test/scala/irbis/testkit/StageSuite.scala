package irbis.testkit

import org.apache.spark.ml.{Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.ml.feature.SQLTransformer
import org.apache.spark.ml.util.{MLReadable, MLWritable}

/**
 * The generic checks every stage gets from its examples: it runs, and a save/load round trip (alone and
 * inside a Spark Pipeline, before and after fitting) gives identical output. Stage-specific suites extend
 * this and add their own tests.
 */
abstract class StageSuite(source: => ExampleSource) extends SparkSuite {
  private lazy val examples = source.examples(spark)

  private def reload(stage: PipelineStage): PipelineStage = {
    val path = tempPath(stage.uid)
    stage.asInstanceOf[MLWritable].write.save(path)
    val companion = Class.forName(stage.getClass.getName).getMethod("read").invoke(null)
    companion.asInstanceOf[org.apache.spark.ml.util.MLReader[PipelineStage]].load(path)
  }

  test("examples: transform, save/load and Pipeline round trips give identical output") {
    assert(examples.nonEmpty, s"${source.getClass.getName} declares no examples")
    examples.foreach { ex =>
      val expected = Examples.expected(ex)
      assert(expected.collect() != null)
      val reloaded = reload(ex.stage)
      assert(reloaded.uid == ex.stage.uid)
      assert(Compare.diff(Examples.run(reloaded, ex.input), expected) == null, s"${ex.name}: reloaded stage")

      val pipeline = new Pipeline().setStages(Array(new SQLTransformer().setStatement("SELECT * FROM __THIS__"), ex.stage))
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
}
