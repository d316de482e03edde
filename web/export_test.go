package web

// PeakConnections is the most connections s ever had open at once.
func PeakConnections(s *Server) int {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	return s.conns.peak
}
