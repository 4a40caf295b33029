package irbis.onnx

import java.security.MessageDigest
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

import ai.onnxruntime.{OrtEnvironment, OrtException, OrtLoggingLevel, OrtSession}
import ai.onnxruntime.OrtSession.SessionOptions
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel

/** What determines a session besides the model bytes. */
case class SessionSettings(intraOpThreads: Int, optimizationLevel: String, device: String) {
  def key(modelHash: String): String = s"$modelHash/$intraOpThreads/$optimizationLevel/$device"
}

/**
 * One ONNX Runtime environment per JVM and one session per (model, settings) per JVM, shared by all task
 * threads and reused across tasks and jobs; sessions close when the JVM exits. `OrtSession.run` is
 * thread-safe, so executor threads call the same session concurrently.
 */
object OnnxSessions {
  lazy val env: OrtEnvironment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "irbis")

  private val sessions = new ConcurrentHashMap[String, OrtSession]()
  private val created = new AtomicInteger()

  Runtime.getRuntime.addShutdownHook(new Thread(() => closeAll()))

  /** How many sessions this JVM has created: tests use it to prove sessions are reused. */
  def createdCount: Int = created.get()

  def sha256(bytes: Array[Byte]): String =
    MessageDigest.getInstance("SHA-256").digest(bytes).map(b => f"$b%02x").mkString

  /**
   * The session for `key`, opened with `open` only if this JVM has none (`open` may fetch a broadcast or
   * find the executor's local copy of a model folder).
   */
  def get(key: String, settings: SessionSettings, open: (OrtEnvironment, SessionOptions) => OrtSession): OrtSession =
    sessions.computeIfAbsent(key,
      _ => {
        val s = open(env, options(settings))
        created.incrementAndGet()
        s
      })

  /**
   * Opens a model held in memory; a model whose weights are in external files gets a message saying what to do.
   * `source` says where the bytes came from, for the message when they are not a model.
   */
  def fromBytes(stage: String, bytes: Array[Byte], source: String)(env: OrtEnvironment, o: SessionOptions): OrtSession =
    try env.createSession(bytes, o)
    catch {
      case e: OrtException if String.valueOf(e.getMessage).toLowerCase.contains("external") =>
        throw new IllegalArgumentException(
          s"$stage: this model keeps its weights in external data files, which a " +
            "model read into memory cannot reach: set modelLocation to the folder that holds the .onnx file and " +
            s"its data files (${e.getMessage})", e)
      case e: OrtException => throw notAModel(stage, source, bytes.length.toLong, bytes.take(16), e)
    }

  def fromPath(stage: String, path: String)(env: OrtEnvironment, o: SessionOptions): OrtSession =
    try env.createSession(path, o)
    catch {
      case e: OrtException =>
        val file = new java.io.File(path)
        val head = try {
          val in = new java.io.FileInputStream(file)
          try in.readNBytes(16)
          finally in.close()
        } catch { case _: java.io.IOException => Array.emptyByteArray }
        throw notAModel(stage, s"the model file $path", file.length(), head, e)
    }

  /**
   * ONNX Runtime's own message names neither the stage nor the file and tells nothing of what it found; a
   * text file, an empty one or a truncated download are told apart by their size and first bytes.
   */
  private def notAModel(stage: String, source: String, size: Long, head: Array[Byte], e: OrtException) = {
    val found = if (size == 0) "0 bytes (an empty file)"
    else {
      val hex = head.map(b => f"$b%02x").mkString
      val text = new String(head.map(b => if (b >= 32 && b < 127) b.toChar else '.'))
      s"$size bytes, starting with $hex (\"$text\")"
    }
    new IllegalArgumentException(s"$stage: $source is not a model ONNX Runtime can load: $found. " +
        s"ONNX Runtime says: ${e.getMessage}", e)
  }

  def options(settings: SessionSettings): SessionOptions = {
    val o = new SessionOptions()
    if (settings.intraOpThreads > 0) o.setIntraOpNumThreads(settings.intraOpThreads)
    o.setInterOpNumThreads(1)
    o.setOptimizationLevel(OptLevel.valueOf(settings.optimizationLevel))
    if (settings.device == "CUDA") {
      try o.addCUDA()
      catch {
        case e: OrtException => throw new IllegalArgumentException(
            "executionProvider is CUDA but ONNX Runtime's CUDA provider is not available here: use the " +
              "com.microsoft.onnxruntime:onnxruntime_gpu artifact on machines with an NVIDIA GPU and CUDA, or set " +
              s"executionProvider to CPU (${e.getMessage})", e)
      }
    }
    o
  }

  def closeAll(): Unit = {
    sessions.values().forEach(s =>
      try s.close()
      catch { case _: Exception => })
    sessions.clear()
  }
}
