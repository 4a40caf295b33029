package irbis.stages

import java.text.Normalizer
import java.util.Locale

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types.{StringType, StructType}

class UnicodeNormalize(override val uid: String) extends Transformer with IrbisStage with HasInputCol
  with HasOutputCol {
  def this() = this(Identifiable.randomUID("UnicodeNormalize"))

  override def stageDoc: String =
    "Normalizes the Unicode text of a string column (java.text.Normalizer, the same forms as Python's " +
      "unicodedata.normalize), then lower-cases it if `lower` (locale-independent). Nulls stay null."

  final val form = new EnumParam(this, "form",
    "The Unicode normalization form: canonical (NFC, NFD) or compatibility (NFKC, NFKD), composed or decomposed.",
    Seq("NFC", "NFD", "NFKC", "NFKD"))
  setDefault(form -> "NFKD")
  def getForm: String = $(form)
  def setForm(value: String): this.type = set(form, value)

  final val lower = new BooleanParam(this, "lower", "Lower-case the text after normalizing it.")
  setDefault(lower -> true)
  def getLower: Boolean = $(lower)
  def setLower(value: Boolean): this.type = set(lower, value)

  override def transformSchema(schema: StructType): StructType =
    Columns.stringToString(schema, uid, getInputCol, getOutputCol)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val f = Normalizer.Form.valueOf(getForm)
    val lowerCase = getLower
    val normalize = udf { (s: String) =>
      if (s == null) null
      else {
        val n = Normalizer.normalize(s, f)
        if (lowerCase) n.toLowerCase(Locale.ROOT) else n
      }
    }
    dataset.toDF().withColumn(getOutputCol, normalize(ColumnRef(getInputCol)))
  }

  override def copy(extra: ParamMap): UnicodeNormalize = defaultCopy(extra)
}

object UnicodeNormalize extends IrbisReadable[UnicodeNormalize]
