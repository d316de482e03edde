package receiver

// PeakInFlightBytes is the most bytes r ever had reserved at once.
func PeakInFlightBytes(r *Receiver) int64 {
	r.budget.mu.Lock()
	defer r.budget.mu.Unlock()
	return r.budget.peak
}
