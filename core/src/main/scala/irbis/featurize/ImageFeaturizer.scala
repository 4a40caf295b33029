package irbis.featurize

import irbis.core._
import irbis.image._
import irbis.onnx.HasModelFolder
import ai.onnxruntime.TensorInfo
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.attribute.{Attribute, AttributeGroup, NumericAttribute}
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.linalg.Vector
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.{Identifiable, MLReader, MLWriter}
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.{coalesce, concat, lit, udf}
import org.apache.spark.sql.types.{BinaryType, StringType, StructType}
import org.json4s.JNull

class ImageFeaturizer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol with DecodeParams with HasModelFolder with HasMiniBatchSize {
  import FeaturizerGraph.{OnnxErrorCol, ProbabilityCol, RawCol, TensorCol}
  import ImageFeaturizer._

  def this() = this(Identifiable.randomUID("ImageFeaturizer"))

  override def stageDoc: String =
    "Turns images into feature vectors with a pretrained ONNX image model whose last layers are cut off " +
      "(transfer learning): each image (an image struct, or encoded file bytes decoded as ImageDecoder does) is " +
      "resized, centre-cropped, normalized and made a CHW or HWC tensor as the model expects, then run through ONNX " +
      "Runtime; the tensor that feeds the model's classifier (or any inner tensor) becomes an ML vector. With " +
      "headless = false the model's own output is returned as softmax probabilities instead, with the name of " +
      "the most probable class in predictedClassCol. Preprocessing " +
      "defaults come from the model's ONNX metadata ('preprocessing' JSON) when it has some. An image that " +
      "cannot be read gives null features and a message in errorCol; the job never fails because of one image."

  final val cutOutputLayers = new IntParam(this, "cutOutputLayers",
    "How many nodes to cut from the end of the graph: the features are the input of the node that many steps " +
      "back from the (single) graph output. 1 = the tensor that feeds the classifier (for EfficientNet-Lite0 the " +
      "1280-d pooled features). Ignored when outputNode is set or headless is false.", Validators.gtEq(1))
  final val outputNode = new StringParam(this, "outputNode",
    "Name of a tensor of the graph to return instead (any node output; flattened per image). Overrides " +
      "cutOutputLayers.", Validators.nonEmpty)
  final val headless = new BooleanParam(this, "headless",
    "true: return features from inside the network (see cutOutputLayers, outputNode). false: return the model's " +
      "own (single) output with softmax applied, i.e. class probabilities.")
  final val inputSize = new IntParam(this, "inputSize",
    "Height and width of the square model input, in pixels. Default: the model metadata's, else the model " +
      "input's own (fixed) height and width; a model whose input has symbolic height or width and no metadata " +
      "size needs it set (the shown default 224 is then not used).",
    Validators.gt(0))
  final val resizeShortSide = new IntParam(this, "resizeShortSide",
    "The image's shorter side is first resized (see resizeInterpolation) to this, the longer side to floor(size * long / " +
      "short), then the centre inputSize x inputSize square is cut out; 0 resizes straight to inputSize x " +
      "inputSize (aspect ratio not kept). Must be 0 or >= inputSize. Default: the model metadata's, else 256.",
    Validators.gtEq(0))
  final val channelOrder = new EnumParam(this, "channelOrder",
    "Channel order of the model input (grey and alpha images are converted to 3 channels). Default: the model " +
      "metadata's, else RGB.", ImageOp.ChannelOrders)
  final val scale = new DoubleParam(this, "scale",
    "Pixels (0..255) are multiplied by this before mean and std apply. Default: the model metadata's, else 1/255.",
    (d: Double) => !d.isNaN && !d.isInfinite && d != 0)
  final val mean = new DoubleArrayParam(this, "mean",
    "Per-channel mean subtracted after scaling, in channelOrder (1 value for all channels, or 3). Default: the " +
      "model metadata's, else ImageNet's [0.485, 0.456, 0.406].", validChannels(_, zeroOk = true))
  final val std = new DoubleArrayParam(this, "std",
    "Per-channel standard deviation divided by after subtracting the mean, in channelOrder (1 value or 3, not " +
      "0). Default: the model metadata's, else ImageNet's [0.229, 0.224, 0.225].", validChannels(_, zeroOk = false))
  final val resizeInterpolation = new EnumParam(this, "resizeInterpolation",
    "How resizing interpolates: OpenCV's INTER_NEAREST, INTER_LINEAR, INTER_CUBIC, INTER_AREA or INTER_LANCZOS4, " +
      "the same pixels as cv2.resize with that flag (" + ImageOp.CubicNote + "). Default: the model " +
      "metadata's, else bilinear.", Preprocessing.Interpolations)
  final val layout = new EnumParam(this, "layout",
    "Tensor layout of the model input: CHW ([batch, 3, height, width]) or HWC ([batch, height, width, 3]). auto: " +
      "the model metadata's, else read from the input's shape (3 channels on axis 3 and not on axis 1: HWC; " +
      "otherwise CHW).", Seq("auto", "CHW", "HWC"))
  override protected def miniBatchSizeDoc: String = "Images per ONNX Runtime call."
  override protected def miniBatchSizeIsValid: Int => Boolean = Validators.gt(0)
  final val classNames = new StringArrayParam(this, "classNames",
    "Names of the model's output classes in index order, for headless = false: they name the probability " +
      "vector's slots (ML attribute metadata) and fill predictedClassCol; as many as the model has outputs. " +
      "Default: the model's 'class_names' metadata (a JSON list of strings) when it has one, else none (the " +
      "class index, as text, stands for the name).", Validators.nonEmpty)
  final val predictedClassCol = new StringParam(this, "predictedClassCol",
    "With headless = false: the column added for the name of the most probable class (null where the image " +
      "gave an error). Not added when headless is true.", Validators.nonEmpty)

