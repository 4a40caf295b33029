package irbis.featurize

import irbis.onnx.{ModelFolder, ONNXModel, OnnxGraphCut}
import ai.onnxruntime.TensorInfo
import org.apache.hadoop.conf.Configuration
import org.apache.spark.ml.param.ParamMap
import org.json4s._
import org.json4s.jackson.JsonMethods.parse

/**
 * A model graph cut as the featurizer runs it, and what it yields: computed once per model and cut, not per
 * transform.
 *
 * @param metadata the model's 'preprocessing' metadata (JSON object fields), empty when it has none
 * @param input the graph input the images feed
 * @param bytes the graph that runs (the cut one, with headless = true)
 * @param onnx the ONNXModel running `bytes`, fed [[FeaturizerGraph.TensorCol]], fetching [[FeaturizerGraph.RawCol]]
 *             (and, with headless = false, [[FeaturizerGraph.ProbabilityCol]])
 * @param folder the model folder (and its fingerprint) whose weights the graph reads, for a folder model
 * @param metadataClassNames the model's 'class_names' metadata, when it has some
 * @param output the (uncut) graph's first output
 * @param uid the stage's, for messages
 */
private[featurize] case class CutModel(metadata: Map[String, JValue], input: String, bytes: Array[Byte],
                                       onnx: ONNXModel, folder: Option[(ModelFolder, String)],
                                       metadataClassNames: Option[Seq[String]], output: String)(uid: String) {

  /** The graph input's declared shape (-1 for a symbolic dim). */
  lazy val inputShape: Seq[Long] = onnx.modelInputs(input).getInfo match {
    case t: TensorInfo => t.getShape.toSeq
    case other => throw new IllegalArgumentException(s"$uid: the model's input '$input' is not a tensor ($other)")
  }
}

/**
 * Cuts a featurizer's model graph and keeps the last results: the graph of a model folder (per folder content),
 * the cut model (per graph and cut) and the model with a fixed input shape (per cut model and tensor shape). One
 * per stage instance; not serialized (a copy starts empty).
 */
