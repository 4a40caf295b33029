# Spark Serving from R: the driver's HTTP server (irbis.serving.Serving on the JVM) as a streaming source of
# requests and a sink of replies. See docs/SERVING.md.

irbis_serving <- function(sc) "irbis.serving.Serving"

#' The requests of a new HTTP server in the driver, as a streaming Spark DataFrame
#' (columns id, method, path, query, headers, body). The server listens once this returns.
#' @param sc a spark_connection
#' @param host,port where to listen; port 0 binds any free port (see ml_server_url())
#' @param name the API name, also its URL path
#' @param options more source options (maxPending, maxBodyBytes, requestTimeoutMs, retryAfterSeconds,
#'   readTimeoutMs, idleTimeoutMs, maxConnections, maxHeaderBytes, token, tokenFile, ...; see docs/SERVING.md)
#' @export
stream_read_server <- function(sc, host = "127.0.0.1", port = 0L, name = "api", options = list()) {
  sc <- spark_connection(sc)
  if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name)) {
    stop("stream_read_server(): `name` must be a single non-empty string.", call. = FALSE)
  }
  reader <- invoke(invoke(spark_session(sc), "readStream"), "format", "irbis.serving")
  all <- c(list(host = host, port = format(as.integer(port)), name = name), options)
  for (key in names(all)) {
    value <- all[[key]]
    text <- if (is.numeric(value)) format(value, scientific = FALSE, trim = TRUE) else as.character(value)
    reader <- invoke(reader, "option", key, text)
  }
  sdf_register(invoke(reader, "load"))
}

#' The request id and the fields of each JSON body; bodies that do not fit `schema` are answered 400.
#' @param x the requests (from stream_read_server())
#' @param schema a DDL string such as "x1 DOUBLE, x2 DOUBLE" (NOT NULL marks required fields)
#' @export
sdf_parse_request <- function(x, schema) {
  if (!is.character(schema) || length(schema) != 1L || is.na(schema)) {
    stop("sdf_parse_request(): `schema` must be a DDL string such as \"x1 DOUBLE, x2 DOUBLE\".", call. = FALSE)
  }
  sdf <- spark_dataframe(x)
  sdf_register(invoke_static(spark_connection(x), irbis_serving(), "parseRequest", sdf, schema))
}

#' The columns the server's sink needs: id, and a reply with `column`'s value as JSON body and HTTP `status`.
#' @param x a DataFrame with column id
#' @param column the name of the column to answer with
#' @param status the HTTP status of the replies
#' @export
sdf_make_reply <- function(x, column, status = 200L) {
  sdf <- spark_dataframe(x)
  sdf_register(invoke_static(spark_connection(x), irbis_serving(), "selectReply", sdf, as.character(column),
                             as.integer(status)))
}

#' Starts the streaming query that answers the requests of server `name` with the replies in `x`.
#' @param x a DataFrame from sdf_make_reply()
#' @param name the server's name
#' @param trigger_ms the micro-batch interval in milliseconds (a low-latency server's query keeps its continuous
#'   trigger)
#' @return a sparklyr spark_stream: stream_stats(), stream_id() and stream_stop() work on it (stopping it also
#'   stops the server)
#' @export
stream_write_server <- function(x, name = "api", trigger_ms = 50) {
  sc <- spark_connection(x)
  writer <- invoke(spark_dataframe(x), "writeStream")
  writer <- invoke_static(sc, irbis_serving(), "replyTo", writer, as.character(name), as.numeric(trigger_ms))
  query <- invoke(writer, "start")
  stream_find(sc, invoke(invoke(query, "id"), "toString"))
}

#' The address the server `name` listens at, http://host:port/name.
#' @param sc a spark_connection
#' @param name the server's name
#' @export
ml_server_url <- function(sc, name = "api") {
  invoke_static(spark_connection(sc), irbis_serving(), "url", as.character(name))
}

#' The server's counters: accepted = replied + abandoned + sum(rejected) + expired + pending.
#' @param sc a spark_connection
#' @param name the server's name
#' @export
ml_server_status <- function(sc, name = "api") {
  jsonlite::fromJSON(invoke_static(spark_connection(sc), irbis_serving(), "status", as.character(name)),
                     simplifyVector = FALSE)
}

#' A low-latency server's partition servers (source option mode = "lowLatency"), one per partition, each in the
#' executor that runs that partition's task; waits up to `timeout_s` seconds for the query to start them all.
#' @param sc a spark_connection
#' @param name the server's name
#' @param timeout_s how long to wait, in seconds
#' @export
ml_server_partition_urls <- function(sc, name = "api", timeout_s = 60) {
  unlist(invoke_static(spark_connection(sc), irbis_serving(), "partitionUrls", as.character(name),
                       as.numeric(timeout_s * 1000)))
}
