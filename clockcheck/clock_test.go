package clockcheck

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/internal/testenv"
)

func TestJudgeClock(t *testing.T) {
	tests := []struct {
		name   string
		rs     []Result
		status finding.Status
		msg    string
	}{
		{"none configured", nil, finding.Skip, "no NTP server configured"},
		{"in sync", []Result{{Server: "a", Offset: 3 * time.Millisecond, Stratum: 2}}, finding.Pass, "within 3ms"},
		{"59s", []Result{{Server: "a", Offset: 59 * time.Second}}, finding.Pass, "within"},
		{"60s ahead", []Result{{Server: "a", Offset: 60 * time.Second}}, finding.Warn, "1m0s ahead of"},
		{"3h behind", []Result{{Server: "a", Offset: -3 * time.Hour}}, finding.Warn, "3h0m0s behind"},
		{"exactly 4h", []Result{{Server: "a", Offset: 4 * time.Hour}}, finding.Warn, "within KMS's 4 h"},
		{"5h", []Result{{Server: "a", Offset: 5 * time.Hour}}, finding.Fail, "0xC004F06C"},
		{"no answer", []Result{{Server: "a", Err: errors.New("i/o timeout")}}, finding.Fail, "no NTP answer: a: i/o timeout"},
		{"second answers", []Result{{Server: "a", Err: errors.New("timeout")}, {Server: "b", Offset: time.Second}}, finding.Pass, "within 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Judge(Measurement{Results: tt.rs})[0]
			if f.Check != finding.ClockOffset || f.Status != tt.status || !strings.Contains(f.Message, tt.msg) {
				t.Errorf("got %v %q, want %v containing %q", f.Status, f.Message, tt.status, tt.msg)
			}
			if f.Status == finding.Fail && f.Remedy == "" {
				t.Error("fail without remedy")
			}
		})
	}
}

// startChrony runs Debian's chronyd as an NTP server on 127.0.0.1 with its
// own local clock as a stratum-1 reference. It never touches the system
// clock (-x) and answers only loopback clients.
func startChrony(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chronyd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/chronyd", "/sbin/chronyd"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		testenv.Missing(t, "chronyd is not installed (Debian: apt-get install -y chrony)")
	}
	port := freeUDPPort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "chrony.conf")
	cfg := fmt.Sprintf("port %d\nbindaddress 127.0.0.1\nlocal stratum 1\nallow 127.0.0.1\ncmdport 0\npidfile %s\ndriftfile %s\n",
		port, filepath.Join(dir, "chronyd.pid"), filepath.Join(dir, "drift"))
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-d", "-x", "-f", conf}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // chronyd otherwise drops to _chrony, which cannot read t.TempDir()
	}
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		testenv.Missing(t, fmt.Sprintf("cannot start chronyd: %v", err))
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Wait until it answers.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r := Clock{}.Query(context.Background(), addr, Budget{NTP: 200 * time.Millisecond})
		if r.Err == nil {
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	testenv.Missing(t, fmt.Sprintf("chronyd did not start serving on %s (not permitted here?): %s", addr, out.String()))
	return ""
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func TestClockAgainstChrony(t *testing.T) {
	addr := startChrony(t)
	tests := []struct {
		name   string
		skew   time.Duration
		status finding.Status
	}{
		{"same clock", 0, finding.Pass},
		{"10 minutes fast", 10 * time.Minute, finding.Warn},
		{"5 hours slow", -5 * time.Hour, finding.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// chronyd serves the real clock; faking ours gives the offset.
			now := func() time.Time { return time.Now().Add(tt.skew) }
			f := Judge(Clock{Now: now}.Measure(context.Background(), []string{addr}, Budget{NTP: 2 * time.Second}))[0]
			if f.Status != tt.status {
				t.Fatalf("status %v, want %v: %s", f.Status, tt.status, f.Message)
			}
			off, ok := Offset(f)
			if d := off - tt.skew; !ok || d > time.Second || d < -time.Second {
				t.Errorf("offset %s (%v), want about %s", off, ok, tt.skew)
			}
			ev, _ := EvidenceOf(f)
			if ev.Stratum == nil || *ev.Stratum != 2 && *ev.Stratum != 1 {
				t.Errorf("stratum %v, want chrony's local stratum + 1", ev.Stratum)
			}
			if f.Server != addr {
				t.Errorf("server %q, want %q", f.Server, addr)
			}
		})
	}
}

