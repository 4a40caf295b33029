package irbis.lime

import irbis.core._
import irbis.image.SparkImage
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.types._

class ImageLIME(override val uid: String) extends Transformer with IrbisStage
  with LIMEParams with ExplainedImageParams with HasSamplingFraction {
  def this() = this(Identifiable.randomUID("ImageLIME"))

  override protected def sampledPart: String = "superpixel"
  setDefault(kernelWidth -> 0.25)

  override def stageDoc: String =
    "LIME for image models. Each image is split into superpixels (superpixelCol if present, else SLIC with " +
      "cellSize and modifier); each of numSamples perturbed images keeps every superpixel with probability " +
      "samplingFraction and paints the others (hideColor), sample 0 being the whole image. The model sees the " +
      "perturbed images as image structs in a column named inputCol, all samples of all rows in one distributed " +
      "pass. A sample's distance is the cosine distance of its keep-mask from the all-ones mask; the local model " +
      "is a kernel-weighted ridge regression of the target score on the keep-mask. Outputs per row: for each " +
      "target class, one weight per superpixel, the intercept and R^2; and the superpixels. An image with at least " +
      "as many superpixels as numSamples is not explained (its error says so): such a fit explains nothing. Input: an image " +
      "struct or encoded image bytes (decoded as colour). An image that cannot be decoded or segmented, or does " +
      "not fit its superpixels, gives a null explanation and the reason in errorCol; the other rows are explained."

  override def transformSchema(schema: StructType): StructType = explanationSchema(superpixelSchema(schema), uid)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val (n, seed0, keep, mean) = (getNumSamples, getSeed, getSamplingFraction, getHideColor == "mean")
    LIMEEngine.explain(this, uid, withSuperpixels(dataset, n), explainedColumns, Seq(imageField),
      LIMEImages.explained(_).iterator.flatMap { case (image, s) => ImageLIME.samples(image, s, n, seed0, keep, mean) })
  }

  override def copy(extra: ParamMap): ImageLIME = defaultCopy[ImageLIME](extra)
}

object ImageLIME extends IrbisReadable[ImageLIME] {
  private[lime] def samples(image: Row, seg: Segmentation, n: Int, seed: Long, keep: Double, mean: Boolean)
    : Iterator[Perturbed] = {
    val k = seg.count
    val paint = LIMEImages.painter(image, seg, mean)
    val rng = new java.util.Random(LIMEEngine.rowSeed(seed, java.util.Arrays.hashCode(SparkImage.record(image).data)))
    (0 until n).iterator.map { i =>
      val mask = if (i == 0) Array.fill(k)(true) else Array.fill(k)(rng.nextDouble() < keep)
      Perturbed(mask.map(b => if (b) 1.0 else 0.0), LIMEEngine.maskDistance(mask.count(identity), k), Seq(paint(mask)))
    }
  }
}
