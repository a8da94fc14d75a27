// Package bench is confed's performance suite. Performance is judged only as
// ratios against a baseline measured in the same run (memory bandwidth, a
// plain-Go naive loop, SHA-256 of the same bytes), never as absolute timing
// thresholds: absolute figures depend on the machine, ratios much less.
//
// Each benchmark body is an exported function taking a *testing.B and its
// problem size (MemCopy, AccumulateFedAvg, UpdateIngest, …). Suite lists them
// as Cases, each naming the Case it is compared with. The same bodies run
// three ways:
//
//   - go test -bench . ./bench/ (BenchmarkMem, BenchmarkAccumulate,
//     BenchmarkUpdate, BenchmarkSafetensors; -short uses ShortSizes);
//   - go run ./bench/cmd/benchtable (make bench), which runs them in-process
//     with testing.Benchmark, prints a table with the ratios and writes JSON;
//   - TestSuiteTiny, which runs every Case once at TinySizes so that a broken
//     benchmark fails make test. It asserts nothing about time.
//
// To add a benchmark: write the body here (setup, then `for b.Loop()`, with
// b.SetBytes set to the payload bytes of one operation and failures reported
// through Fatal so that Run can show them), then add a Case to Suite naming
// its baseline. The _test.go benchmarks and the runner pick it up from Suite.
// docs/performance.md explains each row.
//
// The Flower, Peak and Stream rows (scale.go; BenchmarkFlower, BenchmarkPeak,
// BenchmarkStream) compare confed with things outside one function: Flower's
// numpy aggregation run by python3 (skipped, with the reason, when no
// python3 imports numpy: see Skip and ErrSkipped), the peak memory of a
// child process (the binary re-executed with ChildEnv set: every binary
// that runs the suite calls MaybeRunChild first), and a coordinator and an
// aggregator started in-process. They report peak RSS (PeakRSSMetric) where
// they measure memory, and the heavy ones are marked Once.
package bench
