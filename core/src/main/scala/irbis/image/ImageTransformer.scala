package irbis.image

import irbis.core._
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param.{ParamMap, StringArrayParam}
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.udf
import org.apache.spark.sql.types.{ArrayType, BinaryType, DataType, FloatType, StructType}

class ImageTransformer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol with DecodeParams {
  def this() = this(Identifiable.randomUID("ImageTransformer"))

  override def stageDoc: String =
    "Applies an ordered list of OpenCV operations to every image in one pass: resize, crop, centerCrop, " +
      "convertColor, gaussianBlur, boxBlur, threshold, flip, normalize, and a final toTensor that outputs a float array " +
      "(CHW or HWC) for ONNXModel. The input is an image struct (Spark's image schema) or a binary column of " +
      "encoded files, decoded on the way as ImageDecoder does. A row whose image cannot be processed gets a " +
      "null result and a message in errorCol; the job never fails because of one image."

  final val operations = new StringArrayParam(this, "operations",
    "The operations, in order, each a compact JSON object; the fluent methods (resize, centerCrop, ...) write " +
      "them. Fields: " +
      "resize {height, width} or {shortSide} (the short side becomes shortSide, the long side " +
      "floor(shortSide * long / short)), interpolation (nearest, linear, cubic, area, lanczos4, linearExact, " +
      "nearestExact; default linear, OpenCV's default, which does not anti-alias when shrinking: use area for " +
      "that; " + ImageOp.CubicNote +
      "). crop {x, y, width, height} in pixels from the top-left corner; it must fit in the image. " +
      "centerCrop {height, width}: offsets floor((H - height) / 2) and floor((W - width) / 2); the image must " +
      "be at least that large. convertColor {to: BGR, RGB or GRAY}: converts from the current channel order " +
      "(an image struct is GRAY, BGR or BGRA; alpha is dropped) with cv2.cvtColor. gaussianBlur {kernelWidth, " +
      "kernelHeight (odd, or both 0 to derive them from sigma), sigmaX, sigmaY (0 = derived), border " +
      "BORDER_REFLECT_101}. boxBlur {kernelWidth, kernelHeight (>= 1)}: cv2.blur, the mean over the kernel. " +
      "threshold {threshold, maxValue (255), type (binary, binaryInv, trunc, toZero, " +
      "toZeroInv), method (fixed, otsu, triangle: automatic threshold, 1-channel 8-bit only)}. flip {mode: " +
      "horizontal (left-right), vertical (up-down), both}. normalize {mean, std (1 value, or one per channel " +
      "in the current channel order), scale (1)}: (pixel * scale - mean) / std in float32, in that order; the " +
      "list must then end with toTensor. toTensor {layout: CHW or HWC, channelOrder: RGB or BGR (grey images " +
      "have one channel, alpha stays last)}: the values as a float array, without scaling unless normalize " +
      "came before. Results of 8-bit operations round as OpenCV does (saturating, to nearest).",
    (ops: Array[String]) => { ImageOp.parseAll(ops.toSeq); true })

  setDefault(inputCol -> "image", outputCol -> "transformed", operations -> Array.empty[String])
  def getOperations: Array[String] = $(operations)
  def setOperations(value: Array[String]): this.type = set(operations, value)

  def getOps: Seq[ImageOp] = ImageOp.parseAll(getOperations.toSeq)

  /** Appends one operation; the fluent methods below all go through here. */
  def addOperation(op: ImageOp): this.type = set(operations, getOperations :+ op.toJson)
  def clearOperations(): this.type = set(operations, Array.empty[String])

