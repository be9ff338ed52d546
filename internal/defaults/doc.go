// Package defaults holds the one production value of each time budget, so
// that config (which applies them to schools.yaml) and the legs (which
// fall back to them only when a caller passes a zero budget, e.g. a test
// building a client by hand) can never drift apart. Every command gets
// its budgets from config.Budgets(); nothing else should read these.
package defaults
