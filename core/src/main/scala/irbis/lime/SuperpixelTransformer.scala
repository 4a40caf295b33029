package irbis.lime

import irbis.core._
import irbis.image.{DecodeSettings, Decoding, HasErrorCol, ImageRecord, ImageRows, SparkImage}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{DoubleParam, ParamMap, Params}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.api.java.UDF2
import org.apache.spark.sql.expressions.UserDefinedFunction
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema
import org.apache.spark.sql.functions.{lit, udf}
import org.apache.spark.sql.types._

/** Superpixel Params shared by SuperpixelTransformer and ImageLIME. */
trait SuperpixelParams extends Params {
  final val cellSize = new DoubleParam(this, "cellSize",
    "Side in pixels of the grid cells that seed the superpixels: an H x W image gets about " +
      "round(H / cellSize) * round(W / cellSize) segments. 0 (the default): derived from each image, " +
      s"sqrt(H * W / ${Slic.AutoSegments}), so that every image gets about ${Slic.AutoSegments} superpixels " +
      "whatever its size.", Validators.gtEq(0))
  final val modifier = new DoubleParam(this, "modifier",
    "SLIC's compactness m: larger values make squarer segments, smaller ones follow colour edges more closely " +
      "(colour distance in CIELAB units, position distance in grid steps times m).", Validators.gt(0))
  setDefault(cellSize -> 0.0, modifier -> 10.0)
  def getCellSize: Double = $(cellSize)
  def setCellSize(value: Double): this.type = set(cellSize, value)
  def getModifier: Double = $(modifier)
  def setModifier(value: Double): this.type = set(modifier, value)
}

/**
 * The image explainers' input (ImageLIME, ImageSHAP): an image column, its superpixels (read or computed) and
 * what a hidden superpixel becomes; an image that fails gives null outputs and its reason in errorCol.
 */
trait ExplainedImageParams extends SuperpixelParams with HasInputCol with HasErrorCol {
  final val superpixelCol = new StringParam(this, "superpixelCol",
    "Column of the superpixels explained. If it exists (SuperpixelTransformer's output) it is used; otherwise it " +
      "is computed with cellSize and modifier and added, so the explanation can be drawn.",
    Validators.nonEmpty)
  final val hideColor = new EnumParam(this, "hideColor",
    "What a hidden superpixel becomes: black (all channels 0, alpha kept) or mean (the superpixel's mean colour).",
    Seq("black", "mean"))
  setDefault(inputCol -> "image", superpixelCol -> "superpixels", hideColor -> "mean")

  def getSuperpixelCol: String = $(superpixelCol)
  def setSuperpixelCol(value: String): this.type = set(superpixelCol, value)
  def getHideColor: String = $(hideColor)
  def setHideColor(value: String): this.type = set(hideColor, value)

  /** The input schema with the superpixel column (checked if there, else added) and the error column. */
  protected def superpixelSchema(schema: StructType): StructType = {
    val stage = uid
    SparkImage.requireImageOrBytes(schema, stage, getInputCol)
    val withSegments = if (schema.fieldNames.contains(getSuperpixelCol)) {
      Columns.requireType(schema, stage, getSuperpixelCol,
        s"superpixels as SuperpixelTransformer writes them (${LIMEImages.SegmentationType.simpleString})"
      )(t =>
        t.isInstanceOf[StructType] &&
          t.asInstanceOf[StructType].fieldNames.sameElements(LIMEImages.SegmentationType.fieldNames))
      schema
    } else schema.add(getSuperpixelCol, LIMEImages.SegmentationType, nullable = true)
    // An existing superpixel column is input, not a clash: check the error column against the rest.
    ImageRows.checkOutputs(StructType(schema.filterNot(_.name == getSuperpixelCol)), stage, getInputCol,
      getSuperpixelCol, getErrorCol)
    ImageRows.outputSchema(withSegments, getSuperpixelCol, LIMEImages.SegmentationType, getErrorCol)
  }

