package probe_test

import (
	"context"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/probe"
)

// TestDeadServersDoNotHoldTheWorkers: with far more dead servers than
// the concurrency, a worker waiting on one is replaced, so the dead
// servers are waited on together instead of concurrency at a time.
// 8 dead servers, 2 workers, 1s × 1 attempt: 4 waves (4s) if each dead
// server held a worker to the end; about 1s plus the stall delays now.
func TestDeadServersDoNotHoldTheWorkers(t *testing.T) {
	const (
		dead    = 8
		timeout = time.Second
	)
	c := startBenchCity(t, sim.BenchOptions{Schools: dead, DeadEvery: 1, Resolvers: 1, Timeout: timeout, Attempts: 1, Concurrency: 2})
	start := time.Now()
	rep, err := probe.Run(context.Background(), c.Config, probe.Options{DNSOnly: true, Hostname: "test"})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Fail != dead {
		t.Errorf("summary %+v, want %d fail (the dead servers)", rep.Summary, dead)
	}
	// One attempt each; within it one resend at most (a server that has
	// not answered yet is asked again after the resolvers' 376 ms).
	for i, s := range c.SchoolServers {
		if n := s.Queries(); n < 1 || n > 2 {
			t.Errorf("dead server %d got %d questions, want 1 attempt (1 or 2 packets)", i, n)
		}
	}
	if took < timeout {
		t.Errorf("the audit took %v, less than one timeout: were the dead servers asked?", took)
	}
	if waves := dead / 2 * timeout; took >= waves-timeout {
		t.Errorf("%d dead servers with 2 workers took %v; one worker per dead server at a time would take %v: stalled workers must be replaced", dead, took, waves)
	}
	t.Logf("%d dead servers, 2 workers, %v × 1: %v", dead, timeout, took)
}
