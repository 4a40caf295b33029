#!/usr/bin/env Rscript
# Camera-trap transfer learning: is this frame a snow leopard? The R twin of examples/camera_traps.py (same
# steps, same printed table), written with sparklyr and the irbis package's ft_* functions.
#
# Data: a folder with labels.csv (path, species, is_snow_leopard, sequence, ...; paths relative to the folder) and
# the images. Every other file in the folder is read too, so nothing is skipped silently: an undecodable image gets
# null features and an error message, and is reported and left out with a count.
#
# Five models, evaluated by leave-one-sequence-out (frames of one trigger burst are never split between train and
# test; --folds K groups the sequences into K folds instead):
#   1. raw pixels: ft_unroll_binary_image to 32x32, ml_logistic_regression;
#   2. deep features: ft_image_featurizer (EfficientNet-Lite0, 1280-d pooled features), ml_logistic_regression;
#   3. (2) trained on the training frames plus their horizontal flips (ft_image_set_augmenter);
#   4. (3) with ft_ensemble_by_key over `sequence`: each frame gets the mean probability of its burst;
#   5. deep features: ml_lightgbm_classifier (boosted trees) instead of the logistic regression of (2).
# The pipeline of model (4), fitted on all frames, is saved, loaded back and must predict identically.
#
# The model is the ONNX file written by the Python converter (python -m irbis.models.efficientnet_lite --out F),
# which carries its preprocessing as metadata. Needs sparklyr (>= 1.9.0), the irbis package
# (install.packages("dist/irbis_0.1.0.tar.gz", repos = NULL)) and Spark 4.1 in SPARK_HOME (the folder of a Spark
# 4.1 download, or of the pyspark 4.1 package). Usage:
#
#   Rscript examples/camera_traps.R --data camera-traps --model efficientnet_lite0.onnx [--out DIR] [--folds K]
#
# Relational steps are Spark SQL over temporary views (sdf_register, sdf_sql); only small results are collected.
# A Java varargs method (Dataset.select(String, String...)) takes its varargs from sparklyr's invoke() as an R list:
# a character vector of several strings is not an array to sparklyr's serializer.

suppressPackageStartupMessages({
  library(sparklyr)
  library(irbis)
})

METADATA_FILES <- c("labels.csv", "README.md") # files of the data folder that are not images
PIXELS <- 32L
MODELS <- c("1 raw pixels 32x32 + LR", "2 deep features + LR", "3 deep features + flips + LR",
            "4 = 3 + EnsembleByKey(sequence)", "5 deep features + LightGBM")
USAGE <- paste(
  "usage: Rscript camera_traps.R --data DIR --model MODEL.onnx [--out DIR] [--folds K]",
  "  --data   folder with labels.csv and the images",
  "  --model  EfficientNet-Lite0 as ONNX (python -m irbis.models.efficientnet_lite --out MODEL.onnx)",
  "  --out    output folder (default: a new temporary folder)",
  "  --folds  K-fold by sequence instead of leave-one-sequence-out (the default); K >= 2", sep = "\n")

timings <- new.env()
timings$steps <- list()

timed <- function(step, expr) {
  start <- proc.time()[["elapsed"]]
  value <- expr
  seconds <- proc.time()[["elapsed"]] - start
  timings$steps[[length(timings$steps) + 1L]] <- list(step = step, seconds = seconds)
  cat(sprintf("  [%6.1f s] %s\n", seconds, step))
  flush(stdout())
  invisible(value)
}

usage_error <- function(message) {
  cat(message, "\n", USAGE, "\n", sep = "", file = stderr())
  quit(status = 2L, save = "no")
}

