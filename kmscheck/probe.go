package kmscheck

import (
	"context"
	"net"

	"github.com/kh-edu/kmsprobe/finding"
)

// Probe checks one KMS address ("ip:port"): it returns the kms.tcp finding
// and the kms.rpc finding, in that order. kms.rpc is skip when TCP failed or
// the mode is tcp. opts.Timeout bounds the whole exchange.
func Probe(ctx context.Context, addr string, opts Options) []finding.Finding {
	fs := probe(ctx, addr, opts)
	if ctx.Err() != nil {
		// The caller stopped (Ctrl-C, its deadline): our own timeout did
		// not run out, so nothing here is the host's failure.
		finding.MarkStopped(fs)
	}
	return fs
}

func probe(ctx context.Context, addr string, opts Options) []finding.Finding {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	conn, tr := Dial(ctx, addr)
	tcp := JudgeTCP(tr, opts.Timeout)
	rpc := finding.Finding{Check: finding.KMSRPC, Server: addr, Status: finding.Skip}
	if conn == nil {
		rpc.Message = "not run: TCP connect to the KMS port failed"
		return []finding.Finding{tcp, rpc}
	}
	defer conn.Close()
	if opts.Mode == ModeTCP {
		rpc.Message = "not run: KMS mode is tcp (connect only)"
		return []finding.Finding{tcp, rpc}
	}
	x := Run(ctx, conn, opts)
	x.Addr = addr
	if x.Err != nil && x.Stage == "" {
		// The probe could not even build its request: its own trouble.
		rpc.Status, rpc.Message = finding.Unknown, x.Err.Error()
		rpc.Remedy = "Fix the probe's KMS settings (product, protocol, state directory)."
		return []finding.Finding{tcp, rpc}
	}
	return []finding.Finding{tcp, JudgeRPC(x, Expect{MinCount: opts.MinCount, Timeout: opts.Timeout})}
}

// Run builds the request from opts and runs Handshake on conn. An
// Exchange with an empty Stage and an Err means the request could not be
// built (bad product, protocol, identity), which is the probe's own fault.
func Run(ctx context.Context, conn net.Conn, opts Options) Exchange {
	opts = opts.withDefaults()
	req, p, err := opts.BuildRequest()
	if err != nil {
		return Exchange{Mode: opts.Mode, Product: p, Err: err}
	}
	x := Handshake(ctx, conn, req, opts.Negotiation, opts.Mode)
	x.Product = p
	return x
}
