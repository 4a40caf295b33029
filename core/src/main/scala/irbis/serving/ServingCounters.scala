package irbis.serving

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.{AtomicInteger, AtomicLong}

import scala.jdk.CollectionConverters._

/** The counters behind [[ServingStatus]]: each accepted request ends in exactly one of replied, abandoned,
 * rejected (by status), expired, or is still pending. */
private[serving] final class ServingCounters {
  val accepted = new AtomicLong(0)
  val replied = new AtomicLong(0)
  val abandoned = new AtomicLong(0)
  val expired = new AtomicLong(0)
  val late = new AtomicLong(0)
  val pending = new AtomicInteger(0)
  private val rejected = new ConcurrentHashMap[Int, AtomicLong]()

  /** A request the server answers itself with `status` as soon as it sees it: accepted and rejected at once. */
  def refused(status: Int): Unit = { accepted.incrementAndGet(); rejectedOne(status) }

  /** The outcome of a request accepted before. */
  def rejectedOne(status: Int): Unit = rejected.computeIfAbsent(status, _ => new AtomicLong(0)).incrementAndGet()

  /** A reply counted as replied whose client turned out to be gone. */
  def lost(): Unit = { replied.decrementAndGet(); abandoned.incrementAndGet() }

  def snapshot(name: String, url: String): ServingStatus =
    ServingStatus(name, url, accepted.get(), replied.get(),
      rejected.asScala.map { case (k, v) => k.toInt -> v.get() }.toMap, expired.get(), pending.get(), late.get(),
      abandoned.get())
}