parse_args <- function(args) {
  flags <- c("--data", "--model", "--out", "--folds")
  given <- list()
  while (length(args)) {
    flag <- args[[1]]
    if (flag %in% c("-h", "--help")) usage_error("")
    if (!flag %in% flags) usage_error(sprintf("unknown argument '%s'", flag))
    if (length(args) < 2L || startsWith(args[[2]], "--")) usage_error(sprintf("%s needs a value", flag))
    if (!is.null(given[[flag]])) usage_error(sprintf("%s is given twice", flag))
    given[[flag]] <- args[[2]]
    args <- args[-(1:2)]
  }
  if (is.null(given[["--data"]])) usage_error("--data DIR is required")
  if (is.null(given[["--model"]])) {
    usage_error("--model MODEL.onnx is required (convert it with `python -m irbis.models.efficientnet_lite --out MODEL.onnx`)")
  }
  folds <- NULL
  if (!is.null(given[["--folds"]])) {
    folds <- suppressWarnings(as.integer(given[["--folds"]]))
    if (is.na(folds) || folds < 2L || as.character(folds) != given[["--folds"]]) {
      usage_error(sprintf("--folds must be an integer >= 2, not '%s'", given[["--folds"]]))
    }
  }
  list(data = given[["--data"]], model = given[["--model"]], out = given[["--out"]], folds = folds)
}

sql_strings <- function(x) paste0("'", gsub("'", "''", x, fixed = TRUE), "'", collapse = ", ")

# binaryFile's path (file:/abs/path) as a path relative to the data folder, like labels.csv's.
relative_path <- function(path, root) {
  local <- sub("^file:(//)?", "", path)
  prefix <- paste0(root, "/")
  ifelse(startsWith(local, prefix), substring(local, nchar(prefix) + 1L), local)
}

read_labels <- function(data_dir) {
  file <- file.path(data_dir, "labels.csv")
  labels <- utils::read.csv(file, stringsAsFactors = FALSE, colClasses = "character")
  needed <- c("path", "species", "is_snow_leopard", "sequence")
  absent <- setdiff(needed, names(labels))
  if (length(absent)) {
    stop(file, ": missing column(s) ", paste(absent, collapse = ", "), "; it has ", paste(names(labels), collapse = ", "))
  }
  for (column in needed) {
    empty <- which(is.na(labels[[column]]) | !nzchar(trimws(labels[[column]])))
    if (length(empty)) stop(file, " line ", empty[[1]] + 1L, ": column ", column, " is empty")
  }
  bad <- which(!trimws(labels$is_snow_leopard) %in% c("0", "1"))
  if (length(bad)) {
    stop(file, " line ", bad[[1]] + 1L, ": is_snow_leopard must be 0 or 1, not '", labels$is_snow_leopard[[bad[[1]]]], "'")
  }
  duplicated_paths <- unique(labels$path[duplicated(labels$path)])
  if (length(duplicated_paths)) stop(file, ": path(s) listed more than once: ", paste(sort(duplicated_paths), collapse = ", "))
  labels$is_snow_leopard <- as.integer(trimws(labels$is_snow_leopard))
  per_sequence <- tapply(labels$is_snow_leopard, labels$sequence, function(v) length(unique(v)))
  if (any(per_sequence > 1)) {
    stop(file, ": sequences with mixed labels: ", paste(sort(names(per_sequence)[per_sequence > 1]), collapse = ", "))
  }
  labels[needed]
}

# Every file under data_dir (except labels.csv and README.md), with its relative path: view `files`.
read_images <- function(sc, data_dir) {
  spark_read_binary(sc, "all_files", dir = data_dir, recursive_file_lookup = TRUE, memory = FALSE)
  paths <- sdf_collect(sdf_sql(sc, "SELECT path FROM all_files"))$path
  sdf_copy_to(sc, data.frame(path = paths, relpath = relative_path(paths, data_dir)), "file_paths", overwrite = TRUE)
  files <- sdf_sql(sc, sprintf(
    "SELECT f.*, m.relpath FROM all_files f JOIN file_paths m ON f.path = m.path WHERE m.relpath NOT IN (%s)",
    sql_strings(METADATA_FILES)))
  sdf_register(spark_dataframe(files), "files")
  tbl_cache(sc, "files")
}

# Deep features of every image (copy 0) and of its horizontal flip (copy 1), computed once and cached: view
# `features`. ft_image_set_augmenter emits each image followed by its flipped copy; the copy number is their order
# within the task (monotonically_increasing_id follows it), checked later against features computed from the files.
featurize <- function(sc, model_path) {
  decoded <- ft_image_decoder(sdf_sql(sc, "SELECT path, relpath, content FROM files"),
                              input_col = "content", output_col = "image")
  augmented <- ft_image_set_augmenter(decoded, input_col = "image", output_col = "image",
                                      flip_left_right = TRUE, flip_up_down = FALSE)
  sdf_register(spark_dataframe(augmented), "augmented")
  with_ids <- sdf_sql(sc, "SELECT relpath, image, error, monotonically_increasing_id() AS rowid FROM augmented")
  featurized <- ft_image_featurizer(with_ids, input_col = "image", output_col = "features", model_location = model_path)
  sdf_register(spark_dataframe(featurized), "featurized")
  sdf_register(spark_dataframe(sdf_sql(sc, paste(
    "SELECT relpath, row_number() OVER (PARTITION BY relpath ORDER BY rowid) - 1 AS copy, features, error",
    "FROM featurized"))), "features")
  tbl_cache(sc, "features")
}

