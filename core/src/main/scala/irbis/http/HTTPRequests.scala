package irbis.http

import java.net.URI
import java.net.http.{HttpClient, HttpRequest}
import java.util.Locale

import org.apache.spark.sql.Row
import org.apache.spark.sql.types.{BinaryType, StructType}

/** What a stage's Params say about sending; plain values so that it travels to the executors. */
final case class SendSettings(connectTimeoutMs: Int, readTimeoutMs: Int, deadlineMs: Int, maxRetries: Int,
                              backoffMs: Int, maxBackoffMs: Int, maxRetryAfterMs: Int, retryStatuses: Set[Int],
                              headers: Map[String, String])

/** One request as read from a row; `method` is null when the row gave none. */
final case class HTTPRequest(method: String, url: String, headers: Map[String, String], body: Array[Byte]) {

  /** curl's rule: GET without a body, POST with one. */
  def effectiveMethod: String =
    if (method != null) method.toUpperCase(Locale.ROOT) else if (body == null) "GET" else "POST"

  def describe: String = s"$effectiveMethod $url"
}

/** One row of the response struct ([[HTTPSchema.Response]]). */
final case class HTTPResponse(status: Option[Int], headers: Map[String, String], body: Array[Byte],
                              error: Option[String], attempts: Int, latencyMs: Long) {
  def toRow: Row = Row(status.map(Int.box).orNull, headers, body, error.orNull, attempts, latencyMs)
}

object HTTPResponse {

  /** A request that could not be sent at all. */
  def invalid(problem: String): HTTPResponse = HTTPResponse(None, null, null, Some(problem), 0, 0L)
}

object HTTPRequests {
  // java.net.http refuses these (it sets them itself) unless a JVM-wide system property allows them.
  private val Restricted = Set("connection", "content-length", "expect", "host", "upgrade")
  private val TokenChars = "!#$%&'*+-.^_`|~".toSet

  def headerProblem(name: String): Option[String] =
    if (name == null || name.isEmpty) Some("a header name is empty")
    else if (!name.forall(c => c.isLetterOrDigit && c < 128 || TokenChars(c)))
      Some(s"header name '$name' has a character that is not allowed in a header name")
    else if (Restricted(name.toLowerCase(Locale.ROOT)))
      Some(s"header '$name' is set by the HTTP client itself and cannot be given")
    else None

  /** Reads requests from rows of a struct checked by [[HTTPSchema.requireRequest]]. */
  def reader(struct: StructType): Row => HTTPRequest = {
    def index(name: String) = struct.fieldNames.indexOf(name)
    val (m, u, h, b) = (index("method"), index("url"), index("headers"), index("body"))
    val bodyIsBinary = b >= 0 && struct.fields(b).dataType == BinaryType
    row =>
      HTTPRequest(
        method = if (m >= 0) row.getString(m) else null,
        url = row.getString(u),
        headers = if (h >= 0 && !row.isNullAt(h)) row.getMap[String, String](h).toMap else Map.empty,
        body = if (b < 0 || row.isNullAt(b)) null
        else if (bodyIsBinary) row.getAs[Array[Byte]](b)
        else row.getString(b).getBytes(java.nio.charset.StandardCharsets.UTF_8))
  }

  /** The JDK request builder for `request`, or why it cannot be sent. Stage headers yield to the request's. */
  def builder(request: HTTPRequest, stageHeaders: Map[String, String]): Either[String, HttpRequest.Builder] = {
    def bad(problem: String) = Left(s"${request.describe}: invalid request, $problem")
    if (request.url == null) return Left("invalid request: url is null")
    val uri = try URI.create(request.url)
    catch {
      case e: IllegalArgumentException => return bad(s"malformed url (${e.getMessage})")
    }
    val scheme = Option(uri.getScheme).map(_.toLowerCase(Locale.ROOT))
    if (!scheme.exists(s => s == "http" || s == "https")) return bad("the url must start with http:// or https://")
    if (uri.getHost == null) return bad("the url has no host")
    val own = request.headers.keySet.map(_.toLowerCase(Locale.ROOT))
    val all = stageHeaders.toSeq.filterNot { case (k, _) => own(k.toLowerCase(Locale.ROOT)) } ++ request.headers.toSeq
    val headerProblems = all.flatMap { case (k, v) =>
      HTTPRequests.headerProblem(k).orElse(if (v == null) Some(s"header '$k' has a null value") else None)
    }
    if (headerProblems.nonEmpty) return bad(headerProblems.head)
    try {
      val b = HttpRequest.newBuilder(uri).version(HttpClient.Version.HTTP_1_1)
      all.foreach { case (k, v) => b.header(k, v) }
      val publisher =
        if (request.body == null) HttpRequest.BodyPublishers.noBody()
        else HttpRequest.BodyPublishers.ofByteArray(request.body)
      Right(b.method(request.effectiveMethod, publisher))
    } catch {
      case e: IllegalArgumentException => bad(e.getMessage)
    }
  }
}
