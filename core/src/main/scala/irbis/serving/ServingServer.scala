package irbis.serving

/**
 * One HTTP server of an API, in one of three roles, each its own class:
 *  - [[DriverServer]]: micro-batch mode, in the driver; the requests travel inside the micro-batches and the
 *    replies come back through the sink's commit;
 *  - [[PartitionServer]]: low-latency mode, in the executor that runs one partition's long-running task, which
 *    takes the requests and whose writer answers them at once;
 *  - [[FrontRouter]]: low-latency mode, in the driver: redirects clients (307) to the partitions' servers and
 *    sums their counters.
 * All three sit on the same [[HttpTransport]], which reads the requests, enforces the limits and the token, and
 * answers what breaks them; a role sees only well-formed requests to its service and the `_control` messages.
 */
trait ServingServer {
  def config: ServingConfig
  def port: Int

  /** `http://host:port/<name>`, with the address clients reach (the executor's or driver's host for a wildcard). */
  def url: String = s"http://${ServingServer.advertised(config.host)}:$port/${config.name}"
  def status: ServingStatus
  @volatile private var schema: Option[org.apache.spark.sql.types.StructType] = None

  /** The schema that `parseRequest` parses bodies with: unanswered rows are then diagnosed (400) rather than 500. */
  private[serving] def parsesWith(s: org.apache.spark.sql.types.StructType): Unit = schema = Some(s)
  private[serving] def parseSchema: Option[org.apache.spark.sql.types.StructType] = schema

  /** Stops accepting, answers what is still pending with 503 and frees the port. */
  def stop(): Unit

  /** A request to the service, read whole: it is to be answered exactly once through `exchange`. */
  private[serving] def onRequest(exchange: HttpTransport.Exchange): Unit

  /** A `_control` message of the driver or a partition (already authenticated); the answer is sent back. */
  private[serving] def onControl(message: String): ServingReply =
    ServingReply.error(400, s"not a control message of this server: ${message.take(80)}")
}

object ServingServer {

  /** The host a server bound to `host` is reached at: the executor's or driver's own for a wildcard address. */
  private[serving] def advertised(host: String): String =
    if (host != "0.0.0.0" && host != "::" && host.nonEmpty) host
    else Option(org.apache.spark.SparkEnv.get).map(_.blockManager.blockManagerId.host)
      .getOrElse(java.net.InetAddress.getLocalHost.getHostName)
}
