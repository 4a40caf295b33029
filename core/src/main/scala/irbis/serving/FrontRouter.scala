package irbis.serving

import java.util.concurrent.ConcurrentSkipListMap
import java.util.concurrent.atomic.AtomicInteger

import scala.jdk.CollectionConverters._

/**
 * Low-latency mode: the driver's server. It serves no requests itself: it sends each client to one of the
 * partitions' servers in turn (307, not counted: the partition counts the request), learns their addresses
 * (`register <partition> <url>`), and sums their counters with its own (the requests it refused).
 */
final class FrontRouter private[serving] (val config: ServingConfig) extends ServingServer {

  /** Authenticates the driver's and the partitions' messages to each other (`_control`). */
  private[serving] val controlToken: String = java.util.UUID.randomUUID().toString
  private val counters = new ServingCounters
  private val partitionUrls = new ConcurrentSkipListMap[Integer, String]()
  private val partitionStatus = new java.util.concurrent.ConcurrentHashMap[Integer, ServingStatus]()
  @volatile private var expectedPartitions = -1
  @volatile private var stopping = false
  private val nextPartition = new AtomicInteger(0)
  private val transport = new HttpTransport(config, counters, this, controlToken)

  def port: Int = transport.port

  override private[serving] def onRequest(e: HttpTransport.Exchange): Unit = {
    val urls = partitionUrls.values().asScala.toIndexedSeq
    if (urls.isEmpty || stopping) {
      counters.refused(503)
      e.respond(ServingReply.error(503, s"the low-latency server '${config.name}' has no partition server running",
          config.retryAfter))
    } else {
      val target = urls(Math.floorMod(nextPartition.getAndIncrement(), urls.length)) +
        Option(e.query).map("?" + _).getOrElse("")
      e.respond(ServingReply.json(307, ServingJson.write(Map("location" -> target)), Map("Location" -> target)))
    }
  }

  override private[serving] def onControl(message: String): ServingReply = message.split(' ').toSeq match {
    case Seq("register", p, u) if p.toIntOption.isDefined =>
      partitionUrls.put(p.toInt, u)
      ServingReply.json(200, "{}")
    case _ => super.onControl(message)
  }

  /** A low-latency query plans `n` partitions: their servers will register (earlier ones are forgotten). */
  private[serving] def expectPartitions(n: Int): Unit = {
    partitionUrls.clear()
    expectedPartitions = n
  }

  /** The partitions' servers, by partition, once all have registered (waiting at most `timeoutMs`). */
  def partitionServers(timeoutMs: Long): Seq[String] = {
    val deadline = System.nanoTime() + timeoutMs * 1000000L
    while ((expectedPartitions < 0 || partitionUrls.size < expectedPartitions) && System.nanoTime() < deadline)
      Thread.sleep(20)
    if (expectedPartitions < 0 || partitionUrls.size < expectedPartitions) throw new IllegalStateException(
      s"the low-latency server '${config.name}' has ${partitionUrls.size} of " +
        s"${if (expectedPartitions < 0) "its" else expectedPartitions.toString} partition servers running after " +
        s"$timeoutMs ms (is its query started with a continuous trigger, and does it have a core per partition?)")
    partitionUrls.values().asScala.toSeq
  }

  def status: ServingStatus = {
    partitionUrls.asScala.foreach { case (p, u) =>
      ServingClient.fetchStatus(u, config.token).foreach(st => partitionStatus.put(p, st))
    }
    ServingStatus.sum(config.name, url, counters.snapshot(config.name, url) +: partitionStatus.values().asScala.toSeq,
      partitionUrls.values().asScala.toSeq)
  }

  def stop(): Unit = {
    stopping = true
    transport.close()
    ServingRegistry.forget(this)
  }
}
