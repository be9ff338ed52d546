package clockcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// closedUDPPort is a loopback address nothing listens on: a query to it
// is refused (ICMP port unreachable).
func closedUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// TestNoAnswerIsWordedStably: the message of a refused or silent NTP
// server is the same on every run (no ephemeral local port, no Go error
// text), the raw error stays in the evidence, and the remedy names the
// configured port.
func TestNoAnswerIsWordedStably(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	for _, tc := range []struct {
		name   string
		server string
		words  string
		raw    string
	}{
		{"refused", closedUDPPort(t), "refused (ICMP port unreachable)", "connection refused"},
		{"silent", silent.LocalAddr().String(), "timeout", "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(tc.server)
			var msgs []string
			for range 2 {
				f := Judge(Measure(context.Background(), []string{tc.server}, Budget{NTP: 300 * time.Millisecond}))[0]
				if f.Status != finding.Fail || f.ID != "clock.offset.no_answer" {
					t.Fatalf("got %s %s %q", f.Status, f.ID, f.Message)
				}
				msgs = append(msgs, f.Message)
				if want := "no NTP answer: " + tc.server + ": " + tc.words; f.Message != want {
					t.Errorf("message %q, want %q", f.Message, want)
				}
				ev, _ := EvidenceOf(f)
				if len(ev.Unanswered) != 1 || !strings.Contains(ev.Unanswered[0], tc.raw) {
					t.Errorf("evidence %q lacks the raw error (%s)", ev.Unanswered, tc.raw)
				}
				if !strings.Contains(f.Remedy, "UDP "+port+" ") || strings.Contains(f.Remedy, "UDP 123") {
					t.Errorf("remedy does not name the configured port %s: %q", port, f.Remedy)
				}
				g, ok := ServerFault(f)
				if !ok || !strings.Contains(g.Remedy, "UDP "+port+" ") || strings.Contains(g.Remedy, "UDP 123") {
					t.Errorf("operators' remedy does not name port %s: %q", port, g.Remedy)
				}
			}
			if msgs[0] != msgs[1] {
				t.Errorf("the message changes between runs:\n%s\n%s", msgs[0], msgs[1])
			}
		})
	}
}

// TestErrorWords: each kind of failure has its stable words; an error of
// the NTP protocol itself keeps its own (stable) text.
func TestErrorWords(t *testing.T) {
	local := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 54945}
	remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 12399}
	op := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "udp", Source: local, Addr: remote, Err: err}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{op("read", os.NewSyscallError("recvmsg", syscall.ECONNREFUSED)), "refused (ICMP port unreachable)"},
		{op("read", os.ErrDeadlineExceeded), "timeout"},
		{op("write", os.NewSyscallError("sendto", syscall.ENETUNREACH)), "unreachable (no route)"},
		{op("write", os.NewSyscallError("sendto", syscall.EHOSTUNREACH)), "unreachable (no route)"},
		{op("read", os.NewSyscallError("recvmsg", syscall.EPERM)), "recvmsg: operation not permitted"},
		{&net.DNSError{Err: "no such host", Name: "ntp.example", IsNotFound: true}, "the name does not resolve"},
		{&net.DNSError{Err: "server misbehaving", Name: "ntp.example", Server: "127.0.0.53:53"}, "the name could not be looked up"},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), "timeout"},
		{errors.New("kiss of death received: RATE"), "kiss of death received: RATE"},
	} {
		got := errorWords(tc.err)
		if got != tc.want {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got, "54945") {
			t.Errorf("%q names the ephemeral port", got)
		}
	}
	for server, want := range map[string]string{"ntp.example": "123", "127.0.0.1:12399": "12399", "[::1]:1234": "1234", "::1": "123"} {
		if got := ntpPort(server); got != want {
			t.Errorf("ntpPort(%s) = %s, want %s", server, got, want)
		}
	}
}
