package irbis.featurize

import irbis.core._
import irbis.image._
import irbis.onnx.{HasModelPayload, ONNXModel, OnnxGraphCut}
import ai.onnxruntime.TensorInfo
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.SQLDataTypes.VectorType
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.Identifiable
import org.apache.spark.sql.{DataFrame, Dataset, Row}
import org.apache.spark.sql.functions.{coalesce, concat, lit, udf}
import org.apache.spark.sql.types.{BinaryType, StructType}
import org.json4s._
import org.json4s.jackson.JsonMethods.{compact, parse, render}

/** The image preparation a model expects, as the featurizer applies it. */
case class Preprocessing(inputSize: Int, resizeShortSide: Int, channelOrder: String, scale: Double,
                         mean: Seq[Double], std: Seq[Double]) {
  /** resize (short side, or straight to the input size), centre crop, channels, normalize, CHW tensor. */
  def operations: Seq[ImageOp] = {
    val size = if (resizeShortSide > 0) Seq(ResizeShortSide(resizeShortSide, "linear"), CenterCrop(inputSize, inputSize))
      else Seq(Resize(inputSize, inputSize, "linear"))
    size ++ Seq(ConvertColor(channelOrder), Normalize(mean, std, scale), ToTensor("CHW", channelOrder))
  }
}

