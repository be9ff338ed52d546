package config

import "slices"

// Building a configuration in Go (a single-target command's flags) goes
// through the same defaults and the same validator as a file, so a flag
// can never pass what schools.yaml would refuse, nor the reverse.

// Default returns a configuration holding the production defaults and no
// schools, as if read from a file that only says `version: 1`. Its Path is
// "command line", the name its problems carry. Tests and the demo override
// the defaults before any packet is sent.
func Default() *Config {
	c := &Config{Version: 1, Path: "command line"}
	c.applyDefaults()
	c.KMS.Products = []string{defaultProduct()}
	c.KMS.Product = c.KMS.Products[0]
	return c
}

// Validate defaults and checks c as Load defaults and checks a file, and
// normalises it the same way (addresses to host:port, products to keys,
// names canonical). It refreshes c.Warnings. The problems it returns are a
// *Error whose entries carry c.Path and no line.
//
// The rules differ from a file's only where a file tells written from
// absent by its lines: nil Resolvers means the production resolvers and
// an empty non-nil slice means none; KMS.Products wins over KMS.Product,
// which is the one-product shorthand; a min count counts as written only
// with KMS.MinCountSet. Validating a loaded configuration again changes
// nothing.
func (c *Config) Validate() error {
	if c.Path == "" {
		c.Path = "command line"
	}
	l := newLoader(c.Path)
	l.fromGo = true
	l.minCountWritten = c.KMS.MinCountSet
	l.rawMinCount = c.KMS.MinCount
	c.applyDefaults()
	l.validate(c)
	if len(l.problems) > 0 {
		return l.err()
	}
	c.Warnings = l.sortedWarnings()
	return nil
}

// Clone returns a deep copy, for a command that starts from a loaded file
// and changes a few values (one school, the servers of --server) without
// touching the original.
func (c *Config) Clone() *Config {
	d := *c
	d.KMS.Products = slices.Clone(c.KMS.Products)
	d.KMS.Addresses = slices.Clone(c.KMS.Addresses)
	d.Resolvers = slices.Clone(c.Resolvers)
	d.NTP = slices.Clone(c.NTP)
	d.DHCP.AllowedServers = slices.Clone(c.DHCP.AllowedServers)
	if c.Mail != nil {
		m := *c.Mail
		m.To = slices.Clone(c.Mail.To)
		d.Mail = &m
	}
	d.Schools = make([]School, len(c.Schools))
	for i, s := range c.Schools {
		s.DNS = slices.Clone(s.DNS)
		d.Schools[i] = s
	}
	d.Warnings = slices.Clone(c.Warnings)
	return &d
}
