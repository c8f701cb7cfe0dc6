# libFuzzer target (see tests/fuzz/fuzz_frame.c); seeds: tests/fuzz/corpus/fuzz_frame/
wr_fuzz_target(fuzz_frame LIBS wr_proto wr_util)