  def resize(height: Int, width: Int, interpolation: String = "linear"): this.type =
    addOperation(Resize(height, width, interpolation))
  def resizeShortSide(size: Int, interpolation: String = "linear"): this.type =
    addOperation(ResizeShortSide(size, interpolation))
  def crop(x: Int, y: Int, height: Int, width: Int): this.type = addOperation(Crop(x, y, width, height))
  def centerCrop(height: Int, width: Int): this.type = addOperation(CenterCrop(height, width))
  def convertColor(to: String): this.type = addOperation(ConvertColor(to))
  def gaussianBlur(kernelSize: Int, sigma: Double): this.type = gaussianBlur(kernelSize, kernelSize, sigma, 0.0)
  def gaussianBlur(kernelWidth: Int, kernelHeight: Int, sigmaX: Double, sigmaY: Double): this.type =
    addOperation(GaussianBlur(kernelWidth, kernelHeight, sigmaX, sigmaY))
  def boxBlur(kernelWidth: Int, kernelHeight: Int): this.type = addOperation(BoxBlur(kernelWidth, kernelHeight))
  def threshold(threshold: Double, maxValue: Double = 255, thresholdType: String = "binary",
                method: String = "fixed"): this.type =
    addOperation(Threshold(threshold, maxValue, thresholdType, method))
  def flip(mode: String): this.type = addOperation(Flip(mode))
  def normalize(mean: Seq[Double], std: Seq[Double], scale: Double = 1.0): this.type =
    addOperation(Normalize(mean, std, scale))
  def toTensor(layout: String = "CHW", channelOrder: String = "RGB"): this.type =
    addOperation(ToTensor(layout, channelOrder))

  // SynapseML's spellings of the same operations (see docs/MIGRATING_FROM_SYNAPSEML.md): its OpenCV codes
  // become Irbis's named fields, and where its own code does something else than documented, the documented
  // behaviour wins.

  /** Resizes the short side to `size` keeping the aspect ratio, or to `size` x `size` when it is false. */
  def resize(size: Int, keepAspectRatio: Boolean): this.type =
    if (keepAspectRatio) resizeShortSide(size) else resize(size, size)

  /** `cv2.cvtColor` with one of the codes whose source order the image can have (BGR, BGRA or GRAY). */
  def colorFormat(code: Int): this.type = addOperation(ConvertColor(SynapseMLCodes.colorTarget(code, channelOrder)))

  /** A `height` x `width` box blur; SynapseML passes them to OpenCV swapped, Irbis does not. */
  def blur(height: Double, width: Double): this.type =
    boxBlur(SynapseMLCodes.wholeSize("width", width), SynapseMLCodes.wholeSize("height", height))

  /** A 2-D Gaussian blur of `apertureSize` x `apertureSize` (SynapseML blurs only vertically). */
  def gaussianKernel(apertureSize: Int, sigma: Double): this.type = gaussianBlur(apertureSize, sigma)

  /** `cv2.threshold` with an OpenCV type code (`THRESH_BINARY`... optionally `| THRESH_OTSU`/`THRESH_TRIANGLE`). */
  def threshold(threshold: Double, maxValue: Double, thresholdType: Int): this.type = {
    val (kind, method) = SynapseMLCodes.threshold(thresholdType)
    this.threshold(threshold, maxValue, kind, method)
  }

  /** `cv2.flip` codes: 0 up-down, positive left-right, negative both. */
  def flip(flipCode: Int): this.type =
    flip(if (flipCode == 0) "vertical" else if (flipCode > 0) "horizontal" else "both")

  /**
   * Normalizes with `mean` and `std` given in `channelOrder` (RGB or BGR) and ends with a CHW tensor in that
   * order: SynapseML's `normalize(mean, std, colorScaleFactor)`, whose statistics are in its tensor's order.
   */
  def normalizeToTensor(mean: Array[Double], std: Array[Double], scale: Double,
                        channelOrder: String = "RGB"): this.type = {
    require(ImageOp.ChannelOrders.contains(channelOrder),
      s"channelOrder must be one of ${ImageOp.ChannelOrders.mkString(", ")}, got $channelOrder")
    val current = this.channelOrder
    val reorder = (v: Array[Double]) =>
      if (v.length == 3 && ImageOp.ChannelOrders.contains(current) && current != channelOrder) v.reverse else v
    normalize(reorder(mean).toSeq, reorder(std).toSeq, scale).toTensor("CHW", channelOrder)
  }

