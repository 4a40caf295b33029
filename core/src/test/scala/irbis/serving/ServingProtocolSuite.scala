package irbis.serving

import java.io.{ByteArrayOutputStream, InputStream}
import java.net.{InetSocketAddress, Socket, SocketTimeoutException, URI}
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.nio.charset.StandardCharsets.{UTF_16LE, UTF_8}
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.{Callable, Executors}

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.ObjectMapper
import irbis.serving.Serving._
import irbis.testkit.SparkSuite
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.functions._
import org.apache.spark.sql.streaming.{StreamingQuery, Trigger}
import org.apache.spark.sql.types._

/** What a client sees on a raw socket: the status, the headers (lower-case names), the body, and whether the
 * server closed the connection after it. */
case class RawAnswer(status: Int, headers: Map[String, String], body: String, closed: Boolean)

object RawHttp {

  /** Reads one HTTP response (with a Content-Length) from `in`; then whether the server closes (EOF within 5 s). */
  def read(socket: Socket): RawAnswer = {
    socket.setSoTimeout(30000)
    val in = socket.getInputStream
    val head = new ByteArrayOutputStream()
    while (!head.toString(UTF_8).endsWith("\r\n\r\n")) {
      val b = in.read()
      if (b < 0) return RawAnswer(-1, Map.empty, head.toString(UTF_8), closed = true)
      head.write(b)
    }
    val lines = head.toString(UTF_8).split("\r\n").toSeq
    val headers = lines.tail.filter(_.contains(":")).map { l =>
      val k = l.indexOf(':'); l.substring(0, k).trim.toLowerCase -> l.substring(k + 1).trim
    }.toMap
    val body = in.readNBytes(headers.get("content-length").map(_.toInt).getOrElse(0))
    val closed = headers.get("connection").contains("close") && eof(socket, in)
    RawAnswer(lines.head.split(" ")(1).toInt, headers, new String(body, UTF_8), closed)
  }

  private def eof(socket: Socket, in: InputStream): Boolean = {
    socket.setSoTimeout(5000)
    try in.read() < 0
    catch { case _: SocketTimeoutException => false }
  }

  /** Sends `request` on a new connection and reads the answer. */
  def exchange(port: Int, request: Array[Byte]): RawAnswer = {
    val s = new Socket()
    try {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000)
      s.getOutputStream.write(request)
      s.getOutputStream.flush()
      read(s)
    } finally s.close()
  }

  /** A request of protocol_cases.json with its placeholders expanded. */
  def expand(template: String, name: String): Array[Byte] =
    "\\{(name|bytes:\\d+|headers:\\d+)\\}".r.replaceAllIn(template,
      m =>
        m.group(1) match {
          case "name" => name
          case b if b.startsWith("bytes:") => "x" * b.drop(6).toInt
          case h => (0 until h.drop(8).toInt).map(i => s"X-Filler-$i: v\r\n").mkString
        }).getBytes(UTF_8)
}

/**
 * The HTTP protocol of both modes' servers, seen by clients on real sockets on 127.0.0.1: every malformed request
 * answered once with its status (the table of protocol_cases.json, which the Python suite runs too), slow and idle
 * clients that cannot starve the others, the bearer token, and bursts. Counters are checked exactly.
 */
class ServingProtocolSuite extends SparkSuite {
  private val json = new ObjectMapper()
  private val client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
  private val table = json.readTree(getClass.getResourceAsStream("/irbis/serving/protocol_cases.json"))
  private val cases = table.get("cases").elements().asScala.toSeq
  private val tableOptions = table.get("options").properties().asScala.map(e => e.getKey -> e.getValue.asText).toMap

  private def status(name: String): ServingStatus = ServingStatus.fromJson(Serving.status(name))

  private def post(url: String, body: Array[Byte], token: Option[String] = None): HttpResponse[String] = {
    val b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
      .POST(HttpRequest.BodyPublishers.ofByteArray(body))
    token.foreach(t => b.header("Authorization", s"Bearer $t"))
    client.send(b.build(), HttpResponse.BodyHandlers.ofString())
  }

  private def port(url: String): Int = URI.create(url).getPort

  /** Starts a query answering `{"k": n}` with n + 1, in micro-batch or low-latency mode; gives the URL clients post
   * to (a low-latency mode's partition server) and stops the query after `body`. */
  private def serve(name: String, lowLatency: Boolean, options: Map[String, String] = Map.empty)(
    body: String => Unit): Unit = {
    val reader = (options ++ (if (lowLatency) Map("mode" -> "lowLatency") else Map.empty))
      .foldLeft(spark.readStream.server().address("127.0.0.1", 0, name)) { case (r, (k, v)) => r.option(k, v) }
    val replies: DataFrame = reader.load().parseRequest(new StructType().add("k", IntegerType))
      .select(col("id"), makeReply(col("k") + 1))
    val writer = replies.writeStream.server().replyTo(name)
    val query: StreamingQuery = (if (lowLatency) writer else writer.trigger(Trigger.ProcessingTime(50))).start()
    try body(if (lowLatency) Serving.partitionUrls(name, 60000.0).head else Serving.url(name))
    finally { query.stop(); Serving.stop(name) }
  }

