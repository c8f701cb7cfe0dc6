# libFuzzer target (see tests/fuzz/fuzz_table.c); seeds: tests/fuzz/corpus/fuzz_table/
wr_fuzz_target(fuzz_table LIBS wr_proto wr_util)
