package irbis.http

import java.io.IOException
import java.net.ConnectException
import java.net.http.{HttpClient, HttpConnectTimeoutException, HttpRequest, HttpResponse, HttpTimeoutException}
import java.nio.charset.StandardCharsets.UTF_8
import java.time.{Duration, ZonedDateTime}
import java.time.format.DateTimeFormatter
import java.util.Locale
import java.util.concurrent._

import scala.jdk.CollectionConverters._
import scala.util.Try

/** One HTTP client per executor JVM and connect timeout (clients are thread-safe and pool connections). */
object HTTPClients {
  private val clients = new ConcurrentHashMap[Integer, HttpClient]()

  def client(connectTimeoutMs: Int): HttpClient = clients.computeIfAbsent(connectTimeoutMs,
    ms =>
      HttpClient.newBuilder()
        .connectTimeout(Duration.ofMillis(ms.longValue))
        .followRedirects(HttpClient.Redirect.NORMAL)
        .version(HttpClient.Version.HTTP_1_1)
        .build())

  /** Retry waits and whole-attempt timeouts; it only completes futures, so one daemon thread is enough. */
  private[http] lazy val timers: ScheduledExecutorService = {
    val pool = new ScheduledThreadPoolExecutor(1,
      (r: Runnable) => {
        val t = new Thread(r, "irbis-http-timers")
        t.setDaemon(true)
        t
      })
    pool.setRemoveOnCancelPolicy(true)
    pool
  }
}

/**
 * Sends one request with retries, asynchronously: the returned future always completes normally with a
 * response (problems end up in its `error`), and completes within the deadline.
 */
object HTTPSender {
  def send(request: HTTPRequest, settings: SendSettings): CompletableFuture[HTTPResponse] =
    HTTPRequests.builder(request, settings.headers) match {
      case Left(problem) => CompletableFuture.completedFuture(HTTPResponse.invalid(problem))
      case Right(builder) => new Attempts(request, builder, settings).start()
    }

  private[http] def retryAfterMs(value: String, nowMs: Long): Option[Long] = Option(value).map(_.trim).flatMap { v =>
    if (v.nonEmpty && v.forall(_.isDigit)) Some(Try(v.toLong * 1000).getOrElse(Long.MaxValue))
    else Try(ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant.toEpochMilli - nowMs)
      .toOption.map(math.max(0L, _))
  }

  private[http] def snippet(body: Array[Byte]): String =
    if (body == null || body.isEmpty) ""
    else {
      val text = new String(body, 0, math.min(body.length, 400), UTF_8).replaceAll("\\s+", " ").trim
      if (text.length > 200) text.take(200) + "..." else text
    }
}

private final class Attempts(request: HTTPRequest, builder: HttpRequest.Builder, s: SendSettings) {
  private val started = System.nanoTime()
  private val result = new CompletableFuture[HTTPResponse]()
  private val client = HTTPClients.client(s.connectTimeoutMs)

  private def elapsedMs: Long = (System.nanoTime() - started) / 1000000L
  private def plural(n: Int) = if (n == 1) "1 attempt" else s"$n attempts"

  def start(): CompletableFuture[HTTPResponse] = {
    attempt(1)
    result
  }

  private def finish(status: Option[Int], response: HttpResponse[Array[Byte]], error: Option[String], n: Int): Unit = {
    val headers = Option(response).map(_.headers.map.asScala.collect {
      case (k, vs) if !k.startsWith(":") => k.toLowerCase(Locale.ROOT) -> vs.asScala.mkString(", ")
    }.toMap).orNull
    result.complete(HTTPResponse(status, headers, Option(response).map(_.body).orNull, error, n, elapsedMs))
  }

  private def fail(problem: String, n: Int, response: HttpResponse[Array[Byte]] = null): Unit =
    finish(Option(response).map(_.statusCode), response, Some(s"${request.describe}: $problem"), n)

