package rqlitekv

import (
	"context"
	"fmt"

	"github.com/rqlite/gorqlite"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

var _ taskdriver.Counter = (*DB)(nil)

// CountTasks returns how many tasks there are of each name and status (see
// kvtask/driver.Counter): one grouped query, one read request.
func (db *DB) CountTasks(ctx context.Context) ([]taskdriver.Count, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	qr, err := db.queryOne(ctx, "count tasks", gorqlite.ParameterizedStatement{Query: "SELECT name, status, count(*) FROM tasks GROUP BY name, status"})
	if err != nil {
		return nil, err
	}
	return scanRows("count tasks", qr, 3, func(row []any) (taskdriver.Count, error) {
		name, ok1 := row[0].(string)
		status, ok2 := row[1].(string)
		if !ok1 || !ok2 {
			return taskdriver.Count{}, fmt.Errorf("task count: unexpected %T, %T", row[0], row[1])
		}
		n, err := intCol(row, 2)
		return taskdriver.Count{Name: name, Status: taskdriver.Status(status), Tasks: n}, err
	})
}
