# Spark Serving from R: a server started with stream_read_server(), requests posted with the curl program,
# each answered with its own value; a body that is not JSON gets 400; the counters add up.

# curl runs through Java's ProcessBuilder, not system2(): system2 forks this R process, which hosts Spark's JVM,
# and the child keeps copies of the JVM's descriptors until it exits. A task that was fetching a class from the
# driver then waited for the end of that download's pipe until curl exited (the first request of a low-latency
# query hung 30 s, to its 504, in about one run of four: thread dumps showed the task thread reading a
# NettyRpcEnv FileDownloadChannel). The JVM starts its children without its descriptors.
post <- function(url, body) {
  command <- c("curl", "-s", "-m", "60", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "--data-binary", body, url)
  process <- .jnew("java.lang.ProcessBuilder", .jarray(command))$redirectErrorStream(TRUE)$start()
  out <- rawToChar(process$getInputStream()$readAllBytes())
  process$waitFor()
  lines <- strsplit(out, "\n", fixed = TRUE)[[1]]
  list(status = as.integer(lines[length(lines)]), body = paste(lines[-length(lines)], collapse = "\n"))
}

# Set IRBIS_R_SERVING=0 to leave these tests out (they were opt-in while the hang above was not understood; a
# segfault of testthat's reporter was also seen once then, with requests posted through system2).
serve_k <- function(name, options = list(), trigger_ms = 50) {
  need_jvm()
  if (Sys.getenv("IRBIS_R_SERVING") == "0") skip("IRBIS_R_SERVING=0")
  if (!nzchar(Sys.which("curl"))) skip("no curl program")
  requests <- generated$stream_read_server(sc, port = 0L, name = name, options = options)
  replies <- generated$sdf_make_reply(generated$sdf_parse_request(requests, "k INT NOT NULL"), "k")
  generated$stream_write_server(replies, name, trigger_ms = trigger_ms)
}

test_that("a served pipeline answers each request with its own value and bad JSON with 400", {
  query <- serve_k("r_api", options = list(requestTimeoutMs = "120000"))
  on.exit(invoke(query, "stop"))
  url <- generated$ml_server_url(sc, "r_api")
  expect_match(url, "^http://127[.]0[.]0[.]1:[0-9]+/r_api$")
  for (k in c(3L, 17L, 5L)) {
    answer <- post(url, sprintf('{"k": %d}', k))
    expect_equal(answer$status, 200L)
    expect_equal(answer$body, as.character(k))
  }
  bad <- post(url, "{not json")
  expect_equal(bad$status, 400L)
  expect_match(bad$body, "not valid JSON")
  st <- generated$ml_server_status(sc, "r_api")
  expect_equal(c(st$accepted, st$replied, st$rejected[["400"]], st$expired, st$pending), c(4, 3, 1, 0, 0))
})

test_that("a low-latency server answers from its partition's server and redirects from the driver's address", {
  query <- serve_k("r_fast", options = list(mode = "lowLatency"))
  on.exit(invoke(query, "stop"))
  urls <- generated$ml_server_partition_urls(sc, "r_fast", timeout_s = 60)
  expect_length(urls, 1L)
  expect_false(identical(urls, generated$ml_server_url(sc, "r_fast")))
  for (k in c(4L, 11L)) expect_equal(post(urls, sprintf('{"k": %d}', k)), list(status = 200L, body = as.character(k)))
  expect_equal(post(generated$ml_server_url(sc, "r_fast"), '{"k": 1}')$status, 307L)
  st <- generated$ml_server_status(sc, "r_fast")
  expect_equal(c(st$accepted, st$replied, st$pending), c(2, 2, 0))
})
