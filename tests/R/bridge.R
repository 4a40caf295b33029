# A stand-in, for tests only, for the part of sparklyr's exported API that the generated irbis package, these
# tests and examples/camera_traps.R call: sparklyr cannot be installed here. It runs Spark in-process through rJava. Names, signatures and the
# shapes of returned objects follow sparklyr; behaviour beyond what is needed is left out on purpose, so that the
# generated code cannot lean on anything sparklyr does not export. It needs rJava attached (run.R does that) or
# imported (when tests install it as a stand-in sparklyr package to install the generated package for real, and
# to run the example script as a user would: tests/python/examples/test_example_apps.py).

bridge <- new.env()

# The JVM flags of Spark's launcher on Java 17 (org.apache.spark.launcher.JavaModuleOptions).
bridge_java_options <- c(
  "-XX:+IgnoreUnrecognizedVMOptions",
  "--add-modules=jdk.incubator.vector",
  paste0("--add-opens=java.base/", c(
    "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util",
    "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref", "sun.nio.ch", "sun.nio.cs",
    "sun.security.action", "sun.util.calendar"
  ), "=ALL-UNNAMED"),
  "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
  "-Djdk.reflect.useDirectMethodHandle=false",
  "-Dio.netty.tryReflectionSetAccessible=true",
  "-Dio.netty.allocator.type=pooled",
  "-Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE",
  "--enable-native-access=ALL-UNNAMED"
)

bridge_connect <- function(jars, log4j_config = NULL, memory = "2g", master = "local[2]", app_name = "irbis-r-tests",
                           config = list("spark.ui.enabled" = "false", "spark.sql.shuffle.partitions" = "2")) {
  # As spark-submit does (sparklyr starts Spark through it), SPARK_SUBMIT_OPTS joins the driver's flags.
  submit_opts <- strsplit(Sys.getenv("SPARK_SUBMIT_OPTS"), "[[:space:]]+")[[1]]
  options <- c(bridge_java_options, paste0("-Xmx", memory), submit_opts[nzchar(submit_opts)])
  if (!is.null(log4j_config)) options <- c(options, paste0("-Dlog4j2.configurationFile=file:", log4j_config))
  .jinit(classpath = jars, parameters = options)
  builder <- J("org.apache.spark.sql.SparkSession")$builder()
  settings <- c(list(spark.master = master, spark.app.name = app_name), config)
  for (key in names(settings)) builder <- .jrcall(builder, "config", key, as.character(settings[[key]]))
  sc <- structure(list(master = master, method = "rJava bridge"),
                  class = c("bridge_connection", "spark_connection"))
  sc$session <- bridge_jobj(.jrcall(builder, "getOrCreate"), sc)
  bridge$sc <- sc
  sc
}

bridge_jobj <- function(ref, sc = bridge$sc) {
  structure(list(ref = ref, connection = sc), class = c("bridge_jobj", "spark_jobj"))
}

# ---- conversions in the manner of sparklyr's serializer ---------------------------------------------------

bridge_to_java <- function(a) {
  if (inherits(a, "spark_jobj")) return(a$ref)
  if (is.null(a)) return(.jnull())
  if (is.raw(a)) return(.jarray(a))
  if (is.character(a) && length(a) > 1L) return(.jarray(a))
  if (is.atomic(a) && length(a) == 1L && !is.na(a)) return(a)
  stop("bridge: sparklyr would serialize this argument in a way the bridge does not implement: ",
       paste(class(a), collapse = "/"), call. = FALSE)
}

bridge_from_java <- function(r) {
  if (is.null(r)) return(NULL)
  if (is(r, "jarrayRef") || is(r, "jrectRef")) return(lapply(.jevalArray(r), bridge_from_java))
  if (is(r, "jobjRef")) {
    if (is.jnull(r)) return(NULL)
    simple <- .jsimplify(r)
    return(if (is(simple, "jobjRef")) bridge_jobj(simple) else simple)
  }
  if (is.list(r)) return(lapply(r, bridge_from_java))
  r
}

bridge_call <- function(expr) {
  tryCatch(expr, Exception = function(e) stop(conditionMessage(e), call. = FALSE))
}

# ---- sparklyr's exported API (the subset used) -----------------------------------------------------------

invoke <- function(jobj, method, ...) {
  if (!inherits(jobj, "spark_jobj")) stop("invoke() needs a spark_jobj, not ", paste(class(jobj), collapse = "/"))
  args <- lapply(list(...), bridge_to_java)
  bridge_from_java(bridge_call(do.call(.jrcall, c(list(jobj$ref, method), args))))
}

