// Package config loads and validates schools.yaml (version 1, DESIGN.md §3).
//
// Loading never stops at the first problem: an admin editing a list of two
// hundred schools wants every mistake named at once, each with the file, the
// line, the school and the field, so one edit fixes them all.
//
// It owns: reading schools.yaml safely, the schema, defaults, every problem
// and warning with file:line, and the one budget table (Budgets). It must
// not know the network or how a check is judged.
package config
