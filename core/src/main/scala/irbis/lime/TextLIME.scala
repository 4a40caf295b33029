package irbis.lime

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types._

/**
 * The text explainers' input (TextLIME, TextSHAP): tokens or text in inputCol, and what a feature is, a distinct
 * token or a token position.
 */
trait ExplainedTextParams extends HasInputCol {
  final val bagOfWords = new BooleanParam(this, "bagOfWords",
    "true: the features are the distinct tokens (feature i is the i-th distinct token in order of first " +
      "occurrence; hiding a token hides all its occurrences), as the lime package's default bow=True. false: the " +
      "token positions (feature i is token i), as lime's bow=False.")
  setDefault(inputCol -> "tokens", bagOfWords -> true)
  def getBagOfWords: Boolean = $(bagOfWords)
  def setBagOfWords(value: Boolean): this.type = set(bagOfWords, value)

  protected def checkText(schema: StructType): Unit =
    Columns.requireType(schema, uid, getInputCol, "tokens (array<string>) or text (string)")(t =>
      t == StringType || t.isInstanceOf[ArrayType] && t.asInstanceOf[ArrayType].elementType == StringType)

  /**
   * A row's (inputCol alone) tokens as interpretable features, or None (a null or empty input: not explained); what
   * the model sees for a keep-mask over them is `kept(mask)`, in inputCol's type (text: the kept tokens joined by
   * single spaces).
   */
  protected def textField(schema: StructType): StructField = schema(getInputCol).copy(nullable = true)

  protected def textFeatures(schema: StructType): Row => Option[TextFeatures] = {
    val (text, bow) = (schema(getInputCol).dataType == StringType, getBagOfWords)
    (r: Row) =>
      if (r.isNullAt(0)) None
      else {
        val tokens: IndexedSeq[String] =
          if (text) r.getString(0).trim.split("\\s+").filter(_.nonEmpty).toIndexedSeq
          else r.getSeq[String](0).toIndexedSeq
        if (tokens.isEmpty) None else Some(TextFeatures(tokens, text, bow))
      }
  }
}

/** Tokens and their interpretable features: feature(t) is token t's distinct word or its position. */
private[lime] final case class TextFeatures(tokens: IndexedSeq[String], text: Boolean, bagOfWords: Boolean) {
  private val feature: IndexedSeq[Int] =
    if (bagOfWords) { val words = tokens.distinct.zipWithIndex.toMap; tokens.map(words) }
    else tokens.indices
  val count: Int = if (bagOfWords) tokens.distinct.length else tokens.length

  /** The model's input with the features of `mask` kept and the others' tokens removed. */
  def kept(mask: Array[Boolean]): Any = {
    val left = tokens.indices.filter(t => mask(feature(t))).map(tokens)
    if (text) left.mkString(" ") else left
  }
}

class TextLIME(override val uid: String) extends Transformer with IrbisStage with LIMEParams with ExplainedTextParams
  with HasSamplingFraction {
  def this() = this(Identifiable.randomUID("TextLIME"))

  override protected def sampledPart: String = "token"
  setDefault(kernelWidth -> 0.25)

  override def stageDoc: String =
    "LIME for text models. The input is tokens (an array of strings) or text (a string, split on whitespace). " +
      "Its interpretable features are the distinct tokens (bagOfWords, the default) or the token positions. Each " +
      "of numSamples perturbed samples keeps every feature with probability samplingFraction (sample 0 keeps " +
      "all); the model sees the kept tokens in a column named inputCol of the input's type (text: the kept tokens " +
      "joined by single spaces), all samples of all rows in one distributed pass. A sample's distance is the " +
      "cosine distance of its keep-mask from the all-ones mask; the local model is a kernel-weighted ridge " +
      "regression of the target score on the keep-mask. Outputs per row: for each target class, one weight per " +
      "distinct token (in order of first occurrence) or per token position (a row with no tokens gets a null explanation), the intercept and R^2."

  override def transformSchema(schema: StructType): StructType = {
    checkText(schema)
    explanationSchema(schema, uid)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val (n, seed0, keep, features) = (getNumSamples, getSeed, getSamplingFraction, textFeatures(dataset.schema))
    LIMEEngine.explain(this, uid, dataset, Seq(getInputCol), Seq(textField(dataset.schema)),
      features(_).iterator.flatMap(f => TextLIME.samples(f, n, seed0, keep)))
  }

  override def copy(extra: ParamMap): TextLIME = defaultCopy[TextLIME](extra)
}

object TextLIME extends IrbisReadable[TextLIME] {
  private[lime] def samples(features: TextFeatures, n: Int, seed: Long, keep: Double): Iterator[Perturbed] = {
    val rng = new java.util.Random(LIMEEngine.rowSeed(seed, features.tokens.hashCode))
    val d = features.count
    (0 until n).iterator.map { i =>
      val mask = if (i == 0) Array.fill(d)(true) else Array.fill(d)(rng.nextDouble() < keep)
      Perturbed(mask.map(b => if (b) 1.0 else 0.0), LIMEEngine.maskDistance(mask.count(identity), d),
        Seq(features.kept(mask)))
    }
  }
}
