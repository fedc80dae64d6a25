#ifndef VIGIL_CSQLITE_SHIM_H
#define VIGIL_CSQLITE_SHIM_H
#include <sqlite3.h>
// SQLITE_TRANSIENT is a macro around a function-pointer cast that Swift cannot import.
static inline void (*vigil_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
#endif
