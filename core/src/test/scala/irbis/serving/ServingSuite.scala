package irbis.serving

import java.net.URI
import java.net.http.{HttpClient, HttpRequest, HttpResponse}
import java.time.Duration
import java.util.concurrent.{Callable, Executors}

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.ObjectMapper
import irbis.serving.Serving._
import irbis.testkit.SparkSuite
import org.apache.spark.ml.{Pipeline, PipelineModel}
import org.apache.spark.ml.classification.LogisticRegression
import org.apache.spark.ml.feature.VectorAssembler
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.functions._
import org.apache.spark.sql.streaming.{StreamingQuery, Trigger}
import org.apache.spark.sql.types._

class ServingSuite extends SparkSuite {
  private val client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
  private val json = new ObjectMapper()
  private val schema = new StructType().add("rid", StringType, nullable = false)
    .add("x1", DoubleType, nullable = false).add("x2", DoubleType, nullable = false)

  private def post(url: String, body: String): HttpResponse[String] =
    client.send(
      HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString())

  private def status(name: String): Map[String, Any] =
    json.readValue(Serving.status(name), classOf[java.util.Map[String, Any]]).asScala.toMap

  private def parallel[T](n: Int, threads: Int)(f: Int => T): Seq[T] = {
    val pool = Executors.newFixedThreadPool(threads)
    try pool.invokeAll((0 until n).map(i => (() => f(i)): Callable[T]).asJava).asScala.map(_.get()).toSeq
    finally pool.shutdown()
  }

  private def serve(name: String, options: Map[String, String] = Map.empty)(
    pipeline: DataFrame => DataFrame)(body: String => Unit): Unit = {
    val reader = options.foldLeft(spark.readStream.server().address("127.0.0.1", 0, name)) {
      case (r, (k, v)) => r.option(k, v)
    }
    val requests = reader.load()
    val url = Serving.url(name)
    val query: StreamingQuery = pipeline(requests).writeStream.server().replyTo(name)
      .trigger(Trigger.ProcessingTime(50)).start()
    try body(url)
    finally { query.stop(); Serving.stop(name) }
  }

  private lazy val model: PipelineModel = {
    val s = spark
    import s.implicits._
    val train = (0 until 40).map { i =>
      val x = i / 4.0; (x, 10 - x, if (x + 0.3 * (10 - x) > 5) 1.0 else 0.0)
    }
      .toDF("x1", "x2", "label")
    new Pipeline().setStages(Array(new VectorAssembler().setInputCols(Array("x1", "x2")).setOutputCol("features"),
        new LogisticRegression().setMaxIter(20))).fit(train)
  }

  test("a fitted pipeline answers 50 requests from 8 threads, each with its own prediction; bad requests get 400/413") {
    val s = spark
    import s.implicits._
    val inputs = (0 until 50).map(i => (s"r$i", (i * 7 % 41) / 4.0, (i * 3 % 37) / 4.0))
    val expected = model.transform(inputs.toDF("rid", "x1", "x2")).select("rid", "prediction").as[(String, Double)]
      .collect().toMap
    serve("lr", Map("maxBodyBytes" -> "2000", "requestTimeoutMs" -> "120000")) { requests =>
      model.transform(requests.parseRequest(schema))
        .select(col("id"), makeReply(struct(col("rid"), col("prediction"))))
    } { url =>
      val answers = parallel(inputs.size, 8) { i =>
        val (rid, x1, x2) = inputs(i)
        post(url, s"""{"rid":"$rid","x1":$x1,"x2":$x2}""")
      }
      answers.zip(inputs).foreach { case (r, (rid, _, _)) =>
        assert(r.statusCode() == 200, r.body())
        val node = json.readTree(r.body())
        assert(node.get("rid").asText() == rid)
        assert(node.get("prediction").asDouble() == expected(rid))
      }
      val notJson = post(url, """{"rid": "a", "x1": 1.0,""")
      assert(notJson.statusCode() == 400 && notJson.body().contains("not valid JSON"), notJson.body())
      val wrongType = post(url, """{"rid":"b","x1":"one","x2":2.0}""")
      assert(wrongType.statusCode() == 400 && wrongType.body().contains("'x1' must be double"), wrongType.body())
      val missing = post(url, """{"rid":"c","x1":1.0}""")
      assert(missing.statusCode() == 400 && missing.body().contains("'x2' is required"), missing.body())
      val huge = post(url, s"""{"rid":"${"z" * 5000}","x1":1,"x2":2}""")
      assert(huge.statusCode() == 413, huge.body())
      assert(post(url, """{"rid":"after","x1":1.0,"x2":2.0}""").statusCode() == 200) // still serving
      val st = status("lr")
      assert(st("accepted") == 55 && st("replied") == 51 && st("expired") == 0 && st("pending") == 0, st)
      assert(st("rejected").asInstanceOf[java.util.Map[String, Any]].asScala == Map("400" -> 3, "413" -> 1), st)
    }
  }

