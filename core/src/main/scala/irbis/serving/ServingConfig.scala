package irbis.serving

import java.nio.charset.StandardCharsets.UTF_8
import java.nio.file.{Files, Paths}

/** Settings of one server (the source's options, validated; see docs/SERVING.md for each). */
case class ServingConfig(name: String, host: String, port: Int, maxPending: Int, maxBodyBytes: Int,
                         requestTimeoutMs: Long, handlerThreads: Int, retryAfterSeconds: Int,
                         lowLatency: Boolean = false, executorHost: String = "127.0.0.1", executorPort: Int = 0,
                         readTimeoutMs: Long = ServingConfig.DefaultReadTimeoutMs,
                         idleTimeoutMs: Long = ServingConfig.DefaultIdleTimeoutMs,
                         maxConnections: Int = ServingConfig.DefaultMaxConnections,
                         maxHeaderBytes: Int = ServingConfig.DefaultMaxHeaderBytes,
                         token: Option[String] = None) {

  /** The settings of the server that partition `p` of a low-latency query runs in its executor. */
  def forPartition(p: Int): ServingConfig =
    copy(host = executorHost, port = if (executorPort == 0) 0 else executorPort + p)

  /** The `Retry-After` header of 503 answers. */
  def retryAfter: Map[String, String] = Map("Retry-After" -> retryAfterSeconds.toString)

  // the token never shows in messages or logs
  override def toString: String =
    productIterator.map { case Some(_: String) => "token=<set>"; case v => v.toString }
      .mkString("ServingConfig(", ",", ")")
}

object ServingConfig {
  val DefaultReadTimeoutMs = 5000L
  val DefaultIdleTimeoutMs = 30000L
  val DefaultMaxConnections = 1000
  val DefaultMaxHeaderBytes = 8192

  private def int(options: Map[String, String], key: String, default: Int, min: Int, max: Int = Int.MaxValue): Int = {
    val raw = options.getOrElse(key.toLowerCase, default.toString)
    val v = raw.trim.toIntOption.getOrElse(throw new IllegalArgumentException(
        s"irbis.serving option '$key' must be an integer, got '$raw'"))
    require(v >= min, s"irbis.serving option '$key' must be >= $min, got $v")
    require(v <= max, s"irbis.serving option '$key' must be <= $max, got $v")
    v
  }

  /** The bearer token: option `token`, or the first line of the file `tokenFile`; visible ASCII, no spaces. */
  private def token(options: Map[String, String]): Option[String] = {
    val token = (options.get("token"), options.get("tokenfile")) match {
      case (Some(_), Some(_)) => throw new IllegalArgumentException(
          "irbis.serving options 'token' and 'tokenFile' are alternatives: set one of them")
      case (Some(t), None) => Some(t)
      case (None, Some(path)) =>
        val file = Paths.get(path)
        require(Files.isRegularFile(file), s"irbis.serving option 'tokenFile' must name a readable file, got '$path'")
        Some(new String(Files.readAllBytes(file), UTF_8).linesIterator.nextOption().getOrElse("").trim)
      case _ => None
    }
    token.foreach(t =>
      require(
        t.nonEmpty && t.forall(c => c > ' ' && c < 127),
        "irbis.serving option 'token' (or the first line of 'tokenFile') must be a non-empty string of visible " +
          "ASCII characters without spaces (it travels as 'Authorization: Bearer <token>')"))
    token
  }

  /** From case-insensitive options (keys lower-cased). */
  def from(options: Map[String, String]): ServingConfig = {
    val name = options.getOrElse("name",
      throw new IllegalArgumentException(
        "irbis.serving needs option 'name' (the API name, also the URL path: http://host:port/<name>)"))
    require(name.matches("[A-Za-z0-9_.-]+"),
      s"irbis.serving option 'name' must be letters, digits, '_', '.' or '-' (it is a URL path), got '$name'")
    val lowLatency = options.getOrElse("mode", "microBatch") match {
      case m if m.equalsIgnoreCase("microBatch") => false
      case m if m.equalsIgnoreCase("lowLatency") => true
      case m => throw new IllegalArgumentException(
          s"irbis.serving option 'mode' must be 'microBatch' (the default) or 'lowLatency', got '$m'")
    }
    val host = options.getOrElse("host", "127.0.0.1")
    ServingConfig(name, host, int(options, "port", 0, 0, 65535),
      maxPending = int(options, "maxPending", 1000, 1),
      maxBodyBytes = int(options, "maxBodyBytes", 1 << 20, 0),
      requestTimeoutMs = int(options, "requestTimeoutMs", 30000, 1).toLong,
      handlerThreads = int(options, "handlerThreads", 2, 1),
      retryAfterSeconds = int(options, "retryAfterSeconds", 1, 0),
      lowLatency = lowLatency, executorHost = options.getOrElse("executorhost", host),
      executorPort = int(options, "executorPort", 0, 0, 65535),
      readTimeoutMs = int(options, "readTimeoutMs", DefaultReadTimeoutMs.toInt, 1).toLong,
      idleTimeoutMs = int(options, "idleTimeoutMs", DefaultIdleTimeoutMs.toInt, 1).toLong,
      maxConnections = int(options, "maxConnections", DefaultMaxConnections, 1),
      maxHeaderBytes = int(options, "maxHeaderBytes", DefaultMaxHeaderBytes, 256),
      token = token(options))
  }
}
