# R values to Param JSON (irbis-params.R), without Spark: what the JVM codecs will be asked to read.

to_json <- function(value, kind, options = NULL) irbis_param_json(value, kind, "ft_demo", "arg", options)

test_that("scalars are checked and written as the Param codecs read them", {
  expect_identical(to_json(TRUE, "boolean"), "true")
  expect_identical(to_json(3, "int"), "3")
  expect_identical(to_json(-7L, "int"), "-7")
  expect_identical(to_json(2^40, "long"), "1099511627776")
  expect_identical(to_json("9223372036854775807", "long"), "9223372036854775807")
  expect_identical(to_json(0.1, "double"), "0.10000000000000001")
  expect_identical(to_json(NaN, "double"), "\"NaN\"")
  expect_identical(to_json(-Inf, "float"), "\"-Inf\"")
  expect_identical(to_json("caf\u00e9 \"q\"", "string"), "\"caf\u00e9 \\\"q\\\"\"")
})

test_that("a single value for an array param becomes a one-element JSON array", {
  expect_identical(to_json("a", "string[]"), "[\"a\"]")
  expect_identical(to_json(c("a", "b"), "string[]"), "[\"a\",\"b\"]")
  expect_identical(to_json(list("a", "b"), "string[]"), "[\"a\",\"b\"]")
  expect_identical(to_json(character(0), "string[]"), "[]")
  expect_identical(to_json(list(), "int[]"), "[]")
  expect_identical(to_json(c(1, 2), "int[]"), "[1,2]")
  expect_identical(to_json(c(1.5, NaN, Inf), "double[]"), "[1.5,\"NaN\",\"Inf\"]")
  expect_identical(to_json(c(TRUE, FALSE), "boolean[]"), "[true,false]")
  expect_identical(to_json(c("1", "9223372036854775807"), "long[]"), "[1,9223372036854775807]")
  expect_identical(to_json(list(c(1, 2), numeric(0)), "double[][]"), "[[1,2],[]]")
  expect_identical(to_json(matrix(c(1, 2, 3, 4), 2, byrow = TRUE), "double[][]"), "[[1,2],[3,4]]")
})

test_that("maps, vectors and enumerations", {
  expect_identical(to_json(c(b = 2L, a = 1L), "map<string,int>"), "{\"b\":2,\"a\":1}")
  expect_identical(to_json(list(k = "v"), "map<string,string>"), "{\"k\":\"v\"}")
  expect_identical(to_json(list(), "map<string,double>"), "{}")
  expect_identical(to_json(c(x = NaN), "map<string,double>"), "{\"x\":\"NaN\"}")
  expect_identical(to_json(c(1, 0.5), "vector"), "{\"type\":1,\"values\":[1,0.5]}")
  expect_identical(to_json(list(size = 3, indices = 1, values = 2), "vector"),
                   "{\"type\":0,\"size\":3,\"indices\":[1],\"values\":[2]}")
  expect_identical(to_json("Mean", "string", c("Mean", "Median")), "\"Mean\"")
})

test_that("a bad value is an error naming the function and the argument", {
  expect_error(to_json(1.5, "int"), "ft_demo\\(\\): `arg` must be a whole number .*numeric 1.5")
  expect_error(to_json(2^31, "int"), "`arg` must be a whole number that fits in 32 bits")
  expect_error(to_json("3", "int"), "`arg` must be a whole number")
  expect_error(to_json(c(1, 2), "double"), "`arg` must be a single value")
  expect_error(to_json(NA, "boolean"), "`arg` must be TRUE or FALSE")
  expect_error(to_json(NA_real_, "double"), "NA not")
  expect_error(to_json(1, "string[]"), "`arg` must be a character string")
  expect_error(to_json(c(a = 1, 2), "map<string,int>"), "unique, non-empty names")
  expect_error(to_json(c(1, NA), "vector"), "`arg` must be a number")
  expect_error(to_json(list(size = 2, values = 1), "vector"), "`arg` must be a numeric vector \\(dense\\)")
  expect_error(to_json("Mode", "string", c("Mean", "Median")), "`arg` must be one of \"Mean\", \"Median\", not \"Mode\"")
  expect_error(to_json(2^60, "long"), "beyond 2\\^53 give a string of digits")
  expect_error(irbis_param_raw("x", "bytes", "ft_demo", "arg"), "`arg` must be a raw vector")
  expect_error(irbis_param_raw(1, "stage", "ft_demo", "arg"), "`arg` must be a pipeline stage")
  expect_error(to_json(1, "matrix"), "kind 'matrix'")
})
