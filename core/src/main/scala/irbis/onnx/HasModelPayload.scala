package irbis.onnx

import irbis.core.{BytesParam, IrbisReader, IrbisWriter, StringParam}
import org.apache.hadoop.fs.Path
import org.apache.spark.ml.param.Params
import org.apache.spark.ml.util.{MLReader, MLWriter}
import org.apache.spark.sql.SparkSession

/**
 * The model Params of the stages that run an ONNX model: its bytes travel inside the stage (`modelPayload`),
 * so a saved stage is self-contained, and `modelLocation` says where they are read from.
 */
trait HasModelPayload extends Params {
  final val modelPayload = new BytesParam(this, "modelPayload", "The ONNX model's bytes (set by setModelLocation).")
  final val modelLocation = new StringParam(this, "modelLocation", modelLocationDoc)

  protected def modelLocationDoc: String =
    "Where the model is read from (any Hadoop path); informational once the payload is set."

  def getModelPayload: Array[Byte] = $(modelPayload)
  def setModelPayload(value: Array[Byte]): this.type = set(modelPayload, value)
  def getModelLocation: String = $(modelLocation)

  /**
   * Reads the model from any Hadoop-supported path into the stage. Setting the `modelLocation` Param by
   * other means (the Python and R wrappers) loads it on first use.
   */
  def setModelLocation(path: String): this.type = {
    set(modelLocation, path)
    loadPayload(path)
  }

  protected def loadPayload(path: String): this.type = {
    val bytes = readModel(path)
    payloadFrom = Some((path, bytes))
    setModelPayload(bytes)
  }

  /** Which location the current payload was read from, so that a new location (set from any language) reloads. */
  @transient private var payloadFrom: Option[(String, Array[Byte])] = None
  protected def forgetPayloadSource(): Unit = payloadFrom = None

  protected def hadoopConf = SparkSession.active.sparkContext.hadoopConfiguration

  private def readModel(path: String): Array[Byte] = {
    val p = new Path(path)
    val fs = p.getFileSystem(hadoopConf)
    require(fs.exists(p), s"$uid: modelLocation $path does not exist")
    require(!fs.getFileStatus(p).isDirectory, s"$uid: modelLocation $path is a folder; this stage reads one .onnx file")
    val size = fs.getFileStatus(p).getLen
    require(size < Int.MaxValue - 16,
      s"$uid: the model at $path is $size bytes; a model over 2 GB must keep its weights in external data files " +
        "(onnx.save_model(model, 'folder/model.onnx', save_as_external_data=True)); ONNXModel runs such a folder")
    val in = fs.open(p)
    try in.readAllBytes()
    finally in.close()
  }

  /**
   * The payload, loaded from `modelLocation` if only the location was set, or if the location changed since
   * the payload was read from it. A payload set as bytes or loaded with a saved stage is kept.
   */
  protected def payload: Array[Byte] = {
    if (isDefined(modelLocation)) {
      val stale = payloadFrom.exists { case (path, bytes) =>
        path != getModelLocation && isDefined(modelPayload) && (getModelPayload eq bytes)
      }
      if (!isDefined(modelPayload) || stale) loadPayload(getModelLocation)
    }
    require(isDefined(modelPayload), s"$uid: no model: set modelLocation (a path) or modelPayload (bytes)")
    getModelPayload
  }
}

/**
 * The stages that also run a model kept as a folder (one `.onnx` file and its external data files, as ONNX
 * keeps models over 2 GB): such a model is never read into the stage; executors copy the folder and open it
 * by path, and a saved stage carries a copy of the folder.
 */
trait HasModelFolder extends HasModelPayload {
  override def setModelLocation(path: String): this.type = {
    set(modelLocation, path)
    if (modelFolder.isDefined) { clear(modelPayload); forgetPayloadSource(); this }
    else loadPayload(path)
  }

  /** The model folder when modelLocation names one (checked once per location), and its fingerprint. */
  protected def modelFolder: Option[(ModelFolder, String)] =
    if (!isDefined(modelLocation)) None
    else folderCheck match {
      case Some((loc, f)) if loc == getModelLocation => f
      case _ =>
        val loc = getModelLocation
        val f = if (ModelFolder.isFolder(loc, hadoopConf)) {
          val m = ModelFolder(loc)
          Some((m, m.fingerprint(hadoopConf)))
        } else None
        folderCheck = Some((loc, f))
        f
    }
  @transient private var folderCheck: Option[(String, Option[(ModelFolder, String)])] = None

  /** The stage's writer: with a model folder, the saved stage gets a copy of it. */
  protected def writerWithFolder: MLWriter = modelFolder match {
    case None => payload; new IrbisWriter(this)
    case Some((f, fingerprint)) =>
      val stage = this
      new IrbisWriter(this) {
        override protected def saveImpl(path: String): Unit = {
          super.saveImpl(path)
          f.copyTo(new Path(HasModelFolder.savedFolder(path), f.shippedName(fingerprint)), stage.hadoopConf)
        }
      }
  }
}

object HasModelFolder {
  private[irbis] def savedFolder(path: String): Path = new Path(path, "modelFolder")

  /** The reader of such a stage: one saved with a model folder points at the saved copy once loaded. */
  def reader[T <: HasModelFolder]: MLReader[T] = new IrbisReader[T] {
    override def load(path: String): T = {
      val stage = super.load(path)
      val saved = savedFolder(path)
      val fs = saved.getFileSystem(sparkSession.sparkContext.hadoopConfiguration)
      if (fs.exists(saved)) fs.listStatus(saved).filter(_.isDirectory).headOption
        .foreach(d => stage.setModelLocation(d.getPath.toString))
      stage
    }
  }
}
