package irbis.serving

import java.io.IOException
import java.net.{HttpURLConnection, URI}
import java.nio.charset.StandardCharsets.UTF_8
import java.util.concurrent.ConcurrentHashMap

import scala.jdk.CollectionConverters._

/** The driver's servers by API name: a [[DriverServer]] (micro-batch mode) or a [[FrontRouter]] (low-latency). */
object ServingRegistry {
  private val servers = new ConcurrentHashMap[String, ServingServer]()

  private def start(config: ServingConfig): ServingServer =
    if (config.lowLatency) new FrontRouter(config) else new DriverServer(config)

  /** The server running with these settings, or a new one bound now; one running with other settings is an error. */
  def startOrReuse(config: ServingConfig): ServingServer = {
    val server = servers.computeIfAbsent(config.name, _ => start(config))
    val c = server.config
    require(c.copy(port = config.port) == config && (config.port == 0 || config.port == server.port),
      s"a server named '${config.name}' already runs at ${server.url} with other settings ($c); stop it first")
    server
  }

  /** The server running under this name, whatever its settings, or a new one bound now. */
  def startUnlessRunning(config: ServingConfig): ServingServer =
    servers.computeIfAbsent(config.name, _ => start(config))

  def get(name: String): ServingServer = find(name).getOrElse(throw new IllegalArgumentException(
      s"no irbis.serving server named '$name' runs in this driver (running: ${names.mkString(", ")})"))

  def find(name: String): Option[ServingServer] = Option(servers.get(name))

  /** The micro-batch server `name`, which the sink's commit answers through. */
  private[serving] def driverServer(name: String): DriverServer = get(name) match {
    case d: DriverServer => d
    case other => throw new IllegalStateException(s"the irbis.serving server '$name' is in low-latency mode " +
        s"(${other.url}): its replies are written by the partitions' tasks, not the driver")
  }

  def names: Seq[String] = servers.keySet().asScala.toSeq.sorted

  private[serving] def forget(s: ServingServer): Unit = servers.remove(s.config.name, s)
}

/** The driver's and the partitions' HTTP calls to each other's servers (JDK client; short timeouts). */
private[serving] object ServingClient {
  val TokenHeader = "X-Irbis-Control-Token"

  /** The body of a 200 answer; None for any other answer or a server that is gone (its task ended). */
  private def request(url: String, headers: Map[String, String], body: Option[String]): Option[String] = try {
    val c = URI.create(url).toURL.openConnection().asInstanceOf[HttpURLConnection]
    c.setConnectTimeout(2000)
    c.setReadTimeout(5000)
    headers.foreach { case (k, v) => c.setRequestProperty(k, v) }
    body.foreach { text =>
      c.setRequestMethod("POST")
      c.setDoOutput(true)
      c.getOutputStream.write(text.getBytes(UTF_8))
    }
    try if (c.getResponseCode == 200) Some(new String(c.getInputStream.readAllBytes(), UTF_8)) else None
    finally c.disconnect()
  } catch {
    case _: IOException => None
  }

  /** The counters of the server at `serverUrl` (its `_status`), with the bearer token if it needs one. */
  def fetchStatus(serverUrl: String, token: Option[String]): Option[ServingStatus] =
    request(serverUrl + "/_status", token.map(t => "Authorization" -> s"Bearer $t").toMap, None)
      .map(ServingStatus.fromJson)

  /** A `_control` message (see the roles' `onControl`); true if it was taken. */
  def sendControl(serverUrl: String, controlToken: String, message: String): Boolean =
    request(serverUrl + "/_control", Map(TokenHeader -> controlToken), Some(message)).isDefined
}