  private def parallel[T](n: Int, threads: Int)(f: Int => T): Seq[T] = {
    val pool = Executors.newFixedThreadPool(threads)
    try pool.invokeAll((0 until n).map(i => (() => f(i)): Callable[T]).asJava).asScala.map(_.get()).toSeq
    finally pool.shutdown()
  }

  for (lowLatency <- Seq(false, true)) {
    val mode = if (lowLatency) "low-latency" else "micro-batch"
    test(s"$mode: each malformed request gets its status as the client sees it, once, and is counted once") {
      val name = s"proto_${if (lowLatency) "ll" else "mb"}"
      serve(name, lowLatency, tableOptions) { url =>
        cases.foreach { c =>
          val what = c.get("case").asText
          val answer = RawHttp.exchange(port(url), RawHttp.expand(c.get("request").asText, name))
          assert(answer.status == c.get("status").asInt, s"$what: $answer")
          assert(answer.closed, s"$what: the server keeps the connection open after refusing: $answer")
          assert(json.readTree(answer.body).get("error").asText.nonEmpty, s"$what: $answer")
          Option(c.get("header")).foreach { h =>
            assert(answer.headers.get(h.get(0).asText.toLowerCase).contains(h.get(1).asText), s"$what: $answer")
          }
        }
        // bodies that are not UTF-8 JSON leave parseRequest and are answered 400, not replaced with U+FFFD
        val invalid = post(url, "{\"k\":1,\"s\":\"".getBytes(UTF_8) ++ Array(0xff.toByte) ++ "\"}".getBytes(UTF_8))
        assert(invalid.statusCode == 400 && invalid.body.contains("not valid UTF-8"), invalid.body)
        val utf16 = post(url, """{"k":1}""".getBytes(UTF_16LE))
        assert(utf16.statusCode == 400 && utf16.body.contains("not valid JSON"), utf16.body)
        val ok = post(url, """{"k":1}""".getBytes(UTF_8))
        assert(ok.statusCode == 200 && ok.body == "2", ok.body)
        val expected = cases.groupBy(_.get("status").asInt).map { case (s, cs) => s -> cs.size.toLong }
        val st = status(name)
        assert(st.rejected == expected.updated(400, expected.getOrElse(400, 0L) + 2), st)
        assert((st.accepted, st.replied, st.expired, st.pending, st.abandoned) == (cases.size + 3L, 1L, 0L, 0, 0L), st)
        assert(st.accepted == st.replied + st.abandoned + st.rejected.values.sum + st.expired + st.pending, st)
      }
    }
  }

  test("200 slow clients holding partial headers get 408 and are closed, and 1,799 idle connections are closed or, " +
    "beyond maxConnections, answered 503 with Retry-After, while a normal client's 50 requests are answered") {
    serve("slow", lowLatency = true,
      Map("readTimeoutMs" -> "3000", "idleTimeoutMs" -> "1500",
        "retryAfterSeconds" -> "2")) { url =>
      val p = port(url)
      val path = URI.create(url).getPath
      val normal = new Socket("127.0.0.1", p) // connected before the others: a kept-alive client
      def ask(k: Int): RawAnswer = {
        val body = s"""{"k":$k}"""
        normal.getOutputStream.write((s"POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}" +
            s"\r\n\r\n$body").getBytes(UTF_8))
        RawHttp.read(normal)
      }
      assert(ask(-1).body == "0") // the partition's task is serving before the crowd comes
      def open(n: Int, first: String): Seq[Socket] = (0 until n).map { k =>
        val s = new Socket("127.0.0.1", p)
        if (first.nonEmpty) try s.getOutputStream.write(first.getBytes(UTF_8))
        catch {
          case e: java.io.IOException => fail(s"connection $k of $n ('${first.take(20)}'): $e", e)
        }
        s
      }
      val slow = open(200, s"POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\n")
      val idle = open(1799, "") // 1 + 200 + 799 = maxConnections (1000 by default): the last 1000 get 503 at once
      try {
        val answers = (0 until 50).map(ask)
        // all answered while every slow client still waited for its 408 (none had been answered yet)
        val slowAnsweredMeanwhile = slow.count(_.getInputStream.available() > 0)
        assert(answers.map(a => (a.status, a.body)) == (0 until 50).map(k => (200, (k + 1).toString)))
        assert(slowAnsweredMeanwhile == 0)
        // the idle connections within the cap are closed by the server after idleTimeoutMs (EOF, no answer)
        val (refused, closed) = idle.map(RawHttp.read).partition(_.status != -1)
        assert(refused.size == 1000 && refused.forall(a =>
            a.status == 503 &&
              a.headers.get("retry-after").contains("2") && a.closed), refused.filter(_.status != 503).take(3))
        assert(closed.size == 1799 - refused.size && closed.forall(_.closed))
        val timedOut = slow.map(RawHttp.read)
        assert(timedOut.forall(a => a.status == 408 && a.closed), timedOut.filter(_.status != 408).take(3))
        // The driver's control messages to the partition's server (settle, each epoch) are connections too: while
        // the server is full they get 503 like any client (counted; a later epoch settles what they would have).
        val st = status("slow")
        val controlRefused = st.rejected(503) - refused.size
        assert(controlRefused >= 0 && controlRefused <= 5, st)
        assert((st.accepted, st.replied, st.rejected, st.pending) ==
            (51L + 200 + st.rejected(503), 51L, Map(408 -> 200L, 503 -> st.rejected(503)), 0), st)
      } finally (normal +: (slow ++ idle)).foreach(_.close())
    }
  }