  setDefault(inputCol -> "image", outputCol -> "features", cutOutputLayers -> 1, headless -> true,
    inputSize -> 224, resizeShortSide -> 256, channelOrder -> "RGB", scale -> 1.0 / 255,
    mean -> Array(0.485, 0.456, 0.406), std -> Array(0.229, 0.224, 0.225), miniBatchSize -> 64,
    resizeInterpolation -> "bilinear", layout -> "auto", predictedClassCol -> "predictedClass")

  def getCutOutputLayers: Int = $(cutOutputLayers)
  def setCutOutputLayers(value: Int): this.type = set(cutOutputLayers, value)
  def getOutputNode: String = $(outputNode)
  def setOutputNode(value: String): this.type = set(outputNode, value)
  def getHeadless: Boolean = $(headless)
  def setHeadless(value: Boolean): this.type = set(headless, value)
  def getInputSize: Int = $(inputSize)
  def setInputSize(value: Int): this.type = set(inputSize, value)
  def getResizeShortSide: Int = $(resizeShortSide)
  def setResizeShortSide(value: Int): this.type = set(resizeShortSide, value)
  def getChannelOrder: String = $(channelOrder)
  def setChannelOrder(value: String): this.type = set(channelOrder, value)
  def getScale: Double = $(scale)
  def setScale(value: Double): this.type = set(scale, value)
  def getMean: Array[Double] = $(mean)
  def setMean(value: Array[Double]): this.type = set(mean, value)
  def getStd: Array[Double] = $(std)
  def setStd(value: Array[Double]): this.type = set(std, value)
  def getResizeInterpolation: String = $(resizeInterpolation)
  def setResizeInterpolation(value: String): this.type = set(resizeInterpolation, value)
  def getLayout: String = $(layout)
  def setLayout(value: String): this.type = set(layout, value)
  def getClassNames: Array[String] = $(classNames)
  def setClassNames(value: Array[String]): this.type = set(classNames, value)
  def getPredictedClassCol: String = $(predictedClassCol)
  def setPredictedClassCol(value: String): this.type = set(predictedClassCol, value)

