// Package onboard builds schools.yaml from the Ministry of Education's
// school lists (`kmsprobe init`): it reads the CSVs (UTF-8 or Big5, the
// columns found by their header), derives each school's DNS suffix and id
// from its web address, applies the admin's overrides, optionally finds
// each school's own name servers, and writes or merges a commented
// schools.yaml that keeps what the admin wrote.
//
// Nothing is guessed: a school whose suffix cannot be derived is written
// commented out with the reason, for the overrides file to fix.
package onboard
