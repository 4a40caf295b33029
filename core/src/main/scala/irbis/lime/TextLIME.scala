package irbis.lime

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{BooleanParam, DoubleParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types._

class TextLIME(override val uid: String) extends Transformer with IrbisStage with LIMEParams with HasInputCol
  with HasSamplingFraction {
  def this() = this(Identifiable.randomUID("TextLIME"))

  override protected def sampledPart: String = "token"
  final val bagOfWords = new BooleanParam(this, "bagOfWords",
    "true: explain distinct tokens (weight i belongs to the i-th distinct token in order of first occurrence; " +
      "hiding a token hides all its occurrences), as the lime package's default bow=True. false: explain token " +
      "positions (weight i belongs to token i), as lime's bow=False.")
  setDefault(inputCol -> "tokens", kernelWidth -> 0.25, bagOfWords -> true)
  def getBagOfWords: Boolean = $(bagOfWords)
  def setBagOfWords(value: Boolean): this.type = set(bagOfWords, value)

  override def stageDoc: String =
    "LIME for text models. The input is tokens (an array of strings) or text (a string, split on whitespace). " +
      "Its interpretable features are the distinct tokens (bagOfWords, the default) or the token positions. Each " +
      "of numSamples perturbed samples keeps every feature with probability samplingFraction (sample 0 keeps " +
      "all); the model sees the kept tokens in a column named inputCol of the input's type (text: the kept tokens " +
      "joined by single spaces), all samples of all rows in one distributed pass. A sample's distance is the " +
      "cosine distance of its keep-mask from the all-ones mask; the local model is a kernel-weighted ridge " +
      "regression of the target score on the keep-mask. Outputs per row: for each target class, one weight per " +
      "distinct token (in order of first occurrence) or per token position (a row with no tokens gets a null explanation), the intercept and R^2."

  private def isText(schema: StructType): Boolean = schema(getInputCol).dataType == StringType

  override def transformSchema(schema: StructType): StructType = {
    Columns.requireType(schema, uid, getInputCol, "tokens (array<string>) or text (string)")(t =>
      t == StringType || t.isInstanceOf[ArrayType] && t.asInstanceOf[ArrayType].elementType == StringType)
    explanationSchema(schema, uid)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val text = isText(dataset.schema)
    val (n, seed0, keep, column, bow) = (getNumSamples, getSeed, getSamplingFraction, getInputCol, getBagOfWords)
    val field = dataset.schema(column).copy(nullable = true)
    LIMEEngine.explain(this, uid, dataset, Seq(column), Seq(field),
      { (r: Row) =>
        if (r.isNullAt(0)) Iterator.empty
        else {
          val tokens: IndexedSeq[String] =
            if (text) r.getString(0).trim.split("\\s+").filter(_.nonEmpty).toIndexedSeq
            else r.getSeq[String](0).toIndexedSeq
          if (tokens.isEmpty) Iterator.empty
          else TextLIME.samples(tokens, text, bow, n, LIMEEngine.rowSeed(seed0, tokens.hashCode), keep)
        }
      })
  }

  override def copy(extra: ParamMap): TextLIME = defaultCopy[TextLIME](extra)
}

object TextLIME extends IrbisReadable[TextLIME] {
  private[lime] def samples(tokens: IndexedSeq[String], text: Boolean, bagOfWords: Boolean, n: Int, seed: Long,
                            keep: Double): Iterator[Perturbed] = {
    val rng = new java.util.Random(seed)
    // feature(t) is the interpretable feature of token t: its distinct word, or its position
    val feature: IndexedSeq[Int] =
      if (bagOfWords) { val words = tokens.distinct.zipWithIndex.toMap; tokens.map(words) }
      else tokens.indices
    val d = if (bagOfWords) tokens.distinct.length else tokens.length
    (0 until n).iterator.map { i =>
      val mask = if (i == 0) Array.fill(d)(true) else Array.fill(d)(rng.nextDouble() < keep)
      val kept = tokens.indices.filter(t => mask(feature(t))).map(tokens)
      Perturbed(mask.map(b => if (b) 1.0 else 0.0), LIMEEngine.maskDistance(mask.count(identity), d),
        Seq(if (text) kept.mkString(" ") else kept))
    }
  }
}
