// Package demo runs steadywatch's demo: the four example hypotheses
// against a simulated pipeline, in minutes rather than hours (adapt.go: how
// the demo scales the example hypotheses, and says what it changed).
package demo
