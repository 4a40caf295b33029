package irbis.serving

import java.io.{ByteArrayOutputStream, IOException, InputStream}
import java.net.{HttpURLConnection, InetAddress, InetSocketAddress, URI}
import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{ConcurrentHashMap, ConcurrentSkipListMap, Executors, LinkedBlockingQueue, ScheduledFuture,
  ThreadFactory, TimeUnit}
import java.util.concurrent.atomic.{AtomicBoolean, AtomicInteger, AtomicLong}

import scala.jdk.CollectionConverters._

import com.sun.net.httpserver.{HttpExchange, HttpServer}

/** One HTTP request as it travels to the executors (inside the input partitions). */
case class ServingRequest(id: Long, method: String, path: String, query: String,
                          headers: Map[String, String], body: Array[Byte])

/** One answer, from the pipeline (through the sink's commit) or from the server itself. */
case class ServingReply(status: Int, headers: Map[String, String], body: Array[Byte])

object ServingReply {
  def json(status: Int, text: String, extra: Map[String, String] = Map.empty): ServingReply =
    ServingReply(status, Map("Content-Type" -> "application/json") ++ extra, text.getBytes(UTF_8))

  def error(status: Int, message: String, extra: Map[String, String] = Map.empty): ServingReply =
    json(status, s"""{"error":${quote(message)}}""", extra)

  def quote(s: String): String = {
    val b = new StringBuilder("\"")
    s.foreach {
      case '"' => b ++= "\\\""
      case '\\' => b ++= "\\\\"
      case c if c < ' ' => b ++= f"\\u${c.toInt}%04x"
      case c => b += c
    }
    (b += '"').toString
  }
}

/** Settings of one server (the source's options, validated). */
case class ServingConfig(name: String, host: String, port: Int, maxPending: Int, maxBodyBytes: Int,
                         requestTimeoutMs: Long, handlerThreads: Int, retryAfterSeconds: Int,
                         lowLatency: Boolean = false, executorHost: String = "127.0.0.1", executorPort: Int = 0) {
  /** The settings of the server that partition `p` of a low-latency query runs in its executor. */
  def forPartition(p: Int): ServingConfig =
    copy(host = executorHost, port = if (executorPort == 0) 0 else executorPort + p)
}

object ServingConfig {
  private def int(options: Map[String, String], key: String, default: Int, min: Int): Int = {
    val raw = options.getOrElse(key.toLowerCase, default.toString)
    val v = raw.trim.toIntOption.getOrElse(throw new IllegalArgumentException(
      s"irbis.serving option '$key' must be an integer, got '$raw'"))
    require(v >= min, s"irbis.serving option '$key' must be >= $min, got $v")
    v
  }

  /** From case-insensitive options (keys lower-cased). */
  def from(options: Map[String, String]): ServingConfig = {
    val name = options.getOrElse("name", throw new IllegalArgumentException(
      "irbis.serving needs option 'name' (the API name, also the URL path: http://host:port/<name>)"))
    require(name.matches("[A-Za-z0-9_.-]+"),
      s"irbis.serving option 'name' must be letters, digits, '_', '.' or '-' (it is a URL path), got '$name'")
    val port = int(options, "port", 0, 0)
    require(port <= 65535, s"irbis.serving option 'port' must be <= 65535, got $port")
    val executorPort = int(options, "executorPort", 0, 0)
    require(executorPort <= 65535, s"irbis.serving option 'executorPort' must be <= 65535, got $executorPort")
    val lowLatency = options.getOrElse("mode", "microBatch") match {
      case m if m.equalsIgnoreCase("microBatch") => false
      case m if m.equalsIgnoreCase("lowLatency") => true
      case m => throw new IllegalArgumentException(
        s"irbis.serving option 'mode' must be 'microBatch' (the default) or 'lowLatency', got '$m'")
    }
    val host = options.getOrElse("host", "127.0.0.1")
    ServingConfig(name, host, port,
      maxPending = int(options, "maxPending", 1000, 1),
      maxBodyBytes = int(options, "maxBodyBytes", 1 << 20, 0),
      requestTimeoutMs = int(options, "requestTimeoutMs", 30000, 1).toLong,
      handlerThreads = int(options, "handlerThreads", 16, 1),
      retryAfterSeconds = int(options, "retryAfterSeconds", 1, 0),
      lowLatency = lowLatency, executorHost = options.getOrElse("executorhost", host), executorPort = executorPort)
  }
}

