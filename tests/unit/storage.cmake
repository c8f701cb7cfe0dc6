wr_unit_test(test_store LIBS wr_storage wr_util)
