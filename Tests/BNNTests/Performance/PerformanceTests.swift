import Testing

/// Correctness of the fast paths (fused kernels) against the unfused reference computations. Timing is
/// measured by `bnn bench`, never asserted in tests. Select with `--filter Performance`.
@Suite enum PerformanceTests {}
