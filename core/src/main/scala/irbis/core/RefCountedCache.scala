package irbis.core

import java.util.concurrent.atomic.{AtomicBoolean, AtomicLong}

import scala.util.control.NonFatal

/**
 * A bounded cache of values that hold native memory (LightGBM boosters, ONNX Runtime sessions), shared by the task
 * threads of one JVM. A caller holds a [[RefCountedCache.Lease]] while it uses a value. Beyond `limit()` entries the
 * least recently acquired leave the cache; one that leaves is closed at once if no lease holds it, else when its
 * last lease is released, so a value is never closed under a thread that uses it, and each is closed exactly once.
 *
 * `limit` is read at every acquisition (0: nothing is kept once released). A value is opened outside the cache's
 * lock by the first thread that asks for its key (threads asking for the same key wait for it, others do not);
 * a value that fails to open is not cached, so the next caller tries again.
 */
final class RefCountedCache[K, V](limit: () => Int, close: V => Unit) {
  import RefCountedCache.Lease

  private final class Entry {
    // Guarded by the entry itself: set once, by the thread that opens the value.
    var value: Option[V] = None
    // Guarded by the cache.
    var users = 0
    var cached = true
    var closed = false
  }

  // In access order: the first entry is the least recently acquired.
  private val entries = new java.util.LinkedHashMap[K, Entry](16, 0.75f, true)
  private val opened = new AtomicLong()
  private val closedValues = new AtomicLong()

  /** The value of `key`, opened with `open` if the cache has none, held until the lease is released. */
  def acquire(key: K)(open: => V): Lease[V] = {
    val max = limit()
    require(max >= 0, s"cache limit $max. Expected: >= 0")
    val (entry, idle) = synchronized {
      val e = Option(entries.get(key)).getOrElse { val n = new Entry; entries.put(key, n); n }
      e.users += 1
      (e, evict(max))
    }
    idle.foreach(closeValue)
    val value =
      try entry.synchronized {
          entry.value.getOrElse {
            val v = open
            entry.value = Some(v)
            opened.incrementAndGet()
            v
          }
        }
      catch {
        case t: Throwable =>
          synchronized {
            if (entries.get(key) eq entry) { entries.remove(key); entry.cached = false }
          }
          release(entry)
          throw t
      }
    new Lease(value, () => release(entry))
  }

  /** Runs `f` with the value of `key` (opened with `open` if the cache has none), holding it meanwhile. */
  def use[T](key: K)(open: => V)(f: V => T): T = {
    val lease = acquire(key)(open)
    try f(lease.value)
    finally lease.release()
  }

  /** Drops every entry: idle values are closed now, the others when their last lease is released. */
  def clear(): Unit = synchronized(evict(0)).foreach(closeValue)

  /** How many keys the cache holds. */
  def size: Int = synchronized(entries.size)

  /** How many values were opened, and how many closed (those the cache dropped that no lease held any more). */
  def openedCount: Long = opened.get()
  def closedCount: Long = closedValues.get()

  /** Under the cache's lock: drops the least recently acquired entries beyond `max`; gives those no one holds. */
  private def evict(max: Int): List[Entry] = {
    var idle = List.empty[Entry]
    val it = entries.values().iterator()
    while (entries.size > max && it.hasNext) {
      val e = it.next()
      it.remove()
      e.cached = false
      if (e.users == 0) { e.closed = true; idle ::= e }
    }
    idle
  }

  private def release(e: Entry): Unit = {
    val last = synchronized {
      e.users -= 1
      val now = e.users == 0 && !e.cached && !e.closed
      if (now) e.closed = true
      now
    }
    if (last) closeValue(e)
  }

  // A value that fails to close counts as closed: its error would otherwise replace the caller's own result.
  private def closeValue(e: Entry): Unit = e.synchronized(e.value).foreach { v =>
    try close(v)
    catch { case NonFatal(_) => }
    closedValues.incrementAndGet()
  }
}

object RefCountedCache {

  /** A value held from the cache: `release` (once; later calls do nothing) lets the cache close it. */
  final class Lease[V] private[RefCountedCache] (val value: V, onRelease: () => Unit) {
    private val released = new AtomicBoolean()
    def release(): Unit = if (released.compareAndSet(false, true)) onRelease()
  }
}
