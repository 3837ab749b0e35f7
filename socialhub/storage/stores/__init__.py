"""The SQL, one store class per area, written once for both engines."""