  /** The dataset with each image's superpixels (null, and the reason in errorCol, where the image fails). */
  protected def withSuperpixels(dataset: Dataset[_], samples: Int = Int.MaxValue): DataFrame = {
    val segments =
      LIMEImages.segmentUdf(getCellSize, getModifier, getClass.getSimpleName, getInputCol, samples)
    val existing =
      if (dataset.schema.fieldNames.contains(getSuperpixelCol)) ColumnRef(getSuperpixelCol)
      else lit(null).cast(LIMEImages.SegmentationType)
    ImageRows.attach(dataset.toDF(), segments(ColumnRef(getInputCol), existing), "superpixels", getSuperpixelCol,
      getErrorCol)
  }

  /** The columns the engines read (see LIMEImages.explained) and the field the model reads: image structs. */
  protected def explainedColumns: Seq[String] = Seq(getInputCol, getSuperpixelCol)
  protected def imageField: StructField = StructField(getInputCol, SparkImage.schema, nullable = true)
}

/** Reading images for the LIME stages: image structs as they are, encoded files decoded as OpenCV's IMREAD_COLOR. */
private[lime] object LIMEImages {
  val SegmentationType: StructType = StructType(Seq(
      StructField("height", IntegerType, nullable = false), StructField("width", IntegerType, nullable = false),
      StructField("count", IntegerType, nullable = false),
      StructField("labels", ArrayType(IntegerType, containsNull = false), nullable = true)))

  /** The value as an image struct Row (null stays null); encoded bytes are decoded (an undecodable file throws). */
  def imageRow(value: Any): Row = value match {
    case null => null
    case r: Row => r
    case bytes: Array[Byte] =>
      val rec = SparkImage.toRecord(Decoding.decode(bytes, DecodeSettings("color", 100000000L)), null)
      new GenericRowWithSchema(Array[Any](rec.origin, rec.height, rec.width, rec.nChannels, rec.mode, rec.data),
        SparkImage.schema)
    case other => throw new IllegalArgumentException(s"holds ${other.getClass.getName}, not an image")
  }

  /**
   * The image (a struct Row) with the superpixels a keep-mask hides painted with their mean colour (`mean`) or
   * black, alpha kept: the perturbed images of ImageLIME and the coalitions of ImageSHAP.
   */
  def painter(image: Row, seg: Segmentation, mean: Boolean): Array[Boolean] => Row = {
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
    mask => {
      val data = rec.data.clone()
      var p = 0
      while (p < h * w) {
        val l = seg.labels(p)
        if (!mask(l)) { var ch = 0; while (ch < c) { if (ch != alpha) data(p * c + ch) = painted(l)(ch); ch += 1 } }
        p += 1
      }
      Row(rec.origin, h, w, c, rec.mode, data)
    }
  }

  /**
   * A row of explainedColumns as an image struct and its superpixels; None where the image failed (its superpixels
   * are null and errorCol says why) or is null: such a row gets null outputs.
   */
  def explained(r: Row): Option[(Row, Segmentation)] =
    if (r.isNullAt(0) || r.isNullAt(1)) None else Some((imageRow(r.get(0)), fromRow(r.getStruct(1))))

  val SegmentResultType: StructType =
    StructType(Seq(StructField("superpixels", SegmentationType), StructField("error", StringType)))

  /**
   * One row's (superpixels, error): SLIC's segments of its image, or `existing` ones checked against the image.
   * An image that cannot be decoded or segmented, or does not fit its superpixels, gives null superpixels and
   * the reason (naming stage, column and image) instead of failing the job. A null image keeps `existing`.
   */
  def segmentResult(value: Any, existing: Row, cellSize: Double, modifier: Double, stage: String, column: String,
                    samples: Int = Int.MaxValue): Row = {
    val origin = value match { case r: Row => SparkImage.origin(r); case _ => null }
    val (segments, error) = ImageRows.guarded[Row](stage, column, origin) {
      val image = imageRow(value)
      val segments =
        if (image == null) existing
        else if (existing != null) { requireFits(SparkImage.record(image), fromRow(existing)); existing }
        else segmentationRow(Slic.segment(image, cellSize, modifier))
      if (segments != null) requireFewerThan(segments.getInt(2), samples, cellSize)
      segments
    }
    Row(segments, error)
  }

  /**
   * A local model with at least as many weights (superpixels) as samples fits any scores exactly (R^2 near 1)
   * and explains nothing: such an image is refused, with the numbers and the way out.
   */
  def requireFewerThan(superpixels: Int, samples: Int, cellSize: Double): Unit =
    if (superpixels >= samples) throw new IllegalArgumentException(
      s"$superpixels superpixels for $samples samples: the local model would have at least as many weights as " +
        "samples, fit any scores and explain nothing; raise numSamples (10 times the superpixels is a good start) " +
        (if (cellSize > 0) s"or cellSize ($cellSize; 0 gives about ${Slic.AutoSegments} superpixels per image)"
         else "or cellSize"))

  /** A non-deterministic UDF (see ImageRows.attach) of (image, existing superpixels or null); `samples`: see requireFewerThan. */
  def segmentUdf(cellSize: Double, modifier: Double, stage: String, column: String,
                 samples: Int = Int.MaxValue): UserDefinedFunction =
    udf(new UDF2[Object, Row, Row] {
        def call(v: Object, existing: Row): Row = segmentResult(v, existing, cellSize, modifier, stage, column, samples)
      }, SegmentResultType).asNondeterministic()

  def requireFits(rec: ImageRecord, seg: Segmentation): Unit = {
    val (h, w, c) = (rec.height, rec.width, rec.nChannels)
    if (seg.height != h || seg.width != w || seg.labels.length != h * w) throw new IllegalArgumentException(
      s"the image is ${h}x$w but its superpixels are ${seg.height}x${seg.width}")
    if (rec.data == null || rec.data.length != h * w * c) throw new IllegalArgumentException(
      s"the image has ${Option(rec.data).map(_.length).getOrElse(0)} bytes of data, expected $h x $w x $c")
  }

  def segmentationRow(s: Segmentation): Row = Row(s.height, s.width, s.count, s.labels.toSeq)

  def fromRow(r: Row): Segmentation =
    Segmentation(r.getInt(0), r.getInt(1), r.getInt(2), r.getSeq[Int](3).toArray)
}

