package irbis.lime

import irbis.core._
import irbis.image.{HasErrorCol, ImageRows, SparkImage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{DoubleParam, ParamMap}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.lit
import org.apache.spark.sql.types._

class ImageLIME(override val uid: String) extends Transformer with IrbisStage
  with LIMEParams with HasInputCol with HasErrorCol with SuperpixelParams with HasSamplingFraction {
  def this() = this(Identifiable.randomUID("ImageLIME"))

  final val superpixelCol = new StringParam(this, "superpixelCol",
    "Column of the superpixels explained. If it exists (SuperpixelTransformer's output) it is used; otherwise it " +
      "is computed with cellSize and modifier and added, so the explanation can be drawn.",
    Validators.nonEmpty)
  override protected def sampledPart: String = "superpixel"
  final val hideColor = new EnumParam(this, "hideColor",
    "What a hidden superpixel becomes: black (all channels 0, alpha kept) or mean (the superpixel's mean colour).",
    Seq("black", "mean"))

  setDefault(inputCol -> "image", superpixelCol -> "superpixels", hideColor -> "mean",
    kernelWidth -> 0.25)

  def getSuperpixelCol: String = $(superpixelCol)
  def setSuperpixelCol(value: String): this.type = set(superpixelCol, value)
  def getHideColor: String = $(hideColor)
  def setHideColor(value: String): this.type = set(hideColor, value)

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

  override def transformSchema(schema: StructType): StructType = {
    SparkImage.requireImageOrBytes(schema, uid, getInputCol)
    val withSegments = if (schema.fieldNames.contains(getSuperpixelCol)) {
      Columns.requireType(schema, uid, getSuperpixelCol,
        s"superpixels as SuperpixelTransformer writes them (${LIMEImages.SegmentationType.simpleString})"
      )(t =>
        t.isInstanceOf[StructType] &&
          t.asInstanceOf[StructType].fieldNames.sameElements(LIMEImages.SegmentationType.fieldNames))
      schema
    } else schema.add(getSuperpixelCol, LIMEImages.SegmentationType, nullable = true)
    // An existing superpixel column is input, not a clash: check the error column against the rest.
    ImageRows.checkOutputs(StructType(schema.filterNot(_.name == getSuperpixelCol)), uid, getInputCol, getSuperpixelCol,
      getErrorCol)
    explanationSchema(ImageRows.outputSchema(withSegments, getSuperpixelCol, LIMEImages.SegmentationType, getErrorCol),
      uid)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    requireModel(uid)
    val (column, segCol) = (getInputCol, getSuperpixelCol)
    val segments = LIMEImages.segmentUdf(getCellSize, getModifier, getClass.getSimpleName, column, getNumSamples)
    val existing =
      if (dataset.schema.fieldNames.contains(segCol)) ColumnRef(segCol) else lit(null).cast(LIMEImages.SegmentationType)
    val withSegments =
      ImageRows.attach(dataset.toDF(), segments(ColumnRef(column), existing), "superpixels", segCol, getErrorCol)
    val (n, seed0, keep, mean) = (getNumSamples, getSeed, getSamplingFraction, getHideColor == "mean")
    val field = StructField(column, SparkImage.schema, nullable = true)
    LIMEEngine.explain(this, uid, withSegments, Seq(column, segCol), Seq(field),
      { (r: Row) =>
        // Rows whose image failed have null superpixels (and their error); they get no samples.
        if (r.isNullAt(0) || r.isNullAt(1)) Iterator.empty
        else ImageLIME.samples(LIMEImages.imageRow(r.get(0)), LIMEImages.fromRow(r.getStruct(1)), n, seed0, keep, mean)
      })
  }

  override def copy(extra: ParamMap): ImageLIME = defaultCopy[ImageLIME](extra)
}

object ImageLIME extends IrbisReadable[ImageLIME] {
  private[lime] def samples(image: Row, seg: Segmentation, n: Int, seed: Long, keep: Double, mean: Boolean)
    : Iterator[Perturbed] = {
    val rec = SparkImage.record(image)
    val (h, w, c) = (rec.height, rec.width, rec.nChannels)
    val k = seg.count
    val painted = Array.ofDim[Byte](k, c)
    if (mean) {
      val sums = Array.ofDim[Long](k, c); val counts = new Array[Long](k)
      for (p <- 0 until h * w) {
        val l = seg.labels(p); counts(l) += 1; for (ch <- 0 until c) sums(l)(ch) += rec.data(p * c + ch) & 0xff
      }
      for (l <- 0 until k; ch <- 0 until c if counts(l) > 0)
        painted(l)(ch) = math.round(sums(l)(ch).toDouble / counts(l)).toByte
    }
    val alpha = if (c == 4) 3 else -1
    val rng = new java.util.Random(LIMEEngine.rowSeed(seed, java.util.Arrays.hashCode(rec.data)))
    (0 until n).iterator.map { i =>
      val mask = if (i == 0) Array.fill(k)(true) else Array.fill(k)(rng.nextDouble() < keep)
      val data = rec.data.clone()
      var p = 0
      while (p < h * w) {
        val l = seg.labels(p)
        if (!mask(l)) { var ch = 0; while (ch < c) { if (ch != alpha) data(p * c + ch) = painted(l)(ch); ch += 1 } }
        p += 1
      }
      val kept = mask.count(identity)
      Perturbed(mask.map(b => if (b) 1.0 else 0.0), LIMEEngine.maskDistance(kept, k),
        Seq(Row(rec.origin, h, w, c, rec.mode, data)))
    }
  }
}