# Sequence -> fold. k = NULL: one fold per sequence; otherwise sequences sorted by (label, id) dealt round-robin,
# so that every fold's training part has both classes.
fold_assignment <- function(sequences, labels, k) {
  ordered <- order(-labels, sequences, method = "radix")
  fold <- integer(length(sequences))
  fold[ordered] <- if (is.null(k)) seq_along(ordered) - 1L else (seq_along(ordered) - 1L) %% k
  fold
}

lr <- function(sc, features_col) {
  ml_logistic_regression(sc, features_col = features_col, label_col = "label", max_iter = 100, reg_param = 0.01)
}

# LightGBM on the deep features. A fold trains on a few dozen frames, so the trees are small (4 leaves, at least 3
# frames per leaf); one partition, so one LightGBM worker and no network; deterministic with one thread.
gbm <- function(sc, features_col) {
  ml_lightgbm_classifier(sc, features_col = features_col, label_col = "label", num_iterations = 50L,
                         learning_rate = 0.1, num_leaves = 4L, min_data_in_leaf = 3L, deterministic = TRUE,
                         num_threads = 1L, seed = 7L)
}

# The test frames' P(snow leopard) under one model, as a data.frame.
frame_predictions <- function(scored, model, fold, column = "probability") {
  split <- sdf_separate_column(scored, column, into = c("p_other", "p"))
  rows <- sdf_collect(sdf_register(invoke(spark_dataframe(split), "select", "relpath", list("sequence", "label", "p"))))
  data.frame(rows, model = model, fold = fold, pred = as.numeric(rows$p >= 0.5), stringsAsFactors = FALSE)
}

# Python's f"{x:.3f}" (round half to even on the double's exact value, which sprintf also rounds).
fixed3 <- function(x) sprintf("%.3f", x)

summarize <- function(preds) {
  rows <- lapply(MODELS, function(name) {
    m <- preds[preds$model == name, ]
    by_seq <- lapply(split(m, m$sequence), function(s) {
      votes <- mean(s$pred)
      # majority of the frames' predictions; a tie goes to the mean probability
      predicted <- if (votes == 0.5) mean(s$p) >= 0.5 else votes > 0.5
      as.numeric(predicted) == s$label[[1]]
    })
    data.frame(
      model = name, frame_acc = fixed3(mean(m$pred == m$label)), sequence_acc = fixed3(mean(unlist(by_seq))),
      found = sprintf("%d/%d", sum(m$pred == 1 & m$label == 1), sum(m$label == 1)),
      false_alarms = sprintf("%d/%d", sum(m$pred == 1 & m$label == 0), sum(m$label == 0)),
      stringsAsFactors = FALSE)
  })
  table <- do.call(rbind, rows)
  names(table) <- c("model", "frame acc", "sequence acc", "leopard frames found", "false alarms")
  table
}

# Columns right-aligned and separated by one space, as pandas' to_string(index = False) prints them.
format_table <- function(table) {
  cells <- rbind(names(table), as.matrix(table))
  widths <- apply(nchar(cells), 2, max)
  lines <- apply(cells, 1, function(row) paste0(strrep(" ", widths - nchar(row)), row, collapse = " "))
  paste(lines, collapse = "\n")
}

