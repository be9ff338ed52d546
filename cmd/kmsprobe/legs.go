package main

import (
	"flag"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/probe"
)

// legFlags select and tune the legs beyond DNS.
type legFlags struct {
	dhcpIface string
	dhcpMAC   string
	kmsMode   string
	product   string
	protocol  int
}

func (l *legFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.dhcpIface, "dhcp-iface", "", "campus mode: broadcast one DHCPDISCOVER on this interface and follow the offers (needs --school ID)")
	fs.StringVar(&l.dhcpMAC, "dhcp-mac", "", "client MAC for the DISCOVER (default: the interface's own)")
	fs.StringVar(&l.kmsMode, "kms-mode", "", "how far the KMS check goes: tcp, bind or activate (default from schools.yaml, else activate)")
	fs.StringVar(&l.product, "product", "", "product the KMS activation request claims to be (default Windows 10/11 Enterprise)")
	fs.IntVar(&l.protocol, "protocol", 0, "KMS protocol version 4, 5 or 6 (default 6)")
}

// build makes the legs from the configuration and flags.
func (l *legFlags) build(cfg *config.Config, schools []string) (probe.Legs, error) {
	var legs probe.Legs
	return legs, nil
}