  /** SynapseML's element type of the tensor: Irbis's tensors are float arrays, so only FloatType is accepted. */
  def setTensorElementType(value: DataType): this.type = {
    require(value == FloatType,
      s"$uid: tensors are float32 arrays (FloatType); got $value. Cast the output " +
        "column instead, e.g. col(outputCol).cast(\"array<double>\")")
    this
  }

  /** The channel order the image will have after the current operations, assuming a colour image struct. */
  private def channelOrder: String =
    getOps.collect { case ConvertColor(to) => to }.lastOption.getOrElse("BGR")

  private def outputType: DataType =
    if (getOps.lastOption.exists(_.isInstanceOf[ToTensor])) ArrayType(FloatType, containsNull = false)
    else SparkImage.schema

  override def transformSchema(schema: StructType): StructType = {
    ImageOp.requireComplete(getOps, uid)
    requireImageOrBytes(schema, uid, getInputCol)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    ImageRows.outputSchema(schema, getOutputCol, outputType, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    transformSchema(dataset.schema, logging = true)
    val pipeline = new ImagePipeline(getOps)
    val (stage, column, settings) = (getClass.getSimpleName, getInputCol, decodeSettings)
    val fromBinary = dataset.schema(getInputCol).dataType == BinaryType
    val result = (fromBinary, pipeline.outputsTensor) match {
      case (_, true) => tensorResults(dataset, column, pipeline, stage)
      case (true, false) =>
        ImageRows.imageUdf2 { (bytes: Array[Byte], origin: String) =>
          ImageRows.guarded[ImageRecord](stage, column, origin) {
            Option(Decoding.decode(bytes, settings)).map(m => SparkImage.toRecord(pipeline.run(m)._1, origin)).orNull
          }
        }(ColumnRef(getInputCol), originColumn(dataset.schema, uid))
      case (false, false) =>
        ImageRows.imageUdf { (row: Row) =>
          val origin = if (row == null) null else SparkImage.origin(row)
          ImageRows.guarded[ImageRecord](stage, column, origin) {
            if (row == null) null else SparkImage.toRecord(pipeline.run(SparkImage.toMat(row))._1, origin)
          }
        }(ColumnRef(getInputCol))
    }
    ImageRows.attach(dataset.toDF(), result, if (pipeline.outputsTensor) "tensor" else "image", getOutputCol,
      getErrorCol)
  }

  override def copy(extra: ParamMap): ImageTransformer = defaultCopy(extra)
}

object ImageTransformer extends IrbisReadable[ImageTransformer] {

  /** A stage holding these operations (a JSON array of strings): the wrappers run the Scala aliases on it. */
  def withOperations(jsonArray: String): ImageTransformer = {
    validateOperations(jsonArray)
    val items = org.json4s.jackson.JsonMethods.parse(jsonArray).values.asInstanceOf[List[String]]
    new ImageTransformer().setOperations(items.toArray)
  }

  /** One operation's canonical JSON (validated, defaults filled in): how the Python fluent methods build theirs. */
  def canonicalOperation(json: String): String = ImageOp.canonical(json)

  /** Checks a JSON array of operations as the Param does, with the same messages (for the wrappers). */
  def validateOperations(jsonArray: String): Unit = {
    val items = org.json4s.jackson.JsonMethods.parse(jsonArray) match {
      case org.json4s.JArray(xs) => xs.map {
          case org.json4s.JString(s) => s
          case other => throw new IllegalArgumentException(
              s"operations must be strings (compact JSON objects), got ${org.json4s.jackson.JsonMethods.compact(other)}")
        }
      case _ => throw new IllegalArgumentException(s"operations must be a list of strings, got $jsonArray")
    }
    ImageOp.parseAll(items)
  }
}
