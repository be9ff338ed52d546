package kmscheck_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/kmscheck/kmsreplay"
)

// A stopped audit never blames the KMS host: the judge of a stopped
// measurement turns what did not pass into unknown. Without MarkStopped
// these measurements are fails (timeout, stalled bind).
func TestJudgeStoppedNeverBlamesHost(t *testing.T) {
	b := kmscheck.Budget{Handshake: 2 * time.Second}
	tests := []struct {
		name string
		m    kmscheck.Measurement
	}{
		{"connect cut short", kmscheck.Measurement{Addr: "192.0.2.1:1688", Budget: b,
			TCP: kmscheck.TCPResult{Addr: "192.0.2.1:1688", Outcome: kmscheck.TCPTimeout, Err: context.Canceled}}},
		{"bind cut short", kmscheck.Measurement{Addr: "192.0.2.1:1688", Budget: b,
			TCP:       kmscheck.TCPResult{Addr: "192.0.2.1:1688", Outcome: kmscheck.TCPConnected},
			Exchanges: []kmscheck.Exchange{{Stage: kmscheck.StageBind, Err: context.Canceled}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			running := kmscheck.Judge(tt.m, kmscheck.Expect{})
			if finding.Worst(running) != finding.Fail {
				t.Fatalf("precondition: not stopped, this measurement must fail: %+v", running)
			}
			tt.m.Stopped = true
			for _, f := range kmscheck.Judge(tt.m, kmscheck.Expect{}) {
				if f.Status == finding.Fail || f.Status == finding.Warn {
					t.Errorf("%s: %v %q after a stop", f.Check, f.Status, f.Message)
				}
				if f.Status == finding.Unknown && (f.ID != f.Check+".stopped" || f.Remedy != "") {
					t.Errorf("%s: stopped finding id %q remedy %q", f.Check, f.ID, f.Remedy)
				}
			}
		})
	}
}

// End to end: a peer that accepts and never answers, and a caller that
// stops long before the handshake budget runs out.
func TestCheckStoppedByCaller(t *testing.T) {
	addr := listenLoopback(t, func(c net.Conn) { drain(c, 4096); time.Sleep(5 * time.Second) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	req := kmsreplay.ClientRequest("v6-win10-ent")
	m := kmscheck.Measure(ctx, addr, req, kmscheck.Budget{Handshake: 10 * time.Second})
	if !m.Stopped {
		t.Fatal("Measure did not record the caller's stop")
	}
	for _, f := range kmscheck.Judge(m, kmscheck.Expect{}) {
		if f.Status == finding.Fail {
			t.Errorf("%s blames the host after Ctrl-C: %q", f.Check, f.Message)
		}
	}
}

// Typed accessors read the same values from a fresh finding and from one
// that went through a saved report's JSON.
func TestEvidenceAccessorsSurviveJSON(t *testing.T) {
	addr, stop, err := kmsreplay.Listen(context.Background(), "127.0.0.1:0", "v6-win10-ent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	fs := kmscheck.Check(context.Background(), addr, kmsreplay.ClientRequest("v6-win10-ent"), kmscheck.Budget{Handshake: 5 * time.Second}, kmscheck.Expect{})
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	var back []finding.Finding
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for i := range fs {
		r1, ok1 := kmscheck.RTT(fs[i])
		r2, ok2 := kmscheck.RTT(back[i])
		if !ok1 || !ok2 || r1 != r2 {
			t.Errorf("%s RTT fresh %v %v, from JSON %v %v", fs[i].Check, r1, ok1, r2, ok2)
		}
	}
	c1, ok1 := kmscheck.Count(fs[1])
	c2, ok2 := kmscheck.Count(back[1])
	if !ok1 || !ok2 || c1 != 50 || c2 != 50 {
		t.Errorf("count fresh %d %v, from JSON %d %v; want 50", c1, ok1, c2, ok2)
	}
	ev, ok := kmscheck.RPCEvidenceOf(back[1])
	if !ok || ev.EPID != "03612-00206-566-392475-03-1033-17763.0000-3052019" || ev.HostBuild == nil || *ev.HostBuild != 17763 {
		t.Errorf("evidence from JSON: %+v", ev)
	}
	if _, ok := kmscheck.Count(fs[0]); ok {
		t.Error("kms.tcp has no count")
	}
}

// The per-attempt budget reaches the judge as a duration, and the words
// say it.
func TestBudgetReachesTheWords(t *testing.T) {
	m := kmscheck.Measurement{Addr: "192.0.2.1:1688", Budget: kmscheck.Budget{Handshake: 3 * time.Second},
		TCP: kmscheck.TCPResult{Addr: "192.0.2.1:1688", Outcome: kmscheck.TCPTimeout, Err: context.DeadlineExceeded}}
	f := kmscheck.Judge(m, kmscheck.Expect{})[0]
	if f.Message != "no answer to the TCP connect within 3s: the port is filtered or the host is down" || f.Args["Timeout"] != "3s" {
		t.Errorf("got %q %v", f.Message, f.Args)
	}
}