/**
 * The server of one API: it accepts requests on `http://host:port/<name>`, numbers them (the numbers are the
 * stream's offsets), keeps them until the pipeline's reply arrives or the timeout expires, and answers each
 * exactly once (an atomic flag per request). It plays one of three parts:
 *  - micro-batch mode: in the driver, replies arrive through the sink's commit;
 *  - low-latency mode, `partition` set: in the executor that runs that partition's long-running task, which
 *    [[take]]s the requests and whose writer answers them directly;
 *  - low-latency mode, in the driver: the front, which redirects clients (307) to the partitions' servers,
 *    sums their counters and tells them which requests their pipeline has finished with ([[settle]]).
 * `controlToken` authenticates the driver's and the partitions' messages to each other (`_control`).
 */
final class ServingServer private[serving] (val config: ServingConfig, val partition: Option[Int] = None,
                                            controlToken: Option[String] = None) {
  private final class Pending(val request: ServingRequest, val exchange: HttpExchange) {
    val answered = new AtomicBoolean(false)
    @volatile var timeout: ScheduledFuture[_] = _
  }

  /** Every server instance has its own identity, so offsets of an earlier server are never mistaken for ours. */
  val instance: String = java.util.UUID.randomUUID().toString
  private[serving] val token: String = controlToken.getOrElse(instance)
  private val front = config.lowLatency && partition.isEmpty
  private val sequence = new AtomicLong(0)
  private val pending = new ConcurrentSkipListMap[java.lang.Long, Pending]()
  private val pendingCount = new AtomicInteger(0)
  @volatile private var plannedUpTo = 0L
  @volatile private var stopping = false

  private val accepted = new AtomicLong(0)
  private val replied = new AtomicLong(0)
  private val expired = new AtomicLong(0)
  private val late = new AtomicLong(0)
  private val rejected = new ConcurrentHashMap[Int, AtomicLong]()
  @volatile private var schema: Option[org.apache.spark.sql.types.StructType] = None
  // a partition's server: the requests its task has not taken yet, in id order
  private val arrivals = new LinkedBlockingQueue[Pending]()
  // the front: its partitions' servers and their last counters
  private val partitionUrls = new ConcurrentSkipListMap[Integer, String]()
  private val partitionStatus = new ConcurrentHashMap[Integer, ServingStatus]()
  @volatile private var expectedPartitions = -1
  private val nextPartition = new AtomicInteger(0)

  private def daemon(prefix: String): ThreadFactory = {
    val n = new AtomicInteger(0)
    r => { val t = new Thread(r, s"irbis-serving-${config.name}-$prefix-${n.incrementAndGet()}"); t.setDaemon(true); t }
  }

  private val timer = Executors.newSingleThreadScheduledExecutor(daemon("timer"))
  private val handlers = Executors.newFixedThreadPool(config.handlerThreads, daemon("http"))
  private val http: HttpServer = {
    ServingServer.noDelay
    val s = HttpServer.create(new InetSocketAddress(config.host, config.port), 1024)
    s.setExecutor(handlers)
    s.createContext("/" + config.name, (e: HttpExchange) => handle(e))
    s.start()
    s
  }

  def host: String = config.host
  def port: Int = http.getAddress.getPort
  def url: String = s"http://${ServingServer.advertised(config.host)}:$port/${config.name}"

  /** The schema that `parseRequest` parses bodies with: unanswered rows are then diagnosed (400) rather than 500. */
  private[serving] def parsesWith(s: org.apache.spark.sql.types.StructType): Unit = schema = Some(s)
  private[serving] def parseSchema: Option[org.apache.spark.sql.types.StructType] = schema

  private def handle(e: HttpExchange): Unit = {
    val path = e.getRequestURI.getPath
    if (path == s"/${config.name}/_status" && e.getRequestMethod == "GET") send(e, ServingReply.json(200, statusJson))
    else if (path == s"/${config.name}/_control" && e.getRequestMethod == "POST") control(e)
    else if (front) redirect(e)
    else {
      accepted.incrementAndGet()
      // every accepted request has one counted outcome, also when admitting it fails
      try admit(e, path) catch {
        case io: IOException => reject(e, 400, s"the request body could not be read (${io.getMessage})")
        case t: Throwable => reject(e, 500, s"server error: $t")
      }
    }
  }

  private def admit(e: HttpExchange, path: String): Unit = {
    val declared = Option(e.getRequestHeaders.getFirst("Content-Length")).flatMap(_.trim.toLongOption)
    if (stopping) {
      reject(e, 503, s"the server '${config.name}' is stopping", retry = true)
    } else if (declared.exists(_ > config.maxBodyBytes)) {
      reject(e, 413, s"the request body (${declared.get} bytes) is over the limit of ${config.maxBodyBytes} bytes")
    } else {
      val body = readAtMost(e.getRequestBody, config.maxBodyBytes)
      if (body.isEmpty) {
        reject(e, 413, s"the request body is over the limit of ${config.maxBodyBytes} bytes")
      } else if (pendingCount.incrementAndGet() > config.maxPending) {
        pendingCount.decrementAndGet()
        reject(e, 503, s"the server '${config.name}' has ${config.maxPending} requests pending (maxPending)",
          retry = true)
      } else {
        val headers = e.getRequestHeaders.asScala.map { case (k, vs) => k.toLowerCase -> vs.asScala.mkString(",") }.toMap
        // The id is taken and the request made visible under one lock, so offsets only ever cover visible requests.
        sequence.synchronized {
          val id = sequence.get() + 1
          val p = new Pending(ServingRequest(id, e.getRequestMethod, path, Option(e.getRequestURI.getRawQuery).orNull,
            headers, body.get), e)
          pending.put(id, p)
          if (partition.isDefined) arrivals.put(p)
          sequence.set(id)
          p.timeout = timer.schedule((() => expire(id)): Runnable, config.requestTimeoutMs, TimeUnit.MILLISECONDS)
        }
      }
    }
  }

  /** The driver's and the partitions' messages: `register <partition> <url>` (to the front) and
   * `settle <id>` (to a partition's server). */
  private def control(e: HttpExchange): Unit = {
    val text = readAtMost(e.getRequestBody, 4096).map(new String(_, UTF_8)).getOrElse("")
    val reply = (text.split(' ').toSeq, e.getRequestHeaders.getFirst(ServingServer.TokenHeader)) match {
      case (_, t) if t != token => ServingReply.error(403, "wrong or missing control token")
      case (Seq("register", p, u), _) if front && p.toIntOption.isDefined =>
        partitionUrls.put(p.toInt, u); ServingReply.json(200, "{}")
      case (Seq("settle", id), _) if !front && id.toLongOption.isDefined =>
        settle(id.toLong, Set.empty); ServingReply.json(200, "{}")
      case _ => ServingReply.error(400, s"not a control message of this server: ${text.take(80)}")
    }
    send(e, reply)
  }

  /** The front sends each client to one of the partitions' servers in turn (not counted: they count it). */
  private def redirect(e: HttpExchange): Unit = {
    readAtMost(e.getRequestBody, config.maxBodyBytes)
    val urls = partitionUrls.values().asScala.toIndexedSeq
    if (urls.isEmpty || stopping) {
      send(e, ServingReply.error(503, s"the low-latency server '${config.name}' has no partition server running",
        Map("Retry-After" -> config.retryAfterSeconds.toString)))
    } else {
      val target = urls(Math.floorMod(nextPartition.getAndIncrement(), urls.length)) +
        Option(e.getRequestURI.getRawQuery).map("?" + _).getOrElse("")
      send(e, ServingReply.json(307, s"""{"location":${ServingReply.quote(target)}}""", Map("Location" -> target)))
    }
  }

  private def readAtMost(in: InputStream, limit: Int): Option[Array[Byte]] = {
    val out = new ByteArrayOutputStream()
    val buf = new Array[Byte](8192)
    var n = in.read(buf)
    while (n >= 0 && out.size() <= limit) {
      out.write(buf, 0, n)
      n = if (out.size() <= limit) in.read(buf) else -1
    }
    in.close()
    if (out.size() > limit) None else Some(out.toByteArray)
  }

  private def reject(e: HttpExchange, status: Int, message: String, retry: Boolean = false): Unit = {
    count(status)
    val extra = if (retry) Map("Retry-After" -> config.retryAfterSeconds.toString) else Map.empty[String, String]
    send(e, ServingReply.error(status, message, extra))
  }

  private def count(status: Int): Unit = rejected.computeIfAbsent(status, _ => new AtomicLong(0)).incrementAndGet()

  private def send(e: HttpExchange, reply: ServingReply): Unit = {
    try {
      reply.headers.foreach { case (k, v) => e.getResponseHeaders.set(k, v) }
      val length = if (reply.body.isEmpty) -1L else reply.body.length.toLong
      e.sendResponseHeaders(reply.status, length)
      if (reply.body.nonEmpty) e.getResponseBody.write(reply.body)
    } catch {
      case _: IOException => // the client went away; its outcome is still counted
    } finally e.close()
  }

  /** Answers request `id` once; false if it was answered already (expired, or a duplicate). */
  private def answer(id: Long, reply: ServingReply, outcome: () => Unit): Boolean = {
    val p = pending.get(id)
    if (p == null || !p.answered.compareAndSet(false, true)) false
    else {
      pending.remove(id)
      pendingCount.decrementAndGet()
      if (p.timeout != null) p.timeout.cancel(false)
      outcome()
      send(p.exchange, reply)
      true
    }
  }

  private def expire(id: Long): Unit =
    answer(id, ServingReply.error(504, s"no reply within ${config.requestTimeoutMs} ms (requestTimeoutMs)"),
      () => expired.incrementAndGet())

  /** A reply of the pipeline (from a committed micro-batch). */
  private[serving] def reply(id: Long, reply: ServingReply): Unit =
    if (!answer(id, reply, () => replied.incrementAndGet())) late.incrementAndGet()

  private[serving] def fail(id: Long, status: Int, message: String): Unit =
    answer(id, ServingReply.error(status, message), () => count(status))

  // ---- the stream's side: offsets are request numbers ----
  private[serving] def latest: Long = sequence.get()

  /** The unanswered requests numbered in (start, end]; remembers `end` for [[finishBatch]]. */
  private[serving] def plan(start: Long, end: Long): Seq[ServingRequest] = {
    plannedUpTo = math.max(plannedUpTo, end)
    // An empty range (start == end) is planned too: asynchronous progress tracking can run such a batch.
    if (end <= start) Seq.empty
    else pending.subMap(start + 1, true, end, true).values().asScala.filterNot(_.answered.get).map(_.request).toSeq
  }

  /** After a committed batch: every planned request the pipeline did not answer gets 400 (its body does not fit
   * the schema of parseRequest, with the reason) or 500 (the pipeline dropped the row, or its reply was null). */
  private[serving] def finishBatch(nullReplies: Set[Long]): Unit = settle(plannedUpTo, nullReplies)

  /** Requests up to `upTo` have been through the pipeline: those still unanswered get 400 or 500. */
  private[serving] def settle(upTo: Long, nullReplies: Set[Long]): Unit = {
    pending.headMap(upTo, true).values().asScala.toList.foreach { p =>
      val id = p.request.id
      if (nullReplies.contains(id)) fail(id, 500, "the pipeline's reply for this request was null")
      else schema.flatMap(s => RequestDiagnosis.problem(p.request.body, s)) match {
        case Some(problem) => fail(id, 400, problem)
        case None => fail(id, 500, "the pipeline produced no reply for this request (its row was filtered out or lost)")
      }
    }
  }

  /** A failed batch: its planned requests get 500. */
  private[serving] def abortBatch(reason: String): Unit =
    pending.headMap(plannedUpTo, true).keySet().asScala.toList.foreach(id => fail(id, 500, reason))

  /** A partition server's next request, waiting at most `timeoutMs` (None: none came, or it expired meanwhile). */
  private[serving] def take(timeoutMs: Long): Option[ServingRequest] =
    Option(arrivals.poll(timeoutMs, TimeUnit.MILLISECONDS)).filterNot(_.answered.get).map(_.request)

  // ---- the front's side ----
  /** A low-latency query plans `n` partitions: their servers will register (earlier ones are forgotten). */
  private[serving] def expectPartitions(n: Int): Unit = {
    partitionUrls.clear()
    expectedPartitions = n
  }

  /** The partitions' servers, by partition, once all have registered (waiting at most `timeoutMs`). */
  def partitionServers(timeoutMs: Long): Seq[String] = {
    require(front, s"'${config.name}' is not a low-latency server (option mode=lowLatency): its one url is $url")
    val deadline = System.nanoTime() + timeoutMs * 1000000L
    while ((expectedPartitions < 0 || partitionUrls.size < expectedPartitions) && System.nanoTime() < deadline)
      Thread.sleep(20)
    if (expectedPartitions < 0 || partitionUrls.size < expectedPartitions) throw new IllegalStateException(
      s"the low-latency server '${config.name}' has ${partitionUrls.size} of " +
        s"${if (expectedPartitions < 0) "its" else expectedPartitions.toString} partition servers running after " +
        s"$timeoutMs ms (is its query started with a continuous trigger, and does it have a core per partition?)")
    partitionUrls.values().asScala.toSeq
  }

  def status: ServingStatus =
    if (front) {
      partitionUrls.asScala.foreach { case (p, u) =>
        ServingServer.fetch(u + "/_status").map(ServingStatus.fromJson).foreach(st => partitionStatus.put(p, st))
      }
      ServingStatus.sum(config.name, url, partitionStatus.values().asScala.toSeq,
        partitionUrls.values().asScala.toSeq)
    } else ServingStatus(config.name, url, accepted.get(), replied.get(),
      rejected.asScala.map { case (k, v) => k.toInt -> v.get() }.toMap, expired.get(), pendingCount.get(), late.get())

  def statusJson: String = status.toJson

  /** Stops accepting, answers what is still pending with 503 and frees the port. */
  def stop(): Unit = {
    stopping = true
    def refusePending(): Unit = pending.keySet().asScala.toList.foreach { id =>
      answer(id, ServingReply.error(503, s"the server '${config.name}' stopped",
        Map("Retry-After" -> config.retryAfterSeconds.toString)), () => count(503))
    }
    refusePending() // while the connections are open
    http.stop(0)
    refusePending() // any admitted while stopping began (their connections are closed now; counted all the same)
    timer.shutdownNow()
    handlers.shutdown()
    ServingServer.forget(this)
  }
}