class SuperpixelTransformer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol with SuperpixelParams {
  def this() = this(Identifiable.randomUID("SuperpixelTransformer"))

  setDefault(inputCol -> "image", outputCol -> "superpixels")

  override def stageDoc: String =
    "Splits each image into superpixels with SLIC: CIELAB colour, cluster centres seeded on a grid of cellSize " +
      "pixels (by default derived from the image size for about " + Slic.AutoSegments +
      " superpixels; moved to the lowest gradient of their 3x3 neighbourhood), ten rounds of local k-means within one " +
      "grid step, distance^2 = colour^2 + (position / grid step)^2 * modifier^2, then connectivity enforced (every " +
      "segment 4-connected; pieces under a quarter cell join a neighbour). Deterministic. The output struct holds " +
      "height, width, count and labels (row-major, one segment index in 0 until count per pixel), which ImageLIME " +
      "reads as its superpixelCol and the Python helper irbis.lime.overlay draws. Input: an image struct or " +
      "encoded image bytes (decoded as colour). An image that cannot be decoded or segmented gives null " +
      "superpixels and the reason in errorCol; the job goes on."

  override def transformSchema(schema: StructType): StructType = {
    SparkImage.requireImageOrBytes(schema, uid, getInputCol)
    Columns.requireAbsent(schema, uid, getOutputCol)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    ImageRows.outputSchema(schema, getOutputCol, LIMEImages.SegmentationType, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema)
    val segments = LIMEImages.segmentUdf(getCellSize, getModifier, getClass.getSimpleName, getInputCol)
    ImageRows.attach(dataset.toDF(), segments(ColumnRef(getInputCol), lit(null).cast(LIMEImages.SegmentationType)),
      "superpixels", getOutputCol, getErrorCol)
  }

  override def copy(extra: ParamMap): SuperpixelTransformer = defaultCopy(extra)
}

object SuperpixelTransformer extends IrbisReadable[SuperpixelTransformer]