private[featurize] class FeaturizerGraph(uid: String) {
  import FeaturizerGraph._

  private var folderGraph: Option[(String, Array[Byte])] = None
  private var prepared: Option[((Array[Byte], Option[String], Int, Boolean), CutModel)] = None
  private var fixed: Option[((CutModel, Seq[Long]), ONNXModel)] = None

  /** The cut model of the stage's model (`payload`, or the `folder`'s graph), recomputed only when they change. */
  def prepare(payload: => Array[Byte], folder: Option[(ModelFolder, String)], outputNode: Option[String],
              cutOutputLayers: Int, headless: Boolean, conf: => Configuration): CutModel = {
    val bytes = folder match {
      case None => payload
      case Some((f, fingerprint)) => folderGraph match {
          case Some((fp, b)) if fp == fingerprint => b
          case _ =>
            val b = f.graphBytes(conf)
            folderGraph = Some((fingerprint, b))
            b
        }
    }
    val key = (bytes, outputNode, cutOutputLayers, headless)
    prepared match {
      case Some(((b, n, c, h), p)) if (b eq bytes) && (n, c, h) == (key._2, key._3, key._4) => p
      case _ =>
        val p = cut(bytes, folder, outputNode, cutOutputLayers, headless, conf)
        prepared = Some((key, p))
        p
    }
  }

  /**
   * The model that runs: the prepared one, or, when its input's height or width is symbolic, a copy whose
   * input declares the preprocessing's shape (ONNXModel reshapes the flat tensors to the declared shape).
   */
  def runnable(prep: CutModel, tensorShape: Seq[Long], conf: => Configuration): ONNXModel = {
    val shape = prep.inputShape
    if (shape.length != 4 || shape.tail.forall(_ > 0)) prep.onnx
    else {
      val dims = -1L +: tensorShape
      fixed match {
        case Some(((p, d), m)) if (p eq prep) && d == dims => m
        case _ =>
          val m = withGraph(prep.onnx.copy(ParamMap.empty), OnnxGraphCut.fixInputShape(prep.bytes, prep.input, dims),
            prep.folder, conf)
          fixed = Some(((prep, dims), m))
          m
      }
    }
  }

  /** ONNXModel on the graph `bytes`: as its payload, or, for a model folder, as a folder with the same weights. */
  private def withGraph(m: ONNXModel, bytes: Array[Byte], folder: Option[(ModelFolder, String)],
                        conf: Configuration): ONNXModel =
    folder match {
      case Some((f, fingerprint)) => m.setModelLocation(f.withGraph(conf, fingerprint, bytes).getPath)
      case None => m.setModelPayload(bytes)
    }

  private def cut(bytes: Array[Byte], folder: Option[(ModelFolder, String)], outputNode: Option[String],
                  cutOutputLayers: Int, headless: Boolean, conf: Configuration): CutModel = {
    def innerModel(b: Array[Byte]) = withGraph(
      new ONNXModel(s"${uid}__onnx").setErrorCol(OnnxErrorCol).setVectorOutputCols(Array(RawCol)), b, folder, conf)
    val graph = OnnxGraphCut.graph(bytes)
    val (fed, onnx) = if (headless) {
      val tensor = outputNode.getOrElse(OnnxGraphCut.tensorBack(graph, cutOutputLayers, uid))
      val b = OnnxGraphCut.expose(bytes, tensor, uid)
      (b, innerModel(b).setFetchDict(RawCol, OnnxGraphCut.Output))
    } else {
      require(graph.outputs.size == 1,
        s"$uid: headless = false returns the model's output, but the graph has " +
          s"${graph.outputs.size} (${graph.outputs.mkString(", ")}); choose one with outputNode and headless = true")
      (bytes, innerModel(bytes).setFetchDict(RawCol, graph.outputs.head).setSoftMaxDict(RawCol, ProbabilityCol))
    }
    // Read by ONNX Runtime from the session that will run the model (the cut keeps the metadata).
    val metadata =
      onnx.modelMetadata.get("preprocessing").map(Preprocessing.readMetadata(_, uid)).getOrElse(Map.empty)
    val input = metadata.get("input").collect { case JString(s) => s }.getOrElse {
      require(graph.feeds.size == 1,
        s"$uid: the model has ${graph.feeds.size} inputs (${graph.feeds.mkString(", ")}); " +
          "ImageFeaturizer feeds models with a single image input")
      graph.feeds.head
    }
    require(graph.feeds.contains(input),
      s"$uid: the model's preprocessing metadata names input '$input', which the " +
        s"graph does not have (inputs: ${graph.feeds.mkString(", ")})")
    val names = onnx.modelMetadata.get("class_names").map(readClassNames)
    CutModel(metadata, input, fed, onnx.setFeedDict(Map(input -> TensorCol)), folder, names,
      graph.outputs.headOption.getOrElse(""))(uid)
  }

  private def readClassNames(json: String): Seq[String] = (try parse(json)
  catch {
    case e: Exception => throw new IllegalArgumentException(s"$uid: the model's 'class_names' metadata is not JSON: " +
        e.getMessage)
  }) match {
    case JArray(items) if items.nonEmpty && items.forall(_.isInstanceOf[JString]) =>
      items.collect { case JString(n) => n }
    case _ => throw new IllegalArgumentException(s"$uid: the model's 'class_names' metadata is not a non-empty JSON " +
        s"list of strings: ${json.take(200)}")
  }
}

private[featurize] object FeaturizerGraph {

  /** The columns between the featurizer and its inner ONNXModel. */
  val TensorCol = "__irbis_featurizer_tensor"
  val RawCol = "__irbis_featurizer_raw"
  val ProbabilityCol = "__irbis_featurizer_probability"
  val OnnxErrorCol = "__irbis_featurizer_onnx_error"
}
