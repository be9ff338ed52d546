package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/kh-edu/kmsprobe/internal/dnsname"
	"github.com/kh-edu/kmsprobe/probe"
)

func init() {
	register(&command{
		Name:    "dns",
		Summary: "check _vlmcs._tcp.SUFFIX at the given DNS servers (default: the city resolvers of schools.yaml)",
		Spec:    spec{Args: "SUFFIX", Config: helpConfig, Formats: reportFormats(), Out: true, OnlyProblems: true, Lang: true},
		Flags: func(fs *flag.FlagSet, _ *input) runFunc {
			var servers listFlag
			fs.Var(&servers, "server", "DNS server to ask, host or host:port (repeatable; default the city resolvers of schools.yaml)")
			return func(ctx context.Context, e *env, in *input) int { return runDNS(ctx, e, in, servers) }
		},
	})
}

func runDNS(ctx context.Context, e *env, in *input, servers []string) int {
	o := &in.outputFlags
	if len(in.Args) != 1 {
		return fail(e, errors.New("dns needs exactly one SUFFIX, e.g. kmsprobe dns demo-jh.kh.edu.tw --server 10.1.2.3"))
	}
	suffix, note, err := dnsSuffixArg(in.Args[0])
	if err != nil {
		return fail(e, err)
	}
	if note != "" {
		fmt.Fprintln(e.Stderr, "kmsprobe:", note)
	}
	base, err := optionalConfig(e, o.config)
	if err != nil {
		return fail(e, err)
	}
	cfg, err := singleSchool(base, "dns", suffix, servers)
	if err != nil {
		return fail(e, err)
	}
	// Servers named with --server are judged; the city resolvers of
	// schools.yaml still witness the KMS host's addresses.
	var witnesses []string
	if base != nil && len(servers) > 0 {
		witnesses = base.Resolvers
	}
	bar := newProgress(e)
	rep, err := probe.Run(ctx, cfg, probe.Options{Version: version, Now: e.clock(), DNSOnly: true, Progress: bar.update, LookupHost: hostLookup, Witnesses: witnesses})
	bar.finish()
	if err != nil {
		return fail(e, err)
	}
	if err := in.emitReport(e, cfg, rep); err != nil {
		return fail(e, err)
	}
	return in.exitCode(rep)
}

// dnsSuffixArg takes the school's DNS suffix, or the full record name an
// admin copies from a zone or a KMS client's log
// (_vlmcs._tcp.x.kh.edu.tw): the command asks _vlmcs._tcp.SUFFIX itself,
// so a pasted record name would otherwise become
// _vlmcs._tcp._vlmcs._tcp.x... Any other service label is refused with
// what to type.
func dnsSuffixArg(arg string) (suffix, note string, err error) {
	name := dnsname.Canonical(arg)
	const prefix = "_vlmcs._tcp."
	if rest, ok := strings.CutPrefix(name+".", prefix); ok {
		rest = strings.TrimSuffix(rest, ".")
		if rest == "" || strings.HasPrefix(rest, "_") {
			return "", "", fmt.Errorf("%q has no DNS suffix after %s: type the school's suffix, e.g. kmsprobe dns demo-jh.kh.edu.tw", arg, prefix)
		}
		return rest, fmt.Sprintf("%s is the record name; checking the suffix %s (the record asked is %s%s)", name, rest, prefix, rest), nil
	}
	if name == "" {
		return "", "", errors.New("the SUFFIX is empty: type the school's DNS suffix, e.g. kmsprobe dns demo-jh.kh.edu.tw")
	}
	if strings.HasPrefix(name, "_") {
		first, rest, _ := strings.Cut(name, ".")
		if strings.HasPrefix(rest, "_") {
			_, rest, _ = strings.Cut(rest, ".")
		}
		hint := "demo-jh.kh.edu.tw"
		if rest != "" {
			hint = rest
		}
		return "", "", fmt.Errorf("%q is not a DNS suffix (%s is a service label; KMS clients ask only %s): type the school's suffix, e.g. kmsprobe dns %s", arg, first, prefix+"SUFFIX", hint)
	}
	return name, "", nil
}
