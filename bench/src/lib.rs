//! What the benchmarks share: the processes they start and stop.

// The test suite's throwaway cluster, one copy for both.
#[path = "../../server/tests/api/support/cluster.rs"]
pub mod cluster;
pub mod fleet;
pub mod postgres;