confusion_png <- function(cm, path, title, footer) {
  grDevices::png(path, width = 490, height = 450, type = "cairo")
  on.exit(grDevices::dev.off())
  graphics::par(mar = c(0, 0, 0, 0))
  graphics::plot.new()
  graphics::plot.window(xlim = c(0, 490), ylim = c(450, 0), xaxs = "i", yaxs = "i")
  cell <- 150
  left <- 170
  top <- 90
  for (i in seq_along(title)) graphics::text(10, 20 * i, title[[i]], adj = c(0, 0.5), cex = 0.9)
  graphics::text(left - 10, top - 12, "predicted:", adj = c(1, 0.5), cex = 0.9)
  graphics::text(left + c(0.5, 1.5) * cell, top - 12, c("other", "snow leopard"), cex = 0.9)
  most <- max(cm, 1)
  for (t in 1:2) {
    graphics::text(10, top + (t - 1) * cell + cell / 2, c("true: other", "true: leopard")[[t]], adj = c(0, 0.5))
    for (p in 1:2) {
      shade <- as.integer(255 - 200 * cm[t, p] / most)
      x0 <- left + (p - 1) * cell
      y0 <- top + (t - 1) * cell
      graphics::rect(x0, y0 + cell, x0 + cell, y0, col = grDevices::rgb(shade, shade, 255, maxColorValue = 255))
      graphics::text(x0 + cell / 2, y0 + cell / 2, cm[t, p], cex = 2.2, col = if (shade > 128) "black" else "white")
    }
  }
  graphics::text(10, top + 2 * cell + 30, footer, adj = c(0, 0.5), cex = 0.9)
}

