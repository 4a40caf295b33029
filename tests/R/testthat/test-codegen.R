# The R generator itself (codegen/irbis_codegen/r_gen.py) on the fixture manifest: same bytes every time, and
# errors that name the stage and the param.

python <- file.path(irbis_root, ".venv", "bin", "python")
if (!file.exists(python)) python <- Sys.which("python3")
fixture <- file.path(irbis_root, "tests", "R", "fixtures", "manifest.json")

# `edit` is a Python statement applied to the manifest `m` before rendering.
render_fixture <- function(out, edit = "pass") {
  script <- paste(
    "import json, sys, pathlib",
    "sys.path.insert(0, sys.argv[1])",
    "from irbis_codegen import r_gen",
    "m = json.load(open(sys.argv[2]))",
    edit,
    "try:",
    "    r_gen.render(m, pathlib.Path(sys.argv[3]), pathlib.Path(sys.argv[4]))",
    "except r_gen.RGenError as e:",
    "    print(e)",
    "    sys.exit(3)",
    sep = "\n")
  args <- c("-c", shQuote(script), file.path(irbis_root, "codegen"), fixture, out, file.path(irbis_root, "R"))
  output <- suppressWarnings(system2(python, args, stdout = TRUE, stderr = TRUE))
  list(status = attr(output, "status") %||% 0L, output = paste(output, collapse = "\n"))
}

`%||%` <- function(a, b) if (is.null(a)) b else a

read_tree <- function(dir) {
  files <- sort(list.files(dir, recursive = TRUE, all.files = TRUE))
  stats::setNames(lapply(file.path(dir, files), function(f) readBin(f, "raw", file.size(f))), files)
}

test_that("rendering the same manifest twice gives the same files", {
  a <- tempfile("r-gen-a-")
  b <- tempfile("r-gen-b-")
  expect_identical(render_fixture(a)$status, 0L)
  expect_identical(render_fixture(b)$status, 0L)
  expect_identical(read_tree(a), read_tree(b))
  expect_true(all(c("DESCRIPTION", "NAMESPACE", "R/irbis-params.R", "R/zzz.R", "R/irbis_stages.R",
                    "man/ft_clean_missing_data.Rd", "inst/sparkml/class_mapping.json") %in% names(read_tree(a))))
})

test_that("an unknown kind or an unusable name is an error naming the stage and the param", {
  result <- render_fixture(tempfile(), "m['stages'][1]['params'][0]['kind'] = 'complex128'")
  expect_identical(result$status, 3L)
  expect_match(result$output, "stage irbis.stages.CleanMissingData, param cleaningMode: unknown kind 'complex128'",
               fixed = TRUE)
  result <- render_fixture(tempfile(), "m['stages'][1]['params'][0]['name'] = 'uid'")
  expect_match(result$output, "stage irbis.stages.CleanMissingData, param uid: its R argument name 'uid' is reserved",
               fixed = TRUE)
})