class ImageFeaturizer(override val uid: String) extends Transformer with IrbisStage
  with HasInputCol with HasOutputCol with HasErrorCol with DecodeParams with HasModelPayload {
  import ImageFeaturizer._

  def this() = this(Identifiable.randomUID("ImageFeaturizer"))

  override def stageDoc: String =
    "Turns images into feature vectors with a pretrained ONNX image model whose last layers are cut off " +
      "(transfer learning): each image (an image struct, or encoded file bytes decoded as ImageDecoder does) is " +
      "resized, centre-cropped, normalized and made a CHW tensor as the model expects, then run through ONNX " +
      "Runtime; the tensor that feeds the model's classifier (or any inner tensor) becomes an ML vector. With " +
      "headless = false the model's own output is returned as softmax probabilities instead. Preprocessing " +
      "defaults come from the model's ONNX metadata ('preprocessing' JSON) when it has some. An image that " +
      "cannot be read gives null features and a message in errorCol; the job never fails because of one image."

  final val cutOutputLayers = new IntParam(this, "cutOutputLayers",
    "How many nodes to cut from the end of the graph: the features are the input of the node that many steps " +
      "back from the (single) graph output. 1 = the tensor that feeds the classifier (for EfficientNet-Lite0 the " +
      "1280-d pooled features). Ignored when outputNode is set or headless is false.", ParamValidators.gtEq(1))
  final val outputNode = new StringParam(this, "outputNode",
    "Name of a tensor of the graph to return instead (any node output; flattened per image). Overrides " +
      "cutOutputLayers.", (s: String) => s != null && s.nonEmpty)
  final val headless = new BooleanParam(this, "headless",
    "true: return features from inside the network (see cutOutputLayers, outputNode). false: return the model's " +
      "own (single) output with softmax applied, i.e. class probabilities.")
  final val inputSize = new IntParam(this, "inputSize",
    "Height and width of the square model input, in pixels. Default: the model metadata's, else 224.",
    ParamValidators.gt(0))
  final val resizeShortSide = new IntParam(this, "resizeShortSide",
    "The image's shorter side is first resized (bilinear) to this, the longer side to floor(size * long / " +
      "short), then the centre inputSize x inputSize square is cut out; 0 resizes straight to inputSize x " +
      "inputSize (aspect ratio not kept). Must be 0 or >= inputSize. Default: the model metadata's, else 256.",
    ParamValidators.gtEq(0))
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
  final val miniBatchSize = new IntParam(this, "miniBatchSize", "Images per ONNX Runtime call.", ParamValidators.gt(0))

  setDefault(inputCol -> "image", outputCol -> "features", cutOutputLayers -> 1, headless -> true,
    inputSize -> 224, resizeShortSide -> 256, channelOrder -> "RGB", scale -> 1.0 / 255,
    mean -> Array(0.485, 0.456, 0.406), std -> Array(0.229, 0.224, 0.225), miniBatchSize -> 64)

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
  def getMiniBatchSize: Int = $(miniBatchSize)
  def setMiniBatchSize(value: Int): this.type = set(miniBatchSize, value)

  override def write: org.apache.spark.ml.util.MLWriter = { payload; super.write }

  /** What one model and cut give: computed once, not per transform. */
  private case class Prepared(metadata: Map[String, JValue], input: String, onnx: ONNXModel)
  @transient private var prepared: Option[((Array[Byte], Option[String], Int, Boolean), Prepared)] = None

  private def prepare(): Prepared = {
    val bytes = payload
    val key = (bytes, get(outputNode), getCutOutputLayers, getHeadless)
    prepared match {
      case Some(((b, n, c, h), p)) if (b eq bytes) && (n, c, h) == (key._2, key._3, key._4) => p
      case _ =>
        val p = cut(bytes)
        prepared = Some((key, p))
        p
    }
  }

  private def cut(bytes: Array[Byte]): Prepared = {
    val graph = OnnxGraphCut.graph(bytes)
    val onnx = new ONNXModel(s"${uid}__onnx").setErrorCol(OnnxErrorCol).setVectorOutputCols(Array(RawCol))
    if (getHeadless) {
      val tensor = get(outputNode).getOrElse(OnnxGraphCut.tensorBack(graph, getCutOutputLayers, uid))
      onnx.setModelPayload(OnnxGraphCut.expose(bytes, tensor, uid)).setFetchDict(RawCol, OnnxGraphCut.Output)
    } else {
      require(graph.outputs.size == 1, s"$uid: headless = false returns the model's output, but the graph has " +
        s"${graph.outputs.size} (${graph.outputs.mkString(", ")}); choose one with outputNode and headless = true")
      onnx.setModelPayload(bytes).setFetchDict(RawCol, graph.outputs.head).setSoftMaxDict(RawCol, ProbabilityCol)
    }
    // Read by ONNX Runtime from the session that will run the model (the cut keeps the metadata).
    val metadata = onnx.modelMetadata.get("preprocessing").map(readMetadata).getOrElse(Map.empty)
    val input = metadata.get("input").collect { case JString(s) => s }.getOrElse {
      require(graph.feeds.size == 1, s"$uid: the model has ${graph.feeds.size} inputs (${graph.feeds.mkString(", ")}); " +
        "ImageFeaturizer feeds models with a single image input")
      graph.feeds.head
    }
    require(graph.feeds.contains(input), s"$uid: the model's preprocessing metadata names input '$input', which the " +
      s"graph does not have (inputs: ${graph.feeds.mkString(", ")})")
    Prepared(metadata, input, onnx.setFeedDict(Map(input -> TensorCol)))
  }

  private def readMetadata(json: String): Map[String, JValue] = (try parse(json) catch {
    case e: Exception => throw new IllegalArgumentException(s"$uid: the model's 'preprocessing' metadata is not JSON: " +
      s"${e.getMessage}")
  }) match {
    case JObject(fields) => fields.toMap
    case _ => throw new IllegalArgumentException(s"$uid: the model's 'preprocessing' metadata is not a JSON object: $json")
  }

  private def preprocessingParams: Seq[Param[_]] = Seq(inputSize, resizeShortSide, channelOrder, scale, mean, std)

  /** A preprocessing value (from model metadata or a catalogue) decoded and validated by the Param's own codec. */
  private def decodeMetadata[T](p: Param[T], v: JValue, origin: String): T = {
    val value = try p.jsonDecode(compact(render(v))) catch {
      case e: Exception => throw new IllegalArgumentException(
        s"$uid: $origin has ${p.name} = ${compact(render(v))}: ${e.getMessage}")
    }
    require(p.isValid(value), s"$uid: $origin has ${p.name} = ${compact(render(v))}, which is not valid: ${p.doc}")
    value
  }

  private def checkLayout(meta: Map[String, JValue], origin: String): Unit = meta.get("layout").foreach(l =>
    require(l == JString("CHW"), s"$uid: $origin asks for layout ${compact(render(l))}; ImageFeaturizer feeds CHW"))

  /**
   * Loads a catalogue model (as `ModelDownloader.downloadByName` returns it, `uri` at the verified copy) and
   * sets the preprocessing Params the catalogue gives, which then win over the model's own metadata.
   */
  def setModel(schema: ModelSchema): this.type = {
    require(!schema.isConverted && schema.scheme != "http" && schema.scheme != "https",
      s"$uid: model '${schema.name}' has uri ${schema.uri}: download it first (ModelDownloader.downloadByName) and " +
        "pass the schema it returns")
    val origin = s"the catalogue entry of model '${schema.name}'"
    checkLayout(schema.preprocessing, origin)
    val values = preprocessingParams.flatMap(p => schema.preprocessing.get(p.name).filter(_ != JNull)
      .map(v => ParamPair(p.asInstanceOf[Param[Any]], decodeMetadata(p.asInstanceOf[Param[Any]], v, origin))))
    clear(modelPayload)
    forgetPayloadSource()
    values.foreach(pair => set(pair))
    setModelLocation(schema.uri)
  }

  /** Explicitly set Params win over the model's metadata, which wins over the Params' defaults. */
  def preprocessing: Preprocessing = {
    val meta = prepare().metadata
    def pick[T](p: Param[T]): T =
      if (isSet(p)) $(p)
      else meta.get(p.name).filter(_ != JNull).map(v => decodeMetadata(p, v, "the model's preprocessing metadata"))
        .getOrElse($(p))
    checkLayout(meta, "the model's preprocessing metadata")
    val p = Preprocessing(pick(inputSize), pick(resizeShortSide), pick(channelOrder), pick(scale),
      pick(mean).toSeq, pick(std).toSeq)
    require(p.resizeShortSide == 0 || p.resizeShortSide >= p.inputSize, s"$uid: resizeShortSide ${p.resizeShortSide} " +
      s"is smaller than inputSize ${p.inputSize}: the centre crop would not fit (use 0 to resize straight to inputSize)")
    p
  }

  private def checkInputShape(p: Prepared, pre: Preprocessing): Unit = p.onnx.modelInputs(p.input).getInfo match {
    case t: TensorInfo =>
      val expected = Array(3L, pre.inputSize.toLong, pre.inputSize.toLong)
      val shape = t.getShape
      require(shape.length == 4 && shape.tail.zip(expected).forall { case (d, e) => d < 0 || d == e },
        s"$uid: the model's input '${p.input}' has shape ${shape.map(d => if (d < 0) "?" else d.toString)
          .mkString("[", ", ", "]")}; the preprocessing makes [batch, 3, ${pre.inputSize}, ${pre.inputSize}] " +
          "(check inputSize)")
      require(shape.drop(2).forall(_ > 0), s"$uid: the model's input '${p.input}' has symbolic height or width; " +
        "ImageFeaturizer needs a fixed input size")
    case other => throw new IllegalArgumentException(s"$uid: the model's input '${p.input}' is not a tensor ($other)")
  }

  override def transformSchema(schema: StructType): StructType = {
    requireImageOrBytes(schema, uid, getInputCol)
    ImageRows.checkOutputs(schema, uid, getInputCol, getOutputCol, getErrorCol)
    checkInputShape(prepare(), preprocessing)
    ImageRows.outputSchema(schema, getOutputCol, VectorType, getErrorCol)
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val schema = transformSchema(dataset.schema, logging = true)
    val p = prepare()
    val pipeline = new ImagePipeline(preprocessing.operations)
    val column = getInputCol
    val stage = getClass.getSimpleName
    val tensors = tensorResults(dataset, column, pipeline, stage)
    val withTensors = ImageRows.attach(dataset.toDF(), tensors, "tensor", TensorCol, getErrorCol)
    val scored = p.onnx.setMiniBatchSize(getMiniBatchSize).transform(withTensors)
    val result = ColumnRef(if (getHeadless) RawCol else ProbabilityCol)
    val error = coalesce(ColumnRef(getErrorCol), concat(lit(s"$stage: column '$column': "), ColumnRef(OnnxErrorCol)))
    scored.select(schema.fieldNames.toIndexedSeq.map {
      case c if c == getOutputCol => result.as(c)
      case c if c == getErrorCol => error.as(c)
      case c => ColumnRef(c)
    }: _*)
  }

  override def copy(extra: ParamMap): ImageFeaturizer = defaultCopy(extra)
}

object ImageFeaturizer extends IrbisReadable[ImageFeaturizer] {
  private val TensorCol = "__irbis_featurizer_tensor"
  private val RawCol = "__irbis_featurizer_raw"
  private val ProbabilityCol = "__irbis_featurizer_probability"
  private val OnnxErrorCol = "__irbis_featurizer_onnx_error"

  private def validChannels(v: Array[Double], zeroOk: Boolean): Boolean =
    v != null && (v.length == 1 || v.length == 3) && v.forall(d => !d.isNaN && !d.isInfinite && (zeroOk || d != 0))
}