evaluate <- function(sc, data_dir, model_path, out, k) {
  cat(sprintf("model: %s (given)\n", model_path))
  labels <- read_labels(data_dir)

  timed("read files, featurize every image and its flip once (cached)", {
    read_images(sc, data_dir)
    featurize(sc, model_path)
    feats <- sdf_collect(sdf_sql(sc, "SELECT relpath, copy, features IS NULL AS missing, error FROM features"))
  })
  timed("raw pixels 32x32 of every image (cached)", {
    pixels <- ft_unroll_binary_image(sdf_sql(sc, "SELECT relpath, content FROM files"), input_col = "content",
                                     output_col = "pixels", height = PIXELS, width = PIXELS)
    sdf_register(invoke(spark_dataframe(pixels), "withColumnRenamed", "error", "pixel_error"), "pixels")
    tbl_cache(sc, "pixels")
    pix <- sdf_collect(sdf_sql(sc, "SELECT relpath, pixels IS NULL AS missing, pixel_error FROM pixels"))
  })

  on_disk <- unique(feats$relpath)
  counts <- table(feats$relpath)
  if (any(counts != 2)) stop("expected an image and its flip per file: ", paste(names(counts)[counts != 2], collapse = ", "))
  failed <- feats[feats$missing, ]
  bad <- tapply(failed$error, failed$relpath, function(e) e[[1]])
  bad_pixels <- sort(pix$relpath[pix$missing])
  unlabelled <- sort(setdiff(on_disk, labels$path))
  missing <- sort(setdiff(labels$path, on_disk))
  cat(sprintf("files: %d read, %d rows in labels.csv\n", length(on_disk), nrow(labels)))
  cat(sprintf("undecodable (null features, dropped): %d\n", length(bad)))
  for (path in sort(names(bad))) cat(sprintf("  %s: %s\n", path, bad[[path]]))
  if (!setequal(bad_pixels, names(bad))) cat(sprintf("  note: UnrollBinaryImage failed on [%s]\n", paste(bad_pixels, collapse = ", ")))
  cat(sprintf("files without a row in labels.csv (dropped): %d [%s]\n", length(unlabelled), paste(unlabelled, collapse = ", ")))
  cat(sprintf("labels.csv rows without a file (dropped): %d [%s]\n", length(missing), paste(missing, collapse = ", ")))
  dropped <- union(names(bad), bad_pixels)

  usable <- labels[!labels$path %in% c(dropped, missing), ]
  usable$relpath <- usable$path
  usable$label <- as.numeric(usable$is_snow_leopard)
  sdf_copy_to(sc, usable[c("relpath", "species", "is_snow_leopard", "sequence", "label")], "labels", overwrite = TRUE)
  sdf_register(spark_dataframe(sdf_sql(sc, paste(
    "SELECT l.*, f.copy, f.features, f.error, p.pixels, p.pixel_error FROM labels l",
    "JOIN features f ON l.relpath = f.relpath JOIN pixels p ON l.relpath = p.relpath"))), "joined")
  tbl_cache(sc, "joined")
  n <- sdf_collect(sdf_sql(sc, "SELECT count(*) AS n FROM joined WHERE copy = 0"))$n
  sequences <- sdf_collect(sdf_sql(sc, "SELECT DISTINCT sequence, label FROM joined"))
  sequences$fold <- fold_assignment(sequences$sequence, sequences$label, k)
  n_folds <- length(unique(sequences$fold))
  scheme <- if (is.null(k)) "leave-one-sequence-out" else sprintf("%d-fold by sequence (sequences dealt round-robin by label)", k)
  cat(sprintf("evaluation: %s, %d folds, %d frames in %d sequences (%d snow leopard sequences)\n",
              scheme, n_folds, n, nrow(sequences), as.integer(sum(sequences$label))))
  sdf_copy_to(sc, sequences[c("sequence", "fold")], "folds", overwrite = TRUE)
  # one partition: ~90 small rows, and every L-BFGS iteration is a Spark job whose cost is mostly per task
  sdf_register(spark_dataframe(sdf_sql(sc, "SELECT /*+ COALESCE(1) */ j.*, f.fold FROM joined j JOIN folds f ON j.sequence = f.sequence")), "frames")
  tbl_cache(sc, "frames")

  ensemble <- ft_ensemble_by_key(sc, keys = "sequence", cols = "probability", col_names = "sequenceProbability",
                                 collapse_group = FALSE)
  preds <- list()
  timed(sprintf("%d folds x 3 logistic regressions (+ EnsembleByKey) + LightGBM", n_folds), {
    for (fold in seq_len(n_folds) - 1L) {
      train <- sdf_sql(sc, sprintf("SELECT * FROM frames WHERE fold != %d", fold))
      test <- sdf_sql(sc, sprintf("SELECT * FROM frames WHERE fold = %d AND copy = 0", fold))
      originals <- sdf_sql(sc, sprintf("SELECT * FROM frames WHERE fold != %d AND copy = 0", fold))
      m1 <- ml_fit(lr(sc, "pixels"), originals)
      m2 <- ml_fit(lr(sc, "features"), originals)
      m3 <- ml_fit(lr(sc, "features"), train) # originals and their flips; the test frames are never flipped
      m5 <- ml_fit(gbm(sc, "features"), originals)
      scored <- ml_transform(m3, test)
      preds <- c(preds, list(
        frame_predictions(ml_transform(m1, test), MODELS[[1]], fold),
        frame_predictions(ml_transform(m2, test), MODELS[[2]], fold),
        frame_predictions(scored, MODELS[[3]], fold),
        frame_predictions(ml_transform(ensemble, scored), MODELS[[4]], fold, "sequenceProbability"),
        frame_predictions(ml_transform(m5, test), MODELS[[5]], fold)))
    }
  })
  preds <- do.call(rbind, preds)
  table <- summarize(preds)

  model4 <- preds[preds$model == MODELS[[4]], ]
  cm <- matrix(0L, 2, 2)
  for (i in seq_len(nrow(model4))) {
    cm[model4$label[[i]] + 1, model4$pred[[i]] + 1] <- cm[model4$label[[i]] + 1, model4$pred[[i]] + 1] + 1L
  }
  png <- file.path(out, "confusion_model4.png")
  confusion_png(cm, png, c("model 4 (flips + EnsembleByKey)", scheme),
                sprintf("%d frames, per-frame predictions", nrow(model4)))

  saved <- file.path(out, "camera-traps-model4")
  timed("fit model 4 on all frames, save, load, compare", {
    final_lr <- ml_fit(lr(sc, "features"), sdf_sql(sc, "SELECT * FROM frames"))
    featurizer <- ft_image_featurizer(sc, input_col = "content", output_col = "features", model_location = model_path)
    test_files <- sdf_sql(sc, "SELECT f.*, l.sequence FROM files f JOIN labels l ON f.relpath = l.relpath")
    # Every stage is already fitted, so fitting the pipeline only checks the schema and assembles the model.
    pipeline <- ml_fit(ml_pipeline(featurizer, final_lr, ensemble), test_files)
    ml_save(pipeline, saved, overwrite = TRUE)
    reloaded <- ml_load(sc, saved)
    scores <- function(scored) {
      split <- sdf_separate_column(scored, "probability", into = c("p0", "p1"))
      split <- sdf_separate_column(split, "sequenceProbability", into = c("s0", "p"))
      rows <- sdf_collect(sdf_register(invoke(spark_dataframe(split), "select", "relpath", list("p0", "p1", "s0", "p"))))
      rows[order(rows$relpath, method = "radix"), ]
    }
    before <- scores(ml_transform(pipeline, test_files))
    after <- scores(ml_transform(reloaded, test_files))
    from_cache <- scores(ml_transform(ensemble, ml_transform(final_lr, sdf_sql(sc, "SELECT * FROM frames WHERE copy = 0"))))
  })
  same <- identical(before$relpath, after$relpath) &&
    identical(as.matrix(before[c("p0", "p1", "s0", "p")]), as.matrix(after[c("p0", "p1", "s0", "p")]))
  if (!identical(before$relpath, from_cache$relpath)) stop("the pipeline and the cached features scored different files")
  cache_diff <- max(abs(before$p - from_cache$p))

  cat("\n")
  cat(sprintf("snow leopard or not, %s (%d folds), %d frames, %d sequences:\n", scheme, n_folds, n, nrow(sequences)))
  cat(format_table(table), "\n", sep = "")
  cat("per-sequence accuracy: majority of the frames' predictions (tie: mean probability); for model 4 every",
      "frame already carries its sequence's mean probability\n")
  cat(sprintf("model 4 confusion matrix (rows true other/leopard, columns predicted): [[%d, %d], [%d, %d]] -> %s\n",
              cm[1, 1], cm[1, 2], cm[2, 1], cm[2, 2], png))
  cat(sprintf(paste("saved pipeline %s (ImageFeaturizer, LogisticRegression, EnsembleByKey; fitted on all %d frames",
                    "and their flips): reloaded predicts identically: %s\n"), saved, n, if (same) "True" else "False"))
  cat(sprintf("pipeline from files vs cached features (checks the flip bookkeeping): max |dp| = %.2e\n", cache_diff))
  same && cache_diff < 1e-6 && nrow(preds) == length(MODELS) * n
}

