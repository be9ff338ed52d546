package kmscheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// TestRPCFailureWords pins which message, remedy, short text and status
// each kind of handshake error gets, the more specific kinds first.
func TestRPCFailureWords(t *testing.T) {
	win, _ := LookupProduct("win10-ent")
	wrap := func(err error) error { return fmt.Errorf("exchange: %w", err) }
	for _, tc := range []struct {
		name    string
		stage   Stage
		err     error
		id, fix string
		short   string
		status  finding.Status
	}{
		{"connect refused", StageBind, &ConnectError{TCPResult{Outcome: TCPRefused}}, "kms.rpc.connect_failed", "kms.fix.refused", "connect refused", finding.Fail},
		{"connect timeout", StageBind, &ConnectError{TCPResult{Outcome: TCPTimeout}}, "kms.rpc.connect_failed", "kms.fix.timeout", "connect timeout", finding.Fail},
		{"connect unreachable", StageBind, &ConnectError{TCPResult{Outcome: TCPUnreachable}}, "kms.rpc.connect_failed", "kms.fix.unreachable", "connect unreachable", finding.Fail},
		{"no IPv6 is a skip", StageBind, &ConnectError{TCPResult{Outcome: TCPNoIPv6}}, "kms.rpc.connect_failed", "kms.fix.no_ipv6", "connect " + TCPNoIPv6.String(), finding.Skip},
		{"refusal", StageActivate, &RefusalError{HRTimeSkew}, "kms.rpc.refused.time_skew", "kms.fix.time_skew", "0xC004F06C", finding.Fail},
		{"refusal of an unlisted code", StageActivate, &RefusalError{0xC0040000}, "kms.rpc.refused.other", "kms.fix.hresult", "0xC0040000", finding.Fail},
		{"fault at bind", StageBind, &FaultError{0x1c010003}, "kms.rpc.fault.bind", "kms.fix.fault", "RPC fault", finding.Fail},
		{"fault at activate", StageActivate, wrap(&FaultError{0x1c010003}), "kms.rpc.fault.activate", "kms.fix.fault", "RPC fault", finding.Fail},
		{"verification", StageActivate, &VerifyError{"hmac", "no"}, "kms.rpc.bad_answer", "kms.fix.verify", "bad answer", finding.Fail},
		{"another service", StageBind, &ProtocolError{Detail: "x", Service: "tls"}, "kms.rpc.other_service.tls", "kms.fix.not_kms", "tls", finding.Fail},
		{"bind nak", StageBind, &BindNakError{2}, "kms.rpc.bind_nak", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"no KMS interface", StageBind, &BindError{NotKMS: true, Detail: "x"}, "kms.rpc.not_kms_interface", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"no transfer syntax", StageBind, &BindError{Detail: "x"}, "kms.rpc.no_syntax", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"garbage", StageBind, &ProtocolError{Detail: "x"}, "kms.rpc.not_kms", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"deadline at bind", StageBind, context.DeadlineExceeded, "kms.rpc.stalled.bind", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"cancelled at activate", StageActivate, wrap(context.Canceled), "kms.rpc.stalled.activate", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"closed at bind", StageBind, io.EOF, "kms.rpc.closed", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"reset at activate", StageActivate, wrap(syscall.ECONNRESET), "kms.rpc.dropped", "kms.fix.dropped", "dropped", finding.Fail},
		{"broken pipe at bind", StageBind, syscall.EPIPE, "kms.rpc.closed", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"anything else at bind", StageBind, errors.New("odd"), "kms.rpc.failed.bind", "kms.fix.not_kms", "not KMS", finding.Fail},
		{"anything else at activate", StageActivate, errors.New("odd"), "kms.rpc.failed.activate", "kms.fix.not_kms", "not KMS", finding.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := Exchange{Addr: "10.0.0.1:1688", Stage: tc.stage, Mode: ModeActivate, Product: win, Request: ActivationRequest{Version: Version{Major: 6}}, Err: tc.err}
			f := JudgeRPC(x, Expect{}, 5*time.Second)
			if f.ID != tc.id || f.RemedyID != tc.fix || f.Short != tc.short || f.Status != tc.status {
				t.Errorf("got id %q remedy %q short %q status %v, want %q %q %q %v", f.ID, f.RemedyID, f.Short, f.Status, tc.id, tc.fix, tc.short, tc.status)
			}
			ev, ok := RPCEvidenceOf(f)
			if !ok || ev.Error != tc.err.Error() {
				t.Errorf("evidence error = %q (%v), want %q", ev.Error, ok, tc.err.Error())
			}
		})
	}
}