  private def attempt(n: Int): Unit = if (!result.isDone) {
    val remaining = s.deadlineMs - elapsedMs
    val timeoutMs = math.min(s.readTimeoutMs.toLong, remaining)
    val cutByDeadline = remaining <= s.readTimeoutMs
    if (timeoutMs <= 0)
      return fail(s"deadline of ${s.deadlineMs} ms (deadlineMs) reached after ${plural(n - 1)}", n - 1)
    val outcome = new CompletableFuture[Either[Throwable, HttpResponse[Array[Byte]]]]()
    val sent = try {
      client.sendAsync(builder.copy().timeout(Duration.ofMillis(timeoutMs)).build(),
        HttpResponse.BodyHandlers.ofByteArray())
    } catch {
      case e: IllegalArgumentException => return fail(s"invalid request, ${e.getMessage}", n - 1)
    }
    sent.whenComplete((r, e) => outcome.complete(if (e != null) Left(e) else Right(r)))
    // The JDK's request timeout stops at the response headers; this one also covers the body.
    val timer = HTTPClients.timers.schedule((() => {
                                               if (outcome.complete(Left(new HttpTimeoutException("whole attempt"))))
                                                 sent.cancel(true)
                                             }): Runnable, timeoutMs, TimeUnit.MILLISECONDS)
    outcome.thenAccept { o =>
      timer.cancel(false)
      try handle(n, o, timeoutMs, cutByDeadline)
      catch { case t: Throwable => fail(s"unexpected ${t.getClass.getName}: ${t.getMessage}", n) }
    }
  }

  private def handle(n: Int, outcome: Either[Throwable, HttpResponse[Array[Byte]]], timeoutMs: Long,
                     cutByDeadline: Boolean): Unit = outcome match {
    case Right(r) =>
      val status = r.statusCode
      val problem = s"HTTP $status"
      if (s.retryStatuses(status) && n <= s.maxRetries) {
        val asked = r.headers.firstValue("Retry-After").map[Option[Long]](v =>
          HTTPSender.retryAfterMs(v, System.currentTimeMillis())).orElse(None)
        retry(n, asked.map(math.min(_, s.maxRetryAfterMs.toLong)).getOrElse(backoff(n)), problem, r)
      } else if (status >= 200 && status < 300) finish(Some(status), r, None, n)
      else {
        val body = HTTPSender.snippet(r.body)
        fail(s"$problem after ${plural(n)}" + (if (body.nonEmpty) s": $body" else ""), n, r)
      }
    case Left(e) =>
      val cause = e match {
        case c: CompletionException if c.getCause != null => c.getCause
        case other => other
      }
      val problem = cause match {
        case _: HttpConnectTimeoutException => s"no connection within ${s.connectTimeoutMs} ms (connectTimeoutMs)"
        case _: HttpTimeoutException if cutByDeadline => s"deadline of ${s.deadlineMs} ms (deadlineMs) reached"
        case _: HttpTimeoutException => s"no complete response within $timeoutMs ms (readTimeoutMs)"
        case c: ConnectException => s"connection failed (${Option(c.getMessage).getOrElse(c.getClass.getName)})"
        case other => s"${other.getClass.getName}: ${other.getMessage}"
      }
      val retryable = cause.isInstanceOf[IOException] && !(cause.isInstanceOf[HttpTimeoutException] && cutByDeadline)
      if (retryable && n <= s.maxRetries) retry(n, backoff(n), problem, null)
      else fail(s"$problem after ${plural(n)}", n)
  }

  /** Exponential: backoffMs before the first retry, doubling, capped at maxBackoffMs. */
  private def backoff(n: Int): Long =
    math.min(s.maxBackoffMs.toLong, s.backoffMs.toLong * (1L << math.min(n - 1, 30)))

  private def retry(n: Int, waitMs: Long, problem: String, response: HttpResponse[Array[Byte]]): Unit =
    if (elapsedMs + waitMs >= s.deadlineMs)
      fail(
        s"$problem on attempt $n; a retry after $waitMs ms would pass the deadline of ${s.deadlineMs} ms " +
          s"(deadlineMs), so no more attempts were made", n, response)
    else if (waitMs <= 0) attempt(n + 1)
    else HTTPClients.timers.schedule((() => attempt(n + 1)): Runnable, waitMs, TimeUnit.MILLISECONDS)
}
