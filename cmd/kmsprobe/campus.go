package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dhcpcheck"
	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/probe"
)

// campusLeg wires the DHCP leg for --dhcp-iface: one DISCOVER on the
// school's LAN, then the probe follows every offer's option 6 servers and
// option 15 suffix into the DNS and KMS legs. A LAN belongs to one school,
// so one must be named (or be the only one configured).
func (l *legFlags) campusLeg(cfg *config.Config, ids []string) (func(ctx context.Context) (probe.Campus, error), error) {
	var school config.School
	switch {
	case len(ids) == 1:
		school, _ = cfg.School(ids[0])
	case len(ids) == 0 && len(cfg.Schools) == 1:
		school = cfg.Schools[0]
	default:
		return nil, errors.New("--dhcp-iface needs --school ID: the LAN on that interface belongs to one school")
	}
	var mac net.HardwareAddr
	if l.dhcpMAC != "" {
		var err error
		if mac, err = net.ParseMAC(l.dhcpMAC); err != nil {
			return nil, fmt.Errorf("--dhcp-mac %q is not a MAC address, e.g. 02:00:00:00:00:01", l.dhcpMAC)
		}
	}
	if _, err := net.InterfaceByName(l.dhcpIface); err != nil {
		return nil, fmt.Errorf("interface %s: no such interface on this machine (see `ip link`)", l.dhcpIface)
	}
	window := cfg.DHCP.Window.Duration
	switch {
	case l.dhcpWindow < 0 || l.dhcpWindow > time.Minute:
		return nil, fmt.Errorf("DHCP window %s is out of range; use up to 1m (dnsmasq answers a new client after about 3s)", l.dhcpWindow)
	case l.dhcpWindow > 0:
		window = l.dhcpWindow
	}
	allowed, allowed6 := dhcpcheck.SplitAllowed(cfg.DHCP.AllowedServers)
	exp := dhcpcheck.Expect{
		Iface:          l.dhcpIface,
		Window:         window,
		Suffix:         school.Suffix,
		AllowedServers: allowed,
		Allowed6:       allowed6,
		KMSHost:        cfg.KMS.Host,
		KMSPort:        cfg.KMS.Port,
		SchoolDNS:      school.DNS,
		Resolvers:      cfg.Resolvers,
	}
	return func(ctx context.Context) (probe.Campus, error) {
		c := probe.Campus{School: school.ID}
		view, err := dhcpcheck.Observe(ctx, dhcpcheck.Options{Iface: l.dhcpIface, MAC: mac, Window: window})
		switch {
		case ctx.Err() != nil:
			// Stopped during the window: "no offer" would blame the
			// school for our Ctrl-C.
			c.Findings = dhcpcheck.ErrorFindings(l.dhcpIface, ctx.Err())
			return c, nil
		case err != nil:
			// The probe's own trouble (privilege, interface): the DHCP
			// checks are unknown, the rest of the audit still runs, and
			// the command exits 3 because DHCP was asked for.
			l.setCampusErr(err)
			c.Findings = dhcpcheck.ErrorFindings(l.dhcpIface, err)
			return c, nil
		}
		c.Findings = dhcpcheck.Judge(view, exp)
		// Every question of the view (dhcp.dns and dhcp.search). The
		// orchestrator's map is keyed by server only, so each server is
		// matched back to its question by the SRV name in the evidence.
		targets := view.Targets(school.Suffix)
		for _, t := range targets {
			c.Servers = append(c.Servers, probe.CampusServer{Addr: t.Server, Suffix: t.Suffix})
		}
		c.JudgeDNS = func(srv map[string]finding.Finding) finding.Finding {
			return dhcpcheck.JudgeDNS(view, exp, dhcpcheck.ResultsByServer(targets, srv))
		}
		return c, nil
	}, nil
}

// setCampusErr and campusError guard campusErr: serve runs the campus leg
// from its background audit and from /probe at the same time.
func (l *legFlags) setCampusErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.campusErr = err
}

func (l *legFlags) campusError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.campusErr
}
