package irbis.core

import org.apache.spark.ml.PipelineStage
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
}

/** Companion-object side of persistence: `object MyStage extends IrbisReadable[MyStage]`. */
trait IrbisReadable[T <: PipelineStage] extends MLReadable[T] {
  override def read: MLReader[T] = new IrbisReader[T]
}
