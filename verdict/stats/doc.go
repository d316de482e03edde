// Package stats holds the statistics behind steadywatch's verdicts: the
// Mann-Whitney U test, the Hodges–Lehmann shift with its distribution-free
// confidence interval, and an exact test for error counts, so a judge can
// compare an experimental group with a control group the way Kayenta's
// NetflixACAJudge does, without its failures on ties, zeros and tiny samples.
//
// Orientation is the same everywhere: x is the experimental group and y the
// control. U is x's statistic, #{x_i > y_j} + ½·#{x_i = y_j}, so a large U
// means x tends to be larger; the shift is Δ = x − y (the Hodges–Lehmann
// estimate is the median of all x_i − y_j), and Greater is the alternative
// "x is stochastically larger than y" (Δ > 0). RateTest uses the same
// orientation with the experiment's counts first.
package stats
