#!/usr/bin/python3
"""Reference values for verdict/stats, computed with scipy (Debian's
python3-scipy 1.10.1).

    /usr/bin/python3 verdict/stats/testdata/gen.py > verdict/stats/testdata/reference.json

Mann-Whitney: scipy.stats.mannwhitneyu with use_continuity=True and
method "auto" and "asymptotic", for each alternative; "exact" p-values
(only without ties: the exact distribution assumes none) from the integer
counts of U below, asserted equal to scipy's method="exact" where scipy can
compute it (min(n, m) <= 8). U is scipy's statistic, the U of x.

Hodges-Lehmann: brute force. All n*m differences x_i - y_j are computed
(numpy float64 subtraction, the same rounding as Go) and sorted; the estimate
is numpy's median of them. The interval is [D_(K), D_(nm+1-K)] (1-based),
where K is the largest integer with P(U <= K-1) <= (1 - confidence)/2:
- "exact" when min(n, m) <= 8 or max(n, m) <= 50 (and n*m <= 1e6): P from
  the exact null distribution of U, counted here with Python integers and
  fractions (no rounding at all), which give scipy's exact p-values;
- "asymptotic" otherwise: K = floor(n*m/2 - z*sigma + 1/2),
  z = norm.ppf(1 - alpha/2), sigma^2 = n*m*(n+m+1)/12.
K = 0 means the interval is (-inf, inf), written as null.

Rates: scipy.stats.fisher_exact on [[e_x, t_x - e_x], [e_y, t_y - e_y]] for
each alternative; Newcombe's hybrid score interval for the difference of
rates from the two Wilson intervals of scipy.stats.binomtest(...)
.proportion_ci(method="wilson"). MinTotal: ceil(ln(1-c)/ln(1-maxRate)),
checked against scipy's Clopper-Pearson upper bound for 0 of T events.
"""

import functools
import json
import math
import sys
import warnings
from fractions import Fraction

import numpy as np
import scipy
from scipy import stats
from scipy.stats import binomtest, fisher_exact, mannwhitneyu, norm

ALTERNATIVES = ["two-sided", "less", "greater"]
CONFIDENCES = [0.95, 0.98]
EXACT_MAX_SMALLER, EXACT_CI_MAX, EXACT_MAX_CELLS = 8, 50, 1_000_000


@functools.cache
def u_counts(n, m):
    """Number of orderings of n x's and m y's with each U = 0..n*m."""
    # Gaussian binomial coefficient [n+m choose s]_q, s = min(n, m), row by
    # row of C(a, b) = C(a-1, b-1) + q^b C(a-1, b), as polynomials of
    # Python integers.
    s = min(n, m)
    row = [[1]] + [[0]] * s  # a = 0
    for a in range(1, n + m + 1):
        new = [[1]]
        for b in range(1, s + 1):
            if b > a:
                new.append([0])
                continue
            left, right = row[b - 1], row[b]
            out = [0] * (b * (a - b) + 1)
            for i, v in enumerate(left):
                out[i] += v
            if b <= a - 1:
                for i, v in enumerate(right):
                    out[i + b] += v
            new.append(out)
        row = new
    return row[s]


def exact_rank(n, m, confidence):
    counts = u_counts(n, m)
    total = sum(counts)
    tail = Fraction(confidence).limit_denominator(10**12)
    tail = (1 - tail) / 2
    below = 0
    for k, c in enumerate(counts):
        if Fraction(below + c, total) > tail:
            return k, 1 - 2 * float(Fraction(below, total))
        below += c
    raise AssertionError("unreachable")