// An in-process NTP responder with a fixed offset, so the large-offset case
// is covered even where chronyd is absent.
func TestClockAgainstFixedOffsetResponder(t *testing.T) {
	const skew = -6 * time.Hour // the server is 6 h behind, so we are 6 h ahead
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			now := time.Now().Add(skew)
			resp := make([]byte, 48)
			resp[0] = 0<<6 | 4<<3 | 4 // no leap, v4, server
			resp[1] = 1               // stratum
			resp[2], resp[3] = buf[2], 0xe9
			copy(resp[12:16], "LOCL")
			putNTPTime(resp[16:], now.Add(-time.Minute))
			copy(resp[24:32], buf[40:48]) // origin = client's transmit
			putNTPTime(resp[32:], now)
			putNTPTime(resp[40:], now)
			pc.WriteTo(resp, from)
		}
	}()
	f := Judge(Measure(context.Background(), []string{pc.LocalAddr().String()}, Budget{NTP: 2 * time.Second}))[0]
	if f.Status != finding.Fail || !strings.Contains(f.Message, "ahead of") {
		t.Fatalf("got %v %q, want fail, ahead", f.Status, f.Message)
	}
	if off, ok := Offset(f); !ok || off < 6*time.Hour-2*time.Second || off > 6*time.Hour+2*time.Second {
		t.Errorf("offset %v s, want about +21600", off)
	}
}

func putNTPTime(b []byte, t time.Time) {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint32(b[0:], uint32(secs))
	binary.BigEndian.PutUint32(b[4:], uint32(frac))
}

func TestClockNoAnswer(t *testing.T) {
	// A bound but silent UDP socket on loopback: the query must time out.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	f := Judge(Measure(context.Background(), []string{pc.LocalAddr().String()}, Budget{NTP: 300 * time.Millisecond}))[0]
	if f.Status != finding.Fail || !strings.Contains(f.Message, "no NTP answer") {
		t.Errorf("got %v %q", f.Status, f.Message)
	}
}

// A stopped audit never blames the NTP servers; without MarkStopped this
// is the "no NTP answer" fail.
func TestJudgeStoppedNeverBlamesNTP(t *testing.T) {
	m := Measurement{Results: []Result{{Server: "192.0.2.123", Err: context.Canceled}}}
	if f := Judge(m)[0]; f.Status != finding.Fail {
		t.Fatalf("precondition: %v", f.Status)
	}
	m.Stopped = true
	f := Judge(m)[0]
	if f.Status != finding.Unknown || f.ID != "clock.offset.stopped" || f.Remedy != "" {
		t.Errorf("stopped: %v %q id %q remedy %q", f.Status, f.Message, f.ID, f.Remedy)
	}
	if _, ok := ServerFault(f); ok {
		t.Error("a stopped query is the NTP server's fault")
	}
}

func TestMeasureStoppedByCaller(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	m := Measure(ctx, []string{pc.LocalAddr().String()}, Budget{NTP: 10 * time.Second})
	if !m.Stopped {
		t.Fatal("Measure did not record the stop")
	}
	if f := Judge(m)[0]; f.Status == finding.Fail {
		t.Errorf("blames NTP after Ctrl-C: %q", f.Message)
	}
}

func TestServerFault(t *testing.T) {
	f := Judge(Measurement{Results: []Result{{Server: "ntp.example:123", Err: errors.New("i/o timeout")}}})[0]
	g, ok := ServerFault(f)
	if !ok || g.RemedyID != "clock.fix.operators" || !strings.Contains(g.Remedy, "ntp.example:123") || !strings.Contains(g.Remedy, "operators") {
		t.Errorf("no answer: %v %q", ok, g.Remedy)
	}
	f = Judge(Measurement{Results: []Result{{Server: "a", Offset: 5 * time.Hour}}})[0]
	if _, ok := ServerFault(f); ok {
		t.Error("this machine's skewed clock is not the NTP server's fault")
	}
}
