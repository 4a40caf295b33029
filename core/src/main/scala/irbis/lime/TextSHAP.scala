package irbis.lime

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class TextSHAP(override val uid: String) extends Transformer with IrbisStage with SHAPParams with ExplainedTextParams {
  def this() = this(Identifiable.randomUID("TextSHAP"))

  override def stageDoc: String =
    "Kernel SHAP for text models. The input is tokens (an array of strings) or text (a string, split on " +
      "whitespace); its features are the distinct tokens (bagOfWords, the default) or the token positions, as " +
      "TextLIME's. A feature absent from a coalition is removed (all its occurrences, with bagOfWords): the model " +
      "sees the kept tokens in a column named inputCol of the input's type (text: joined by single spaces), one " +
      "sample per coalition, all rows' samples in one distributed pass. The empty coalition (no tokens) gives the " +
      "base value. The SHAP values are the Shapley-kernel weighted least squares fit of the coalitions' outputs " +
      "with the base value and the efficiency constraint enforced, as TabularSHAP's (exact Shapley values when all " +
      "coalitions fit in numSamples). Outputs per row: for each target class a vector [base value, one value per " +
      "distinct token in order of first occurrence, or per token position], and the fit's R^2 per class " +
      "(metricsCol). A null input or one with no tokens gets null outputs."

  override def transformSchema(schema: StructType): StructType = {
    checkText(schema)
    shapSchema(schema, uid)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val features = textFeatures(dataset.schema)
    SHAPEngine.explain(this, uid, dataset, Seq(getInputCol), Seq(textField(dataset.schema)),
      features(_).map(f => SHAPEngine.replacing(f.count)(mask => Seq(f.kept(mask)))))
  }

  override def copy(extra: ParamMap): TextSHAP = defaultCopy[TextSHAP](extra)
}

object TextSHAP extends IrbisReadable[TextSHAP]