def critical_rank(n, m, confidence):
    nm = n * m
    if (min(n, m) <= EXACT_MAX_SMALLER or max(n, m) <= EXACT_CI_MAX) and nm <= EXACT_MAX_CELLS:
        k, coverage = exact_rank(n, m, confidence)
        method = "exact"
    else:
        sigma = math.sqrt(nm * (n + m + 1) / 12)
        z = norm.ppf(1 - (1 - confidence) / 2)
        k = math.floor(nm / 2 - z * sigma + 0.5)
        coverage = 1 - 2 * norm.sf((nm / 2 - k + 0.5) / sigma) if k >= 1 else 1.0
        method = "asymptotic"
    if k < 1:
        return 0, 1.0, method
    return min(k, (nm + 1) // 2), coverage, method


def has_ties(x, y):
    v = np.concatenate([x, y])
    return len(np.unique(v)) != len(v)


def mw_case(name, x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n, m = len(x), len(y)
    ties = has_ties(x, y)
    case = {"name": name, "x": x.tolist(), "y": y.tolist(), "ties": ties, "tests": [], "shifts": []}
    auto = "exact" if (min(n, m) <= EXACT_MAX_SMALLER and not ties) else "asymptotic"
    assert auto == stats._mannwhitneyu._mwu_choose_method(n, m, np.concatenate([x, y]), "auto")
    for method in ["auto", "asymptotic"]:
        for alt in ALTERNATIVES:
            r = mannwhitneyu(x, y, use_continuity=True, alternative=alt, method=method)
            case["tests"].append({
                "method": method, "used": auto if method == "auto" else method,
                "alternative": alt, "u": float(r.statistic), "p": float(r.pvalue),
            })
    if not ties and n * m <= 20000:
        # Exact p-values: scipy's where it can (its table is (n+1)(m+1)(nm+1)
        # floats, too large past the auto rule's sizes), the integer counts
        # checked against it otherwise.
        counts = u_counts(n, m)
        total = sum(counts)
        u1 = mannwhitneyu(x, y, method="asymptotic").statistic
        for alt in ALTERNATIVES:
            stat = {"greater": u1, "less": n * m - u1, "two-sided": max(u1, n * m - u1)}[alt]
            f = 2 if alt == "two-sided" else 1
            p = min(1.0, f * float(Fraction(sum(counts[int(stat):]), total)))
            if min(n, m) <= EXACT_MAX_SMALLER:
                sp = mannwhitneyu(x, y, use_continuity=True, alternative=alt, method="exact").pvalue
                assert math.isclose(p, sp, rel_tol=1e-12), (name, alt, p, sp)
            case["tests"].append({"method": "exact", "used": "exact", "alternative": alt, "u": float(u1), "p": p})
    d = np.sort(np.subtract.outer(x, y).ravel())
    nm = n * m
    for conf in CONFIDENCES:
        k, coverage, method = critical_rank(n, m, conf)
        case["shifts"].append({
            "confidence": conf, "method": method, "k": k, "coverage": coverage,
            "estimate": float(np.median(d)),
            "lo": float(d[k - 1]) if k else None,
            "hi": float(d[nm - k]) if k else None,
        })
    return case


def newcombe(e1, t1, e2, t2, conf):
    a = binomtest(e1, t1).proportion_ci(confidence_level=conf, method="wilson")
    b = binomtest(e2, t2).proportion_ci(confidence_level=conf, method="wilson")
    p1, p2 = e1 / t1, e2 / t2
    d = p1 - p2
    lo = d - math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2)
    hi = d + math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2)
    return d, lo, hi


def rate_case(e1, t1, e2, t2):
    table = [[e1, t1 - e1], [e2, t2 - e2]]
    case = {"experiment": [e1, t1], "control": [e2, t2], "p": {}, "intervals": []}
    for alt in ALTERNATIVES:
        case["p"][alt] = float(fisher_exact(table, alternative=alt).pvalue)
    for conf in CONFIDENCES:
        d, lo, hi = newcombe(e1, t1, e2, t2, conf)
        case["intervals"].append({"confidence": conf, "diff": d, "lo": lo, "hi": hi})
    return case