  test("the bearer token: missing or wrong 401 (service and _status), right 200; from a token file; the front " +
    "sums its partitions' counters with it") {
    val file = Files.createTempFile("irbis-token", ".txt")
    Files.write(file, "s3cret-token\n".getBytes(UTF_8))
    val e = intercept[IllegalArgumentException](spark.readStream.server().address("127.0.0.1", 0, "t0")
        .option("token", "has space").load())
    assert(e.getMessage.contains("visible ASCII characters without spaces"), e.getMessage)
    val both = intercept[IllegalArgumentException](ServingConfig.from(Map("name" -> "t1", "token" -> "a",
          "tokenfile" -> file.toString)))
    assert(both.getMessage.contains("'token' and 'tokenFile' are alternatives"), both.getMessage)
    assert(!ServingConfig.from(Map("name" -> "t2", "token" -> "n0t-in-logs")).toString.contains("n0t-in-logs"))
    serve("guarded", lowLatency = true, Map("tokenFile" -> file.toString)) { url =>
      val body = """{"k":4}""".getBytes(UTF_8)
      val missing = post(url, body)
      assert(missing.statusCode == 401 &&
        missing.headers.firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"))
      assert(post(url, body, Some("s3cret-tokem")).statusCode == 401)
      assert(post(url, body, Some("s3cret-token")).body == "5")
      def get(u: String, token: Option[String]) =
        client.send(token.foldLeft(HttpRequest.newBuilder(URI.create(u)))((b, t) =>
            b.header("Authorization", s"Bearer $t")).build(), HttpResponse.BodyHandlers.ofString())
      assert(get(url + "/_status", None).statusCode == 401)
      assert(get(Serving.url("guarded") + "/_status", Some("wrong")).statusCode == 401)
      assert(get(Serving.url("guarded") + "/_status", Some("s3cret-token")).statusCode == 200)
      assert(post(Serving.url("guarded"), body).statusCode == 401) // the front checks it too before redirecting
      val st = status("guarded")
      assert((st.accepted, st.replied, st.rejected) == (6L, 1L, Map(401 -> 5L)), st)
    }
  }

  for (lowLatency <- Seq(false, true)) {
    val mode = if (lowLatency) "low-latency" else "micro-batch"
    test(s"$mode: a burst of 2,000 requests from 50 threads is answered 200, each with its own reply") {
      val name = s"burst_${if (lowLatency) "ll" else "mb"}"
      serve(name, lowLatency, Map("maxPending" -> "100")) { url =>
        val answers = parallel(2000, 50) { k =>
          val t = System.nanoTime()
          val r = post(url, s"""{"k":$k}""".getBytes(UTF_8))
          (r.statusCode, r.body, (System.nanoTime() - t) / 1e6)
        }
        assert(answers.map(a => (a._1, a._2)) == (0 until 2000).map(k => (200, (k + 1).toString)))
        val ms = answers.map(_._3).sorted
        def pct(q: Double) = ms(math.min(ms.size - 1, (q * ms.size).toInt))
        info(f"$mode burst latency ms: p50 ${pct(0.5)}%.1f, p90 ${pct(0.9)}%.1f, p99 ${pct(0.99)}%.1f, " +
          f"max ${ms.last}%.1f")
        val st = status(name)
        assert((st.accepted, st.replied, st.rejected, st.pending, st.abandoned) == (2000L, 2000L, Map.empty, 0, 0L), st)
      }
    }
  }
}
