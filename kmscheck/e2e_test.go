package kmscheck_test

import (
	"context"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/kmscheck/kmsreplay"
)

// End to end over TCP: the real client against a listener that replays
// the captured bytes (and closes if the request differs from the capture).
func TestProbeAgainstReplay(t *testing.T) {
	tests := []struct {
		vector   kmsreplay.Vector
		status   finding.Status
		contains []string
		evidence map[string]any
	}{
		{"v6-win10-ent", finding.Pass, []string{"V6 answer verified", "count 50 >= 25", "Windows Server 2019", "en-US"},
			map[string]any{"count": uint32(50), "min_count": 25, "host_build": 17763, "host_lcid": 1033, "host_language": "en-US", "epid": "03612-00206-566-392475-03-1033-17763.0000-3052019", "activation_interval_min": uint32(120), "renewal_interval_min": uint32(10080), "protocol": "6.0", "hwid": "2C8F1B7A0E5D4C39"}},
		{"v6-win10-ent-full-negotiation", finding.Pass, []string{"count 50 >= 25"},
			map[string]any{"rpc_ndr64": true, "rpc_btfn": true, "rpc_alter_context": true, "rpc_syntax": "ndr32", "rpc_offered": "ndr32,ndr64,btfn"}},
		{"v4-win7-ent", finding.Pass, []string{"V4 answer verified", "count 50 >= 25"}, map[string]any{"protocol": "4.0"}},
		{"v5-office2013-proplus", finding.Pass, []string{"V5 answer verified", "count 10 >= 5"}, map[string]any{"protocol": "5.0", "min_count": 5}},
		{"v6-office2019-proplus", finding.Pass, []string{"count 10 >= 5"}, nil},
		{"v6-office2021-proplus", finding.Pass, []string{"count 10 >= 5"}, nil},
		{"v6-ws2019-std", finding.Pass, []string{"count 10 >= 5"}, map[string]any{"product": "ws2019-std"}},
		{"count-insufficient", finding.Fail, []string{"count is 1", "need 25", "0xC004F038", "until enough machines have asked"},
			map[string]any{"count": uint32(1), "hresult": "0xC004F038"}},
		{"refuse-unknown-kmsid", finding.Fail, []string{"refused", "0xC004F042", "cannot activate this product"}, map[string]any{"hresult": "0xC004F042"}},
		{"refuse-time-skew", finding.Fail, []string{"refused", "0xC004F06C", "clock"}, map[string]any{"hresult": "0xC004F06C"}},
		{"refuse-bad-version", finding.Fail, []string{"refused", "0x8007000D", "protocol version"}, map[string]any{"hresult": "0x8007000D", "protocol": "7.0"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.vector), func(t *testing.T) {
			ctx := context.Background()
			addr, stop, err := kmsreplay.Listen(ctx, "127.0.0.1:0", tt.vector)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(stop)
			req := kmsreplay.ClientRequest(tt.vector)
			fs := kmscheck.Check(ctx, addr, req, kmscheck.Budget{Handshake: 5 * time.Second}, kmscheck.Expect{})
			if len(fs) != 2 {
				t.Fatalf("Probe returned %d findings, want 2", len(fs))
			}
			if fs[0].Check != finding.KMSTCP || fs[0].Status != finding.Pass || fs[0].Server != addr {
				t.Errorf("kms.tcp = %+v, want pass for %s", fs[0], addr)
			}
			f := fs[1]
			if f.Check != finding.KMSRPC || f.Server != addr {
				t.Errorf("finding = %s @ %s, want kms.rpc @ %s", f.Check, f.Server, addr)
			}
			if f.Status != tt.status {
				t.Errorf("status = %v, want %v: %s (%v)", f.Status, tt.status, f.Message, f.Evidence.Value("error"))
			}
			for _, c := range tt.contains {
				if !strings.Contains(f.Message, c) {
					t.Errorf("message %q lacks %q", f.Message, c)
				}
			}
			want := finding.NewEvidence(tt.evidence)
			for _, k := range want.Keys() {
				if v := want.Value(k); f.Evidence.Value(k) != v {
					t.Errorf("evidence[%s] = %#v, want %#v", k, f.Evidence.Value(k), v)
				}
			}
			if tt.status == finding.Fail && f.Remedy == "" {
				t.Error("a fail without a remedy")
			}
		})
	}
}

