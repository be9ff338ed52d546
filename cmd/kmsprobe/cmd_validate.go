package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/kh-edu/kmsprobe/config"
)

func init() {
	register(&command{
		Name:    "validate",
		Usage:   "[-c schools.yaml]",
		Summary: "check schools.yaml and list every problem with its line; sends nothing",
		Run:     runValidate,
	})
}

func runValidate(ctx context.Context, e *env, args []string) int {
	c := commands["validate"]
	fs := newFlagSet(e, c)
	var o outputFlags
	o.register(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return fail(e, fmt.Errorf("validate takes no arguments (got %q); name the file with -c FILE", pos))
	}
	cfg, err := loadConfig(o.config)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintln(e.Stderr, p.Error())
			}
			fmt.Fprintf(e.Stderr, "%d problem(s); nothing was audited\n", len(ce.Problems))
			return exitUnknown
		}
		return fail(e, err)
	}
	// The KMS settings name things only kmscheck knows (products, modes):
	// check them here too, so validate never passes a file audit refuses.
	if _, _, _, err := kmsOptions(cfg, "", "", 0, 0); err != nil {
		fmt.Fprintf(e.Stderr, "%s: kms: %v\n1 problem(s); nothing was audited\n", cfg.Path, err)
		return exitUnknown
	}
	dns := 0
	for _, s := range cfg.Schools {
		dns += len(s.DNS)
	}
	fmt.Fprintf(e.Stdout, "%s: ok: %d schools, %d school DNS servers, %d city resolvers, KMS host %s, min count %d\n",
		cfg.Path, len(cfg.Schools), dns, len(cfg.Resolvers), cfg.KMS.Address(), cfg.KMS.MinCount)
	return exitPass
}
