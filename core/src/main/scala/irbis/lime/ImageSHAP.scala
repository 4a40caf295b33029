package irbis.lime

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset}
import org.apache.spark.sql.types.StructType

class ImageSHAP(override val uid: String) extends Transformer with IrbisStage with SHAPParams
  with ExplainedImageParams {
  def this() = this(Identifiable.randomUID("ImageSHAP"))

  override def stageDoc: String =
    "Kernel SHAP for image models. Each image is split into superpixels (superpixelCol if present, else SLIC with " +
      "cellSize and modifier), its features; a superpixel absent from a coalition is painted (hideColor), as " +
      "ImageLIME's hidden ones. The model sees each coalition's image as an image struct in a column named inputCol, " +
      "one sample per coalition, all rows' samples in one distributed pass; the empty coalition (every superpixel " +
      "painted) gives the base value. The SHAP values are the Shapley-kernel weighted least squares fit of the " +
      "coalitions' outputs with the base value and the efficiency constraint enforced, as TabularSHAP's (exact " +
      "Shapley values when all 2^M - 2 coalitions of the M superpixels fit in numSamples). Outputs per row: for each " +
      "target class a vector [base value, one value per superpixel], the fit's R^2 per class (metricsCol), and the " +
      "superpixels. Input: an image struct or encoded image bytes (decoded as colour). An image that cannot be " +
      "decoded or segmented, or does not fit its superpixels, or has at least as many superpixels as numSamples, " +
      "gives null outputs and the reason in errorCol; the other rows are explained."

  override def transformSchema(schema: StructType): StructType = shapSchema(superpixelSchema(schema), uid)

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val mean = getHideColor == "mean"
    // an image with as many superpixels as numSamples coalitions or more is refused in its row, with the numbers
    // (SHAPEngine.requireDetermined would fail the job)
    SHAPEngine.explain(this, uid, withSuperpixels(dataset, get(numSamples).getOrElse(Int.MaxValue)), explainedColumns,
      Seq(imageField),
      LIMEImages.explained(_).map { case (image, superpixels) =>
        val paint = LIMEImages.painter(image, superpixels, mean)
        SHAPEngine.replacing(superpixels.count)(mask => Seq(paint(mask)))
      })
  }

  override def copy(extra: ParamMap): ImageSHAP = defaultCopy[ImageSHAP](extra)
}

object ImageSHAP extends IrbisReadable[ImageSHAP]
