package probe_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

// ensureFDs raises the soft RLIMIT_NOFILE to need (Go already raises it
// to the hard limit at start-up on Linux, but say so explicitly, and skip
// with the reason when even the hard limit is too low).
func ensureFDs(tb testing.TB, need uint64) {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Skipf("cannot read RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		tb.Skipf("needs %d open files, the hard limit is %d (raise it: ulimit -Hn %d as root, or LimitNOFILE= in CI)", need, lim.Max, need)
	}
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Skipf("cannot raise RLIMIT_NOFILE to %d: %v", need, err)
	}
}

func startBenchCity(tb testing.TB, o sim.BenchOptions) *sim.BenchCity {
	tb.Helper()
	// Two descriptors per server, one per exchange in flight, and slack
	// for the runtime and the test framework.
	ensureFDs(tb, uint64(2*(o.Schools+3)+o.Concurrency+256))
	c, err := sim.StartBenchCity(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// BenchmarkAudit1000 audits a city of 1,000 schools, each with its own DNS
// server on its own loopback address, 10% of them dead, plus 3 shared
// resolvers, with the production concurrency and a 500ms × 2 budget. One
// op is one whole audit (probe.Run). A dead server must cost one
// timeout × attempts for the whole audit, so ns/op stays near 1s however
// many are dead; see scripts/bench.sh for wall, CPU and peak memory.
func BenchmarkAudit1000(b *testing.B) {
	const schools = 1000
	c := startBenchCity(b, sim.BenchOptions{Schools: schools, DeadEvery: 10, Timeout: 500 * time.Millisecond, Attempts: 2, Concurrency: 256})
	ctx := context.Background()
	var exchanges int
	b.ReportAllocs()
	for b.Loop() {
		rep, err := probe.Run(ctx, c.Config, probe.Options{DNSOnly: true, Hostname: "bench", Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Schools) != schools || rep.Incomplete {
			b.Fatalf("report: %d schools, incomplete=%v", len(rep.Schools), rep.Incomplete)
		}
		if rep.Summary.Fail != c.Dead || rep.Summary.Pass != schools-c.Dead {
			b.Fatalf("summary %+v, want %d fail (the dead servers) and %d pass", rep.Summary, c.Dead, schools-c.Dead)
		}
		exchanges = rep.Probe.Exchanges
	}
	b.StopTimer()
	b.ReportMetric(float64(exchanges), "exchanges/op")
	b.ReportMetric(schools, "schools/op")
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(exchanges)*float64(b.N)/s, "exchanges/s")
	}
}

// TestBenchCityDeadServers runs the benchmark's city small enough for
// every test run, so the benchmark cannot rot unnoticed: twenty dead
// school servers on twenty distinct addresses are waited on together
// (about one timeout × attempts in total, not twenty; run_test.go's
// TestDeadServersCostOneTimeout states the same for its city), and each
// is asked exactly attempts times.
func TestBenchCityDeadServers(t *testing.T) {
	const (
		dead     = 20
		timeout  = 300 * time.Millisecond
		attempts = 2
	)
	c := startBenchCity(t, sim.BenchOptions{Schools: dead, DeadEvery: 1, Resolvers: 1, Timeout: timeout, Attempts: attempts, Concurrency: 256})
	start := time.Now()
	rep, err := probe.Run(context.Background(), c.Config, probe.Options{DNSOnly: true, Hostname: "test"})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	budget := timeout * attempts
	if took >= 3*budget {
		t.Errorf("%d dead servers took %v; want < %v (3 × timeout × attempts): dead servers must be waited on concurrently", dead, took, 3*budget)
	}
	if took < budget {
		t.Errorf("the audit took %v, less than one timeout × attempts (%v): were the dead servers asked at all?", took, budget)
	}
	timeouts := 0
	for _, s := range rep.Schools {
		for _, f := range s.Findings {
			if f.Check == finding.DNSSRV && f.Short == "timeout" && f.Status == finding.Fail {
				timeouts++
				if ev, _ := dnscheck.SRVEvidenceOf(f); ev.Attempts != attempts {
					t.Errorf("%s: attempts %v, want %d", s.ID, ev.Attempts, attempts)
				}
			}
		}
	}
	if timeouts != dead {
		t.Errorf("%d timeout findings, want %d", timeouts, dead)
	}
	for i, s := range c.SchoolServers {
		if n := s.Queries(); n != attempts {
			t.Errorf("dead server %d (%s) got %d questions, want %d", i, s.Addr, n, attempts)
		}
	}
	t.Logf("%d dead servers, timeout %v × %d attempts: audit took %v", dead, timeout, attempts, took)
}

// TestSchoolIPsAreDistinctLoopback guards the benchmark city's addressing.
func TestSchoolIPsAreDistinctLoopback(t *testing.T) {
	seen := map[string]int{}
	for i := range 254 * 256 {
		ip := sim.SchoolIP(i)
		if !strings.HasPrefix(ip, "127.") {
			t.Fatalf("school %d: %s is not loopback", i, ip)
		}
		if j, dup := seen[ip]; dup {
			t.Fatalf("schools %d and %d share %s", j, i, ip)
		}
		seen[ip] = i
	}
	if got := fmt.Sprint(sim.SchoolIP(0), " ", sim.SchoolIP(254)); got != "127.1.0.1 127.1.1.1" {
		t.Errorf("SchoolIP(0), SchoolIP(254) = %s", got)
	}
}
