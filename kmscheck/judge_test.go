package kmscheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kh-edu/kmsprobe/finding"
)

func TestJudgeTCP(t *testing.T) {
	tests := []struct {
		name   string
		r      TCPResult
		status finding.Status
		msg    string
		remedy string
	}{
		{"fast", TCPResult{Addr: "10.0.0.1:1688", RTT: 1500 * time.Microsecond}, finding.Pass, "TCP connected in 1.5 ms", ""},
		{"slow", TCPResult{Addr: "10.0.0.1:1688", RTT: 1200 * time.Millisecond}, finding.Warn, "slowly", "congestion"},
		{"refused", TCPResult{Outcome: TCPRefused, Err: syscall.ECONNREFUSED}, finding.Fail, "connection refused", "sc query sppsvc"},
		{"timeout", TCPResult{Outcome: TCPTimeout, Err: context.DeadlineExceeded}, finding.Fail, "within 2s", "firewalls"},
		{"unreachable", TCPResult{Outcome: TCPUnreachable, Err: syscall.EHOSTUNREACH}, finding.Fail, "unreachable", "route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Addr = "10.0.0.1:1688"
			f := JudgeTCP(tt.r, 2*time.Second)
			if f.Check != finding.KMSTCP || f.Status != tt.status || !strings.Contains(f.Message, tt.msg) || !strings.Contains(f.Remedy, tt.remedy) {
				t.Errorf("got %v %q remedy %q; want %v, %q, %q", f.Status, f.Message, f.Remedy, tt.status, tt.msg, tt.remedy)
			}
			if f.Evidence.Value("transport") != "tcp" || f.Evidence.Value("outcome") != tt.r.Outcome.String() {
				t.Errorf("evidence %v", f.Evidence)
			}
		})
	}
}

