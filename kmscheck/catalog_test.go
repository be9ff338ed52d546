package kmscheck

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n/i18ntest"
)

// Every id the judge can produce is in both catalogs, English word for
// word, with the same placeholders, and the English entry renders, with a
// finding's Args, to exactly its Message and Remedy.
func TestCatalog(t *testing.T) {
	i18ntest.CheckCatalog(t, "kms", messages, remedies)
	win, _ := LookupProduct("win10-ent")
	ok := &Response{Version: Version{Major: 6}, EPID: "03612-00206-566-392475-03-1028-20348.0000-1002023", Count: 50}
	low := &Response{Version: Version{Major: 6}, Count: 3}
	x := Exchange{Addr: "[2001:db8::1]:18688", Mode: ModeActivate, Product: win, Stage: StageActivate}
	with := func(err error, r *Response) Exchange { y := x; y.Err, y.Response = err, r; return y }
	var fs []finding.Finding
	for _, o := range []TCPOutcome{TCPConnected, TCPRefused, TCPTimeout, TCPUnreachable, TCPError, TCPNoIPv6} {
		fs = append(fs, JudgeTCP(TCPResult{Addr: x.Addr, Outcome: o, Err: errors.New("boom"), RTT: 1500 * time.Millisecond}, 2*time.Second))
	}
	for _, e := range []error{nil, &RefusalError{HRUnknownProduct}, &RefusalError{0xC0040000}, &FaultError{0x1c010003},
		&VerifyError{"hmac", "no"}, &ProtocolError{Detail: "x", Service: "tls"}, &ProtocolError{Detail: "x"}, &BindNakError{2},
		context.DeadlineExceeded, errors.New("odd")} {
		fs = append(fs, JudgeRPC(with(e, ok), Expect{}, time.Second))
	}
	fs = append(fs, JudgeRPC(with(nil, low), Expect{}, time.Second), JudgeRPC(with(nil, low), Expect{MinCount: 10}, time.Second))
	fs = append(fs, Judge(Measurement{Addr: x.Addr, Stopped: true, TCP: TCPResult{Addr: x.Addr, Outcome: TCPTimeout}}, Expect{})...)
	i18ntest.CheckFindings(t, "kms", fs)
}
