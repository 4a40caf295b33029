package irbis.core

import org.apache.spark.ml.param.{Params, StringArrayParam}

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
