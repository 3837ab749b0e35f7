-- A private conversation is found by `pair_low = ? AND pair_high = ?`. PostgreSQL multiplies the
-- two columns' selectivities as if they were independent, but a conversation's users are tied to
-- each other: it expected a few dozen rows of a 1,000-message conversation, read all of them
-- with a bitmap heap scan and sorted them, instead of walking messages_by_pair backwards for 50.
-- Functional-dependency statistics let it see the tie. (An `mcv` list is left out on purpose:
-- it would be consulted first, and a conversation missing from it would be estimated as before.)
-- SQLite has no such statistics and already walks the index: it skips both statements.

CREATE STATISTICS messages_pair_dependencies (dependencies) ON pair_low, pair_high FROM messages;

-- Extended statistics are only gathered by ANALYZE: an upgraded database uses them at once.
ANALYZE messages;
