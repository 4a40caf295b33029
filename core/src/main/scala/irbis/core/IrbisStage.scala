package irbis.core

import org.apache.spark.ml.PipelineStage
import org.apache.spark.ml.param.{Param, ParamMap, Params}
import org.apache.spark.ml.util.{MLReadable, MLReader, MLWritable, MLWriter}

/**
 * What every Irbis stage mixes in: persistence that handles payload and nested-stage Params, and a
 * description that code generation turns into Python and R docs.
 *
 * Conventions (checked by the registry tests): a public constructor taking the uid and a public no-arg
 * constructor (Spark's ServiceLoader registry and code generation instantiate stages that way), and a
 * companion object extending [[IrbisReadable]].
 */
trait IrbisStage extends PipelineStage with MLWritable {

  /** One paragraph describing what the stage does, for generated documentation. */
  def stageDoc: String

  override def write: MLWriter = new IrbisWriter(this)

  /**
   * Spark's copy of the Param values (what `defaultCopy` and a Model's `copy` call), then every nested stage
   * ([[StageParam]], [[StageArrayParam]]) of an Irbis copy copied with `extra` too, so that a copy shares no stage
   * with the original: done here once, for every stage.
   */
  override protected def copyValues[T <: Params](to: T, extra: ParamMap): T = {
    val copied = super.copyValues(to, extra)
    copied match {
      case stage: IrbisStage => stage.copyNestedStages(extra)
      case _ =>
    }
    copied
  }

  private def copyNestedStages(extra: ParamMap): Unit = {
    val copied = this
    copied.params.foreach {
      case p: StageParam[_] if copied.isDefined(p) =>
        val nested = p.asInstanceOf[Param[PipelineStage]]
        copied.set(nested, copied.getOrDefault(nested).copy(extra))
      case p: StageArrayParam if copied.isDefined(p) =>
        copied.set(p, copied.getOrDefault(p).map(_.copy(extra)))
      case _ =>
    }
  }
}

/** Companion-object side of persistence: `object MyStage extends IrbisReadable[MyStage]`. */
trait IrbisReadable[T <: PipelineStage] extends MLReadable[T] {
  override def read: MLReader[T] = new IrbisReader[T]
}
