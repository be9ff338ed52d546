package main

import (
	"context"
	"errors"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/probe"
)

// campusLeg wires the DHCP leg for --dhcp-iface.
func (l *legFlags) campusLeg(cfg *config.Config, schools []string) (func(ctx context.Context) (probe.Campus, error), error) {
	return nil, errors.New("--dhcp-iface: the DHCP leg is not available in this build")
}
