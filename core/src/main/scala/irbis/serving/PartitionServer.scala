package irbis.serving

import java.util.concurrent.{LinkedBlockingQueue, TimeUnit}

/**
 * Low-latency mode: the server of one partition, in the executor that runs the partition's long-running task.
 * The task [[take]]s the requests as they arrive and its writer answers each at once ([[reply]]); after each epoch
 * the driver tells it which requests the pipeline is through with (`settle <id>`), and those still unanswered
 * get their 400 or 500.
 */
final class PartitionServer private[serving] (config: ServingConfig, val partition: Int, controlToken: String)
  extends RequestServer(config, controlToken) {
  private val arrivals = new LinkedBlockingQueue[java.lang.Long]() // not taken yet, in id order

  override protected def admitted(request: ServingRequest): Unit = arrivals.put(request.id)

  /** The next request, waiting at most `timeoutMs` (None: none came, or it expired meanwhile). */
  private[serving] def take(timeoutMs: Long): Option[ServingRequest] =
    Option(arrivals.poll(timeoutMs, TimeUnit.MILLISECONDS)).map(_.longValue).filter(isPending).flatMap(request)

  override private[serving] def onControl(message: String): ServingReply = message.split(' ').toSeq match {
    case Seq("settle", id) if id.toLongOption.isDefined =>
      settle(id.toLong, Set.empty)
      ServingReply.json(200, "{}")
    case _ => super.onControl(message)
  }
}
