package irbis.core

import org.apache.spark.ml.param.{IntParam, Params, StringArrayParam}

/*
 * Column Params shared by many stages. Spark's own traits are private to Spark, and their untyped
 * `Param[String]` could not be told apart by code generation.
 */

trait HasInputCol extends Params {
  final val inputCol = new StringParam(this, "inputCol", "The name of the input column.")
  final def getInputCol: String = $(inputCol)
  def setInputCol(value: String): this.type = set(inputCol, value)
}

trait HasOutputCol extends Params {
  final val outputCol = new StringParam(this, "outputCol", "The name of the output column.")
  final def getOutputCol: String = $(outputCol)
  def setOutputCol(value: String): this.type = set(outputCol, value)
}

trait HasInputCols extends Params {
  final val inputCols = new StringArrayParam(this, "inputCols", "The names of the input columns.",
    Validators.nonEmpty)
  final def getInputCols: Array[String] = $(inputCols)
  def setInputCols(value: Array[String]): this.type = set(inputCols, value)
}

trait HasOutputCols extends Params {
  final val outputCols = new StringArrayParam(this, "outputCols",
    "The names of the output columns, one per input column.", Validators.nonEmpty)
  final def getOutputCols: Array[String] = $(outputCols)
  def setOutputCols(value: Array[String]): this.type = set(outputCols, value)
}

/*
 * Params that several stages declare with the same name, kind and accessors but a doc (and validator) of their
 * own: the trait declares the Param once, from the stage's `...Doc` (a def, read while the trait initializes:
 * it must not read the stage's own vals). Defaults stay with the stages.
 */

/** The batch of a batched engine call (rows, images): the stage says what one call takes. */
trait HasMiniBatchSize extends Params {
  protected def miniBatchSizeDoc: String
  protected def miniBatchSizeIsValid: Int => Boolean
  final val miniBatchSize = new IntParam(this, "miniBatchSize", miniBatchSizeDoc, miniBatchSizeIsValid)
  def getMiniBatchSize: Int = $(miniBatchSize)
  def setMiniBatchSize(value: Int): this.type = set(miniBatchSize, value)
}

/** The column that holds a row's failure instead of failing the job: the stage says what it holds. */
trait HasErrorColParam extends Params {
  protected def errorColDoc: String
  protected def errorColIsValid: String => Boolean = Validators.notNull
  final val errorCol = new StringParam(this, "errorCol", errorColDoc, errorColIsValid)
  def getErrorCol: String = $(errorCol)
  def setErrorCol(value: String): this.type = set(errorCol, value)
}
