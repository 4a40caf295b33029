package irbis.stages

import irbis.core._
import org.apache.spark.ml.{Estimator, Model}
import org.apache.spark.ml.param.{DoubleArrayParam, DoubleParam, ParamMap, Params}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{Column, DataFrame, Dataset}
import org.apache.spark.sql.functions._
import org.apache.spark.sql.types.{DoubleType, FloatType, StructType}

/** Params shared by the estimator and its model. */
trait CleanMissingDataParams extends Params with HasInputCols with HasOutputCols {
  final val cleaningMode = new EnumParam(this, "cleaningMode",
    "The replacement for a missing value (null or NaN): the column's mean or median over the fitted data, " +
      "or `customValue`.", Seq("Mean", "Median", "Custom"))
  setDefault(cleaningMode -> "Mean")
  def getCleaningMode: String = $(cleaningMode)
  def setCleaningMode(value: String): this.type = set(cleaningMode, value)

  final val customValue = new DoubleParam(this, "customValue", "The replacement used when cleaningMode is Custom.")
  def getCustomValue: Double = $(customValue)
  def setCustomValue(value: Double): this.type = set(customValue, value)

  /** Output names: `outputCols` when set, else the input columns are cleaned in place. */
  def resolvedOutputCols: Array[String] = if (isDefined(outputCols)) getOutputCols else getInputCols

  protected def validateAndTransformSchema(schema: StructType): StructType = {
    getInputCols.foreach(c => Columns.requireType(schema, uid, c, "a numeric column")(Columns.isNumeric))
    require(resolvedOutputCols.length == getInputCols.length,
      s"$uid: outputCols has ${resolvedOutputCols.length} names but inputCols has ${getInputCols.length}")
    getInputCols.zip(resolvedOutputCols).foldLeft(schema) { case (s, (in, out)) =>
      val f = s(in).copy(name = out)
      if (s.fieldNames.contains(out)) StructType(s.fields.map(x => if (x.name == out) f else x)) else s.add(f)
    }
  }
}

class CleanMissingData(override val uid: String) extends Estimator[CleanMissingDataModel]
  with IrbisStage with CleanMissingDataParams {
  def this() = this(Identifiable.randomUID("CleanMissingData"))

  override def stageDoc: String =
    "Replaces missing values (null, and NaN for floating-point columns) in numeric columns by the column's " +
      "mean or median over the fitted data, or by a custom value. Replacements are cast to the column's type."

  override def transformSchema(schema: StructType): StructType = validateAndTransformSchema(schema)

  override def fit(dataset: Dataset[_]): CleanMissingDataModel = {
    transformSchema(dataset.schema, logging = true)
    val df = dataset.toDF()
    val present = getInputCols.map(c =>
      df.schema(c).dataType match {
        case DoubleType | FloatType => when(!isnan(ColumnRef(c)), ColumnRef(c))
        case _ => ColumnRef(c)
      })
    val fills: Array[Double] = getCleaningMode match {
      case "Custom" =>
        require(isDefined(customValue), s"$uid: cleaningMode is Custom but customValue is not set")
        Array.fill(getInputCols.length)(getCustomValue)
      case mode =>
        val stat: Column => Column = if (mode == "Mean") avg else c => percentile(c, lit(0.5))
        val row = df.select(present.map(c => stat(c.cast(DoubleType))).toIndexedSeq: _*).head()
        getInputCols.indices.map { i =>
          if (row.isNullAt(i)) throw new IllegalArgumentException(
            s"$uid: column '${getInputCols(i)}' has no non-missing values to compute a $mode from")
          row.getDouble(i)
        }.toArray
    }
    copyValues(new CleanMissingDataModel(uid).setFillValues(fills).setParent(this))
  }

  override def copy(extra: ParamMap): CleanMissingData = defaultCopy(extra)
}

object CleanMissingData extends IrbisReadable[CleanMissingData]

class CleanMissingDataModel(override val uid: String) extends Model[CleanMissingDataModel]
  with IrbisStage with CleanMissingDataParams {
  def this() = this(Identifiable.randomUID("CleanMissingDataModel"))

  override def stageDoc: String = "Fills missing values with the replacements that CleanMissingData computed."

  final val fillValues = new DoubleArrayParam(this, "fillValues", "The replacement for each input column.")
  def getFillValues: Array[Double] = $(fillValues)
  def setFillValues(value: Array[Double]): this.type = set(fillValues, value)

  override def transformSchema(schema: StructType): StructType = validateAndTransformSchema(schema)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    require(getFillValues.length == getInputCols.length,
      s"$uid: fillValues has ${getFillValues.length} values but inputCols has ${getInputCols.length}")
    val df = dataset.toDF()
    val cleaned = getInputCols.indices.map { i =>
      val c = ColumnRef(getInputCols(i))
      val t = df.schema(getInputCols(i)).dataType
      val missing = t match {
        case DoubleType | FloatType => c.isNull || isnan(c)
        case _ => c.isNull
      }
      when(missing, lit(getFillValues(i)).cast(t)).otherwise(c)
    }
    df.withColumns(resolvedOutputCols.toIndexedSeq.zip(cleaned).toMap)
  }

  override def copy(extra: ParamMap): CleanMissingDataModel =
    copyValues(new CleanMissingDataModel(uid), extra).setParent(parent)
}

object CleanMissingDataModel extends IrbisReadable[CleanMissingDataModel]