invoke_static <- function(sc, class, method, ...) {
  args <- lapply(list(...), bridge_to_java)
  bridge_from_java(bridge_call(do.call(.jrcall, c(list(class, method), args))))
}

invoke_new <- function(sc, class, ...) {
  args <- lapply(list(...), bridge_to_java)
  bridge_jobj(bridge_call(do.call(new, c(list(J(class)), args))), sc)
}

spark_connection <- function(x, ...) {
  if (inherits(x, "spark_connection")) return(x)
  if (inherits(x, "spark_jobj")) return(x$connection)
  if (inherits(x, "tbl_spark")) return(x$src)
  if (inherits(x, "ml_pipeline_stage")) return(spark_connection(x$.jobj))
  stop("Unable to retrieve a spark_connection from object of class ", paste(class(x), collapse = " "))
}

spark_jobj <- function(x, ...) {
  if (inherits(x, "spark_jobj")) return(x)
  if (inherits(x, "ml_pipeline_stage")) return(x$.jobj)
  stop("Unable to retrieve a spark_jobj from object of class ", paste(class(x), collapse = " "))
}

spark_session <- function(sc) spark_connection(sc)$session

spark_dataframe <- function(x, ...) {
  if (inherits(x, "tbl_spark")) return(x$sdf)
  if (inherits(x, "spark_jobj")) return(x)
  stop("Unable to retrieve a Spark DataFrame from object of class ", paste(class(x), collapse = " "))
}

sdf_register <- function(x, name = NULL) {
  if (!is.null(name)) invoke(x, "createOrReplaceTempView", name)
  structure(list(src = spark_connection(x), sdf = x), class = c("tbl_spark", "tbl_sql", "tbl_lazy", "tbl"))
}

register_extension <- function(package) {
  bridge$extensions <- union(bridge$extensions, package)
  invisible(NULL)
}

registered_extensions <- function() bridge$extensions

spark_dependency <- function(jars = NULL, packages = NULL, ...) {
  structure(list(jars = jars, packages = packages), class = "spark_dependency")
}

new_ml_transformer <- function(jobj, ..., class = character()) {
  bridge_new_stage(jobj, ..., class = c(class, "ml_transformer"))
}

new_ml_estimator <- function(jobj, ..., class = character()) {
  bridge_new_stage(jobj, ..., class = c(class, "ml_estimator"))
}

ml_pipeline <- function(x, ..., uid = paste0("pipeline_", bridge_random_hex())) {
  if (inherits(x, "spark_connection")) return(bridge_new_pipeline(invoke_new(x, "org.apache.spark.ml.Pipeline", uid)))
  stages <- c(list(x), list(...))
  bridge_pipeline_of(spark_connection(x), uid, lapply(stages, spark_jobj))
}

ml_add_stage <- function(x, stage) {
  current <- tryCatch(invoke(spark_jobj(x), "getStages"), error = function(e) list())
  bridge_pipeline_of(spark_connection(x), x$uid, c(current, list(spark_jobj(stage))))
}

ml_stages <- function(x, stages = NULL) x$stages

ml_fit <- function(x, dataset, ...) {
  if (!inherits(x, "ml_estimator")) stop("'ml_fit()' is only applicable to 'ml_estimator' objects")
  ml_call_constructor(invoke(spark_jobj(x), "fit", spark_dataframe(dataset)))
}

ml_transform <- function(x, dataset, ...) {
  sdf_register(invoke(spark_jobj(x), "transform", spark_dataframe(dataset)))
}

ml_save <- function(x, path, overwrite = FALSE, ...) {
  writer <- invoke(spark_jobj(x), "write")
  if (overwrite) writer <- invoke(writer, "overwrite")
  invoke(writer, "save", path)
  invisible(x)
}

ml_load <- function(sc, path) {
  metadata <- list.files(file.path(path, "metadata"), pattern = "^part-", full.names = TRUE)[[1]]
  class <- jsonlite::fromJSON(readLines(metadata, n = 1L, warn = FALSE))$class
  ml_call_constructor(invoke_static(sc, class, "load", path))
}

