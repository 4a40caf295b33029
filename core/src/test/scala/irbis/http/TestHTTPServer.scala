package irbis.http

import java.net.{InetSocketAddress, URI}
import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.{ConcurrentHashMap, Executors}
import java.util.concurrent.atomic.AtomicInteger

import com.sun.net.httpserver.{HttpExchange, HttpServer}

/**
 * One JDK HTTP server per test JVM on 127.0.0.1 (started on first use; its threads are daemons, so it never
 * keeps a JVM alive). Routes:
 *  - /echo: 200 with the request body, and the request's X-Test header as X-Echo;
 *  - /flaky?id=I&fails=N: 503 for the first N requests of id I, then 200 "ok I";
 *  - /status?code=C: always C with body "status C";
 *  - /slow?ms=M: 200 after M ms.
 * It counts requests and the most requests in flight at once, per path.
 */
object TestHTTPServer {
  private val seen = new ConcurrentHashMap[String, AtomicInteger]()
  private val inFlight = new ConcurrentHashMap[String, AtomicInteger]()
  private val maxInFlight = new ConcurrentHashMap[String, AtomicInteger]()
  private val requests = new ConcurrentHashMap[String, AtomicInteger]()

  private def counter(m: ConcurrentHashMap[String, AtomicInteger], k: String) =
    m.computeIfAbsent(k, _ => new AtomicInteger())

  private lazy val server: HttpServer = {
    var created: HttpServer = null
    // Threads inherit daemon status from their creator: the server's dispatcher thread is made by this one.
    val starter = new Thread(() => {
      val s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64)
      s.setExecutor(Executors.newCachedThreadPool((r: Runnable) => {
        val t = new Thread(r, "irbis-test-http")
        t.setDaemon(true)
        t
      }))
      s.createContext("/", (ex: HttpExchange) => handle(ex))
      s.start()
      created = s
    })
    starter.setDaemon(true)
    starter.start()
    starter.join()
    created
  }

  def url(pathAndQuery: String): String = s"http://127.0.0.1:${server.getAddress.getPort}$pathAndQuery"

  /** A URL where nothing listens (the port was free a moment ago). */
  def closedUrl: String = {
    val socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))
    val port = socket.getLocalPort
    socket.close()
    s"http://127.0.0.1:$port/nothing"
  }

  def requestCount(path: String): Int = counter(requests, path).get
  def maxConcurrent(path: String): Int = counter(maxInFlight, path).get

  /** Forgets the counts of one path (tests use their own paths or ids, so they do not disturb each other). */
  def reset(path: String): Unit = Seq(requests, maxInFlight).foreach(_.remove(path))

  private def query(uri: URI): Map[String, String] =
    Option(uri.getRawQuery).toSeq.flatMap(_.split("&")).map(_.split("=", 2)).collect {
      case Array(k, v) => k -> java.net.URLDecoder.decode(v, UTF_8)
    }.toMap

  private def handle(ex: HttpExchange): Unit = {
    val path = ex.getRequestURI.getPath
    counter(requests, path).incrementAndGet()
    val now = counter(inFlight, path).incrementAndGet()
    counter(maxInFlight, path).accumulateAndGet(now, math.max)
    try {
      val body = ex.getRequestBody.readAllBytes()
      val q = query(ex.getRequestURI)
      path match {
        case "/echo" =>
          Option(ex.getRequestHeaders.getFirst("X-Test")).foreach(ex.getResponseHeaders.add("X-Echo", _))
          respond(ex, 200, body)
        case "/flaky" =>
          val id = q.getOrElse("id", "")
          val n = counter(seen, id).incrementAndGet()
          if (n <= q.getOrElse("fails", "0").toInt) respond(ex, 503, s"attempt $n of $id fails".getBytes(UTF_8))
          else respond(ex, 200, s"ok $id".getBytes(UTF_8))
        case "/status" =>
          val code = q.getOrElse("code", "500").toInt
          respond(ex, code, s"status $code".getBytes(UTF_8))
        case "/slow" =>
          Thread.sleep(q.getOrElse("ms", "200").toLong)
          respond(ex, 200, "slow".getBytes(UTF_8))
        case _ => respond(ex, 404, "no such route".getBytes(UTF_8))
      }
    } finally {
      counter(inFlight, path).decrementAndGet()
      ex.close()
    }
  }

  private def respond(ex: HttpExchange, code: Int, body: Array[Byte]): Unit = {
    ex.sendResponseHeaders(code, if (body.isEmpty) -1 else body.length.toLong)
    if (body.nonEmpty) ex.getResponseBody.write(body)
  }
}
