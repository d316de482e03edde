// Package examples holds the example hypotheses, one for each of the seeds'
// experiments, for the demo to judge its runs of them with.
package examples

import "embed"

// Hypotheses are the example hypothesis files (<name>.yaml), as written
// in this directory.
//
//go:embed *.yaml
var Hypotheses embed.FS