main <- function(args) {
  options <- parse_args(args)
  data_dir <- normalizePath(options$data, mustWork = FALSE)
  model_path <- normalizePath(options$model, mustWork = FALSE)
  if (!dir.exists(data_dir)) usage_error(sprintf("--data %s: no such folder", options$data))
  if (!file.exists(file.path(data_dir, "labels.csv"))) usage_error(sprintf("--data %s: the folder has no labels.csv", options$data))
  if (!file.exists(model_path) || dir.exists(model_path)) usage_error(sprintf("--model %s: no such file", options$model))
  out <- if (is.null(options$out)) tempfile("irbis-camera-traps-") else options$out
  dir.create(out, recursive = TRUE, showWarnings = FALSE)
  out <- normalizePath(out)
  start <- proc.time()[["elapsed"]]

  sc <- timed("start Spark", {
    config <- spark_config()
    config[["spark.sql.shuffle.partitions"]] <- "4"
    config[["spark.ui.showConsoleProgress"]] <- "false"
    config[["sparklyr.shell.driver-memory"]] <- "2g"
    # No Hive metastore: sparklyr's default opens a Derby one in the working folder, which a second application
    # started there (another R session, the R tests) cannot open at the same time.
    config[["sparklyr.connect.enablehivesupport"]] <- FALSE
    connection <- spark_connect(master = "local", app_name = "irbis-camera-traps", config = config)
    invoke(spark_context(connection), "setLogLevel", "ERROR")
    connection
  })
  ok <- tryCatch(evaluate(sc, data_dir, model_path, out, options$folds), finally = spark_disconnect(sc))
  cat("timings:\n")
  for (t in timings$steps) cat(sprintf("  %7.1f s  %s\n", t$seconds, t$step))
  cat(sprintf("  %7.1f s  total\n", proc.time()[["elapsed"]] - start))
  cat(sprintf("outputs in %s\n", out))
  if (isTRUE(ok)) 0L else 1L
}

status <- tryCatch(main(commandArgs(trailingOnly = TRUE)), error = function(e) {
  cat("Error: ", conditionMessage(e), "\n", sep = "", file = stderr())
  1L
})
quit(status = status, save = "no")
