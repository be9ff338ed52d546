package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
)

// loadConfig loads -c or the first schools.yaml on the search path.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		p, err := config.Find()
		if err != nil {
			return nil, err
		}
		path = p
	}
	return config.Load(path)
}

// readConfig is loadConfig for a command that acts on the file: the
// file's warnings (each with its line) go to stderr first, so advice
// about schools.yaml is never seen only by `validate`.
func readConfig(e *env, path string) (*config.Config, error) {
	cfg, err := loadConfig(path)
	if err == nil {
		warnConfig(e, cfg)
	}
	return cfg, err
}

// optionalConfig is readConfig for the commands that run without a
// schools.yaml (dns, kms, dhcp): none on the search path is nil, but a
// named file (-c) must exist and every file found must be valid.
func optionalConfig(e *env, path string) (*config.Config, error) {
	cfg, err := readConfig(e, path)
	if path == "" && errors.Is(err, config.ErrNoConfig) {
		return nil, nil
	}
	return cfg, err
}

func warnConfig(e *env, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		fmt.Fprintln(e.Stderr, "kmsprobe: warning:", w.Error())
	}
}

// singleSchool is the configuration of a single-target command (dns,
// kms --discover): the settings of base (nil: the defaults) with one
// school, validated as schools.yaml is. Servers named with --server are
// the school's own: they are judged as such (their remedy is the zone
// line, not "the city resolvers only cache"), and nothing else is asked;
// without --server the city resolvers of base are asked, and
// "resolvers: []" there stays none.
func singleSchool(base *config.Config, id, suffix string, servers []string) (*config.Config, error) {
	cfg := config.Default()
	if base != nil {
		cfg = base.Clone()
	}
	cfg.Path = "command line"
	cfg.Schools = []config.School{{ID: id, Suffix: suffix}}
	if len(servers) > 0 {
		cfg.Resolvers = []string{}
		cfg.Schools[0].DNS = append([]string(nil), servers...)
	}
	err := cfg.Validate()
	return cfg, flagProblems(err, func(p config.Problem) (string, bool) {
		switch {
		case p.Field == "suffix":
			return "SUFFIX: " + p.Msg, true
		case p.Field == "dns" && len(servers) == 0:
			return "no DNS server to ask: name one with --server ADDR, or list the city resolvers under resolvers: in " + configName(base), true
		case p.Field == "dns" && strings.HasPrefix(p.Msg, "no DNS server"):
			return "", true // said above: each --server refused
		case p.Field == "dns":
			return "--server: " + p.Msg, true
		}
		return "", false
	})
}

func configName(cfg *config.Config) string {
	if cfg == nil {
		return "schools.yaml"
	}
	return cfg.Path
}

// kmsSettings are the KMS flags of kms and audit; zero values leave the
// file's (or the default) setting.
type kmsSettings struct {
	mode, product      string
	protocol, minCount int
}

// kmsConfig writes the KMS flags over the kms: section of cfg (nil: the
// defaults) and validates the result as schools.yaml is, so a flag
// passes exactly what the file would; a problem names the flag. A value
// from the file was checked, with its line, when the file was loaded.
func kmsConfig(cfg *config.Config, s kmsSettings) (*config.Config, error) {
	if cfg != nil && s == (kmsSettings{}) {
		return cfg, nil
	}
	c := config.Default()
	if cfg != nil {
		c = cfg.Clone()
	}
	if s.mode != "" {
		c.KMS.Mode = s.mode
	}
	if s.product != "" {
		c.KMS.Products, c.KMS.Product = strings.Split(s.product, ","), ""
	}
	if s.protocol != 0 {
		c.KMS.Protocol = s.protocol
	}
	if s.minCount != 0 {
		c.KMS.MinCount, c.KMS.MinCountSet = s.minCount, true
	}
	// `kmsprobe kms HOST` needs no school, but the validator wants one:
	// a stand-in is checked and dropped.
	noSchools := len(c.Schools) == 0
	if noSchools {
		c.Schools = []config.School{{ID: "kms", Suffix: "kms.example.edu.tw"}}
	}
	err := c.Validate()
	if noSchools {
		c.Schools, c.Warnings = nil, nil
	}
	err = flagProblems(err, func(p config.Problem) (string, bool) {
		switch p.Field {
		case "kms.mode":
			return "--kms-mode " + s.mode + ": " + p.Msg, true
		case "kms.products", "kms.product":
			return "--product " + s.product + ": unknown product: " + p.Msg, true
		case "kms.protocol":
			return fmt.Sprintf("--protocol %d: %s", s.protocol, p.Msg), true
		case "kms.min_count":
			return fmt.Sprintf("--min-count %d: %s", s.minCount, p.Msg), true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// flagProblems rewords the problems of a configuration built from flags:
// name returns the wording of one (empty to drop it) and false for a
// problem it does not know, which keeps its own.
func flagProblems(err error, name func(config.Problem) (string, bool)) error {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return err
	}
	var out []string
	for _, p := range ce.Problems {
		if msg, ok := name(p); ok {
			if msg != "" {
				out = append(out, msg)
			}
			continue
		}
		out = append(out, p.Error())
	}
	if len(out) == 0 {
		return nil
	}
	return errors.New(strings.Join(out, "\n"))
}
