# Spark Serving from R: a server started with stream_read_server(), requests posted with the curl program,
# each answered with its own value; a body that is not JSON gets 400; the counters add up.

# With sparklyr, Spark runs in its own JVM process, so curl can be started from R with system2().
post <- function(url, body) {
  out <- system2("curl", c("-s", "-m", "60", "-o", "-", "-w", shQuote("\n%{http_code}"), "-X", "POST",
                           "--data-binary", shQuote(body), url), stdout = TRUE)
  list(status = as.integer(out[length(out)]), body = paste(out[-length(out)], collapse = "\n"))
}

# Set IRBIS_R_SERVING=0 to leave these tests out.
serve_k <- function(name, options = list(), trigger_ms = 50) {
  need_jvm()
  if (Sys.getenv("IRBIS_R_SERVING") == "0") skip("IRBIS_R_SERVING=0")
  if (!nzchar(Sys.which("curl"))) skip("no curl program")
  requests <- stream_read_server(sc, port = 0L, name = name, options = options)
  replies <- sdf_make_reply(sdf_parse_request(requests, "k INT NOT NULL"), "k")
  stream_write_server(replies, name, trigger_ms = trigger_ms)
}

test_that("a served pipeline answers each request with its own value and bad JSON with 400", {
  query <- serve_k("r_api", options = list(requestTimeoutMs = "120000"))
  on.exit(if (invoke(query, "isActive")) stream_stop(query))
  expect_s3_class(query, "spark_stream")
  expect_match(stream_id(query), "^[0-9a-f-]{36}$")
  url <- ml_server_url(sc, "r_api")
  expect_match(url, "^http://127[.]0[.]0[.]1:[0-9]+/r_api$")
  for (k in c(3L, 17L, 5L)) {
    answer <- post(url, sprintf('{"k": %d}', k))
    expect_equal(answer$status, 200L)
    expect_equal(answer$body, as.character(k))
  }
  bad <- post(url, "{not json")
  expect_equal(bad$status, 400L)
  expect_match(bad$body, "not valid JSON")
  st <- ml_server_status(sc, "r_api")
  expect_equal(c(st$accepted, st$replied, st$rejected[["400"]], st$expired, st$pending), c(4, 3, 1, 0, 0))
  stats <- stream_stats(query)
  expect_match(stats$sink, "irbis|Serving|ServingSink", ignore.case = TRUE)
  expect_length(stats$stats, 1L)
  stream_stop(query)
  expect_false(invoke(query, "isActive"))
})

test_that("a low-latency server answers from its partition's server and redirects from the driver's address", {
  query <- serve_k("r_fast", options = list(mode = "lowLatency"))
  on.exit(stream_stop(query))
  urls <- ml_server_partition_urls(sc, "r_fast", timeout_s = 60)
  expect_length(urls, 1L)
  expect_false(identical(urls, ml_server_url(sc, "r_fast")))
  for (k in c(4L, 11L)) expect_equal(post(urls, sprintf('{"k": %d}', k)), list(status = 200L, body = as.character(k)))
  expect_equal(post(ml_server_url(sc, "r_fast"), '{"k": 1}')$status, 307L)
  st <- ml_server_status(sc, "r_fast")
  expect_equal(c(st$accepted, st$replied, st$pending), c(2, 2, 0))
})
