# nova — PGXS build. `make`, `make install`, `make installcheck`;
# `make unit` builds the GoogleTest binary for src/core; `make fuzz` the libFuzzer targets.
EXTENSION   = nova
EXTVERSION  = 1.1
MODULE_big  = nova

SRCS_PG     = $(sort $(wildcard src/pg/*.cpp))
SRCS_CORE   = $(sort $(wildcard src/core/*.cpp))
SRCS_BGW    = $(sort $(wildcard bgworker/*.cpp))
OBJS        = $(SRCS_PG:.cpp=.o) $(SRCS_CORE:.cpp=.o) $(SRCS_BGW:.cpp=.o)

# SQL scripts (src/sql/README.md). Objects created once live in src/sql/pre/, objects
# replaced on every upgrade (functions, views, triggers, grants) in src/sql/*.sql:
#   install script  nova--$(EXTVERSION).sql = pre/*.sql + *.sql
#   upgrade script  nova--1.0--1.1.sql      = updates/nova--1.0--1.1.sql (catalog changes) + *.sql
# Earlier releases' install scripts are frozen in src/sql/versions/.
SQL_PRE         = $(sort $(wildcard src/sql/pre/*.sql))
SQL_REPLACEABLE = $(sort $(wildcard src/sql/*.sql))
SQL_UPDATES     = $(sort $(wildcard src/sql/updates/$(EXTENSION)--*--*.sql))
# Test hooks (src/sql/README.md): `make NOVA_TEST_HOOKS=1` (tools/test.sh) appends
# src/sql/test_hooks/*.sql to both scripts and compiles the hooks' C bodies in.
# build/test_hooks.stamp records the setting so switching it rebuilds what depends on it.
NOVA_TEST_HOOKS ?= 0
ifeq ($(NOVA_TEST_HOOKS),1)
SQL_TEST_HOOKS  = $(sort $(wildcard src/sql/test_hooks/*.sql))
endif
HOOKS_STAMP := $(shell mkdir -p build && { [ "$$(cat build/test_hooks.stamp 2>/dev/null)" = "$(NOVA_TEST_HOOKS)" ] || echo "$(NOVA_TEST_HOOKS)" > build/test_hooks.stamp; } && echo build/test_hooks.stamp)
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(notdir $(SQL_UPDATES))
DATA        = $(wildcard src/sql/versions/$(EXTENSION)--*.sql)

# Regression inputs live under test/ (test/sql, test/expected, test/specs).
REGRESS     = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
ISOLATION   = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
# `make installcheck` is self-contained (docs/operations.md, "Tests"): pg_regress starts a
# temporary instance that preloads nova (test/regress.conf), so run `make NOVA_TEST_HOOKS=1
# install` first. initdb refuses root: tools/test.sh runs it as the postgres user with
# REGRESS_OUTPUTDIR set to a directory that user can write (results, diffs, the temporary
# instance and its log/postmaster.log go there; default: the source tree).
REGRESS_OUTPUTDIR ?= .
REGRESS_TMPDIR = $(if $(filter .,$(REGRESS_OUTPUTDIR)),build,$(REGRESS_OUTPUTDIR))
REGRESS_OPTS = --inputdir=test --outputdir=$(REGRESS_OUTPUTDIR) --temp-instance=$(REGRESS_TMPDIR)/tmp_check \
               --temp-config=test/regress.conf --encoding=UTF8 --no-locale
ISOLATION_OPTS = --inputdir=test --outputdir=$(REGRESS_OUTPUTDIR)/output_iso \
                 --temp-instance=$(REGRESS_TMPDIR)/tmp_check_iso --temp-config=test/regress.conf \
                 --encoding=UTF8 --no-locale

PG_CONFIG  ?= pg_config
PG_INCLUDE := $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS = -std=c++17 -fno-omit-frame-pointer -Wall -Wextra -Wno-missing-field-initializers \
              -isystem $(PG_INCLUDE) -I$(CURDIR)/src -I$(CURDIR)
ifeq ($(NOVA_WERROR),1)
PG_CXXFLAGS += -Werror
endif
ifeq ($(NOVA_TEST_HOOKS),1)
PG_CXXFLAGS += -DNOVA_TEST_HOOKS=1
endif
ifneq ($(NOVA_SANITIZE),)
PG_CXXFLAGS += -fsanitize=$(NOVA_SANITIZE)
SHLIB_LINK  += -fsanitize=$(NOVA_SANITIZE)
endif
SHLIB_LINK += -lstdc++ -lrdkafka -lsimdjson -lssl -lcrypto
# Skip LLVM bitcode: nothing here benefits from JIT inlining and clang warns on PG headers in C++17.
override with_llvm = no

EXTRA_CLEAN = $(DATA_built) build

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PRE) $(SQL_REPLACEABLE) $(SQL_TEST_HOOKS) $(HOOKS_STAMP)
	{ printf '%s\n' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; cat $(filter %.sql,$^); } > $@

$(EXTENSION)--%.sql: src/sql/updates/$(EXTENSION)--%.sql $(SQL_REPLACEABLE) $(SQL_TEST_HOOKS) $(HOOKS_STAMP)
	{ printf '%s\n' '\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE" to load this file. \quit'; cat $(filter %.sql,$^); } > $@

# Objects whose code depends on NOVA_TEST_HOOKS (they include pg/test_hooks.h).
$(shell grep -l 'pg/test_hooks.h' $(SRCS_PG) 2>/dev/null | sed 's/\.cpp$$/.o/'): $(HOOKS_STAMP)

# Every object depends on every header: the tree is small, correctness beats speed.
HEADERS = $(wildcard src/pg/*.h src/core/*.h bgworker/*.h)
$(OBJS): $(HEADERS)

# ---- unit tests (GoogleTest) for src/core: plain C++, no PostgreSQL ----
# Objects are built separately (build/unit/) so `make -j` parallelises and rebuilds incrementally.
UNIT_SRCS = $(sort $(wildcard test/unit/*.cpp))
UNIT_CXXFLAGS = -std=c++17 -g -O1 -Wall -Wextra -Werror -Wno-missing-field-initializers \
                -fsanitize=address,undefined -I$(CURDIR)/src -I$(CURDIR)
UNIT_OBJS = $(patsubst %.cpp,build/unit/%.o,$(UNIT_SRCS) $(SRCS_CORE))
build/unit/%.o: %.cpp $(wildcard src/core/*.h)
	@mkdir -p $(dir $@)
	$(CXX) $(UNIT_CXXFLAGS) -c -o $@ $<
build/unit_tests: $(UNIT_OBJS)
	$(CXX) $(UNIT_CXXFLAGS) -o $@ $(UNIT_OBJS) -lgtest -lgtest_main -lpthread -lsimdjson -lssl -lcrypto
unit: build/unit_tests
.PHONY: unit

# ---- fuzz targets (clang libFuzzer + ASan/UBSan); core objects built once for all targets ----
FUZZ_SRCS = $(sort $(wildcard test/fuzz/*_fuzz.cpp))
FUZZ_BINS = $(patsubst test/fuzz/%.cpp,build/fuzz/%,$(FUZZ_SRCS))
FUZZ_CXXFLAGS = -std=c++17 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -I$(CURDIR)/src -I$(CURDIR)
FUZZ_CORE_OBJS = $(patsubst %.cpp,build/fuzzobj/%.o,$(SRCS_CORE))
build/fuzzobj/%.o: %.cpp $(wildcard src/core/*.h)
	@mkdir -p $(dir $@)
	clang++ $(FUZZ_CXXFLAGS) -c -o $@ $<
build/fuzz/%: test/fuzz/%.cpp $(FUZZ_CORE_OBJS)
	@mkdir -p build/fuzz
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CORE_OBJS) -lsimdjson -lssl -lcrypto
fuzz: $(FUZZ_BINS)
.PHONY: fuzz

# ---- helper programs (embedded Kafka, test consumers) ----
TOOL_SRCS = $(sort $(wildcard tools/*.cpp))
TOOL_BINS = $(patsubst tools/%.cpp,build/%,$(TOOL_SRCS))
build/%: tools/%.cpp
	@mkdir -p build
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -I$(CURDIR)/src -o $@ $< -lrdkafka -lpthread
tools: $(TOOL_BINS)
.PHONY: tools
