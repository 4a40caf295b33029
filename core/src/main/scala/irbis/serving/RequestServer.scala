package irbis.serving

import java.util.concurrent.{ConcurrentSkipListMap, Executors, ScheduledFuture, TimeUnit}
import java.util.concurrent.atomic.AtomicBoolean

import scala.jdk.CollectionConverters._

/**
 * What the driver's and the partitions' servers share: requests numbered as they are admitted (the numbers are
 * the stream's offsets), kept until the pipeline's reply arrives or `requestTimeoutMs` expires, and answered
 * exactly once (an atomic flag per request), each outcome counted.
 */
abstract class RequestServer private[serving] (val config: ServingConfig, controlToken: String)
  extends ServingServer {
  private final class Pending(val request: ServingRequest, val exchange: HttpTransport.Exchange) {
    val answered = new AtomicBoolean(false)
    @volatile var timeout: ScheduledFuture[_] = _
  }

  /** Every server instance has its own identity, so offsets of an earlier server are never mistaken for ours. */
  val instance: String = java.util.UUID.randomUUID().toString
  private val counters = new ServingCounters
  private val sequence = new java.util.concurrent.atomic.AtomicLong(0)
  private val pending = new ConcurrentSkipListMap[java.lang.Long, Pending]()
  @volatile private var stopping = false
  private val timer = Executors.newSingleThreadScheduledExecutor { (r: Runnable) =>
    val t = new Thread(r, s"irbis-serving-${config.name}-timer"); t.setDaemon(true); t
  }
  private val transport = new HttpTransport(config, counters, this, controlToken)

  def port: Int = transport.port

  /** Called with each request as it is admitted, under the lock that numbers them. */
  protected def admitted(request: ServingRequest): Unit = ()

  override private[serving] def onRequest(e: HttpTransport.Exchange): Unit = {
    counters.accepted.incrementAndGet()
    if (stopping) {
      counters.rejectedOne(503)
      e.respond(ServingReply.error(503, s"the server '${config.name}' is stopping", config.retryAfter))
    } else if (counters.pending.incrementAndGet() > config.maxPending) {
      counters.pending.decrementAndGet()
      counters.rejectedOne(503)
      e.respond(ServingReply.error(503,
          s"the server '${config.name}' has ${config.maxPending} requests pending " +
            "(maxPending)", config.retryAfter))
    } else {
      // The id is taken and the request made visible under one lock, so offsets only ever cover visible requests.
      sequence.synchronized {
        val id = sequence.get() + 1
        val p = new Pending(ServingRequest(id, e.method, e.path, e.query, e.headers, e.body), e)
        pending.put(id, p)
        admitted(p.request)
        sequence.set(id)
        p.timeout = timer.schedule((() => expire(id)): Runnable, config.requestTimeoutMs, TimeUnit.MILLISECONDS)
      }
    }
  }

  /** Takes request `id` for answering; None if it was answered already (expired, or a duplicate). */
  private def claim(id: Long): Option[Pending] = Option(pending.get(id)).filter(_.answered.compareAndSet(false, true))
    .map { p =>
      pending.remove(id)
      counters.pending.decrementAndGet()
      if (p.timeout != null) p.timeout.cancel(false)
      p
    }

  private def expire(id: Long): Unit = claim(id).foreach { p =>
    counters.expired.incrementAndGet()
    p.exchange.respond(ServingReply.error(504, s"no reply within ${config.requestTimeoutMs} ms (requestTimeoutMs)"))
  }

  /** A reply of the pipeline: replied, or abandoned if its client has gone; late if the request was answered. */
  private[serving] def reply(id: Long, reply: ServingReply): Unit = claim(id) match {
    case Some(p) =>
      counters.replied.incrementAndGet()
      if (!p.exchange.respond(reply, () => counters.lost())) counters.lost()
    case None => counters.late.incrementAndGet()
  }

  private[serving] def fail(id: Long, status: Int, message: String): Unit = claim(id).foreach { p =>
    counters.rejectedOne(status)
    p.exchange.respond(ServingReply.error(status, message))
  }

  /** Whether request `id` still waits for its answer. */
  protected def isPending(id: Long): Boolean = Option(pending.get(id)).exists(!_.answered.get)
  protected def request(id: Long): Option[ServingRequest] = Option(pending.get(id)).map(_.request)

  private[serving] def latest: Long = sequence.get()

  /** The unanswered requests numbered in (start, end]. */
  protected def unanswered(start: Long, end: Long): Seq[ServingRequest] =
    if (end <= start) Seq.empty
    else pending.subMap(start + 1, true, end, true).values().asScala.filterNot(_.answered.get).map(_.request).toSeq

  /** Requests up to `upTo` have been through the pipeline: those still unanswered get 400 (the body does not fit
   * the schema of parseRequest, with the reason) or 500 (the pipeline dropped the row, or its reply was null). */
  private[serving] def settle(upTo: Long, nullReplies: Set[Long]): Unit =
    pending.headMap(upTo, true).values().asScala.toList.foreach { p =>
      val id = p.request.id
      if (nullReplies.contains(id)) fail(id, 500, "the pipeline's reply for this request was null")
      else parseSchema.flatMap(s => RequestDiagnosis.problem(p.request.body, s)) match {
        case Some(problem) => fail(id, 400, problem)
        case None => fail(id, 500, "the pipeline produced no reply for this request (its row was filtered out or lost)")
      }
    }

  /** Every unanswered request up to `upTo` gets `status`. */
  protected def failUpTo(upTo: Long, status: Int, reason: String): Unit =
    pending.headMap(upTo, true).keySet().asScala.toList.foreach(id => fail(id, status, reason))

  def status: ServingStatus = counters.snapshot(config.name, url)

  /** After the transport is closed; the driver's server leaves the registry here. */
  protected def stopped(): Unit = ()

  def stop(): Unit = {
    stopping = true
    def refusePending(): Unit = pending.keySet().asScala.toList.foreach { id =>
      claim(id).foreach { p =>
        counters.rejectedOne(503)
        p.exchange.respond(ServingReply.error(503, s"the server '${config.name}' stopped", config.retryAfter))
      }
    }
    refusePending() // while the connections are open
    transport.close()
    refusePending() // any admitted while stopping began (their connections are closed now; counted all the same)
    timer.shutdownNow()
    stopped()
  }
}
