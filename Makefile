# nova — PGXS build. `make`, `make install`, `make installcheck`;
# `make unit` builds the GoogleTest binary for src/core; `make fuzz` the libFuzzer targets.
EXTENSION   = nova
EXTVERSION  = 1.0
MODULE_big  = nova

SRCS_PG     = $(sort $(wildcard src/pg/*.cpp))
SRCS_CORE   = $(sort $(wildcard src/core/*.cpp))
SRCS_BGW    = $(sort $(wildcard bgworker/*.cpp))
OBJS        = $(SRCS_PG:.cpp=.o) $(SRCS_CORE:.cpp=.o) $(SRCS_BGW:.cpp=.o)

# The install script is assembled from one fragment per feature (src/sql/NN_feature.sql).
SQL_FRAGMENTS = $(sort $(wildcard src/sql/*.sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
DATA        = $(wildcard upgrade/$(EXTENSION)--*--*.sql)

REGRESS     = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
ISOLATION   = $(sort $(basename $(notdir $(wildcard specs/*.spec))))

PG_CONFIG  ?= pg_config
PG_INCLUDE := $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS = -std=c++17 -fno-omit-frame-pointer -Wall -Wextra -Wno-missing-field-initializers \
              -isystem $(PG_INCLUDE) -I$(CURDIR)/src -I$(CURDIR)
ifeq ($(NOVA_WERROR),1)
PG_CXXFLAGS += -Werror
endif
ifneq ($(NOVA_SANITIZE),)
PG_CXXFLAGS += -fsanitize=$(NOVA_SANITIZE)
SHLIB_LINK  += -fsanitize=$(NOVA_SANITIZE)
endif
SHLIB_LINK += -lstdc++ -lrdkafka -lssl -lcrypto
# Skip LLVM bitcode: nothing here benefits from JIT inlining and clang warns on PG headers in C++17.
override with_llvm = no

EXTRA_CLEAN = $(DATA_built) build

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_FRAGMENTS)
	cat $^ > $@

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
	$(CXX) $(UNIT_CXXFLAGS) -o $@ $(UNIT_OBJS) -lgtest -lgtest_main -lpthread -lssl -lcrypto
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
	clang++ $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CORE_OBJS) -lssl -lcrypto
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