# sparklyr: the first class in the JVM hierarchy that a class_mapping.json (its own or a registered extension's)
# names as `<tag>` is wrapped by the function `new_<tag>` found in sparklyr or an extension's namespace.
ml_call_constructor <- function(jobj) {
  mapping <- bridge_class_mapping()
  for (class in bridge_jvm_classes(jobj)) {
    tag <- mapping[[class]]
    if (is.null(tag)) next
    for (ns in c(list(environment(ml_call_constructor)), bridge_extension_namespaces())) {
      fn <- get0(paste0("new_", tag), envir = ns, mode = "function", inherits = FALSE)
      if (!is.null(fn)) return(fn(jobj = jobj))
    }
  }
  stop("Constructor not found for `", bridge_jvm_classes(jobj)[[1]], "`.", call. = FALSE)
}

# ---- sparklyr's exported API used by examples/camera_traps.R ----------------------------------------------

# As sparklyr: Spark's jars from spark_home, each registered extension's spark_dependencies() jars, `spark.*`
# entries of config for the session and `sparklyr.shell.driver-memory` for the JVM. One JVM per R process.
spark_connect <- function(master, spark_home = Sys.getenv("SPARK_HOME"), method = "shell", app_name = "sparklyr",
                          version = NULL, config = spark_config(), extensions = registered_extensions(),
                          packages = NULL, scala_version = NULL, ...) {
  if (!nzchar(spark_home) || !dir.exists(file.path(spark_home, "jars"))) {
    stop("bridge: spark_connect() needs spark_home (or SPARK_HOME) to be a Spark folder with jars/", call. = FALSE)
  }
  spark_jars <- list.files(file.path(spark_home, "jars"), pattern = "[.]jar$", full.names = TRUE)
  core <- grep("^spark-core_2[.]13-.*[.]jar$", basename(spark_jars), value = TRUE)
  spark_version <- sub("^spark-core_2[.]13-(.*)[.]jar$", "\\1", core[1])
  jars <- spark_jars
  for (package in extensions) {
    namespace <- bridge$namespaces[[package]] %||% asNamespace(package)
    dependencies <- get("spark_dependencies", envir = namespace)(spark_version = spark_version, scala_version = "2.13")
    jars <- c(jars, dependencies$jars)
  }
  spark <- config[grepl("^spark[.]", names(config))]
  bridge_connect(jars, memory = config[["sparklyr.shell.driver-memory"]] %||% "2g",
                 master = if (identical(master, "local")) "local[*]" else master, app_name = app_name,
                 config = spark)
}

spark_config <- function(file = "config.yml", use_default = TRUE) list()

spark_disconnect <- function(sc, ...) {
  invoke(sc$session, "stop")
  invisible(NULL)
}

spark_context <- function(sc) invoke(sc$session, "sparkContext")

sdf_sql <- function(sc, sql) sdf_register(invoke(sc$session, "sql", as.character(sql)))

spark_read_binary <- function(sc, name = NULL, dir = name, path_glob_filter = "*", recursive_file_lookup = FALSE,
                              repartition = 0, memory = TRUE, overwrite = TRUE) {
  reader <- invoke(invoke(sc$session, "read"), "format", "binaryFile")
  reader <- invoke(reader, "option", "pathGlobFilter", path_glob_filter)
  reader <- invoke(reader, "option", "recursiveFileLookup", tolower(as.character(recursive_file_lookup)))
  sdf <- invoke(reader, "load", normalizePath(dir))
  if (repartition > 0) sdf <- invoke(sdf, "repartition", as.integer(repartition))
  bridge_table(sc, sdf, name, memory)
}

# Column types as sparklyr's serializer gives them: character, double, integer and logical columns.
sdf_copy_to <- function(sc, x, name = deparse(substitute(x)), memory = TRUE, repartition = 0L, overwrite = FALSE,
                        struct_columns = list(), ...) {
  types <- c(character = "STRING", numeric = "DOUBLE", integer = "INT", logical = "BOOLEAN")
  kinds <- vapply(x, function(column) class(column)[[1]], character(1))
  if (!all(kinds %in% names(types))) {
    stop("bridge: sdf_copy_to() copies character, numeric, integer and logical columns, not ",
         paste(unique(kinds[!kinds %in% names(types)]), collapse = ", "), call. = FALSE)
  }
  lines <- character()
  connection <- textConnection("lines", "w", local = TRUE)
  jsonlite::stream_out(x, connection, verbose = FALSE, na = "null", digits = NA)
  close(connection)
  rows <- invoke_new(sc, "java.util.ArrayList")
  for (line in lines) invoke(rows, "add", line)
  strings <- invoke(sc$session, "createDataset", rows, invoke_static(sc, "org.apache.spark.sql.Encoders", "STRING"))
  schema <- paste(sprintf("`%s` %s", names(x), types[kinds]), collapse = ", ")
  sdf <- invoke(invoke(invoke(sc$session, "read"), "schema", schema), "json", strings)
  if (repartition > 0) sdf <- invoke(sdf, "repartition", as.integer(repartition))
  bridge_table(sc, sdf, name, memory)
}

