package probe

import (
	"runtime"
	"testing"
)

// BenchmarkJudgeHeap10000 is the memory a 10,000-school audit's report
// holds once judged: the live heap after a GC with the report (and the
// plan and measurements it came from) still reachable. A city audit's
// peak memory follows this figure, so a regression in what a finding
// keeps shows here as heap-MiB, not as an out-of-memory in production.
func BenchmarkJudgeHeap10000(b *testing.B) {
	const n = 10000
	p, m := benchCity(b, n)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var live uint64
	for b.Loop() {
		dv := judgeDNS(p, m)
		schools, _ := judgeWith(p, m, dv)
		r := Report{Schools: schools}
		r.Finish()
		if r.Summary.Pass != n-n/10 || r.Summary.Fail != n/10 {
			b.Fatalf("summary %+v, want %d pass and %d fail (the dead servers)", r.Summary, n-n/10, n/10)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		live = ms.HeapAlloc - base
		runtime.KeepAlive(&r)
		b.StartTimer()
	}
	runtime.KeepAlive(&p)
	runtime.KeepAlive(&m)
	b.ReportMetric(float64(live)/(1<<20), "report-MiB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
}