/** Counters of one server: every request it received has one outcome, so
 * `accepted == replied + rejected.values.sum + expired + pending`. */
case class ServingStatus(name: String, url: String, accepted: Long, replied: Long, rejected: Map[Int, Long],
                         expired: Long, pending: Int, late: Long, partitions: Seq[String] = Nil) {
  def toJson: String = {
    val r = rejected.toSeq.sortBy(_._1).map { case (k, v) => s""""$k":$v""" }.mkString(",")
    val p = if (partitions.isEmpty) "" else partitions.map(ServingReply.quote).mkString(""","partitions":[""", ",", "]")
    s"""{"name":${ServingReply.quote(name)},"url":${ServingReply.quote(url)},"accepted":$accepted,""" +
      s""""replied":$replied,"rejected":{$r},"expired":$expired,"pending":$pending,"late":$late$p}"""
  }
}

object ServingStatus {
  private val mapper = new com.fasterxml.jackson.databind.ObjectMapper()

  def fromJson(text: String): ServingStatus = {
    val n = mapper.readTree(text)
    ServingStatus(n.get("name").asText, n.get("url").asText, n.get("accepted").asLong, n.get("replied").asLong,
      n.get("rejected").properties().asScala.map(e => e.getKey.toInt -> e.getValue.asLong).toMap,
      n.get("expired").asLong, n.get("pending").asInt, n.get("late").asLong)
  }