  test("rows filtered out or with a null reply get 500 at once, not 504; a shuffle and a join work") {
    val s = spark
    import s.implicits._
    val names = Seq((0L, "zero"), (1L, "one"), (2L, "two"), (3L, "three")).toDF("n", "word")
    serve("shuffle", Map("requestTimeoutMs" -> "20000")) { requests =>
      requests.parseRequest(new StructType().add("n", LongType)).repartition(3, col("n"))
        .join(names, Seq("n"), "left").where(col("n") =!= 3) // 3 dropped; 9 has no word: null reply
        .select(col("id"), makeReply(col("word")))
    } { url =>
      val ns = Seq(0, 1, 2, 3, 9, 0, 1, 2)
      val answers = parallel(8, 8)(i => post(url, s"""{"n":${ns(i)}}"""))
      val words = Map(0 -> "\"zero\"", 1 -> "\"one\"", 2 -> "\"two\"")
      Seq(0, 1, 2, 5, 6, 7).foreach { i =>
        assert(answers(i).statusCode() == 200 && answers(i).body() == words(ns(i)), answers(i).body())
      }
      assert(answers(3).statusCode() == 500 && answers(3).body().contains("no reply"))
      assert(answers(4).statusCode() == 500 && answers(4).body().contains("null"))
    }
  }

  test("a burst beyond the pending queue gets 503 with Retry-After, the rest 200, and the counters add up") {
    serve("burst", Map("maxPending" -> "4", "retryAfterSeconds" -> "2", "requestTimeoutMs" -> "120000")) { requests =>
      requests.parseRequest(new StructType().add("k", IntegerType)).select(col("id"), makeReply(col("k") * 2))
    } { url =>
      val answers = parallel(40, 20)(i => post(url, s"""{"k":$i}"""))
      val (ok, refused) = answers.zipWithIndex.partition(_._1.statusCode() == 200)
      ok.foreach { case (a, i) => assert(a.body() == (2 * i).toString) }
      assert(refused.nonEmpty && ok.nonEmpty, answers.map(_.statusCode()))
      refused.foreach { case (a, _) =>
        assert(a.statusCode() == 503 && a.headers().firstValue("Retry-After").orElse("") == "2", a.body())
      }
      val st = status("burst")
      assert(st("accepted") == 40 && st("replied") == ok.size && st("pending") == 0)
      assert(st("rejected").asInstanceOf[java.util.Map[String, Any]].asScala == Map("503" -> refused.size))
    }
  }

