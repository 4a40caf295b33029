package irbis.http

import java.nio.charset.StandardCharsets.UTF_8

import irbis.testkit.{ExampleSource, SparkSuite, StageExample}
import org.apache.spark.sql.{DataFrame, Row, SparkSession}
import org.apache.spark.sql.functions._

class HTTPTransformerExamples extends ExampleSource {
  // The generic suites compare outputs exactly, and a response that went over the network has a latency and
  // a Date header: these requests are the ones whose outcome is fixed (null, or refused before sending).
  // HTTPTransformerSuite and tests/python/http/test_http.py cover real traffic.
  override def examples(spark: SparkSession): Seq[StageExample] = {
    import spark.implicits._
    val df = Seq[(Option[String], Option[String], Map[String, String])](
      (None, None, Map.empty), (Some("GET"), None, Map.empty), (Some("POST"), Some("ftp://127.0.0.1/x"), Map.empty),
      (Some("GET"), Some("http://127.0.0.1:9/echo"), Map("Host" -> "example.org")))
      .toDF("method", "url", "headers")
      .select(when(col("url").isNull && col("method").isNull, lit(null))
          .otherwise(struct(col("method"), col("url"), col("headers"), lit("hi").as("body"))).as("request"))
    Seq(StageExample("HTTPTransformer",
        new HTTPTransformer().setInputCol("request").setMaxRetries(2)
          .setHeaders(Map("X-Test" -> "irbis")), df.coalesce(1)))
  }
}

class HTTPTransformerSuite extends SparkSuite {
  import spark.implicits._

  private val run = java.util.UUID.randomUUID().toString.take(8)

  private def requests(urls: Seq[String]): DataFrame =
    urls.zipWithIndex.toDF("url", "i").coalesce(1)
      .select(col("i"), HTTPSchema.request(col("url")).as("request"))

  private def responses(t: HTTPTransformer, df: DataFrame): Seq[Row] =
    t.setInputCol("request").transform(df).orderBy("i").select("response").collect().map(_.getStruct(0)).toSeq

  test("retries count every attempt; rows keep their order with several requests in flight") {
    val fails = Seq(2, 0, 1, 3, 0, 2)
    val df = requests(fails.zipWithIndex.map { case (n, i) => TestHTTPServer.url(s"/flaky?id=$run-order-$i&fails=$n") })
    val t = new HTTPTransformer().setInputCol("request").setConcurrency(3).setMaxRetries(3).setBackoffMs(5)
    val out = t.transform(df).collect()
    assert(out.map(_.getInt(0)).toSeq == fails.indices)
    out.zip(fails).foreach { case (row, n) =>
      val r = row.getStruct(2)
      assert(r.getAs[Int]("status") == 200 && r.getAs[String]("error") == null, r)
      assert(r.getAs[Int]("attempts") == n + 1, r)
      assert(new String(r.getAs[Array[Byte]]("body"), UTF_8) == s"ok $run-order-${row.getInt(0)}")
    }
  }

  test("a final error status names method, status and url; headers travel both ways; null stays null") {
    val path = s"/status?code=500&r=$run"
    val df = Seq(Some(TestHTTPServer.url(path)), None, Some(TestHTTPServer.url("/echo"))).toDF("url")
      .select(when(col("url").isNotNull,
          HTTPSchema.request(col("url"), lit("PUT"),
            typedLit(Map("X-Test" -> "row")), lit("payload"))).as("request"))
    val out = new HTTPTransformer().setInputCol("request").setMaxRetries(2).setBackoffMs(1)
      .setHeaders(Map("x-test" -> "stage", "X-Other" -> "1")).transform(df).collect().map(_.getStruct(1))
    val failed = out(0)
    assert(failed.getAs[Int]("status") == 500 && failed.getAs[Int]("attempts") == 3)
    assert(failed.getAs[String]("error") == s"PUT ${TestHTTPServer.url(path)}: HTTP 500 after 3 attempts: status 500")
    assert(out(1) == null)
    val echoed = out(2)
    assert(new String(echoed.getAs[Array[Byte]]("body"), UTF_8) == "payload")
    assert(echoed.getAs[Map[String, String]]("headers")("x-echo") == "row")
  }

  test("concurrency bounds the requests in flight per partition") {
    val path = s"/slow"
    TestHTTPServer.reset(path)
    val df = requests(Seq.fill(6)(TestHTTPServer.url(s"$path?ms=300")))
    val out = responses(new HTTPTransformer().setConcurrency(2), df)
    assert(out.forall(_.getAs[Int]("status") == 200))
    assert(TestHTTPServer.maxConcurrent(path) == 2)
    assert(TestHTTPServer.requestCount(path) == 6)
  }

  test("connection errors are retried and reported; invalid requests are never sent") {
    val closed = TestHTTPServer.closedUrl
    val out = responses(new HTTPTransformer().setMaxRetries(1).setBackoffMs(1),
      requests(Seq(closed, "ftp://127.0.0.1/x", "http://127.0.0.1:1/ x")))
    assert(out(0).getAs[Int]("attempts") == 2 && out(0).getAs[Any]("status") == null)
    assert(out(0).getAs[String]("error").startsWith(s"GET $closed: connection failed"), out(0))
    assert(out(1).getAs[String]("error") ==
      "GET ftp://127.0.0.1/x: invalid request, the url must start with http:// or https://")
    assert(out(2).getAs[String]("error").startsWith("GET http://127.0.0.1:1/ x: invalid request, malformed url"))
    assert(out.drop(1).forall(r => r.getAs[Int]("attempts") == 0 && r.getAs[Long]("latencyMs") == 0L))
  }

  test("the input column must be a request struct") {
    val df = Seq(("http://x", 1)).toDF("url", "n")
    val e = intercept[IllegalArgumentException](new HTTPTransformer().setInputCol("url").transform(df))
    assert(e.getMessage.contains("input column 'url' has type string; expected a request struct"))
    val e2 = intercept[IllegalArgumentException](new HTTPTransformer().setInputCol("r")
        .transform(df.select(struct(col("url"), col("n").as("timeout")).as("r"))))
    assert(e2.getMessage.contains("input column 'r' has unknown field(s) timeout"))
    val e3 = intercept[IllegalArgumentException](new HTTPTransformer().setHeaders(Map("Host" -> "a")))
    assert(e3.getMessage.contains("headers"))
  }

  test("Retry-After: seconds or an HTTP date, never negative") {
    assert(HTTPSender.retryAfterMs(" 3 ", 0L).contains(3000L))
    val now = java.time.ZonedDateTime.parse("Sun, 06 Nov 1994 08:49:37 GMT",
      java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant.toEpochMilli
    assert(HTTPSender.retryAfterMs("Sun, 06 Nov 1994 08:49:39 GMT", now).contains(2000L))
    assert(HTTPSender.retryAfterMs("Sun, 06 Nov 1994 08:49:30 GMT", now).contains(0L))
    assert(HTTPSender.retryAfterMs("soon", now).isEmpty)
  }
}