  /** The counters of a low-latency server: the sums over its partitions' servers, which are listed. */
  def sum(name: String, url: String, parts: Seq[ServingStatus], urls: Seq[String]): ServingStatus =
    ServingStatus(name, url, parts.map(_.accepted).sum, parts.map(_.replied).sum,
      parts.flatMap(_.rejected).groupMapReduce(_._1)(_._2)(_ + _), parts.map(_.expired).sum, parts.map(_.pending).sum,
      parts.map(_.late).sum, urls)
}

/** The driver's servers by API name. */
object ServingServer {
  private val servers = new ConcurrentHashMap[String, ServingServer]()

  /** The running server of this name, or a new one bound now; a running one must have the same settings. */
  def getOrCreate(config: ServingConfig): ServingServer = {
    val server = servers.computeIfAbsent(config.name, _ => new ServingServer(config))
    val c = server.config
    require(c.copy(port = config.port) == config && (config.port == 0 || config.port == server.port),
      s"a server named '${config.name}' already runs at ${server.url} with other settings ($c); stop it first")
    server
  }

  /** The running server of this name (whatever its settings), or a new one. */
  def ensure(config: ServingConfig): ServingServer = servers.computeIfAbsent(config.name, _ => new ServingServer(config))

  def get(name: String): ServingServer = Option(servers.get(name)).getOrElse(throw new IllegalArgumentException(
    s"no irbis.serving server named '$name' runs in this driver (running: ${names.mkString(", ")})"))