def min_total_case(max_rate, conf):
    t = math.ceil(math.log1p(-conf) / math.log1p(-max_rate))
    # Clopper-Pearson: the one-sided upper bound at conf is the two-sided
    # interval's upper end at 2*conf - 1.
    def upper(total):
        return binomtest(0, total).proportion_ci(confidence_level=2 * conf - 1, method="exact").high
    assert upper(t) <= max_rate * (1 + 1e-12) and (t == 1 or upper(t - 1) > max_rate), (max_rate, conf, t)
    return {"max_rate": max_rate, "confidence": conf, "total": t}


def main():
    # binomtest's Clopper-Pearson bound at 0 events divides by zero inside
    # boost on its way to the right answer (checked by the assert above).
    warnings.filterwarnings("ignore", "divide by zero encountered in _binom_pdf")
    rng = np.random.default_rng(20261121)
    lognormal = lambda n, median, sigma: median * np.exp(sigma * rng.standard_normal(n))
    zero_heavy = lambda n: np.where(rng.random(n) < 0.9, 0.0, rng.integers(1, 4, n).astype(float))
    same = lognormal(30, 0.1, 0.5)
    cases = [
        # scipy's documentation example (males, females)
        mw_case("scipy example, exact", [19, 22, 16, 29, 24], [20, 11, 17, 12]),
        mw_case("small, exact", lognormal(5, 0.1, 0.5), lognormal(7, 0.1, 0.5)),
        mw_case("small, shifted, exact", lognormal(7, 0.2, 0.3), lognormal(9, 0.1, 0.3)),
        mw_case("3 against 40, exact", lognormal(3, 0.1, 0.5), lognormal(40, 0.1, 0.5)),
        mw_case("8 against 50, exact", lognormal(8, 0.12, 0.5), lognormal(50, 0.1, 0.5)),
        mw_case("8 against 300, exact", lognormal(8, 0.15, 0.5), lognormal(300, 0.1, 0.5)),
        mw_case("negative values, exact", rng.standard_normal(6) - 0.5, rng.standard_normal(8)),
        mw_case("tiny, no interval at 95 %", [0.3, 0.1, 0.2], [0.5, 0.6, 0.4]),
        mw_case("small with ties", [1, 2, 2, 3, 5, 5], [2, 3, 3, 4, 6, 7]),
        mw_case("30 against 45, exact interval", lognormal(30, 0.1, 0.5), lognormal(45, 0.1, 0.5)),
        mw_case("one hour at 15 s, +20 %", lognormal(240, 0.12, 0.5), lognormal(240, 0.1, 0.5)),
        mw_case("one hour at 15 s, -30 %", lognormal(240, 0.07, 0.5), lognormal(240, 0.1, 0.5)),
        mw_case("300 against 250, heavy ties", rng.integers(0, 6, 300), rng.integers(0, 6, 250)),
        mw_case("zero-heavy errors", zero_heavy(240), zero_heavy(240)),
        mw_case("zero-heavy errors against all zeros", zero_heavy(240), np.zeros(240)),
        mw_case("identical samples", same, same.copy()),
        mw_case("all values equal", np.ones(20), np.ones(20)),
        mw_case("1 against 1", [2.0], [1.0]),
    ]
    rates = [rate_case(*c) for c in [
        (0, 1000, 0, 1000), (3, 24000, 0, 24000), (0, 24000, 3, 24000),
        (5, 20, 1, 25), (200, 20000, 100, 20000), (1, 10, 9, 10),
        (12, 5000, 7, 4800), (0, 50, 0, 70), (5, 5, 5, 5), (10, 10, 0, 10),
        (56, 70, 48, 80), (4800, 1_000_000, 5000, 1_000_000),
    ]]
    min_totals = [min_total_case(r, c) for r, c in [
        (0.01, 0.95), (0.001, 0.95), (0.001, 0.99), (0.05, 0.98), (1e-5, 0.95), (0.5, 0.5),
    ]]
    json.dump({
        "generator": "verdict/stats/testdata/gen.py",
        "scipy": scipy.__version__, "numpy": np.__version__,
        "mannwhitney": cases, "rates": rates, "min_total": min_totals,
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
