package sqlitedialect

import (
	"regexp"
	"strings"
)

// SchemaQuery lists a database's schema objects, one row each: type, name
// and the normalised-to-be CREATE statement (empty for the indexes SQLite
// makes itself), in a stable order. Pass each statement to Normalize
// before comparing two databases' schemas.
const SchemaQuery = "SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"

var (
	comment = regexp.MustCompile(`--[^\n]*`)
	space   = regexp.MustCompile(`\s+`)
	punct   = regexp.MustCompile(`\s*([(),])\s*`)
)

// Normalize returns a CREATE statement as sqlite_master holds it, in a
// form that two statements defining the same object share: comments
// dropped, white space collapsed to one space and removed around
// parentheses and commas. So a column that ALTER TABLE ADD COLUMN appended
// compares equal to the same column written in the CREATE TABLE.
func Normalize(stmt string) string {
	s := comment.ReplaceAllString(stmt, "")
	s = space.ReplaceAllString(s, " ")
	s = punct.ReplaceAllString(s, "$1")
	return strings.TrimSpace(s)
}