// The replay stays silent for anything but the recorded request, so a client
// with another identity fails cleanly rather than "activating".
func TestReplayAnswersOnlyTheRecordedRequest(t *testing.T) {
	addr, stop, err := kmsreplay.Listen(context.Background(), "127.0.0.1:0", "v6-win10-ent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	req := kmsreplay.ClientRequest("v6-win10-ent")
	req.ClientID[0] ^= 1
	fs := kmscheck.Check(context.Background(), addr, req, kmscheck.Budget{Handshake: 2 * time.Second}, kmscheck.Expect{})
	if fs[1].Status != finding.Fail || !strings.Contains(fs[1].Message, "closed the connection after the activation request") {
		t.Errorf("kms.rpc = %v %q, want a fail for a dropped request", fs[1].Status, fs[1].Message)
	}
}

// Bind mode stops after the bind_ack and says so.
func TestProbeModes(t *testing.T) {
	addr, stop, err := kmsreplay.Listen(context.Background(), "127.0.0.1:0", "v6-win10-ent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	req := kmsreplay.ClientRequest("v6-win10-ent")
	req.Mode = kmscheck.ModeBind
	b := kmscheck.Budget{Handshake: 5 * time.Second}
	fs := kmscheck.Check(context.Background(), addr, req, b, kmscheck.Expect{})
	if fs[1].Status != finding.Pass || !strings.Contains(fs[1].Message, "mode bind") {
		t.Errorf("bind mode: %v %q", fs[1].Status, fs[1].Message)
	}
	if _, ok := fs[1].Evidence.Get("count"); ok {
		t.Error("bind mode reports a count it never asked for")
	}
	req.Mode = kmscheck.ModeTCP
	fs = kmscheck.Check(context.Background(), addr, req, b, kmscheck.Expect{})
	if fs[0].Status != finding.Pass || fs[1].Status != finding.Skip {
		t.Errorf("tcp mode: tcp %v, rpc %v; want pass, skip", fs[0].Status, fs[1].Status)
	}
}

// The full-negotiation capture carries two requests on one connection: the
// first over NDR32 after an alter_context, the second over NDR64. A session
// must reproduce both and verify both answers.
func TestSessionFullNegotiationTwoRequests(t *testing.T) {
	const v = "v6-win10-ent-full-negotiation"
	addr, stop, err := kmsreplay.Listen(context.Background(), "127.0.0.1:0", v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, tr := kmscheck.Dial(ctx, addr)
	if conn == nil {
		t.Fatal(tr.Err)
	}
	defer conn.Close()
	s, err := kmscheck.Bind(ctx, conn, kmscheck.NegotiateWindows)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Bind.NDR32 || !s.Bind.NDR64 || !s.Bind.BTFN || !s.Bind.AlterContext || s.Bind.SecondaryAddr != "1688" {
		t.Errorf("bind = %+v", s.Bind)
	}
	cr := kmsreplay.ClientRequest(v)
	req, err := cr.Build(cr.Products[0])
	if err != nil {
		t.Fatal(err)
	}
	for i, salt := range []string{"7f871dca3de4169ecc80018cddc0ac95", "11558a9a0404ed1fba8644aff31f8d4b"} {
		b, _ := hex.DecodeString(salt)
		copy(req.Salt[:], b)
		r, syn, err := s.Activate(ctx, req)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if want := []kmscheck.Syntax{kmscheck.NDR32, kmscheck.NDR64}[i]; syn != want {
			t.Errorf("request %d went over %v, want %v", i+1, syn, want)
		}
		if r.Count != 50 {
			t.Errorf("request %d: count %d", i+1, r.Count)
		}
	}
}

func TestClientRequestCoversEveryVector(t *testing.T) {
	for _, v := range kmsreplay.Vectors() {
		o := kmsreplay.ClientRequest(v)
		if _, err := o.Build(o.Products[0]); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	if len(kmsreplay.Vectors()) < 12 {
		t.Errorf("only %d vectors embedded", len(kmsreplay.Vectors()))
	}
}

// listenLoopback starts a scripted peer for fault tests; each accepted
// connection is handed to serve.
func listenLoopback(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func readVectorPDU(t *testing.T, vector, file string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors/" + vector + "/" + file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func drain(c net.Conn, n int) {
	buf := make([]byte, n)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	c.Read(buf)
}

// Broken and hostile peers: each must give a fail within the deadline.
func TestProbeFaults(t *testing.T) {
	bindAck := readVectorPDU(t, "v6-win10-ent", "02-bind_ack.hex")
	fault := readVectorPDU(t, "rpc-fault-unknown-context", "04-fault.hex")
	tests := []struct {
		name     string
		serve    func(net.Conn)
		contains string
	}{
		{"reset after bind", func(c net.Conn) {
			drain(c, 4096)
			c.(*net.TCPConn).SetLinger(0)
		}, "closed the connection without answering the RPC bind"},
		{"reset after request", func(c net.Conn) {
			drain(c, 4096)
			c.Write(bindAck)
			drain(c, 4096)
			c.(*net.TCPConn).SetLinger(0)
		}, "closed the connection after the activation request"},
		{"silent", func(c net.Conn) {
			drain(c, 4096)
			time.Sleep(3 * time.Second)
		}, "no complete answer to the RPC bind"},
		{"ssh banner", func(c net.Conn) {
			c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			drain(c, 4096)
		}, "an SSH server answered on"},
		{"http", func(c net.Conn) {
			drain(c, 4096)
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		}, "an HTTP server answered on"},
		{"tls alert", func(c net.Conn) {
			drain(c, 4096)
			c.Write([]byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x16}) // fatal decode_error
		}, "a TLS server answered on"},
		{"tls handshake", func(c net.Conn) {
			drain(c, 4096)
			c.Write(append([]byte{0x16, 0x03, 0x03, 0x00, 0x40, 0x02}, make([]byte, 0x3f)...))
			time.Sleep(3 * time.Second)
		}, "a TLS server answered on"},
		{"smtp banner", func(c net.Conn) {
			c.Write([]byte("220 mail.school.example ESMTP Postfix\r\n"))
			drain(c, 4096)
		}, "an SMTP (mail) server answered on"},
		{"short smtp banner then silence", func(c net.Conn) {
			c.Write([]byte("220 ESMTP\r\n"))
			time.Sleep(3 * time.Second)
		}, "an SMTP (mail) server answered on"},
		{"ftp banner", func(c net.Conn) {
			c.Write([]byte("220 (vsFTPd 3.0.3)\r\n"))
			drain(c, 4096)
		}, "an FTP server answered on"},
		{"http 1.0", func(c net.Conn) {
			drain(c, 4096)
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
		}, "an HTTP server answered on"},
		{"garbage", func(c net.Conn) {
			drain(c, 4096)
			c.Write([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
		}, "not DCE/RPC"},
		{"huge fragment length", func(c net.Conn) {
			drain(c, 4096)
			h := append([]byte(nil), bindAck[:16]...)
			h[8], h[9] = 0xff, 0xff
			c.Write(h)
			time.Sleep(3 * time.Second)
		}, "fragment length 65535"},
		{"trickle", func(c net.Conn) {
			drain(c, 4096)
			for _, b := range bindAck {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}, "no complete answer to the RPC bind"},
		{"half close after bind", func(c net.Conn) {
			drain(c, 4096)
			c.(*net.TCPConn).CloseWrite()
			time.Sleep(3 * time.Second)
		}, "closed the connection without answering the RPC bind"},
		{"truncated bind_ack", func(c net.Conn) {
			drain(c, 4096)
			c.Write(bindAck[:30])
		}, "connection closed in the middle"},
		{"rpc fault", func(c net.Conn) {
			drain(c, 4096)
			c.Write(bindAck)
			drain(c, 4096)
			c.Write(fault)
			drain(c, 4096)
		}, "RPC fault 0x1c010003"},
		{"bind_nak", func(c net.Conn) {
			drain(c, 4096)
			nak := make([]byte, 20)
			copy(nak, bindAck[:16])
			nak[2], nak[8], nak[9] = 13, 20, 0
			c.Write(nak)
		}, "bind_nak"},
		{"other interface", func(c net.Conn) {
			drain(c, 4096)
			b := append([]byte(nil), bindAck...)
			b[32], b[33], b[34], b[35], b[36] = 1, 2, 0, 1, 0 // n_results 1; result 2, reason 1
			b[36+0], b[36+1], b[36+2], b[36+3] = 2, 0, 1, 0
			c.Write(b)
		}, "does not offer the KMS interface"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := listenLoopback(t, tt.serve)
			req := kmsreplay.ClientRequest("v6-win10-ent")
			req.Negotiation = kmscheck.NegotiateNDR32
			b := kmscheck.Budget{Handshake: 1 * time.Second}
			start := time.Now()
			fs := kmscheck.Check(context.Background(), addr, req, b, kmscheck.Expect{})
			el := time.Since(start)
			// Bounded, with room for a loaded CI machine.
			if el > b.Handshake+2*time.Second {
				t.Errorf("took %s with a %s budget", el, b.Handshake)
			}
			f := fs[1]
			if f.Status != finding.Fail {
				t.Fatalf("status %v, want fail: %s", f.Status, f.Message)
			}
			if !strings.Contains(f.Message, tt.contains) {
				t.Errorf("message %q lacks %q", f.Message, tt.contains)
			}
			if f.Remedy == "" {
				t.Error("no remedy")
			}
			// Remedies name the port actually dialled (kms.port), never
			// a hard-coded 1688.
			_, port, _ := net.SplitHostPort(addr)
			if strings.Contains(f.Remedy, "1688") || strings.Contains(f.Remedy, "TCP ") && !strings.Contains(f.Remedy, port) {
				t.Errorf("remedy %q does not use the dialled port %s", f.Remedy, port)
			}
			if strings.Contains(tt.contains, "server answered on") && !strings.Contains(f.Message, addr) {
				t.Errorf("message %q does not name %s", f.Message, addr)
			}
			if !kmscheck.HostFault(f) {
				t.Errorf("%s (%s) is the KMS host's own fault", f.ID, f.Message)
			}
		})
	}
}

func TestProbeRefusedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fs := kmscheck.Check(context.Background(), addr, kmscheck.Request{ClientID: kmscheck.UUID{1}}, kmscheck.Budget{Handshake: time.Second}, kmscheck.Expect{})
	if fs[0].Status != finding.Fail || fs[0].Evidence.Value("outcome") != "refused" || !strings.Contains(fs[0].Remedy, "sc query sppsvc") {
		t.Errorf("kms.tcp = %+v", fs[0])
	}
	if fs[1].Status != finding.Skip {
		t.Errorf("kms.rpc = %v, want skip", fs[1].Status)
	}
}
