package contract

// SetCountPageSize shrinks CountByStateAndOrg's scan page so tests cross
// pages; it returns the function that restores it.
func SetCountPageSize(n int32) func() {
	old := countPageSize
	countPageSize = n
	return func() { countPageSize = old }
}
