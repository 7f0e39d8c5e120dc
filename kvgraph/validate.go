package kvgraph

// ValidateEdge reports whether AddEdge accepts e, without storing it: its
// node types and ids and its edge type (ValidateName), and properties that
// are a JSON object, or none (nil or null: {}). The error wraps
// kvcore.ErrInvalidArgument.
func ValidateEdge(e Edge) error {
	if err := checkEdge(e); err != nil {
		return err
	}
	_, err := normProps(e.Properties)
	return err
}