  override protected def modelLocationDoc: String =
    "Where the model is read from (any Hadoop path): an .onnx file, read into modelPayload, or a folder holding " +
      "one .onnx file and its external data files (models over 2 GB), whose graph alone is read and cut; " +
      "executors copy the folder's weights once and open them by path, and a saved stage copies the folder."

  override def write: MLWriter = writerWithFolder

  /** The model graph cut as the Params say, and the caches of cutting it. */
  @transient private lazy val graph = new FeaturizerGraph(uid)

  private def prepare(): CutModel =
    graph.prepare(payload, modelFolder, get(outputNode), getCutOutputLayers, getHeadless, hadoopConf)

  /** With headless = false: the class names (explicit, else the model's), checked against the output's size. */
  private def knownClassNames(p: CutModel): Option[Seq[String]] = {
    val names = get(classNames).map(_.toSeq).orElse(p.metadataClassNames)
    names.foreach { n =>
      val classes = p.onnx.modelOutputs.get(p.output).map(_.getInfo) match {
        case Some(t: TensorInfo) => t.getShape.lastOption.filter(_ > 0)
        case _ => None
      }
      val origin = if (isSet(classNames)) "classNames" else "the model's 'class_names' metadata"
      classes.foreach(c =>
        require(c == n.size,
          s"$uid: $origin has ${n.size} names, but the model's output " +
            s"'${p.output}' has $c classes"))
    }
    names
  }

  private def preprocessingParams: Seq[Param[_]] =
    Seq(inputSize, resizeShortSide, channelOrder, scale, mean, std, resizeInterpolation, layout)

  /**
   * Loads a catalogue model (as `ModelDownloader.downloadByName` returns it, `uri` at the verified copy) and
   * sets the preprocessing Params the catalogue gives, which then win over the model's own metadata. The file
   * must still have the catalogue's SHA-256 (checked once per file and JVM while it stays unchanged).
   */
  def setModel(schema: ModelSchema): this.type = {
    require(!schema.isConverted && schema.scheme != "http" && schema.scheme != "https",
      s"$uid: model '${schema.name}' has uri ${schema.uri}: download it first (ModelDownloader.downloadByName) and " +
        "pass the schema it returns")
    val origin = s"the catalogue entry of model '${schema.name}'"
    val values = preprocessingParams.map(_.asInstanceOf[Param[Any]]).flatMap(p =>
      schema.preprocessing.get(p.name).filter(_ != JNull).map(v =>
        ParamPair(p, Preprocessing.decode(p, v, origin, uid))))
    val verified = ModelDownloader.verifyAtUse(schema, hadoopConf)
    clear(modelPayload)
    forgetPayloadSource()
    values.foreach(pair => set(pair))
    setModelLocation(schema.uri)
    try {
      if (isDefined(modelPayload)) ModelDownloader.checkLoaded(schema, verified, getModelPayload, hadoopConf)
      else ModelDownloader.verifyAtUse(schema, hadoopConf)
    } catch {
      case e: ModelDownloadException =>
        clear(modelPayload)
        clear(modelLocation)
        forgetPayloadSource()
        throw e
    }
    this
  }

  /**
   * Explicitly set Params win over the model's metadata, which wins over the Params' defaults; the input size
   * and layout not given either way come from the model input's shape.
   */
  def preprocessing: Preprocessing = {
    val prep = prepare()
    val meta = prep.metadata
    def explicitOrMeta[T](p: Param[T]): Option[T] =
      if (isSet(p)) Some($(p))
      else meta.get(p.name).filter(_ != JNull)
        .map(v => Preprocessing.decode(p, v, "the model's preprocessing metadata", uid))
    def pick[T](p: Param[T]): T = explicitOrMeta(p).getOrElse($(p))
    val shape = prep.inputShape
    val layoutName = pick(layout) match {
      case "auto" => Preprocessing.layoutOf(shape)
      case l => l
    }
    val size =
      explicitOrMeta(inputSize).getOrElse(Preprocessing.sizeOf(shape, layoutName, prep.input, $(inputSize), uid))
    val p = Preprocessing(size, pick(resizeShortSide), pick(channelOrder), pick(scale), pick(mean).toSeq,
      pick(std).toSeq, pick(resizeInterpolation), layoutName)
    require(p.resizeShortSide == 0 || p.resizeShortSide >= p.inputSize,
      s"$uid: resizeShortSide ${p.resizeShortSide} " +
        s"is smaller than inputSize ${p.inputSize}: the centre crop would not fit (use 0 to resize straight to inputSize)")
    p
  }

