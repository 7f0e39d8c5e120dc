package sqlitedialect

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Converged is the schema version at which the SQLite and rqlite backends'
// schemas became this package's: the SQLite backend records it with the
// file 0009_one_schema.sql (which changes nothing), the rqlite backend with
// its own step 9, which converts its tables. Every migration after it is
// applied, and recorded with its version and name, by both.
const Converged = 9

// Migration is one numbered step of the schema, from a file
// migrations/NNNN_name.sql.
type Migration struct {
	Version int    // NNNN: increasing, gaps allowed
	Name    string // the file name without .sql, as schema_migrations records it
	SQL     string // the file's text: statements ended by semicolons
}

// Migrations returns the schema's steps in version order.
func Migrations() []Migration { return append([]Migration(nil), migrations...) }

var migrations = mustLoad()

// mustLoad reads the embedded migration files; a malformed name is a
// programming error that every test run catches.
func mustLoad() []Migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var ms []Migration
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			panic(fmt.Sprintf("sqlitedialect: migration file %q is not NNNN_name.sql", e.Name()))
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			panic(err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			panic(fmt.Sprintf("sqlitedialect: migrations %s and %s share a version", ms[i-1].Name, ms[i].Name))
		}
	}
	return ms
}

// Statements splits m.SQL into its statements, without comments, for a
// backend that sends them one by one (rqlite). A semicolon ends a
// statement outside quotes and outside a CREATE TRIGGER's body: there the
// statement ends at the semicolon after END (a body's own statements end
// with semicolons too, and its last END stands alone before it).
func (m Migration) Statements() []string {
	var out []string
	var b strings.Builder
	var quote rune
	last := 0 // where the text since the statement's last semicolon starts in b
	src := []rune(m.SQL)
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			c = '\n'
		case c == ';':
			stmt := strings.TrimSpace(b.String())
			if inTriggerBody(stmt) && !strings.EqualFold(strings.TrimSpace(b.String()[last:]), "END") {
				b.WriteRune(c)
				last = b.Len()
				continue
			}
			if stmt != "" {
				out = append(out, stmt)
			}
			b.Reset()
			last = 0
			continue
		}
		b.WriteRune(c)
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// createTrigger matches the start of a CREATE TRIGGER, bodyBegins the
// BEGIN of its body.
var (
	createTrigger = regexp.MustCompile(`(?is)^CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\s`)
	bodyBegins    = regexp.MustCompile(`(?i)\bBEGIN\b`)
)

// inTriggerBody reports whether stmt, the text of a statement so far, is a
// CREATE TRIGGER whose body has begun.
func inTriggerBody(stmt string) bool {
	return createTrigger.MatchString(stmt) && bodyBegins.MatchString(stmt)
}

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
