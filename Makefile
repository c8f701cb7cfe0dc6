# warren — the two commands a new user needs:
#   make run    install what is missing, build, start a broker on 5672
#   make test   the same, then every test (release build, then ASan+UBSan, then fuzz replay)
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
BUILD   ?= build
ASAN    ?= build-asan
FUZZ    ?= build-fuzz
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-release test-asan test-fuzz bench clean format format-check codegen

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Foreground broker on 5672 with the embedded default config (guest/guest,
# loopback only) and its data under ./var/.
run: build
	mkdir -p var
	./$(BUILD)/warren --data-dir ./var

test: build test-release test-asan test-fuzz

test-release:
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DWARREN_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE slow

test-fuzz: deps
	CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug -DWARREN_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(FUZZ) -j $(JOBS)
	cd $(FUZZ) && ctest --output-on-failure -j $(JOBS) -L fuzz

# Regenerate the AMQP codec from spec/ (the drift test checks it is current).
codegen:
	python3 tools/amqp_codegen.py spec/amqp-rabbitmq-0.9.1.json broker/proto/generated

bench: deps
	sh bench/run.sh $(if $(QUICK),--quick,)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v /generated/)

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h' | grep -v /generated/)

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
