package postgreskv

import (
	"context"

	"github.com/jackc/pgx/v5"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

var _ taskdriver.Counter = (*DB)(nil)

// CountTasks returns how many tasks there are of each name and status (see
// kvtask/driver.Counter): one grouped query.
func (db *DB) CountTasks(ctx context.Context) ([]taskdriver.Count, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	return queryRows(ctx, db, func(row pgx.CollectableRow) (taskdriver.Count, error) {
		var c taskdriver.Count
		err := row.Scan(&c.Name, &c.Status, &c.Tasks)
		return c, err
	}, "SELECT name, status, count(*) FROM "+db.tasks+" GROUP BY name, status")
}
