package irbis.http

import irbis.stages.FixedMiniBatchTransformer
import irbis.testkit.{Compare, ExampleSource, SparkSuite, StageExample}
import org.apache.spark.sql.{DataFrame, SparkSession}
import org.apache.spark.sql.functions._

object SimpleHTTPData {
  def table(spark: SparkSession): DataFrame = {
    import spark.implicits._
    Seq((1, "a", 0.5), (2, "b", 1.5), (3, "c", -2.0), (4, null, 4.0), (5, "e", 0.0)).toDF("id", "s", "x").coalesce(1)
  }
}

class SimpleHTTPTransformerExamples extends ExampleSource {
  // Only successful calls: an error's reason names the url, whose port differs from one JVM to the next.
  override def examples(spark: SparkSession): Seq[StageExample] = {
    val df = SimpleHTTPData.table(spark)
    def echo = new SimpleHTTPTransformer().setUrl(TestHTTPServer.url("/echo")).setInputCols(Array("s", "x"))
      .setOutputSchema("s string, x double")
    Seq(
      StageExample("SimpleHTTPTransformer", echo.setConcurrency(2), df),
      StageExample("SimpleHTTPTransformer-batched",
        echo.setMiniBatcher(new FixedMiniBatchTransformer().setBatchSize(2)).setOutputCol("echoed"), df))
  }
}

class SimpleHTTPTransformerSuite extends SparkSuite {
  import spark.implicits._

  private def echo(path: String) = new SimpleHTTPTransformer().setUrl(TestHTTPServer.url(path))
    .setInputCols(Array("id", "s")).setOutputSchema("id int, s string").setMaxRetries(0)

  test("the JSON response is parsed with outputSchema; a mini-batch is one request and rows keep their order") {
    val df = SimpleHTTPData.table(spark)
    val plain = echo("/echo").transform(df)
    assert(plain.select("output.id", "output.s").as[(Int, String)].collect().toSeq ==
      df.select("id", "s").as[(Int, String)].collect().toSeq)
    assert(plain.where(col("error").isNotNull).count() == 0)

    val path = "/echo"
    TestHTTPServer.reset(path)
    val batched = echo(path).setMiniBatcher(new FixedMiniBatchTransformer().setBatchSize(2)).transform(df)
    assert(batched.select("id").as[Int].collect().toSeq == Seq(1, 2, 3, 4, 5))
    assert(TestHTTPServer.requestCount(path) == 3)
    assert(Compare.diff(batched, plain) == null)
  }

  test("failures fill errorCol with the status and a reason naming the url; the output is null") {
    val df = SimpleHTTPData.table(spark).limit(2)
    val url = TestHTTPServer.url("/status?code=500")
    val failed = echo("/status?code=500").transform(df).select("output", "error.status", "error.reason").collect()
    assert(failed.forall(r => r.isNullAt(0) && r.getInt(1) == 500))
    assert(failed.head.getString(2) == s"POST $url: HTTP 500 after 1 attempt: status 500")

    // /flaky answers "ok <id>" once its failures are used up: a body that is not JSON
    val flaky = TestHTTPServer.url(s"/flaky?id=${java.util.UUID.randomUUID()}&fails=0")
    val notJson = echo("/echo").setUrl(flaky).transform(df.limit(1)).select("output", "error.status", "error.reason")
      .collect().head
    assert(notJson.isNullAt(0) && notJson.getInt(1) == 200)
    assert(notJson.getString(2).startsWith(s"POST $flaky: HTTP 200, the body is not valid JSON: ok "))

    val mismatch = echo("/echo").setOutputSchema("id array<int>").transform(df.limit(1)).select("error.reason")
      .as[String].collect().head
    assert(mismatch.contains("the body does not fit outputSchema struct<id:array<int>>: {\"id\":1,\"s\":\"a\"}"))
  }

  test("inputs and outputs are checked before anything is sent") {
    val df = SimpleHTTPData.table(spark)
    val e = intercept[IllegalArgumentException](echo("/echo").setInputCol("s").transform(df))
    assert(e.getMessage.contains("set exactly one of inputCol"))
    val e2 = intercept[IllegalArgumentException](new SimpleHTTPTransformer().setUrl(TestHTTPServer.url("/echo"))
        .setInputCol("s").setOutputSchema("a int").transform(df))
    assert(e2.getMessage.contains("column 's' has type string; expected a struct, map or array"))
    val e3 = intercept[IllegalArgumentException](new SimpleHTTPTransformer().setOutputSchema("a int,"))
    assert(e3.getMessage.contains("outputSchema"))
    val e4 = intercept[IllegalArgumentException](echo("/echo").setOutputCol("s").transform(df))
    assert(e4.getMessage.contains("output column 's' already exists"))
  }
}
