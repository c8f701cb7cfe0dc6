# libFuzzer target (see tests/fuzz/fuzz_props.c); seeds: tests/fuzz/corpus/fuzz_props/
wr_fuzz_target(fuzz_props LIBS wr_proto wr_util)
