package sqlitekv

import (
	"context"

	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

var _ taskdriver.Counter = (*DB)(nil)

// CountTasks returns how many tasks there are of each name and status (see
// kvtask/driver.Counter): one grouped query.
func (db *DB) CountTasks(ctx context.Context) ([]taskdriver.Count, error) {
	if err := db.usable(ctx); err != nil {
		return nil, err
	}
	stmt, err := db.readStmt(ctx, "SELECT name, status, count(*) FROM tasks GROUP BY name, status")
	if err != nil {
		return nil, db.dbError("count tasks", err)
	}
	rows, err := stmt.QueryContext(ctx)
	if err != nil {
		return nil, db.dbError("count tasks", err)
	}
	defer rows.Close()
	out := []taskdriver.Count{}
	for rows.Next() {
		var c taskdriver.Count
		if err := rows.Scan(&c.Name, &c.Status, &c.Tasks); err != nil {
			return nil, db.dbError("count tasks", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("count tasks", err)
	}
	return out, nil
}
