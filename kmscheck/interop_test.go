package kmscheck_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/kmscheck"
)

// TestInterop runs the probe against a KMS host implementation the tester
// started by hand (for example vlmcsd built under /tmp), named by
// KMSCHECK_INTEROP_ADDR. It is skipped when the variable is unset, and it
// refuses anything but a loopback address: tests never touch real hosts.
//
// KMSCHECK_INTEROP_WANT_COUNT_BELOW=1 expects a host that starts with an
// empty client table (vlmcsd -M1 -E1), so the count verdict must fail.
// KMSCHECK_INTEROP_CLOCK_CHECK=1 expects a host that checks the request
// time (vlmcsd -c1): a request 5 h in the past must be refused 0xC004F06C.
var interopBudget = kmscheck.Budget{Handshake: 5 * time.Second}

func TestInterop(t *testing.T) {
	addr := os.Getenv("KMSCHECK_INTEROP_ADDR")
	if addr == "" {
		t.Skip("KMSCHECK_INTEROP_ADDR not set; start a KMS host implementation on 127.0.0.1 and point it there")
	}
	host, _, err := net.SplitHostPort(addr)
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		t.Fatalf("KMSCHECK_INTEROP_ADDR=%q: only loopback addresses are allowed in tests", addr)
	}
	wantLow, _ := strconv.ParseBool(os.Getenv("KMSCHECK_INTEROP_WANT_COUNT_BELOW"))
	cases := []struct {
		product string
		proto   int
		neg     kmscheck.Negotiation
	}{
		{"win10-ent", 6, kmscheck.NegotiateWindows},
		{"win10-ent", 6, kmscheck.NegotiateNDR32},
		{"win10-ent", 5, kmscheck.NegotiateWindows},
		{"win10-ent", 4, kmscheck.NegotiateWindows},
		{"win7-ent", 4, kmscheck.NegotiateNDR32},
		{"office2013-proplus", 5, kmscheck.NegotiateNDR32},
		{"office2019-proplus", 6, kmscheck.NegotiateWindows},
		{"ws2019-std", 6, kmscheck.NegotiateWindows},
	}
	for _, c := range cases {
		name := c.product + "/v" + strconv.Itoa(c.proto) + "/" + c.neg.String()
		t.Run(name, func(t *testing.T) {
			p, err := kmscheck.LookupProduct(c.product)
			if err != nil {
				t.Fatal(err)
			}
			req := kmscheck.Request{
				Products: []kmscheck.Product{p}, Protocol: c.proto,
				Negotiation: c.neg, Workstation: "kmsprobe-interop.test",
			}
			for _, m := range []kmscheck.Mode{kmscheck.ModeBind, kmscheck.ModeActivate} {
				req.Mode = m
				fs := kmscheck.Check(context.Background(), addr, req, interopBudget, kmscheck.Expect{})
				for _, f := range fs {
					j, _ := json.Marshal(f)
					t.Logf("%s", j)
				}
				want := finding.Pass
				if m == kmscheck.ModeActivate && wantLow {
					want = finding.Fail
				}
				if fs[1].Status != want {
					t.Errorf("mode %v: kms.rpc %v, want %v: %s", m, fs[1].Status, want, fs[1].Message)
				}
			}
		})
	}
	if ok, _ := strconv.ParseBool(os.Getenv("KMSCHECK_INTEROP_CLOCK_CHECK")); ok {
		t.Run("clock 5h behind", func(t *testing.T) {
			req := kmscheck.Request{Workstation: "kmsprobe-interop.test",
				Now: func() time.Time { return time.Now().Add(-5 * time.Hour) }}
			f := kmscheck.Check(context.Background(), addr, req, interopBudget, kmscheck.Expect{})[1]
			j, _ := json.Marshal(f)
			t.Logf("%s", j)
			if f.Status != finding.Fail || f.Evidence.Value("hresult") != "0xC004F06C" {
				t.Errorf("got %v %s, want the 0xC004F06C refusal", f.Status, f.Message)
			}
		})
	}
}