sdf_collect <- function(object, impl = c("row-wise", "row-wise-iter", "column-wise"), ...) {
  sdf <- spark_dataframe(object)
  names <- unlist(invoke(sdf, "columns"))
  rows <- bridge_collect_json(object)
  if (!length(rows)) return(as.data.frame(stats::setNames(rep(list(logical()), length(names)), names)))
  out <- jsonlite::fromJSON(paste0("[", paste(rows, collapse = ","), "]"), simplifyVector = TRUE)
  for (name in setdiff(names, names(out))) out[[name]] <- NA # toJSON leaves out null fields
  out[names]
}

sdf_separate_column <- function(x, column, into = NULL) {
  sdf <- spark_dataframe(x)
  values <- invoke_static(spark_connection(x), "org.apache.spark.ml.functions", "vector_to_array",
                          invoke(sdf, "col", column), "float64")
  indices <- if (is.list(into)) unlist(into) else seq_along(into)
  for (i in seq_along(indices)) {
    index <- invoke_new(spark_connection(x), "java.lang.Integer", as.integer(indices[[i]] - 1L)) # getItem(Object)
    sdf <- invoke(sdf, "withColumn", names(into)[i] %||% into[[i]], invoke(values, "getItem", index))
  }
  sdf_register(sdf)
}

tbl_cache <- function(sc, name, force = TRUE) {
  invoke(sc$session, "sql", paste0("CACHE ", if (!force) "LAZY ", "TABLE `", name, "`"))
  invisible(NULL)
}

ml_logistic_regression <- function(x, formula = NULL, fit_intercept = TRUE, elastic_net_param = 0, reg_param = 0,
                                   max_iter = 100, threshold = 0.5, thresholds = NULL, tol = 1e-06,
                                   weight_col = NULL, aggregation_depth = 2, lower_bounds_on_coefficients = NULL,
                                   lower_bounds_on_intercepts = NULL, upper_bounds_on_coefficients = NULL,
                                   upper_bounds_on_intercepts = NULL, features_col = "features", label_col = "label",
                                   family = "auto", prediction_col = "prediction", probability_col = "probability",
                                   raw_prediction_col = "rawPrediction",
                                   uid = paste0("logistic_regression_", bridge_random_hex()), ...) {
  if (!inherits(x, "spark_connection") || !is.null(formula)) {
    stop("bridge: ml_logistic_regression() is implemented for a spark_connection without formula", call. = FALSE)
  }
  unsupported <- c(thresholds = !is.null(thresholds), weight_col = !is.null(weight_col),
                   bounds = !is.null(c(lower_bounds_on_coefficients, lower_bounds_on_intercepts,
                                       upper_bounds_on_coefficients, upper_bounds_on_intercepts)))
  if (any(unsupported)) stop("bridge: ml_logistic_regression() does not set ", names(which(unsupported)), call. = FALSE)
  jobj <- invoke_new(x, "org.apache.spark.ml.classification.LogisticRegression", uid)
  jobj <- invoke(jobj, "setFitIntercept", fit_intercept)
  jobj <- invoke(jobj, "setElasticNetParam", as.double(elastic_net_param))
  jobj <- invoke(jobj, "setRegParam", as.double(reg_param))
  jobj <- invoke(jobj, "setMaxIter", as.integer(max_iter))
  jobj <- invoke(jobj, "setThreshold", as.double(threshold))
  jobj <- invoke(jobj, "setTol", as.double(tol))
  jobj <- invoke(jobj, "setAggregationDepth", as.integer(aggregation_depth))
  for (setter in list(c("setFeaturesCol", features_col), c("setLabelCol", label_col), c("setFamily", family),
                      c("setPredictionCol", prediction_col), c("setProbabilityCol", probability_col),
                      c("setRawPredictionCol", raw_prediction_col))) {
    jobj <- invoke(jobj, setter[[1]], setter[[2]])
  }
  new_ml_estimator(jobj, class = c("ml_logistic_regression", "ml_probabilistic_classifier", "ml_predictor"))
}

new_ml_logistic_regression_model <- function(jobj) {
  new_ml_transformer(jobj, class = c("ml_logistic_regression_model", "ml_probabilistic_classification_model",
                                     "ml_prediction_model"))
}

