package web

import "time"

// PeakConnections is the most connections s ever had open at once.
func PeakConnections(s *Server) int {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	return s.conns.peak
}

// SetAuthClock makes a tell the time with now.
func SetAuthClock(a *Auth, now func() time.Time) { a.now = now }
