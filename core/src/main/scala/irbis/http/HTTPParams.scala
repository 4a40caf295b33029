package irbis.http

import irbis.core.{StringStringMapParam, Validators}
import org.apache.spark.ml.param.{IntArrayParam, IntParam, Params}

/** How requests are sent: concurrency, timeouts, the deadline and retries (shared by the HTTP stages). */
trait HTTPClientParams extends Params {
  final val concurrency = new IntParam(this, "concurrency",
    "The most requests in flight at once per partition (task); output rows keep the input order.",
    Validators.gt(0))
  final val connectTimeoutMs = new IntParam(this, "connectTimeoutMs",
    "How long to wait for a TCP connection (milliseconds, > 0).", Validators.gt(0))
  final val readTimeoutMs = new IntParam(this, "readTimeoutMs",
    "How long one attempt may take from sending the request to the end of the response body (milliseconds, > 0).",
    Validators.gt(0))
  final val deadlineMs = new IntParam(this, "deadlineMs",
    "The most time one row may take over all its attempts and retry waits (milliseconds, > 0): no attempt " +
      "outlives it and no retry starts after it.", Validators.gt(0))
  final val maxRetries = new IntParam(this, "maxRetries",
    "How many times a request is retried after a connection error, a timeout or a status in retryStatuses " +
      "(>= 0); attempts = 1 + retries.", Validators.gtEq(0))
  final val backoffMs = new IntParam(this, "backoffMs",
    "The wait before the first retry (milliseconds, >= 0); it doubles at every retry up to maxBackoffMs.",
    Validators.gtEq(0))
  final val maxBackoffMs = new IntParam(this, "maxBackoffMs",
    "The longest wait between two attempts from exponential backoff (milliseconds, >= 0).", Validators.gtEq(0))
  final val maxRetryAfterMs = new IntParam(this, "maxRetryAfterMs",
    "A server's Retry-After header (seconds or an HTTP date) is honoured but capped at this (milliseconds, >= 0).",
    Validators.gtEq(0))
  final val retryStatuses = new IntArrayParam(this, "retryStatuses",
    "HTTP statuses that are retried (each in 100..599).", Validators.each(Validators.inRange(100, 599)))
  final val headers = new StringStringMapParam(this, "headers",
    "Headers sent with every request; a request's own headers of the same name (case-insensitive) win. The " +
      "JDK client sets Host, Connection, Content-Length, Expect and Upgrade itself.",
    (m: Map[String, String]) => m.keys.forall(k => HTTPRequests.headerProblem(k).isEmpty))

  setDefault(concurrency -> 1, connectTimeoutMs -> 10000, readTimeoutMs -> 60000, deadlineMs -> 300000,
    maxRetries -> 3, backoffMs -> 200, maxBackoffMs -> 10000, maxRetryAfterMs -> 30000,
    retryStatuses -> Array(429, 500, 502, 503, 504), headers -> Map.empty[String, String])

  def getConcurrency: Int = $(concurrency)
  def setConcurrency(value: Int): this.type = set(concurrency, value)
  def getConnectTimeoutMs: Int = $(connectTimeoutMs)
  def setConnectTimeoutMs(value: Int): this.type = set(connectTimeoutMs, value)
  def getReadTimeoutMs: Int = $(readTimeoutMs)
  def setReadTimeoutMs(value: Int): this.type = set(readTimeoutMs, value)
  def getDeadlineMs: Int = $(deadlineMs)
  def setDeadlineMs(value: Int): this.type = set(deadlineMs, value)
  def getMaxRetries: Int = $(maxRetries)
  def setMaxRetries(value: Int): this.type = set(maxRetries, value)
  def getBackoffMs: Int = $(backoffMs)
  def setBackoffMs(value: Int): this.type = set(backoffMs, value)
  def getMaxBackoffMs: Int = $(maxBackoffMs)
  def setMaxBackoffMs(value: Int): this.type = set(maxBackoffMs, value)
  def getMaxRetryAfterMs: Int = $(maxRetryAfterMs)
  def setMaxRetryAfterMs(value: Int): this.type = set(maxRetryAfterMs, value)
  def getRetryStatuses: Array[Int] = $(retryStatuses)
  def setRetryStatuses(value: Array[Int]): this.type = set(retryStatuses, value)
  def getHeaders: Map[String, String] = $(headers)
  def setHeaders(value: Map[String, String]): this.type = set(headers, value)

  protected def sendSettings: SendSettings = SendSettings(
    connectTimeoutMs = getConnectTimeoutMs, readTimeoutMs = getReadTimeoutMs, deadlineMs = getDeadlineMs,
    maxRetries = getMaxRetries, backoffMs = getBackoffMs, maxBackoffMs = getMaxBackoffMs,
    maxRetryAfterMs = getMaxRetryAfterMs, retryStatuses = getRetryStatuses.toSet, headers = getHeaders)
}
