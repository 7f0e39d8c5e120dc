package sqlitekv

// MigrationCount is the number of embedded migrations (for the external
// tests).
var MigrationCount = len(migrations)
