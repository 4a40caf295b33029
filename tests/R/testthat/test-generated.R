# The generated package against the manifest, without Spark.

# Words that stay one word though their capitals would split them (LightGBMClassifier is ml_lightgbm_classifier).
words <- c(LightGBM = "Lightgbm", xGBoost = "xgboost")
snake <- function(name) {
  for (w in names(words)) name <- gsub(w, words[[w]], name, fixed = TRUE)
  tolower(gsub("([a-z0-9])([A-Z])", "\\1_\\2", gsub("([A-Z]+)([A-Z][a-z])", "\\1_\\2", name)))
}

# sparklyr's conventions: an estimator that reads a label or a target is a learner or model tool (ml_; with label
# and input columns, a learner taking a formula), any other estimator a feature estimator (ft_, as
# ft_string_indexer), transformers ft_. Arguments: x, (formula), input, output, label, features and prediction
# columns, the other params by name, uid, `...`.
leading <- c("inputCol", "inputCols", "outputCol", "outputCols", "labelCol", "featuresCol", "predictionCol")

for (stage in manifest_stages) local({
  stage <- stage
  names <- vapply(stage$params, `[[`, "", "name")
  learner <- stage$type == "estimator" && all(c("labelCol", "inputCols") %in% names)
  ml <- stage$type == "estimator" && any(c("labelCol", "targetCol") %in% names)
  fn_name <- paste0(if (ml) "ml_" else "ft_", snake(stage$name))

  test_that(paste(fn_name, "has every param of", stage$className, "with the manifest's default"), {
    fn <- get0(fn_name, envir = generated, mode = "function")
    expect_false(is.null(fn), info = paste(fn_name, "is not defined"))
    rank <- match(names, leading, nomatch = length(leading) + 1L)
    params <- stage$params[order(rank, names, method = "radix")]
    args <- vapply(params, function(p) snake(p$name), "")
    expect_identical(names(formals(fn)), c("x", if (learner) "formula", args, "uid", "..."))
    for (p in params) {
      arg <- snake(p$name)
      default <- eval(formals(fn)[[arg]], envir = generated)
      if (!isTRUE(p$hasDefault) || is.null(p$default)) {
        expect_null(default, info = arg)
      } else if (p$kind == "bytes") {
        expect_identical(default, jsonlite::base64_dec(p$default), info = arg)
      } else {
        expect_identical(as_param_json(default, p$kind), json_to_r(p$default, p$kind), info = arg)
      }
    }
    spec <- spec_of_class(stage$className)
    expect_identical(spec$fn, fn_name)
    expect_identical(unname(vapply(spec$params, `[[`, "", "kind")), vapply(params, `[[`, "", "kind"))
  })
})

test_that("every stage and fitted model class maps to an R constructor (sparklyr's class_mapping.json)", {
  for (dir in package_dirs) {
    mapping <- jsonlite::fromJSON(file.path(dir, "inst", "sparkml", "class_mapping.json"))
    for (tag in unlist(mapping)) {
      expect_true(exists(paste0("new_", tag), envir = generated, mode = "function"), info = tag)
    }
  }
  mapped <- unlist(lapply(package_dirs, function(d) names(jsonlite::fromJSON(file.path(d, "inst", "sparkml", "class_mapping.json")))))
  classes <- unlist(lapply(manifest_stages, function(s) c(s$className, s$modelClassName)))
  expect_setequal(unique(classes), mapped)
})

test_that("the package says the manifest's version and ships a help page per function", {
  dir <- package_dirs[[1]]
  description <- read.dcf(file.path(dir, "DESCRIPTION"))
  expect_identical(unname(description[, "Version"]), manifest$irbisVersion)
  expect_identical(get("irbis_version", envir = generated), manifest$irbisVersion)
  exports <- unlist(lapply(parse(file.path(dir, "NAMESPACE")), function(d) {
    if (identical(as.character(d[[1]]), "export")) as.character(as.list(d)[-1])
  }))
  for (fn in exports) {
    rd <- file.path(dir, "man", paste0(fn, ".Rd"))
    expect_true(file.exists(rd), info = rd)
    expect_length(tools::checkRd(rd), 0)
  }
})