  def find(name: String): Option[ServingServer] = Option(servers.get(name))

  def names: Seq[String] = servers.keySet().asScala.toSeq.sorted

  private def forget(s: ServingServer): Unit = servers.remove(s.config.name, s)

  private[serving] val TokenHeader = "X-Irbis-Control-Token"

  /**
   * TCP_NODELAY on the JDK server's connections (unless the JVM sets it otherwise). Without it, a reply on a
   * kept-alive connection, written as headers then body, waits for the client's delayed ACK: 40-44 ms per request
   * on Linux whatever the pipeline does. The JDK reads this property once, when its first server starts.
   */
  private[serving] lazy val noDelay: Unit = {
    val key = "sun.net.httpserver.nodelay"
    if (System.getProperty(key) == null) System.setProperty(key, "true")
  }

  /** The host a server bound to `host` is reached at: the executor's or driver's own for a wildcard address. */
  private[serving] def advertised(host: String): String =
    if (host != "0.0.0.0" && host != "::" && host.nonEmpty) host
    else Option(org.apache.spark.SparkEnv.get).map(_.blockManager.blockManagerId.host)
      .getOrElse(InetAddress.getLocalHost.getHostName)

  private def call(url: String, body: Option[(String, String)]): Option[String] = try {
    val c = URI.create(url).toURL.openConnection().asInstanceOf[HttpURLConnection]
    c.setConnectTimeout(2000)
    c.setReadTimeout(5000)
    body.foreach { case (token, text) =>
      c.setRequestMethod("POST")
      c.setDoOutput(true)
      c.setRequestProperty(TokenHeader, token)
      c.getOutputStream.write(text.getBytes(UTF_8))
    }
    try if (c.getResponseCode == 200) Some(new String(c.getInputStream.readAllBytes(), UTF_8)) else None
    finally c.disconnect()
  } catch {
    case _: IOException => None // a partition's server that is gone: its task ended
  }

  private[serving] def fetch(url: String): Option[String] = call(url, None)

  /** A control message (see `ServingServer.control`); true if it was taken. */
  private[serving] def control(serverUrl: String, token: String, text: String): Boolean =
    call(serverUrl + "/_control", Some(token -> text)).isDefined
}