# ---- bridge-only helpers ---------------------------------------------------------------------------------

# A DataFrame as a tbl_spark named `name` (a temporary view), cached at once when memory is TRUE.
bridge_table <- function(sc, sdf, name, memory) {
  tbl <- sdf_register(sdf, name)
  if (isTRUE(memory) && !is.null(name)) tbl_cache(sc, name)
  tbl
}

# The test counterpart of installing an extension package: its inst/ folder and the environment that plays
# its namespace.
bridge_register_extension <- function(package, inst_dir, namespace) {
  register_extension(package)
  bridge$inst_dirs[[package]] <- inst_dir
  bridge$namespaces[[package]] <- namespace
}

# Installed extensions are found as sparklyr finds them; sourced ones through bridge_register_extension().
bridge_extension_inst_dir <- function(package) {
  bridge$inst_dirs[[package]] %||% system.file(package = package)
}

bridge_extension_namespaces <- function() {
  lapply(bridge$extensions, function(package) bridge$namespaces[[package]] %||% asNamespace(package))
}

bridge_class_mapping <- function() {
  own <- list("org.apache.spark.ml.Pipeline" = "ml_pipeline", "org.apache.spark.ml.PipelineModel" = "ml_pipeline_model",
              "org.apache.spark.ml.classification.LogisticRegressionModel" = "ml_logistic_regression_model")
  inst <- vapply(bridge$extensions, bridge_extension_inst_dir, character(1))
  files <- file.path(inst, "sparkml", "class_mapping.json")
  c(own, unlist(lapply(files[nzchar(inst) & file.exists(files)], jsonlite::fromJSON), recursive = FALSE))
}

`%||%` <- function(a, b) if (is.null(a)) b else a

bridge_jvm_classes <- function(jobj) {
  out <- character()
  cls <- .jrcall(spark_jobj(jobj)$ref, "getClass")
  while (!is.null(cls)) {
    out <- c(out, .jrcall(cls, "getName"))
    cls <- .jrcall(cls, "getSuperclass")
  }
  out
}

bridge_new_stage <- function(jobj, ..., class) {
  structure(list(uid = invoke(jobj, "uid"), param_map = bridge_param_map(jobj), ..., .jobj = jobj),
            class = c(class, "ml_pipeline_stage"))
}

# sparklyr reads param maps with its own JVM helper; Irbis stages have ParamsBridge.getJson for the same.
bridge_param_map <- function(jobj) {
  sc <- spark_connection(jobj)
  names <- vapply(invoke(jobj, "params"), function(p) invoke(p, "name"), character(1))
  values <- lapply(names, function(name) tryCatch({
    json <- invoke_static(sc, "irbis.core.ParamsBridge", "getJson", jobj, name)
    if (is.null(json)) NULL else jsonlite::fromJSON(json)
  }, error = function(e) NULL))
  names(values) <- names
  Filter(Negate(is.null), values)
}

bridge_new_pipeline <- function(jobj) {
  stages <- tryCatch(lapply(invoke(jobj, "getStages"), ml_call_constructor), error = function(e) NULL)
  new_ml_estimator(jobj, stages = stages, stage_uids = vapply(stages, function(s) s$uid, character(1)),
                   class = "ml_pipeline")
}

new_ml_pipeline_model <- function(jobj) {
  stages <- lapply(invoke(jobj, "stages"), ml_call_constructor)
  new_ml_transformer(jobj, stages = stages, stage_uids = vapply(stages, function(s) s$uid, character(1)),
                     class = "ml_pipeline_model")
}

new_ml_pipeline <- bridge_new_pipeline

bridge_pipeline_of <- function(sc, uid, stage_jobjs) {
  pipeline <- invoke_new(sc, "org.apache.spark.ml.Pipeline", uid)
  stages <- .jarray(lapply(stage_jobjs, function(j) j$ref), contents.class = "org/apache/spark/ml/PipelineStage")
  .jrcall(pipeline$ref, "setStages", stages)
  bridge_new_pipeline(pipeline)
}

bridge_random_hex <- function() paste(sample(c(0:9, letters[1:6]), 12, replace = TRUE), collapse = "")

# Rows of a DataFrame as JSON strings: enough for tests to look at results.
bridge_collect_json <- function(x) {
  rows <- invoke(invoke(spark_dataframe(x), "toJSON"), "collectAsList")
  vapply(seq_len(invoke(rows, "size")) - 1L, function(i) invoke(rows, "get", i), character(1))
}
