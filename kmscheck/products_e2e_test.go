package kmscheck_test

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/kmscheck/kmsreplay"
)

// Several products at one address, each judged on its own: the host has
// no key for Windows Server 2025 (0xC004F042, the recorded refusal), while
// Windows and Office LTSC 2021 activate. Each product's connection goes to
// the replay of its own capture; the request each sends is that capture's,
// byte for byte.
func TestMeasureSeveralProducts(t *testing.T) {
	vectors := []kmsreplay.Vector{"v6-win10-ent", "refuse-unknown-kmsid", "v6-office2021-proplus"}
	var (
		addrs    []string
		products []kmscheck.Product
	)
	recorded := map[kmscheck.UUID]kmscheck.ActivationRequest{}
	for _, v := range vectors {
		a, stop, err := kmsreplay.Listen(context.Background(), "127.0.0.1:0", v)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		addrs = append(addrs, a)
		r := kmsreplay.ClientRequest(v)
		q, err := r.Build(r.Products[0])
		if err != nil {
			t.Fatal(err)
		}
		recorded[q.SKUID] = q
		products = append(products, r.Products[0])
	}
	var mu sync.Mutex
	n := 0
	req := kmscheck.Request{
		Products:    products,
		Negotiation: kmscheck.NegotiateNDR32,
		ClientID:    kmscheck.UUID{1},
		Edit:        func(q *kmscheck.ActivationRequest) { *q = recorded[q.SKUID] },
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			mu.Lock()
			a := addrs[n]
			n++
			mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, network, a)
		},
	}
	const addr = "192.0.2.24:1688" // the name in the findings; the dialer above decides where to go
	m := kmscheck.Measure(context.Background(), addr, req, kmscheck.Budget{Handshake: 5 * time.Second})
	if len(m.Exchanges) != 3 || n != 3 {
		t.Fatalf("%d exchanges over %d connections, want 3 and 3", len(m.Exchanges), n)
	}
	fs := kmscheck.Judge(m, kmscheck.Expect{})
	if len(fs) != 4 {
		t.Fatalf("%d findings, want kms.tcp and three kms.rpc", len(fs))
	}
	want := []struct {
		status finding.Status
		prefix string
		hr     string
		count  uint32
	}{
		{finding.Pass, "Windows 10/11 Enterprise: KMS V6 answer verified: count 50 >= 25", "", 50},
		{finding.Fail, "Windows Server 2025 Standard: KMS host refused the activation request: HRESULT 0xC004F042", "0xC004F042", 0},
		{finding.Pass, "Office LTSC Professional Plus 2021: KMS V6 answer verified: count 10 >= 5", "", 10},
	}
	for i, w := range want {
		f := fs[i+1]
		ev, _ := kmscheck.RPCEvidenceOf(f)
		if f.Status != w.status || !strings.HasPrefix(f.Message, w.prefix) || ev.HResult != w.hr {
			t.Errorf("product %d: %v %q hresult %q", i, f.Status, f.Message, ev.HResult)
		}
		if ev.KMSCountedID != products[i].KMSID.String() || f.Args["ProductName"] != products[i].Name {
			t.Errorf("product %d: pool %q args %v", i, ev.KMSCountedID, f.Args)
		}
		if c, ok := kmscheck.Count(f); w.count != 0 && (!ok || c != w.count) {
			t.Errorf("product %d: count %d %v, want %d", i, c, ok, w.count)
		}
		if w.hr == "0xC004F042" && (f.RemedyID != "kms.fix.unknown_product" || !strings.Contains(f.Remedy, products[i].Name) || !kmscheck.HostFault(f)) {
			t.Errorf("refusal remedy %q (%s)", f.Remedy, f.RemedyID)
		}
	}
}

// KMS end to end over IPv6 with the replay on ::1.
func TestCheckOverIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("this machine has no ::1 (IPv6 disabled): %v", err)
	}
	ln.Close()
	addr, stop, err := kmsreplay.Listen(context.Background(), "[::1]:0", "v6-win10-ent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if !strings.HasPrefix(addr, "[::1]:") {
		t.Fatalf("replay on %s", addr)
	}
	fs := kmscheck.Check(context.Background(), addr, kmsreplay.ClientRequest("v6-win10-ent"), kmscheck.Budget{Handshake: 5 * time.Second}, kmscheck.Expect{})
	if fs[0].Status != finding.Pass || fs[1].Status != finding.Pass || fs[1].Server != addr {
		t.Errorf("over IPv6: %v %q / %v %q @ %s", fs[0].Status, fs[0].Message, fs[1].Status, fs[1].Message, fs[1].Server)
	}
}

// A probe host without IPv6: the kernel refuses before any packet leaves.
// That is the probe's limit, a skip with the reason, never the host's fail.
func TestNoIPv6OnThisHostIsSkip(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENETUNREACH, syscall.EADDRNOTAVAIL, syscall.EAFNOSUPPORT} {
		req := kmscheck.Request{ClientID: kmscheck.UUID{1}, Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
		}}
		m := kmscheck.Measure(context.Background(), "[2001:db8::1]:1688", req, kmscheck.Budget{Handshake: time.Second})
		if m.TCP.Outcome != kmscheck.TCPNoIPv6 {
			t.Errorf("%v: outcome %v, want no_ipv6", errno, m.TCP.Outcome)
		}
		for _, f := range kmscheck.Judge(m, kmscheck.Expect{}) {
			if f.Status != finding.Skip || !strings.Contains(f.Message, "no IPv6 route") {
				t.Errorf("%v: %s %v %q, want skip with the reason", errno, f.Check, f.Status, f.Message)
			}
			if kmscheck.HostFault(f) {
				t.Errorf("%s blamed on the KMS host", f.Check)
			}
		}
	}
	// The same errno towards an IPv4 address is the path's failure.
	req := kmscheck.Request{ClientID: kmscheck.UUID{1}, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}
	}}
	fs := kmscheck.Check(context.Background(), "192.0.2.24:1688", req, kmscheck.Budget{Handshake: time.Second}, kmscheck.Expect{})
	if fs[0].Status != finding.Fail || fs[0].Short != "unreachable" {
		t.Errorf("IPv4 unreachable: %v %q", fs[0].Status, fs[0].Short)
	}
}
