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
	"github.com/kh-edu/kmsprobe/internal/dnsname"
	"github.com/kh-edu/kmsprobe/probe"
)

// campusLeg wires the DHCP leg for --dhcp-iface: one DISCOVER on the
// school's LAN, then the probe follows every offer's option 6 servers and
// option 15 suffix into the DNS and KMS legs. A LAN belongs to one school,
// so one must be named (or be the only one configured).
func (l *legFlags) campusLeg(cfg *config.Config, ids []string) (probe.CampusLeg, error) {
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
	return campusLeg{l: l, school: school.ID, mac: mac, window: window, exp: exp}, nil
}

// campusLeg listens once on the school's LAN.
type campusLeg struct {
	l      *legFlags
	school string
	mac    net.HardwareAddr
	window time.Duration
	exp    dhcpcheck.Expect
}

func (c campusLeg) Measure(ctx context.Context) (probe.CampusView, error) {
	v := &campusView{school: c.school, exp: c.exp}
	view, err := dhcpcheck.Observe(ctx, dhcpcheck.Options{Iface: c.exp.Iface, MAC: c.mac, Window: c.window})
	switch {
	case ctx.Err() != nil:
		// Stopped during the window: "no offer" would blame the
		// school for our Ctrl-C.
		v.findings = dhcpcheck.ErrorFindings(c.exp.Iface, ctx.Err())
		return v, nil
	case err != nil:
		// The probe's own trouble (privilege, interface): the DHCP
		// checks are unknown, the rest of the audit still runs, and
		// the command exits 3 because DHCP was asked for.
		c.l.setCampusErr(err)
		v.findings = dhcpcheck.ErrorFindings(c.exp.Iface, err)
		return v, nil
	}
	v.view = view
	v.measured = true
	v.findings = dhcpcheck.Judge(view, c.exp)
	return v, nil
}

// campusView is what the offers and adverts on the LAN give a PC: every
// DNS server it would ask, every domain it would search.
type campusView struct {
	school   string
	exp      dhcpcheck.Expect
	view     dhcpcheck.View
	measured bool
	findings []finding.Finding
}

func (v *campusView) School() string              { return v.school }
func (v *campusView) Findings() []finding.Finding { return v.findings }

// Questions are every (server, domain) pair dhcp.dns and dhcp.search
// need; the orchestrator asks them through the same DNS judging.
func (v *campusView) Questions() []probe.CampusQuestion {
	if !v.measured {
		return nil
	}
	var qs []probe.CampusQuestion
	for _, t := range v.view.Targets(v.exp.Suffix) {
		qs = append(qs, probe.CampusQuestion{Server: t.Server, Domain: t.Suffix})
	}
	return qs
}

func (v *campusView) Judge(srv map[probe.CampusQuestion]finding.Finding) []finding.Finding {
	if !v.measured {
		return nil
	}
	res := dhcpcheck.SRVResults{}
	for q, f := range srv {
		res[dhcpcheck.Target{Server: q.Server, Suffix: dnsname.Canonical(q.Domain)}] = f
	}
	return []finding.Finding{dhcpcheck.JudgeDNS(v.view, v.exp, res), dhcpcheck.JudgeSearch(v.view, v.exp, res)}
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
