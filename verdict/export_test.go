package verdict

// Thinning is thinning, for the tests.
var Thinning = thinning