  private def checkInputShape(p: CutModel, pre: Preprocessing): Unit = {
    val shape = p.inputShape
    val expected = pre.tensorShape
    val made = (Seq("batch") ++ expected.map(_.toString)).mkString("[", ", ", "]")
    require(shape.length == 4 && shape.tail.zip(expected).forall { case (d, e) => d < 0 || d == e },
      s"$uid: the model's input '${p.input}' has shape ${Preprocessing.showShape(shape)}; the preprocessing makes " +
        s"$made (layout ${pre.layout}; check inputSize and layout)")
  }

  override def transformSchema(schema: StructType): StructType = {
    requireImageOrBytes(schema, uid, getInputCol)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    val prep = prepare()
    checkInputShape(prep, preprocessing)
    val out = ImageRows.outputSchema(schema, getOutputCol, VectorType, getErrorCol)
    if (getHeadless) out
    else {
      Columns.requireAbsent(out, uid, getPredictedClassCol)
      val named = knownClassNames(prep).map { n =>
        val group = new AttributeGroup(getOutputCol,
          n.map(name => NumericAttribute.defaultAttr.withName(name): Attribute).toArray)
        StructType(out.fields.map(f => if (f.name == getOutputCol) group.toStructField() else f))
      }.getOrElse(out)
      named.add(getPredictedClassCol, StringType, nullable = true)
    }
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    val pre = preprocessing
    val onnx = graph.runnable(prepare(), pre.tensorShape, hadoopConf)
    val pipeline = new ImagePipeline(pre.operations)
    val column = getInputCol
    val stage = getClass.getSimpleName
    val tensors = tensorResults(dataset, column, pipeline, stage)
    val withTensors = ImageRows.attach(dataset.toDF(), tensors, "tensor", TensorCol, getErrorCol)
    val scored = onnx.setMiniBatchSize(getMiniBatchSize).transform(withTensors)
    val result = ColumnRef(if (getHeadless) RawCol else ProbabilityCol)
    val error = coalesce(ColumnRef(getErrorCol), concat(lit(s"$stage: column '$column': "), ColumnRef(OnnxErrorCol)))
    val names = if (getHeadless) None else Some(knownClassNames(prepare()))
    val top = names.map { n =>
      val name = n.map(_.toIndexedSeq)
      udf((v: Vector) => if (v == null) null else { val i = v.argmax; name.map(_(i)).getOrElse(i.toString) })
    }
    scored.select(schema.fields.toIndexedSeq.map { f =>
      f.name match {
        case c if c == getOutputCol => result.as(c, f.metadata)
        case c if c == getErrorCol => error.as(c)
        case c if !getHeadless && c == getPredictedClassCol => top.get(result).as(c)
        case c => ColumnRef(c)
      }
    }: _*)
  }

  override def copy(extra: ParamMap): ImageFeaturizer = defaultCopy(extra)
}

object ImageFeaturizer extends IrbisReadable[ImageFeaturizer] {
  override def read: MLReader[ImageFeaturizer] = HasModelFolder.reader[ImageFeaturizer]

  private def validChannels(v: Array[Double], zeroOk: Boolean): Boolean =
    v != null && (v.length == 1 || v.length == 3) && v.forall(d => !d.isNaN && !d.isInfinite && (zeroOk || d != 0))
}
