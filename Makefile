# Irbis build. `make demo` runs the camera-trap example, `make test` runs every suite (Scala, Python, R).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
# Recipes are not echoed: each step prints one line saying what it does (`make V=1` shows the commands too).
ifndef V
.SILENT:
endif

VERSION   := $(shell cat VERSION)
VENV      := .venv
PY        := $(VENV)/bin/python
SBT       := bin/sbt
SCALA_OUT := core/target/scala-2.13
JARS      := build/jars
GEN       := build/generated
GEN_TEST  := build/generated-test
WHEEL     := dist/irbis-$(VERSION)-py3-none-any.whl
RPKG      := dist/irbis_$(VERSION).tar.gz
USER_VENV := build/user-venv
# The code generator and the wheel builder need pyspark and jinja2 only: `make demo` builds this small venv, not
# the development one (.venv, the test suites' tools), which only the test targets need.
BUILD_VENV := build/build-venv
BUILD_PY  := $(BUILD_VENV)/bin/python
# `make demo`: real photographs from a pinned Debian package (examples/sample_data.py), 5 folds by sequence.
# `make demo DATA=../shared/data/camera-traps FOLDS=` runs on a labelled folder, leave-one-sequence-out.
SAMPLE_DATA := $(HOME)/.cache/irbis/sample-data/animal-or-not
DATA      ?=
FOLDS     ?= 5
# Everything sbt reads: sources, resources (ONNX fixtures, log4j config), the build definition and plugins.
SCALA_SRC := $(shell find core/src project -path '*/target' -prune -o -type f \( -name '*.scala' -o -path 'core/src/*/resources/*' \) -print) \
             $(wildcard examples/*.scala) \
             $(wildcard project/*.sbt) project/build.properties build.sbt VERSION
GEN_SRC   := $(shell find codegen python R -type f -not -path '*/__pycache__/*')

.PHONY: build venv user-venv jars generate wheel rpkg test test-scala test-python test-python-core test-python-areas test-python-own test-quick test-quick-scala test-quick-python test-wheel test-r demo bench clean publish-local

build: $(WHEEL) $(RPKG)

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	echo "== development venv $(VENV) (requirements-dev.txt)"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

# The thin jar, the assembly jar (ONNX Runtime + OpenCV linux-x86_64), the test jar (test kit, examples), the
# thin jar's POM (what --packages users resolve; tests/python/core/test_packaging.py checks it) and the example apps'
# jar (examples/*.scala; spark-submit it with --jars irbis-assembly.jar).
jars: $(JARS)/.built
$(JARS)/.built: $(SCALA_SRC)
	echo "== jars: compile and package with sbt (the first run downloads sbt and the dependencies)"
	$(SBT) -Dsbt.batch=true core/package core/assembly core/Test/package core/makePom examples/package < /dev/null
	mkdir -p $(JARS)
	cp $(SCALA_OUT)/irbis-assembly-$(VERSION).jar $(JARS)/irbis-assembly.jar
	cp $(SCALA_OUT)/irbis-core_2.13-$(VERSION).jar $(JARS)/irbis-core.jar
	cp $(SCALA_OUT)/irbis-core_2.13-$(VERSION)-tests.jar $(JARS)/irbis-tests.jar
	cp $(SCALA_OUT)/irbis-core_2.13-$(VERSION).pom $(JARS)/irbis-core.pom
	cp examples/target/scala-2.13/irbis-examples_2.13-$(VERSION).jar $(JARS)/irbis-examples.jar
	touch $@

# Python and R wrappers, API docs and the manifest, from the built jar (generated code is never committed).
generate: $(GEN)/.built
$(GEN)/.built: $(JARS)/.built $(BUILD_VENV)/.installed $(GEN_SRC)
	echo "== generate the Python and R wrappers and the API docs ($(GEN))"
	rm -rf $(GEN) $(GEN_TEST)
	mkdir -p build
	# The generator's JVM logs (Spark's start-up warnings) go to build/generate.log, shown only if it fails.
	{ $(BUILD_PY) codegen/generate.py --jars $(JARS)/irbis-assembly.jar --include irbis. --exclude irbis.testkit. --out $(GEN) && \
	  $(BUILD_PY) codegen/generate.py --jars $(JARS)/irbis-assembly.jar:$(JARS)/irbis-tests.jar --include irbis.testkit. \
	    --exclude '' --out $(GEN_TEST); } 2> build/generate.log || { cat build/generate.log >&2; exit 1; }
	touch $@

wheel: $(WHEEL)
$(WHEEL): $(GEN)/.built
	echo "== wheel $(WHEEL)"
	$(BUILD_PY) python/build_wheel.py --generated $(GEN)/python --jar $(JARS)/irbis-assembly.jar --out dist

# A fresh virtual environment with only the wheel and what the demo and benchmarks use, as a user has it.
user-venv: $(USER_VENV)/.installed
$(USER_VENV)/.installed: $(WHEEL) requirements-user.txt
	echo "== user venv $(USER_VENV): the wheel and requirements-user.txt"
	rm -rf $(USER_VENV)
	python3 -m venv $(USER_VENV)
	$(USER_VENV)/bin/pip install -q $(WHEEL) -r requirements-user.txt
	touch $@

.PHONY: build-venv
build-venv: $(BUILD_VENV)/.installed
$(BUILD_VENV)/.installed: requirements-build.txt
	echo "== build venv $(BUILD_VENV) (requirements-build.txt: the code generator's and the wheel's tools)"
	python3 -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install -q -r requirements-build.txt
	touch $@

# Without R the R package is skipped with a message (make build and make demo need no R; make test does).
rpkg: $(RPKG)
$(RPKG): $(GEN)/.built
	if ! command -v R >/dev/null; then
	  echo "== R package: skipped, R is not installed (only the R package and make test's R suite need it)"
	  exit 0
	fi
	echo "== R package $(RPKG)"
	mkdir -p $(GEN)/R/irbis/inst/java dist
	cp $(JARS)/irbis-assembly.jar $(GEN)/R/irbis/inst/java/irbis-assembly.jar
	cd dist && R CMD build --no-build-vignettes ../$(GEN)/R/irbis >/dev/null

# The thin jar and its POM, as sbt made them, into a Maven repository on disk (~/.m2/repository, where Maven, sbt's
# Resolver.mavenLocal and spark-submit's --packages look first): `--packages io.github.irbis-ml:irbis-core_2.13:$(VERSION)`
# then resolves ONNX Runtime, OpenCV and LightGBM from the POM. The cluster tests publish into a folder of their own
# (`make publish-local M2_REPO=...`) and spark-submit from it.
M2_REPO ?= $(HOME)/.m2/repository
M2_DIR   = $(M2_REPO)/io/github/irbis-ml/irbis-core_2.13/$(VERSION)
publish-local: $(JARS)/.built
	echo "== publish-local: io.github.irbis-ml:irbis-core_2.13:$(VERSION) (thin jar, POM) to $(M2_REPO)"
	mkdir -p $(M2_DIR)
	cp $(JARS)/irbis-core.jar $(M2_DIR)/irbis-core_2.13-$(VERSION).jar
	cp $(JARS)/irbis-core.pom $(M2_DIR)/irbis-core_2.13-$(VERSION).pom

# The suites run side by side (each output printed whole when it ends): much of a Spark test's time is
# latency (JVM starts, py4j, scheduling), so on 2 cores they end sooner together than one after another. The
# Python suite is three processes: two with one shared session each (tests/python/core, which holds the generic
# per-stage suite, and the other areas), and the tests that start Spark of their own (marker own_spark: example
# applications, fresh processes, the standalone cluster, the docs' blocks). More processes side by side ran out of
# the machine's 24 GiB (the kernel killed a test JVM). Every suite prints its wall time (bin/timed) and `make test` ends
# with the list; pytest lists its 15 slowest tests.
TIMES   := build/test-times.txt
PYTEST  := $(PY) -m pytest -q -p no:cacheprovider --durations=15
test: build
	rm -f $(TIMES)
	export IRBIS_TIMES=$(CURDIR)/$(TIMES)
	status=0
	$(MAKE) --no-print-directory -j5 -O test-scala test-python test-r || status=$$?
	$(MAKE) --no-print-directory test-wheel || status=$$?
	echo "== suite wall times (side by side, then the wheel)"
	cat $(TIMES)
	exit $$status

# StandaloneClusterSuite starts the tests' standalone cluster with tests/python/cluster.py, in the development venv.
test-scala: $(VENV)/.installed
	bin/timed scala $(SBT) -Dsbt.batch=true core/test < /dev/null

# The dev venv tests the source tree with the generated modules (tests/python/conftest.py).
test-python: test-python-core test-python-areas test-python-own

test-python-core: build $(VENV)/.installed
	bin/timed python-core $(PYTEST) --basetemp=build/pytest-core -m "not own_spark" tests/python/core

test-python-areas: build $(VENV)/.installed
	bin/timed python-areas $(PYTEST) --basetemp=build/pytest-areas -m "not own_spark" tests/python \
	  --ignore=tests/python/core

# The own-Spark tests include tests/python/docs, which runs the README's and docs/'s blocks in the user venv.
test-python-own: build $(VENV)/.installed $(USER_VENV)/.installed
	bin/timed python-own-spark $(PYTEST) --basetemp=build/pytest-own -m own_spark tests/python

# The loop while working on one area: its Scala suites and the generic checks of its stages' examples, and its
# Python tests (tests/python/<area>) with the generic per-stage checks of its stages, side by side, without the
# tests that start Spark of their own (own_spark: example apps, memory, standalone cluster; `make test` runs them). A few minutes:
# `make test-quick AREA=onnx`. Areas are the packages under core/src/main/scala/irbis.
AREAS := $(sort $(notdir $(wildcard core/src/main/scala/irbis/*)))
AREA_PACKAGES = irbis.$(AREA). $(if $(filter core,$(AREA)),irbis.testkit.)
test-quick: generate
	case " $(AREAS) " in *" $(AREA) "*) ;; *) echo "usage: make test-quick AREA=<one of: $(AREAS)>" >&2; exit 2;; esac
	$(MAKE) --no-print-directory -j2 -O test-quick-scala test-quick-python

test-quick-scala:
	bin/timed scala-$(AREA) $(SBT) -Dsbt.batch=true "core/testOnly irbis.$(AREA).* -- -l irbis.OwnSpark" \
	  "core/testOnly irbis.testkit.AllExamplesSuite -- $(foreach p,$(AREA_PACKAGES),-z $(p))" < /dev/null

test-quick-python: generate $(VENV)/.installed
	bin/timed python-$(AREA) $(PYTEST) --basetemp=build/pytest-quick --area=$(AREA) -m "not own_spark" \
	  tests/python/$(AREA) tests/python/core/test_stages_generic.py

# The installed wheel, in a fresh venv, offline: session, stages, pipeline persistence.
test-wheel: $(USER_VENV)/.installed
	bin/timed wheel $(USER_VENV)/bin/python tests/wheel_smoke.py

# The R suite on real sparklyr, from the private library that .ci/run fills (../shared/vendor/r/install.sh with
# R_LIB=$(R_LIB)); tests/R/run.R installs dist's R package into a temporary library of its own.
R_LIB   := $(HOME)/.cache/irbis/R-lib
test-r: build $(VENV)/.installed
	command -v Rscript >/dev/null || { echo "make test-r needs R (Debian: apt-get install r-base) and sparklyr in $(R_LIB)" >&2; exit 1; }
	export R_LIBS="$(R_LIB)$${R_LIBS:+:$$R_LIBS}"
	bin/timed r Rscript tests/R/run.R

demo: $(USER_VENV)/.installed
	data="$(DATA)"
	if [ -z "$$data" ]; then
	  echo "== the demo's photographs: $(SAMPLE_DATA) (examples/sample_data.py)"
	  data="$(SAMPLE_DATA)"; $(USER_VENV)/bin/python examples/sample_data.py --out "$$data"
	fi
	echo "== the camera-trap example on $$data (examples/camera_traps.py; outputs in build/demo)"
	$(USER_VENV)/bin/python examples/camera_traps.py --data "$$data" --out build/demo $(if $(FOLDS),--folds $(FOLDS))

bench: $(USER_VENV)/.installed $(USER_VENV)/.bench
	echo "== benchmarks (bench/run.py)"
	$(USER_VENV)/bin/python bench/run.py

# serving_latency's load tools (wrk and h2load, from Debian) and its FastAPI baseline: bench/setup.sh.
$(USER_VENV)/.bench: bench/setup.sh requirements-bench.txt $(USER_VENV)/.installed
	echo "== benchmark tools (bench/setup.sh: wrk, h2load, requirements-bench.txt)"
	bench/setup.sh $(USER_VENV)
	touch $@

# Lint: scalafmt (version and settings in .scalafmt.conf, through sbt-scalafmt), ruff (pinned in
# requirements-dev.txt, settings in ruff.toml) over the hand-written Python and the generated wrappers, and R CMD
# check of the generated R package (bin/lint-r; sparklyr from the private library of test-r). `make fmt` applies
# scalafmt and ruff's fixes (import order, unused imports); what it cannot fix, lint names.
.PHONY: lint fmt
RUFF    := $(VENV)/bin/ruff
PY_LINT := python codegen tests examples bench
lint: $(GEN)/.built
	export R_LIBS="$(R_LIB)$${R_LIBS:+:$$R_LIBS}"
	status=0
	bin/timed lint-scala $(SBT) -Dsbt.batch=true scalafmtCheckAll scalafmtSbtCheck < /dev/null || status=1
	bin/timed lint-python $(RUFF) check $(PY_LINT) $(GEN)/python $(GEN_TEST)/python || status=1
	bin/timed lint-r bin/lint-r $(GEN)/R/irbis || status=1
	exit $$status

fmt: $(VENV)/.installed
	$(SBT) -Dsbt.batch=true scalafmtAll scalafmtSbt < /dev/null
	$(RUFF) check --fix-only --quiet $(PY_LINT)

clean:
	echo "== remove the build outputs"
	rm -rf build dist core/target examples/target target project/target
