# libFuzzer target (see tests/fuzz/fuzz_method.c); seeds: tests/fuzz/corpus/fuzz_method/
wr_fuzz_target(fuzz_method LIBS wr_proto wr_util)
