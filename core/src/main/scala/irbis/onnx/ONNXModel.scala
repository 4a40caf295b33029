package irbis.onnx

import scala.jdk.CollectionConverters._

import ai.onnxruntime.{NodeInfo, OrtEnvironment, OrtSession, SequenceInfo, TensorInfo}
import ai.onnxruntime.OrtSession.SessionOptions
import irbis.core._
import org.apache.hadoop.fs.Path
import org.apache.spark.broadcast.Broadcast
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.linalg.SQLDataTypes
import org.apache.spark.ml.param.{BooleanParam, IntParam, ParamMap, StringArrayParam}
import org.apache.spark.ml.util.{Identifiable, MLReader, MLWriter}
import org.apache.spark.sql.{DataFrame, Dataset, SparkSession}
import org.apache.spark.sql.types._

class ONNXModel(override val uid: String) extends Transformer with IrbisStage with HasModelFolder
  with HasMiniBatchSize with HasErrorColParam {
  def this() = this(Identifiable.randomUID("ONNXModel"))

  override def stageDoc: String =
    "Evaluates an ONNX model with ONNX Runtime on every executor, in minibatches. Graph inputs are fed from " +
      "columns (numbers, arrays, nested arrays, ML vectors, strings, booleans or image structs, converted to the " +
      "input's element type and shape); every fetched output becomes a column with one value per row, " +
      "optionally with softmax and argmax columns. Rows are stacked on axis 0 of every input, which must be the " +
      "batch axis of the whole graph: a model whose tensors say otherwise is refused (see `unbatched`). Values " +
      "are converted only where exact: a number that an integer input cannot hold is an error naming the row. " +
      "Unsigned outputs are widened (uint16 to int, uint32 to long, uint64 to decimal(20,0)); an output whose rank " +
      "ONNX Runtime cannot infer holds each row's shape and values. The model travels inside the stage " +
      "(`modelPayload`), reaches each executor once, and each executor JVM keeps one session per model."

  final val feedDict = new StringStringMapParam(this, "feedDict",
    "Graph input name to the column that feeds it. Optional for a single-input model whose input name is a column.")
  final val fetchDict = new StringStringMapParam(this, "fetchDict",
    "Output column name to the graph output it holds. Default: every graph output, in a column of its name.")
  final val softMaxDict = new StringStringMapParam(this, "softMaxDict",
    "Fetched column to a new column holding its softmax (per row, over the last axis of a 1-d output).")
  final val argMaxDict = new StringStringMapParam(this, "argMaxDict",
    "Fetched column to a new integer column holding the index of its largest value (per row).")
  final val vectorOutputCols = new StringArrayParam(this, "vectorOutputCols",
    "Fetched columns to return as ML vectors (1-d outputs only) instead of arrays.")
  final val intraOpNumThreads = new IntParam(this, "intraOpNumThreads",
    "ONNX Runtime threads per call; 0 means spark.task.cpus, so that concurrent tasks x threads match the cores.",
    Validators.gtEq(0))
  final val optimizationLevel = new EnumParam(this, "optimizationLevel", "ONNX Runtime graph optimization level.",
    Seq("NO_OPT", "BASIC_OPT", "EXTENDED_OPT", "ALL_OPT"))
  final val executionProvider = new EnumParam(this, "executionProvider",
    "Where to run: CPU, or CUDA (needs the onnxruntime_gpu artifact and a GPU; a clear error otherwise).",
    Seq("CPU", "CUDA"))
  override protected def miniBatchSizeDoc: String =
    "Rows per ONNX Runtime call; 0 (the default) chooses about 2 MiB of input per call, at most 256 rows, " +
      "from the first row of each partition (measured: `make bench`, onnx_throughput). A fixed batch " +
      "dimension in the model overrides it (the last batch is padded)."
  override protected def miniBatchSizeIsValid: Int => Boolean = Validators.gtEq(0)
  override protected def errorColDoc: String =
    "If set, a row that cannot be fed (wrong shape or type) gets null outputs and the reason in this column " +
      "instead of failing the job."

  final val unbatched = new BooleanParam(this, "unbatched",
    "Run one row per call, each row holding the whole tensors of that call (the model's batch dimension, wherever " +
      "it is, of size 1 in the row's value), and each output column the whole output tensor. For models whose " +
      "inputs do not all have the batch on axis 0, e.g. a recurrent state [layers, batch, hidden]; by default " +
      "rows are stacked on axis 0, and such a model is refused.")

  setDefault(miniBatchSize -> 0, intraOpNumThreads -> 0, optimizationLevel -> "ALL_OPT",
    executionProvider -> "CPU", vectorOutputCols -> Array.empty[String], unbatched -> false,
    feedDict -> Map.empty[String, String], fetchDict -> Map.empty[String, String],
    softMaxDict -> Map.empty[String, String], argMaxDict -> Map.empty[String, String])

  def getFeedDict: Map[String, String] = $(feedDict)
  def setFeedDict(value: Map[String, String]): this.type = set(feedDict, value)
  def setFeedDict(input: String, column: String): this.type = setFeedDict(Map(input -> column))
  def getFetchDict: Map[String, String] = $(fetchDict)
  def setFetchDict(value: Map[String, String]): this.type = set(fetchDict, value)
  def setFetchDict(column: String, output: String): this.type = setFetchDict(Map(column -> output))
  def getSoftMaxDict: Map[String, String] = $(softMaxDict)
  def setSoftMaxDict(value: Map[String, String]): this.type = set(softMaxDict, value)
  def setSoftMaxDict(source: String, target: String): this.type = setSoftMaxDict(Map(source -> target))
  def getArgMaxDict: Map[String, String] = $(argMaxDict)
  def setArgMaxDict(value: Map[String, String]): this.type = set(argMaxDict, value)
  def setArgMaxDict(source: String, target: String): this.type = setArgMaxDict(Map(source -> target))
  def getVectorOutputCols: Array[String] = $(vectorOutputCols)
  def setVectorOutputCols(value: Array[String]): this.type = set(vectorOutputCols, value)
  def getIntraOpNumThreads: Int = $(intraOpNumThreads)
  def setIntraOpNumThreads(value: Int): this.type = set(intraOpNumThreads, value)
  def getOptimizationLevel: String = $(optimizationLevel)
  def setOptimizationLevel(value: String): this.type = set(optimizationLevel, value)
  def getExecutionProvider: String = $(executionProvider)
  def setExecutionProvider(value: String): this.type = set(executionProvider, value)
  def getUnbatched: Boolean = $(unbatched)
  def setUnbatched(value: Boolean): this.type = set(unbatched, value)

  override protected def modelLocationDoc: String =
    "Where the model is read from (any Hadoop path): an .onnx file, read into modelPayload, or a folder holding " +
      "one .onnx file and its external data files (models over 2 GB), which executors copy and open by path."

  private def folder: Option[(ModelFolder, String)] = modelFolder

  override def write: MLWriter = writerWithFolder

  private def payloadHash: String = {
    val bytes = payload
    lastHash match {
      case Some((ref, h)) if ref eq bytes => h
      case _ =>
        val h = OnnxSessions.sha256(bytes)
        lastHash = Some((bytes, h))
        h
    }
  }
  @transient private var lastHash: Option[(Array[Byte], String)] = None
  @transient private var lastBroadcast: Option[(String, Broadcast[Array[Byte]])] = None

  /** What identifies the model's content: the folder's fingerprint or the payload's hash. */
  private def modelKey: String = folder.map(_._2).getOrElse(payloadHash)

  private def settings: SessionSettings = {
    val threads = if (getIntraOpNumThreads > 0) getIntraOpNumThreads
    else SparkSession.getActiveSession.map(_.conf.get("spark.task.cpus", "1").toInt).getOrElse(1)
    SessionSettings(threads, getOptimizationLevel, getExecutionProvider)
  }

  /** The driver's session, for introspection and planning (created once per JVM like the executors'). */
  private def driverSession: OrtSession = {
    val s = settings
    folder match {
      case Some((f, fingerprint)) =>
        OnnxSessions.get(s.key(fingerprint), s,
          OnnxSessions.fromPath(uid, ModelFolder.localGraph(f.local(hadoopConf, fingerprint))))
      case None => OnnxSessions.get(s.key(payloadHash), s, OnnxSessions.fromBytes(uid, payload, payloadSource))
    }
  }

  /** Where the payload came from, for messages about it. */
  private def payloadSource: String =
    if (isDefined(modelLocation)) s"the model read from modelLocation $getModelLocation" else "the modelPayload bytes"

  /** Graph inputs and outputs declared without a shape: ONNX Runtime reports them as scalars. */
  private def shapeless: Set[String] = {
    val key = modelKey
    lastShapeless match {
      case Some((k, names)) if k == key => names
      case _ =>
        val names = OnnxGraphCut.shapeless(folder.map(_._1.graphBytes(hadoopConf)).getOrElse(payload))
        lastShapeless = Some((key, names))
        names
    }
  }
  @transient private var lastShapeless: Option[(String, Set[String])] = None

  def modelInputs: Map[String, NodeInfo] = driverSession.getInputInfo.asScala.toMap
  def modelOutputs: Map[String, NodeInfo] = driverSession.getOutputInfo.asScala.toMap

  /** The model's custom metadata (ONNX `metadata_props`), e.g. a converter's preprocessing notes. */
  def modelMetadata: Map[String, String] = driverSession.getMetadata.getCustomMetadata.asScala.toMap

  /** Graph inputs as JSON: name to kind, element type, shape (-1 for symbolic dims) and dim names. */
  def modelInputsJson: String = OnnxTypes.describeAll(driverSession.getInputInfo)
  def modelOutputsJson: String = OnnxTypes.describeAll(driverSession.getOutputInfo)

  // SynapseML's spellings (see docs/MIGRATING_FROM_SYNAPSEML.md).
  def modelInput: Map[String, NodeInfo] = modelInputs
  def modelOutput: Map[String, NodeInfo] = modelOutputs
  def getDeviceType: String = getExecutionProvider
  def setDeviceType(value: String): this.type = setExecutionProvider(ONNXModel.executionProviderOf(value))

  /**
   * A copy whose model ends at the inner tensor `output`, fetched into a column of that name (or wherever
   * fetchDict already sends it). Unlike SynapseML, the tensor comes back flattened per row (a float array
   * per row, as ImageFeaturizer's cut), since its inner shape is not declared in the graph.
   */
  def sliceAtOutput(output: String): ONNXModel = {
    require(folder.isEmpty,
      s"$uid: sliceAtOutput cuts a modelPayload model; this one is a model folder " +
        "(modelLocation), whose graph is not held in memory")
    val columns = get(fetchDict).getOrElse(Map.empty).collect { case (col, `output`) => col }
    val cut = copy(ParamMap.empty).setModelPayload(OnnxGraphCut.expose(payload, output, uid, "sliceAtOutput"))
    cut.setFetchDict((if (columns.isEmpty) Seq(output) else columns).map(_ -> OnnxGraphCut.Output).toMap)
  }

  private def resolvedFeeds(schema: StructType): Seq[FeedSpec] = {
    val inputs = driverSession.getInputNames.asScala.toSeq.sorted
    val feeds = if (getFeedDict.nonEmpty) getFeedDict
    else if (inputs.size == 1 && schema.fieldNames.contains(inputs.head)) Map(inputs.head -> inputs.head)
    else throw new IllegalArgumentException(
      s"$uid: set feedDict (graph input -> column). Graph inputs: ${inputs.mkString(", ")}; " +
        s"columns: ${schema.fieldNames.mkString(", ")}")
    feeds.keys.foreach(i =>
      require(inputs.contains(i),
        s"$uid: feedDict names graph input '$i', which the model does not have (inputs: ${inputs.mkString(", ")})"))
    val missing = inputs.filterNot(feeds.contains)
    require(missing.isEmpty, s"$uid: graph inputs without a column in feedDict: ${missing.mkString(", ")}")
    val infos = driverSession.getInputInfo.asScala
    feeds.toSeq.sortBy(_._1).map { case (input, column) =>
      val f = Columns.require(schema, uid, column)
      infos(input).getInfo match {
        case t: TensorInfo =>
          if (OnnxTypes.unfeedable(t)) throw new IllegalArgumentException(
            s"$uid: graph input '$input' has element type ${OnnxTypes.onnxName(t)}, which ONNX Runtime's Java API " +
              s"(${OnnxSessions.env.getVersion}) cannot build input tensors of. Feed the model through an input " +
              "of another type: export it with a Cast from, say, int64 to the unsigned type")
          val rank = if (t.getShape.isEmpty && shapeless.contains(input)) -1 else t.getShape.length
          val spec = FeedSpec(input, column, schema.fieldIndex(column), f.dataType, rank)
          TensorFeeder.checkTypes(uid, spec, t)
          if (getUnbatched && (f.dataType match { case st: StructType => ImageStruct.matches(st); case _ => false }))
            throw new IllegalArgumentException(
              s"$uid: column '$column' holds images, which feed only stacked rows: leave unbatched false")
          spec
        case other => throw new IllegalArgumentException(s"$uid: graph input '$input' is not a tensor ($other)")
      }
    }
  }

  /** The output's rank, -1 when ONNX Runtime could not infer it (it then reports the empty shape of a scalar). */
  private def outputRank(name: String, info: NodeInfo): Int = info.getInfo match {
    case t: TensorInfo => if (t.getShape.isEmpty && shapeless.contains(name)) -1 else t.getShape.length
    case _ => 0
  }

  private def outputType(name: String, info: NodeInfo, vector: Boolean): DataType = info.getInfo match {
    case t: TensorInfo =>
      val element = OnnxTypes.sparkType(t, s"graph output '$name'")
      val rank = outputRank(name, info)
      if (rank < 0) {
        // Its shape is known only once a call returns it, so each row carries its own.
        require(!vector, s"$uid: output '$name' has no declared shape; only 1-d outputs can be vectors")
        StructType(Seq(StructField("shape", ArrayType(LongType, containsNull = false), nullable = false),
            StructField("values", ArrayType(element, containsNull = false), nullable = false)))
      } else {
        val depth = if (getUnbatched) rank else rank - 1
        require(depth >= 0, s"$uid: graph output '$name' is a scalar without a batch dimension")
        if (vector) {
          require(depth == 1, s"$uid: output '$name' has ${depth} dims per row; only 1-d outputs can be vectors")
          SQLDataTypes.VectorType
        } else OnnxTypes.nested(element, depth)
      }
    case _: SequenceInfo if getUnbatched =>
      throw new IllegalArgumentException(
        s"$uid: graph output '$name' is a sequence, which only stacked rows read: leave unbatched false")
    case s: SequenceInfo if s.sequenceOfMaps =>
      MapType(OnnxTypes.sparkType(s.mapInfo.keyType, s"keys of graph output '$name'"),
        OnnxTypes.sparkType(s.mapInfo.valueType, s"values of graph output '$name'"), valueContainsNull = false)
    case other => throw new IllegalArgumentException(s"$uid: graph output '$name' is $other, which is not supported")
  }

  private def plan(schema: StructType): (OnnxPlan, StructType) = {
    val feeds = resolvedFeeds(schema)
    val outputs = driverSession.getOutputInfo.asScala
    val fetch = if (getFetchDict.nonEmpty) getFetchDict else outputs.keys.map(o => o -> o).toMap
    val fetches = fetch.toSeq.sortBy(_._1).map { case (column, output) =>
      val info = outputs.getOrElse(output,
        throw new IllegalArgumentException(
          s"$uid: fetchDict names graph output '$output', which the model does not have (outputs: ${outputs.keys.toSeq.sorted.mkString(", ")})"))
      Columns.requireAbsent(schema, uid, column)
      FetchSpec(output, column, outputType(output, info, getVectorOutputCols.contains(column)),
        getVectorOutputCols.contains(column), outputRank(output, info))
    }
    val batching = if (getUnbatched) Batching(stacked = false, fixed = None, oneRow = true)
    else {
      def tensors(names: Seq[String], infos: collection.Map[String, NodeInfo]) = names.flatMap { n =>
        infos(n).getInfo match {
          case t: TensorInfo => Some(BatchAxis.Tensor(n, t, t.getShape.isEmpty && shapeless.contains(n)))
          case _ => None
        }
      }
      BatchAxis.decide(uid, tensors(feeds.map(_.input), driverSession.getInputInfo.asScala),
        tensors(fetches.map(_.output).distinct, outputs))
    }
    getVectorOutputCols.foreach(c =>
      require(fetches.exists(_.column == c),
        s"$uid: vectorOutputCols names '$c', which is not a fetched column (${fetches.map(_.column).mkString(", ")})"))
    def derived(dict: Map[String, String], op: String): Seq[DerivedSpec] =
      dict.toSeq.sortBy(_._1).map { case (src, col) =>
        val source = fetches.find(_.column == src).getOrElse(throw new IllegalArgumentException(
            s"$uid: ${op}Dict names '$src', which is not a fetched column (${fetches.map(_.column).mkString(", ")})"))
        val t = source.dataType match {
          case v if v == SQLDataTypes.VectorType => v
          case ArrayType(e: NumericType, _) =>
            if (op == "argmax") IntegerType else ArrayType(if (e == FloatType) FloatType else DoubleType, false)
          case other => throw new IllegalArgumentException(
              s"$uid: ${op} needs a 1-d numeric output, but '$src' has type ${other.simpleString}")
        }
        Columns.requireAbsent(schema, uid, col)
        DerivedSpec(src, col, op, if (op == "argmax") IntegerType else t)
      }
    val extra = derived(getSoftMaxDict, "softmax") ++ derived(getArgMaxDict, "argmax")
    val withErrors = isDefined(errorCol)
    if (withErrors) Columns.requireAbsent(schema, uid, getErrorCol)
    val out = StructType(schema.fields ++ fetches.map(f => StructField(f.column, f.dataType, nullable = true)) ++
      extra.map(d => StructField(d.column, d.dataType, nullable = true)) ++
      (if (withErrors) Seq(StructField(getErrorCol, StringType, nullable = true)) else Nil))
    (OnnxPlan(uid, feeds, fetches, extra, getMiniBatchSize, withErrors, batching), out)
  }

  override def transformSchema(schema: StructType): StructType = plan(schema)._2

  private def broadcastPayload(spark: SparkSession): Broadcast[Array[Byte]] = lastBroadcast match {
    case Some((h, b)) if h == payloadHash => b
    case _ =>
      val b = spark.sparkContext.broadcast(payload)
      lastBroadcast = Some((payloadHash, b))
      b
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    val spark = dataset.sparkSession
    val (p, schema) = plan(dataset.schema)
    val s = settings
    val key = s.key(modelKey)
    val stage = uid
    // Executors open the model only if they have no session for it yet: from the broadcast, or from their
    // local copy of the model folder.
    val open: (OrtEnvironment, SessionOptions) => OrtSession = folder match {
      case Some((f, fingerprint)) =>
        val name = f.ship(spark.sparkContext, hadoopConf, fingerprint)
        (env, o) => OnnxSessions.fromPath(stage, ModelFolder.fetchedGraph(name))(env, o)
      case None =>
        val payload = broadcastPayload(spark)
        val source = payloadSource
        (env, o) => OnnxSessions.fromBytes(stage, payload.value, source)(env, o)
    }
    InternalFrames.mapPartitions(dataset.toDF(), schema) { it =>
      new OnnxBatchRunner(OnnxSessions.get(key, s, open), p).run(it)
    }
  }

  override def copy(extra: ParamMap): ONNXModel = defaultCopy(extra)
}

object ONNXModel extends IrbisReadable[ONNXModel] {

  /** executionProvider for SynapseML's deviceType: the same names, in any case; anything else is refused. */
  def executionProviderOf(deviceType: String): String = {
    val upper = String.valueOf(deviceType).toUpperCase(java.util.Locale.ROOT)
    require(Set("CPU", "CUDA")(upper),
      s"deviceType '$deviceType': Irbis runs ONNX models on CPU or CUDA only; " +
        "write setExecutionProvider(\"CPU\") or setExecutionProvider(\"CUDA\")")
    upper
  }
  override def read: MLReader[ONNXModel] = HasModelFolder.reader[ONNXModel]
}
