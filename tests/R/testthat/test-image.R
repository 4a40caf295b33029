# ImageTransformer from R: an operation list written in R reaches the JVM with every value intact (the same
# operations as the JVM's own fluent methods write), and survives ml_save / ml_load with identical operations
# and identical output rows.

# One operation as the compact JSON object the `operations` Param holds; digits = NA keeps every double exact.
image_op <- function(op, ...) as.character(jsonlite::toJSON(list(op = op, ...), auto_unbox = TRUE, digits = NA))

imagenet_ops <- function() c(
  image_op("resize", shortSide = 256L, interpolation = "area"),
  image_op("centerCrop", height = 224L, width = 224L),
  image_op("flip", mode = "horizontal"),
  image_op("convertColor", to = "RGB"),
  image_op("normalize", mean = c(0.485, 0.456, 0.406), std = c(0.229, 0.224, 0.225), scale = 1 / 255),
  image_op("toTensor", layout = "CHW", channelOrder = "BGR")
)

camera_trap_files <- function() {
  dir <- file.path(dirname(irbis_root), "shared", "data", "camera-traps", "other")
  if (!dir.exists(dir)) skip(paste("the camera-trap images are not at", dir))
  reader <- invoke(invoke(invoke(spark_session(sc), "read"), "format", "binaryFile"), "option", "pathGlobFilter",
                   "african_elephants*.jpg")
  sdf_register(invoke(reader, "load", normalizePath(dir)))
}

stage_operations <- function(stage) {
  parse_json(invoke_static(sc, "irbis.core.ParamsBridge", "getJson", spark_jobj(stage), "operations"))
}

test_that("operations written in R reach the JVM exactly, as its fluent methods would write them", {
  need_jvm()
  ops <- imagenet_ops()
  stage <- ft_image_transformer(sc, input_col = "content", operations = ops)
  expect_identical(unlist(stage_operations(stage)), ops)
  canonical <- vapply(ops, function(o) invoke_static(sc, "irbis.image.ImageTransformer", "canonicalOperation", o), "")
  for (i in seq_along(ops)) {
    mine <- parse_json(ops[[i]])
    jvm <- parse_json(canonical[[i]])
    expect_identical(jvm[names(mine)], mine, info = ops[[i]])
  }
  expect_identical(parse_json(canonical[[5]])$scale, 1 / 255)

  # The JVM's fluent methods (all but normalize, whose Seq[Double] arguments sparklyr's invoke() cannot build).
  fluent <- invoke_new(sc, "irbis.image.ImageTransformer")
  fluent <- invoke(fluent, "resizeShortSide", 256L, "area")
  fluent <- invoke(fluent, "centerCrop", 224L, 224L)
  fluent <- invoke(fluent, "flip", "horizontal")
  fluent <- invoke(fluent, "convertColor", "RGB")
  fluent <- invoke(fluent, "toTensor", "CHW", "BGR")
  expect_identical(unlist(invoke(fluent, "getOperations")), unname(canonical[-5]))
})

test_that("an ImageTransformer built in R survives ml_save and ml_load: same operations, same rows", {
  need_jvm()
  files <- camera_trap_files()
  ops <- imagenet_ops()
  stage <- ft_image_transformer(sc, input_col = "content", output_col = "tensor", operations = ops)
  expected <- ml_transform(stage, files)

  path <- file.path(tempfile("irbis-r-"), "image-transformer")
  ml_save(stage, path)
  loaded <- ml_load(sc, path)
  expect_s3_class(loaded, class(stage), exact = TRUE)
  expect_identical(loaded$uid, stage$uid)
  expect_identical(stage_operations(loaded), stage_operations(stage))
  expect_identical(unlist(stage_operations(loaded)), ops)

  actual <- ml_transform(loaded, files)
  expect_null(compare_frames(actual, expected))
  # selectExpr(String...): sparklyr passes Java varargs as an R list.
  sizes <- collect_json(invoke(spark_dataframe(actual), "selectExpr", list("path", "size(tensor) AS n", "error")))
  rows <- lapply(sizes, parse_json)
  expect_gte(length(rows), 4L)
  for (r in rows) {
    expect_null(r$error)
    expect_identical(r$n, 3L * 224L * 224L)
  }
})
