package config

import (
	"fmt"
	"strings"

	"github.com/kh-edu/kmsprobe/kmscheck"
)

// The product table and the modes belong to the KMS leg; config only asks
// it these things, here and nowhere else, so the table can move without
// touching the validator.

// LookupProduct returns the key of the product written as name (its key or
// display name, any case), or an error an admin can act on.
func LookupProduct(name string) (string, error) {
	p, err := kmscheck.LookupProduct(name)
	if err != nil || strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("%q is not a product kmsprobe knows; use one of %s", name, strings.Join(ProductNames(), ", "))
	}
	return p.Key, nil
}

// ProductNames lists the product keys, sorted, for messages and help.
func ProductNames() []string { return kmscheck.ProductKeys() }

// defaultProduct is what a school PC most often is.
func defaultProduct() string { return kmscheck.DefaultProduct }

// checkMode accepts the KMS leg's modes (tcp, bind, activate).
func checkMode(mode string) error {
	if strings.TrimSpace(mode) == "" {
		return fmt.Errorf("is empty; use tcp, bind or activate")
	}
	if _, err := kmscheck.ParseMode(mode); err != nil {
		return fmt.Errorf("%q is not a mode; use tcp, bind or activate", mode)
	}
	return nil
}