func TestClassifyDial(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		err  error
		want TCPOutcome
	}{
		{nil, TCPConnected},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), TCPRefused},
		{context.DeadlineExceeded, TCPTimeout},
		{fmt.Errorf("dial: %w", syscall.ENETUNREACH), TCPUnreachable},
		{fmt.Errorf("dial: %w", syscall.EHOSTUNREACH), TCPUnreachable},
		{errors.New("missing port in address"), TCPError},
	}
	for _, tt := range tests {
		if got := classifyDial(ctx, "192.0.2.1:1688", tt.err); got != tt.want {
			t.Errorf("classifyDial(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestJudgeRPC(t *testing.T) {
	win, _ := LookupProduct("win10-ent")
	office, _ := LookupProduct("office2019-proplus")
	ok := func(count uint32) *Response {
		return &Response{Version: Version{Major: 6}, EPID: "03612-00206-566-392475-03-1028-20348.0000-1002023", Count: count, ActivationInterval: 120, RenewalInterval: 10080, HwID: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	}
	base := Exchange{Addr: "10.0.0.1:1688", Stage: StageDone, Mode: ModeActivate, Product: win, Request: ActivationRequest{Version: Version{Major: 6}}}
	with := func(edit func(*Exchange)) Exchange {
		x := base
		edit(&x)
		return x
	}
	tests := []struct {
		name     string
		x        Exchange
		minCount int
		status   finding.Status
		msg      []string
		evidence map[string]any
	}{
		{"pass", with(func(x *Exchange) { x.Response = ok(50) }), 25, finding.Pass,
			[]string{"V6 answer verified", "count 50 >= 25", "Windows Server 2022", "zh-TW"},
			map[string]any{"count": uint32(50), "min_count": 25, "host_build": 20348, "host_lcid": 1028, "host_language": "zh-TW", "host_os": "Windows Server 2022", "hwid": "0102030405060708"}},
		{"count exactly threshold", with(func(x *Exchange) { x.Response = ok(25) }), 25, finding.Pass, []string{"count 25 >= 25"}, nil},
		{"count low", with(func(x *Exchange) { x.Response = ok(24) }), 25, finding.Fail,
			[]string{"client count is 24", "Windows client products need 25", "0xC004F038", "until enough machines have asked"}, map[string]any{"hresult": "0xC004F038"}},
		{"office counts against its own N", with(func(x *Exchange) { x.Product = office; x.Response = ok(10) }), 0, finding.Pass, []string{"count 10 >= 5"}, map[string]any{"min_count": 5, "product_threshold": 5}},
		{"office with a stricter min_count", with(func(x *Exchange) { x.Product = office; x.Response = ok(10) }), 25, finding.Fail, []string{"min_count is 25; Office products need 5"}, nil},
		{"emulator hint stays pass", with(func(x *Exchange) {
			r := ok(50)
			r.EmulatorHints = []string{"HwId 3A1C049600B60076 is vlmcsd's built-in default"}
			x.Response = r
		}), 25, finding.Pass, []string{"note: HwId"}, nil},
		{"refused unknown product", with(func(x *Exchange) { x.Stage = StageActivate; x.Err = &RefusalError{HRUnknownProduct} }), 25, finding.Fail,
			[]string{"refused", "0xC004F042", "cannot activate this product"}, map[string]any{"hresult": "0xC004F042"}},
		{"refused time", with(func(x *Exchange) { x.Stage = StageActivate; x.Err = &RefusalError{HRTimeSkew} }), 25, finding.Fail, []string{"0xC004F06C", "clock"}, nil},
		{"refused unknown code", with(func(x *Exchange) { x.Stage = StageActivate; x.Err = &RefusalError{0xC0040000} }), 25, finding.Fail, []string{"0xC0040000", "slui"}, nil},
		{"fault", with(func(x *Exchange) { x.Stage = StageActivate; x.Err = &FaultError{0x1c010003} }), 25, finding.Fail, []string{"RPC fault 0x1c010003", "nca_unk_if"}, map[string]any{"rpc_fault": "0x1c010003"}},
		{"verification", with(func(x *Exchange) { x.Stage = StageActivate; x.Err = &VerifyError{"hmac", "V6 HMAC does not match"} }), 25, finding.Fail, []string{"failed verification (hmac)"}, map[string]any{"failed_check": "hmac"}},
		{"garbage", with(func(x *Exchange) {
			x.Stage = StageBind
			x.Err = &ProtocolError{Detail: "the service answered 00 00 00 00…"}
		}), 25, finding.Fail, []string{"port open but not KMS"}, nil},
		{"eof at bind", with(func(x *Exchange) { x.Stage = StageBind; x.Err = io.EOF }), 25, finding.Fail, []string{"not KMS", "closed the connection"}, nil},
		{"timeout", with(func(x *Exchange) { x.Stage = StageBind; x.Err = context.DeadlineExceeded }), 25, finding.Fail, []string{"no complete answer to the RPC bind within 5s"}, nil},
		{"bind mode", with(func(x *Exchange) { x.Mode = ModeBind; x.Bind.NDR32 = true }), 25, finding.Pass, []string{"mode bind", "no activation request"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := JudgeRPC(tt.x, Expect{MinCount: tt.minCount}, 5*time.Second)
			if f.Check != finding.KMSRPC || f.Server != "10.0.0.1:1688" {
				t.Errorf("check %s server %s", f.Check, f.Server)
			}
			if f.Status != tt.status {
				t.Errorf("status %v, want %v (%s)", f.Status, tt.status, f.Message)
			}
			for _, m := range tt.msg {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message %q lacks %q", f.Message, m)
				}
			}
			want := finding.NewEvidence(tt.evidence)
			for _, k := range want.Keys() {
				if diff := cmp.Diff(want.Value(k), f.Evidence.Value(k)); diff != "" {
					t.Errorf("evidence[%s] (-want +got):\n%s", k, diff)
				}
			}
			if f.Status == finding.Fail && f.Remedy == "" {
				t.Error("fail without remedy")
			}
			if strings.Contains(f.Message, "\n") {
				t.Error("message is not one line")
			}
		})
	}
}

func TestLookupProduct(t *testing.T) {
	for _, name := range []string{"", "win10-ent", "Windows 10/11 Enterprise", "WIN10-ENT"} {
		p, err := LookupProduct(name)
		if err != nil || p.Key != "win10-ent" || p.N != 25 || p.Protocol != 6 {
			t.Errorf("LookupProduct(%q) = %v, %v", name, p.Key, err)
		}
	}
	if _, err := LookupProduct("win95"); err == nil || !strings.Contains(err.Error(), "office2019-proplus") {
		t.Errorf("unknown product error %v does not list the choices", err)
	}
	seen := map[string]bool{}
	for _, p := range Products() {
		if seen[p.Key] || p.N != 5 && p.N != 25 {
			t.Errorf("bad table row %+v", p)
		}
		seen[p.Key] = true
	}
}

func TestParseEPID(t *testing.T) {
	h, ok := ParseEPID("03612-00206-566-392475-03-1033-17763.0000-3052019")
	want := HostInfo{Build: 17763, OS: "Windows Server 2019 / Windows 10 1809", LCID: 1033, Language: "en-US", Group: "00206", KeyDate: "3052019"}
	if !ok || h != want {
		t.Errorf("got %+v, %v", h, ok)
	}
	if _, ok := ParseEPID("garbage"); ok {
		t.Error("garbage parsed")
	}
}

func TestIdentity(t *testing.T) {
	a := nameUUID(cmidNamespace, "3d1219c7c4c5404aaa1f6d2a48adfda4")
	b := nameUUID(cmidNamespace, "3d1219c7c4c5404aaa1f6d2a48adfda4")
	c := nameUUID(cmidNamespace, "0000000000000000000000000000000a")
	if a != b || a == c || a[6]>>4 != 5 {
		t.Errorf("name UUIDs not stable/distinct/v5: %s %s %s", a, b, c)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "state", identityFile)
	u1, err := loadStateIdentity(p)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := loadStateIdentity(p)
	if err != nil || u1 != u2 || u1.IsZero() {
		t.Errorf("state identity not stable: %s %s %v", u1, u2, err)
	}
	os.WriteFile(p, []byte("nonsense"), 0o644)
	if _, err := loadStateIdentity(p); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("corrupt state file: %v", err)
	}
	if _, err := os.Stat("/etc/machine-id"); err == nil {
		m1, err1 := LoadIdentity("")
		m2, err2 := MachineIdentity()
		if err1 != nil || err2 != nil || m1 != m2 {
			t.Errorf("machine identity unstable: %v %v", err1, err2)
		}
	}
}

func TestBuildRequestDefaults(t *testing.T) {
	o := Request{ClientID: UUID{1}, Workstation: "probe", Now: func() time.Time { return time.Unix(1700000000, 0) }}
	p := o.products()[0]
	r, err := o.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Key != DefaultProduct || r.Version.Major != 6 || r.RequiredCount != 25 || r.Salt == [16]byte{} {
		t.Errorf("defaults: %+v %s", r, p.Key)
	}
	if _, err := (Request{ClientID: UUID{1}, Protocol: 7}).Build(p); err == nil {
		t.Error("protocol 7 accepted")
	}
	if _, err := (Request{ClientID: UUID{1}, Workstation: strings.Repeat("x", 64)}).Build(p); err == nil {
		t.Error("64-character workstation accepted")
	}
}

// TestThresholdIsMinCount pins DESIGN.md §4: pass when count >= min_count;
// without a min_count the product's own N applies.
func TestThresholdIsMinCount(t *testing.T) {
	win, _ := LookupProduct("win10-ent")
	office, _ := LookupProduct("office2019-proplus")
	cases := []struct {
		min  int
		p    Product
		want int
	}{
		{0, win, 25}, {0, office, 5}, {5, win, 5}, {100, office, 100}, {25, office, 25},
	}
	for _, tc := range cases {
		if got := Threshold(tc.min, tc.p); got != tc.want {
			t.Errorf("Threshold(%d, %s) = %d, want %d", tc.min, tc.p.Key, got, tc.want)
		}
	}
}

func TestRemediesUseTheDialledPort(t *testing.T) {
	for _, o := range []TCPOutcome{TCPRefused, TCPTimeout} {
		f := JudgeTCP(TCPResult{Addr: "[2001:db8::1]:18688", Outcome: o, Err: errors.New("x")}, 2*time.Second)
		if !strings.Contains(f.Remedy, "TCP 18688") || strings.Contains(f.Remedy, "1688 ") {
			t.Errorf("%v: remedy %q", o, f.Remedy)
		}
	}
	x := Exchange{Addr: "203.0.113.5:18688", Stage: StageBind, Err: &ProtocolError{Detail: "x", Service: "http"}}
	f := JudgeRPC(x, Expect{}, time.Second)
	if f.Message != "an HTTP server answered on 203.0.113.5:18688 (not KMS)" || !strings.Contains(f.Remedy, "findstr 18688") {
		t.Errorf("got %q / %q", f.Message, f.Remedy)
	}
}

func TestIdentifyService(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP/1.0 400 Bad":         "http",
		"\x16\x03\x01\x00\x05":     "tls",
		"\x15\x03\x03\x00\x02":     "tls",
		"SSH-2.0-OpenSSH_9.6":      "ssh",
		"220 mx ESMTP Postfix":     "smtp",
		"220-FileZilla FTP":        "ftp",
		"220 ready":                "smtp_or_ftp",
		"\x05\x00\x0c\x03\x10\x00": "",
		"2200 not a banner":        "",
	} {
		if got := identifyService([]byte(in)); got != want {
			t.Errorf("identifyService(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostFault(t *testing.T) {
	win, _ := LookupProduct("win10-ent")
	base := Exchange{Addr: "10.0.0.1:1688", Mode: ModeActivate, Product: win, Stage: StageActivate}
	with := func(err error) Exchange { x := base; x.Err = err; return x }
	cases := []struct {
		f    finding.Finding
		want bool
	}{
		{JudgeTCP(TCPResult{Addr: "10.0.0.1:1688", Outcome: TCPRefused}, time.Second), true},
		{JudgeTCP(TCPResult{Addr: "[2001:db8::1]:1688", Outcome: TCPNoIPv6}, time.Second), false},
		{JudgeTCP(TCPResult{Addr: "10.0.0.1:1688", Outcome: TCPConnected}, time.Second), false},
		{JudgeRPC(with(&RefusalError{HRUnknownProduct}), Expect{}, time.Second), true},
		{JudgeRPC(with(&FaultError{0x1c010003}), Expect{}, time.Second), true},
		{JudgeRPC(with(&VerifyError{"hmac", "x"}), Expect{}, time.Second), false},
		{JudgeRPC(with(&RefusalError{HRTimeSkew}), Expect{}, time.Second), false},
		{JudgeRPC(Exchange{Addr: "10.0.0.1:1688", Err: errors.New("no identity")}, Expect{}, time.Second), false},
	}
	for _, c := range cases {
		if got := HostFault(c.f); got != c.want {
			t.Errorf("HostFault(%s %v %q) = %v, want %v", c.f.ID, c.f.Status, c.f.Message, got, c.want)
		}
	}
}

// The product table: every stable name resolves, names are unique, each
// count pool has one threshold and one application, and the families have
// Microsoft's N.
func TestProductTable(t *testing.T) {
	seen := map[string]string{}
	pools := map[UUID]Product{}
	for _, p := range Products() {
		for _, n := range append([]string{p.Key}, p.Aliases...) {
			if other, dup := seen[n]; dup {
				t.Errorf("name %q used by %s and %s", n, other, p.Key)
			}
			seen[n] = p.Key
			if q, err := LookupProduct(n); err != nil || q.Key != p.Key {
				t.Errorf("LookupProduct(%q) = %s, %v", n, q.Key, err)
			}
		}
		if q, ok := pools[p.KMSID]; ok && (q.N != p.N || q.AppID != p.AppID) {
			t.Errorf("pool %s: %s (N %d) and %s (N %d) disagree", p.KMSID, q.Key, q.N, p.Key, p.N)
		}
		pools[p.KMSID] = p
		want := 25
		if p.AppID != AppWindows || strings.HasPrefix(p.Key, "ws") {
			want = 5
		}
		if p.N != want {
			t.Errorf("%s: N %d, want %d", p.Key, p.N, want)
		}
	}
	for _, n := range []string{"win10-ent", "win11-ent", "win10-edu", "win11-edu", "win11-ent-ltsc2024", "office2021-proplus", "office2021-std", "office2024-proplus", "office2024-std", "ws2022", "ws2025"} {
		if _, err := LookupProduct(n); err != nil {
			t.Errorf("stable name %q: %v", n, err)
		}
	}
	ps, err := LookupProducts([]string{"win11-ent", " ", "win10-ent", "office2024-proplus"})
	if err != nil || len(ps) != 2 || ps[0].Key != "win10-ent" || ps[1].Key != "office2024-proplus" {
		t.Errorf("LookupProducts = %v, %v", ps, err)
	}
}
