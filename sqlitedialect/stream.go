package sqlitedialect

import (
	"strings"

	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// StreamRead is the statement, and its parameters, of a stream read: up to
// q.Limit entries after q.After that match q, in seq order, left-joined to
// the meta row, so that one statement (one snapshot) also returns the trim
// watermark and the highest seq. Its columns: trimmed, last, then the
// entry's seq, namespace, key, action, version, type, value and ts (NULL
// in the one row returned when no entry matches).
func (d Dialect) StreamRead(q streamdriver.Query) (string, []any) {
	var where strings.Builder
	where.WriteString("seq > ?")
	args := []any{q.After}
	if q.HasNamespace {
		where.WriteString(" AND namespace = " + d.Text())
		args = append(args, d.Arg(q.Namespace))
	}
	if q.Type != "" {
		where.WriteString(" AND type = " + d.Text())
		args = append(args, d.Arg(q.Type))
	}
	args = append(args, q.Limit)
	return "SELECT " + d.Int("m.trimmed") + ", " + d.Int("max(m.trimmed, coalesce((SELECT max(seq) FROM stream), 0))") + ", " +
		d.Int("s.seq") + ", s.namespace, s.key, s.action, " + d.Int("s.version") + ", s.type, s.value, " + d.Int("s.ts") + " " +
		"FROM stream_meta AS m LEFT JOIN (SELECT seq, namespace, key, action, version, type, value, ts FROM stream WHERE " + where.String() +
		" ORDER BY seq LIMIT ?) AS s ON 1 WHERE m.id = 1 ORDER BY s.seq", args
}

// CreateConsumer creates a consumer unless one has its name, at a
// position raised to the trim watermark if it is below it. Its parameters:
// name, position, now.
func (d Dialect) CreateConsumer() string {
	return "INSERT INTO consumers (name, position, updated) VALUES (" + d.Text() +
		", max(?, coalesce((SELECT trimmed FROM stream_meta WHERE id = 1), 0)), ?) ON CONFLICT (name) DO NOTHING"
}

// CommitConsumer sets a consumer's position (rows affected: 0 if it does
// not exist). Its parameters: position, now, name.
func (d Dialect) CommitConsumer() string {
	return "UPDATE consumers SET position = ?, updated = ? WHERE name = " + d.Text()
}

// DeleteConsumer deletes a consumer. Its parameter: name.
func (d Dialect) DeleteConsumer() string {
	return "DELETE FROM consumers WHERE name = " + d.Text()
}

// StreamBounds reads the trim watermark and the highest seq a read can
// return (never below the watermark), in one row.
func (d Dialect) StreamBounds() string {
	return "SELECT " + d.Int("trimmed") + ", " + d.Int("max(trimmed, coalesce((SELECT max(seq) FROM stream), 0))") +
		" FROM stream_meta WHERE id = 1"
}

// Consumer reads one consumer's name, position and updated time. Its
// parameter: name.
func (d Dialect) Consumer() string {
	return "SELECT " + d.consumerColumns() + " FROM consumers WHERE name = " + d.Text()
}

// Consumers reads every consumer's name, position and updated time, by
// name.
func (d Dialect) Consumers() string {
	return "SELECT " + d.consumerColumns() + " FROM consumers ORDER BY name"
}

func (d Dialect) consumerColumns() string {
	return "name, " + d.Int("position") + ", " + d.Int("updated")
}
