package irbis.core

import java.util.concurrent.{ConcurrentLinkedQueue, CountDownLatch, Executors, TimeUnit}
import java.util.concurrent.atomic.{AtomicInteger, AtomicReference}

import scala.jdk.CollectionConverters._

import org.scalatest.funsuite.AnyFunSuite

class RefCountedCacheSuite extends AnyFunSuite {

  /** A stand-in for a native handle: counts its closes and fails loudly when used after one. */
  final class Resource(val key: String) {
    val closes = new AtomicInteger()
    def use(): String = { assert(closes.get() == 0, s"$key used after close"); key }
  }

  final class Fixture(initialLimit: Int) {
    @volatile var limit: Int = initialLimit
    val closed = new ConcurrentLinkedQueue[String]()
    val cache = new RefCountedCache[String, Resource](() => limit,
      r => { r.closes.incrementAndGet(); closed.add(r.key) })
    def closedKeys: List[String] = closed.asScala.toList
    def touch(key: String): Resource = cache.use(key)(new Resource(key))(identity)
  }

  test("beyond the limit the least recently acquired idle value is closed at once") {
    val f = new Fixture(2)
    val a = f.touch("a")
    f.touch("b")
    assert(f.touch("a") eq a, "a cached value is reused")
    f.touch("c")
    assert(f.closedKeys == List("b") && f.cache.size == 2)
    f.touch("d")
    assert(f.closedKeys == List("b", "a") && f.cache.size == 2)
    assert(f.cache.openedCount == 4 && f.cache.closedCount == 2)
  }

  test("a value in use is dropped from the cache but closed only when its last lease is released, once") {
    val f = new Fixture(1)
    val first = f.cache.acquire("a")(new Resource("a"))
    val second = f.cache.acquire("a")(new Resource("a"))
    assert(first.value eq second.value)
    f.touch("b")
    assert(f.cache.size == 1 && f.closedKeys.isEmpty, "a is held twice")
    assert(first.value.use() == "a")
    first.release()
    first.release() // a second release of one lease does nothing
    assert(f.closedKeys.isEmpty, "a is still held once")
    val third = f.cache.acquire("a")(new Resource("a"))
    assert(third.value ne first.value, "a dropped value is not handed out again: the key is opened anew")
    assert(f.closedKeys == List("b"))
    second.release()
    assert(f.closedKeys == List("b", "a") && first.value.closes.get() == 1)
    third.release()
    f.cache.clear()
    assert(f.closedKeys == List("b", "a", "a") && f.cache.size == 0)
    assert(f.cache.openedCount == f.cache.closedCount)
  }

  test("limit 0 keeps nothing: a value is closed when its last user releases it") {
    val f = new Fixture(0)
    val r = f.cache.use("a")(new Resource("a")) { r => assert(f.closedKeys.isEmpty); r }
    assert(r.closes.get() == 1 && f.cache.size == 0)
  }

  test("a value that fails to open is not cached and the next caller opens it again") {
    val f = new Fixture(2)
    intercept[IllegalStateException](f.cache.use("a")(throw new IllegalStateException("no"))(identity))
    assert(f.cache.size == 0 && f.cache.openedCount == 0)
    assert(f.touch("a").key == "a" && f.cache.size == 1)
    f.limit = -1
    val e = intercept[IllegalArgumentException](f.touch("a"))
    assert(e.getMessage.contains("Expected: >= 0"))
  }

  test("threads asking for one key open it once; other keys do not wait for it") {
    val f = new Fixture(4)
    val opening = new CountDownLatch(1)
    val proceed = new CountDownLatch(1)
    val opens = new AtomicInteger()
    def slow(): Resource = { opens.incrementAndGet(); opening.countDown(); proceed.await(); new Resource("a") }
    val pool = Executors.newFixedThreadPool(4)
    try {
      val waiting = (1 to 3).map(_ => pool.submit(() => f.cache.use("a")(slow())(_.use())))
      assert(opening.await(10, TimeUnit.SECONDS))
      assert(f.touch("b").key == "b", "another key is served while a opens")
      proceed.countDown()
      assert(waiting.map(_.get(10, TimeUnit.SECONDS)) == Seq("a", "a", "a") && opens.get() == 1)
    } finally pool.shutdownNow()
  }

  test("many threads, many keys, a small limit: no value is used after close and each is closed exactly once") {
    val f = new Fixture(2)
    val opened = new ConcurrentLinkedQueue[Resource]()
    val failure = new AtomicReference[Throwable]()
    val threads = (0 until 8).map { t =>
      new Thread(() =>
        try {
          val rng = new scala.util.Random(t)
          (0 until 3000).foreach { i =>
            val key = s"k${rng.nextInt(6)}"
            if (i % 500 == 0) f.limit = rng.nextInt(3)
            f.cache.use(key)({ val r = new Resource(key); opened.add(r); r }) { r =>
              assert(r.use() == key)
              Thread.`yield`()
              assert(r.use() == key)
            }
          }
        } catch { case e: Throwable => failure.compareAndSet(null, e) })
    }
    threads.foreach(_.start())
    threads.foreach(_.join())
    Option(failure.get()).foreach(e => throw e)
    assert(f.cache.size <= 2)
    f.cache.clear()
    val all = opened.asScala.toList
    assert(all.forall(_.closes.get() == 1), all.map(_.closes.get()).groupBy(identity).view.mapValues(_.size).toMap)
    assert(f.cache.openedCount == all.size && f.cache.closedCount == all.size)
  }
}