  test("a request without a reply within requestTimeoutMs gets 504; stopping answers 503; bad options are named") {
    val requests = spark.readStream.server().address("127.0.0.1", 0, "idle").option("requestTimeoutMs", "300").load()
    val url = Serving.url("idle") // no query runs: nothing will answer
    try {
      val r = post(url, """{"a":1}""")
      assert(r.statusCode() == 504 && r.body().contains("300 ms"), r.body())
      assert(status("idle")("expired") == 1)
    } finally Serving.stop("idle")
    assert(requests.isStreaming)
    // stopping answers a waiting request 503 with Retry-After, before its connection closes
    spark.readStream.server().address("127.0.0.1", 0, "stopping").option("requestTimeoutMs", "60000").load()
    val waiting = Executors.newSingleThreadExecutor()
    try {
      val answer = waiting.submit(new Callable[HttpResponse[String]] {
        override def call(): HttpResponse[String] = post(Serving.url("stopping"), """{"a":1}""")
      })
      while (status("stopping")("pending") != 1) Thread.sleep(20)
      Serving.stop("stopping")
      val r = answer.get()
      assert(r.statusCode() == 503 && r.headers().firstValue("Retry-After").orElse("") == "1", r.body())
    } finally waiting.shutdown()
    val e = intercept[IllegalArgumentException](
      spark.readStream.server().address("127.0.0.1", 0, "x").option("maxPending", "lots").load())
    assert(e.getMessage.contains("'maxPending' must be an integer, got 'lots'"))
    val noReplyQuery = spark.readStream.server().address("127.0.0.1", 0, "y").load()
      .select(col("id")).writeStream.server().replyTo("y").start()
    val noReply = intercept[Exception](noReplyQuery.awaitTermination(60000))
    Serving.stop("y")
    assert(noReply.getMessage.contains("reply column"), noReply.getMessage)
  }

  test("low-latency mode: each partition's own server answers from its task; bad and dropped rows get 400/500; " +
    "plans that continuous processing cannot run are rejected at start") {
    val s = spark
    import s.implicits._
    val inputs = (0 until 30).map(i => (s"r$i", (i * 7 % 41) / 4.0, (i * 3 % 37) / 4.0))
    val expected = model.transform(inputs.toDF("rid", "x1", "x2")).select("rid", "prediction").as[(String, Double)]
      .collect().toMap
    val requests = spark.readStream.server().address("127.0.0.1", 0, "fast")
      .option("mode", "lowLatency").option("numPartitions", "2").load()
    val query = model.transform(requests.parseRequest(schema)).where(col("rid") =!= "drop")
      .select(col("id"), makeReply(struct(col("rid"), col("prediction"))))
      .writeStream.server().replyTo("fast").start()
    var urls = Seq.empty[String]
    try {
      urls = Serving.partitionUrls("fast", 60000.0).toSeq
      assert(urls.size == 2 && urls.distinct.size == 2 && !urls.contains(Serving.url("fast")), urls)
      val answers = parallel(inputs.size, 6) { i =>
        val (rid, x1, x2) = inputs(i)
        post(urls(i % 2), s"""{"rid":"$rid","x1":$x1,"x2":$x2}""")
      }
      answers.zip(inputs).foreach { case (r, (rid, _, _)) =>
        assert(r.statusCode() == 200, r.body())
        val node = json.readTree(r.body())
        assert(node.get("rid").asText() == rid && node.get("prediction").asDouble() == expected(rid), r.body())
      }
      // the driver's address redirects (307, method and body kept) to a partition's server
      val front = post(Serving.url("fast"), """{"rid":"f","x1":1.0,"x2":2.0}""")
      assert(front.statusCode() == 307 && urls.contains(front.headers().firstValue("Location").get()), front.body())
      val following = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build()
      val followed = following.send(
        HttpRequest.newBuilder(URI.create(Serving.url("fast")))
          .POST(HttpRequest.BodyPublishers.ofString("""{"rid":"f","x1":1.0,"x2":2.0}""")).build(),
        HttpResponse.BodyHandlers.ofString())
      assert(followed.statusCode() == 200 && json.readTree(followed.body()).get("rid").asText() == "f", followed.body())
      // rows that leave the pipeline are answered once their epoch commits
      val notJson = post(urls(0), """{"rid": "a",""")
      assert(notJson.statusCode() == 400 && notJson.body().contains("not valid JSON"), notJson.body())
      val missing = post(urls(1), """{"rid":"c","x1":1.0}""")
      assert(missing.statusCode() == 400 && missing.body().contains("'x2' is required"), missing.body())
      val dropped = post(urls(1), """{"rid":"drop","x1":1.0,"x2":2.0}""")
      assert(dropped.statusCode() == 500 && dropped.body().contains("no reply"), dropped.body())
      val st = status("fast")
      assert(st("accepted") == 34 && st("replied") == 31 && st("expired") == 0 && st("pending") == 0, st)
      assert(st("rejected").asInstanceOf[java.util.Map[String, Any]].asScala == Map("400" -> 2, "500" -> 1), st)
      assert(st("partitions").asInstanceOf[java.util.List[String]].asScala == urls, st)
    } finally query.stop()
    // the partitions' servers stop with their tasks
    val deadline = System.nanoTime() + 30e9.toLong
    def listening = urls.exists(u => scala.util.Try(post(u, "{}")).isSuccess)
    while (listening && System.nanoTime() < deadline) Thread.sleep(100)
    assert(!listening, urls)

    // a failing task stops the query (continuous processing does not retry); its pending request gets 503
    val failing = spark.readStream.server().address("127.0.0.1", 0, "boom").option("mode", "lowLatency").load()
      .select(col("id"), makeReply(raise_error(lit("injected failure"))))
      .writeStream.server().replyTo("boom").start()
    try {
      val url = Serving.partitionUrls("boom", 60000.0).head
      val r = post(url, "{}")
      assert(r.statusCode() == 503 && r.headers().firstValue("Retry-After").isPresent, r.body())
      val e = intercept[Exception](failing.awaitTermination(60000))
      assert(e.getMessage.contains("injected failure"), e.getMessage)
    } finally failing.stop()

    // a shuffle is refused when the query starts; a micro-batch trigger too
    try {
      val shuffle = intercept[Exception](spark.readStream.server().address("127.0.0.1", 0, "agg")
          .option("mode", "lowLatency").load().repartition(3, col("method"))
          .select(col("id"), makeReply(col("method"))).writeStream.server().replyTo("agg").start())
      assert(shuffle.getMessage.contains("Continuous processing does not support RepartitionByExpression"),
        shuffle.getMessage)
      val microBatch = spark.readStream.server().address("127.0.0.1", 0, "agg").option("mode", "lowLatency").load()
        .select(col("id"), makeReply(col("method"))).writeStream.server().replyTo("agg")
        .trigger(Trigger.ProcessingTime(50)).start()
      val e = intercept[Exception](microBatch.awaitTermination(60000))
      assert(e.getMessage.contains("needs a continuous trigger"), e.getMessage)
    } finally Serving.stop("agg")
  }

  test("low-latency mode with an ONNX model: each row is scored as it comes, not when a batch or an epoch fills") {
    val s = spark
    import s.implicits._
    val onnx = new irbis.onnx.ONNXModel().setModelPayload(irbis.onnx.TestModels.bytes("multi_io"))
      .setFeedDict(Map("a" -> "a", "b" -> "b")).setFetchDict(Map("total" -> "total")).setMiniBatchSize(64)
    val inputs =
      Seq((Seq(1f, 2f, 3f), Seq(1L, -2L)), (Seq(0.5f, -1f, 4f), Seq(3L, 4L)), (Seq(-3f, 0f, 9f), Seq(0L, 0L)))
    val expected = onnx.transform(inputs.toDF("a", "b")).select("total").as[Float].collect().toSeq
    val requests = spark.readStream.server().address("127.0.0.1", 0, "onnx")
      .option("mode", "lowLatency").option("requestTimeoutMs", "20000").load()
    // epochs of a minute: a stage that waited for its batch (64 rows) or for the epoch's end would answer 504
    val query = onnx.transform(requests.parseRequest(new StructType().add("a", ArrayType(FloatType))
          .add("b", ArrayType(LongType)))).select(col("id"), makeReply(col("total")))
      .writeStream.server().replyTo("onnx").trigger(Trigger.Continuous(60000)).start()
    try {
      val url = Serving.partitionUrls("onnx", 60000.0).head
      val answers = inputs.map { case (a, b) => post(url, s"""{"a":[${a.mkString(",")}],"b":[${b.mkString(",")}]}""") }
      answers.zip(expected).foreach { case (r, total) =>
        assert(r.statusCode() == 200 && r.body().toFloat == total, r.body())
      }
    } finally query.stop()
  }
}
